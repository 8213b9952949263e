/**
 * The side-by-side benchmark suite: every figure of ours beside ws's from the same run,
 * as a ratio. See bench/README.md.
 *
 *   npm run bench                       # build, then the full suite (a few minutes)
 *   npm run bench -- --quick            # fewer repetitions, smaller counts (under a minute)
 *   node dist/bench/run.js --only parse-16b-text,ping-pong --json results.json
 *   node dist/bench/run.js --list
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PerMessageDeflate } from '../lib/index';
import { maskBackend } from '../lib/frame/mask';
import {
  machineInfo,
  makeConfig,
  median,
  now,
  repoRoot,
  wsUsesBufferutil,
  wsVersion,
  type BenchConfig,
} from './common';
import type { Lib, Metric, Unit, Workload } from './workload';
import { parseWorkloads } from './workloads/parse';
import { serializeWorkloads } from './workloads/serialize';
import { deflateWorkloads } from './workloads/deflate';
import { loopbackWorkloads } from './workloads/loopback';
import { memoryWorkloads } from './workloads/memory';
import { http2Workloads } from './workloads/http2';
import { broadcastWorkloads } from './workloads/broadcast';

const WORKLOADS: Workload[] = [
  ...parseWorkloads,
  ...serializeWorkloads,
  ...deflateWorkloads,
  ...loopbackWorkloads,
  ...memoryWorkloads,
  ...http2Workloads,
  ...broadcastWorkloads,
];

interface Options {
  quick: boolean;
  only: string[] | null;
  json: string | null;
  python: boolean;
  list: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { quick: false, only: null, json: null, python: true, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const valueOf = (name: string): string => {
      const eq = arg.indexOf('=');
      if (eq >= 0) return arg.slice(eq + 1);
      const next = argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value`);
      return next;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only' || arg.startsWith('--only='))
      options.only = valueOf('--only')
        .split(',')
        .filter((s) => s !== '');
    else if (arg === '--json' || arg.startsWith('--json=')) options.json = valueOf('--json');
    else if (arg === '--no-python') options.python = false;
    else if (arg === '--list') options.list = true;
    else if (arg === '--help' || arg === '-h') {
      console.log(
        'usage: node dist/bench/run.js [--quick] [--only name[,name...]] [--json file] [--no-python] [--list]',
      );
      process.exit(0);
    } else {
      throw new Error(`unknown argument ${arg} (try --help)`);
    }
  }
  return options;
}

/** `--only` matches a workload by exact name, or by prefix (`parse` selects all parse workloads). */
function selected(workload: Workload, only: string[] | null): boolean {
  return only === null || only.some((o) => workload.name === o || workload.name.startsWith(o));
}

// ---------------------------------------------------------------------------------
// formatting

function loadavg(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

function si(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)} G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} k`;
  return `${v.toFixed(v >= 100 ? 0 : 1)} `;
}

function format(v: number, unit: Unit): string {
  switch (unit) {
    case 'msg/s':
      return `${si(v)}msg/s (${formatTime(1e9 / v)})`;
    case 'rt/s':
      return `${si(v)}rt/s (${formatTime(1e9 / v)})`;
    case 'B/s':
      return v >= 1e9 ? `${(v / 1e9).toFixed(2)} GB/s` : `${(v / 1e6).toFixed(v >= 1e8 ? 0 : 1)} MB/s`;
    case 'B/conn':
      return Math.abs(v) >= 1024 ? `${(v / 1024).toFixed(1)} KiB` : `${v.toFixed(0)} B`;
    case 'B':
      return `${Math.round(v).toLocaleString('en-US')} B`;
    case 'ms':
      return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ms`;
  }
}

function formatTime(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

function ratio(v: number): string {
  return `${v.toFixed(2)}×`;
}

/** A figure of a row: a message rate of fixed-size messages is given in MB/s too. */
function formatValue(v: number, r: { unit: Unit; bytesPerUnit?: number | undefined }): string {
  const text = format(v, r.unit);
  return r.bytesPerUnit === undefined ? text : `${text}, ${format(v * r.bytesPerUnit, 'B/s')}`;
}

/** A median ratio with its min–max when there are several. */
function ratioSpread(ratios: number[]): string {
  const spread = ratios.length > 1 ? ` (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})` : '';
  return `${ratio(median(ratios))}${spread}`;
}

// ---------------------------------------------------------------------------------
// running

interface Row {
  workload: string;
  metric: string;
  title: string;
  unit: Unit;
  bytesPerUnit?: number | undefined;
  better: 'higher' | 'lower' | 'shorter';
  target: number | null;
  ours: number[];
  ws: number[];
  ratios: number[];
  baseline: { label: string; values: number[] } | null;
  oursMedian: number;
  wsMedian: number;
  ratioMedian: number;
  ratioMin: number;
  ratioMax: number;
  /** Per-pair ratios of units per CPU second (CPU-bound and loopback workloads). */
  cpuRatios: number[];
  cpuRatioMedian: number | null;
  met: boolean | null;
  extra: string;
  error?: string;
}

/**
 * One repetition of a CPU-bound workload: passes of ours and ws interleaved, the one
 * with less timed work so far going next, until both have `minMs`.
 */
async function interleaved(workload: Workload, minMs: number): Promise<Record<Lib, Record<string, number>>> {
  const passes = { ours: workload.pass!('ours'), ws: workload.pass!('ws') };
  const acc = { ours: { units: 0, ms: 0, cpuMs: 0 }, ws: { units: 0, ms: 0, cpuMs: 0 } };
  try {
    while (acc.ours.ms < minMs || acc.ws.ms < minMs) {
      const lib: Lib = acc.ours.ms <= acc.ws.ms ? 'ours' : 'ws';
      const r = await passes[lib]();
      acc[lib].units += r.units;
      acc[lib].ms += r.ms;
      acc[lib].cpuMs += r.cpuMs;
    }
  } finally {
    passes.ours.close?.();
    passes.ws.close?.();
  }
  const rates = (a: { units: number; ms: number; cpuMs: number }) => ({
    value: (a.units / a.ms) * 1000,
    cpu: (a.units / Math.max(a.cpuMs, 1e-3)) * 1000,
  });
  return { ours: rates(acc.ours), ws: rates(acc.ws) };
}

async function runWorkload(workload: Workload, config: BenchConfig): Promise<Row[]> {
  const results: Record<Lib, Array<Record<string, number>>> = { ours: [], ws: [] };
  const baseline: Array<Record<string, number>> = [];
  await workload.setup?.(config);
  try {
    const reps = workload.once ? 1 : (workload.reps?.(config) ?? config.reps);
    if (workload.pass !== undefined) {
      await interleaved(workload, config.warmupMs);
      for (let i = 0; i < reps; i++) {
        const r = await interleaved(workload, config.minMs);
        results.ours.push(r.ours);
        results.ws.push(r.ws);
      }
    } else {
      const measure = workload.measure!.bind(workload);
      if (!workload.noWarmup && !workload.once) {
        await measure('ours', config, true);
        await measure('ws', config, true);
        if (workload.baseline) await workload.baseline.measure(config, true);
      }
      for (let i = 0; i < reps; i++) {
        if (workload.baseline?.ratio !== undefined) {
          // A third side: the three take turns at going first.
          const sides: Array<Lib | 'baseline'> = ['ours', 'ws', 'baseline'];
          for (let k = 0; k < 3; k++) {
            const side = sides[(i + k) % 3]!;
            if (side === 'baseline') baseline.push(await workload.baseline.measure(config, false));
            else results[side].push(await measure(side, config, false));
          }
          continue;
        }
        // Alternate which library goes first, so that drift during a pair cancels out.
        const order: Lib[] = i % 2 === 0 ? ['ours', 'ws'] : ['ws', 'ours'];
        for (const lib of order) results[lib].push(await measure(lib, config, false));
        if (workload.baseline) baseline.push(await workload.baseline.measure(config, false));
      }
    }
  } finally {
    await workload.teardown?.();
  }
  return workload.metrics.map((metric) => row(workload, metric, results, baseline));
}

function row(
  workload: Workload,
  metric: Metric,
  results: Record<Lib, Array<Record<string, number>>>,
  baseline: Array<Record<string, number>>,
): Row {
  const ours = results.ours.map((r) => r[metric.key]!);
  const ws = results.ws.map((r) => r[metric.key]!);
  // Durations: ws / ours, how many times faster we are (higher is better, like a rate).
  const ratios = ours.map((o, i) => (metric.better === 'shorter' ? ws[i]! / o : o / ws[i]!));
  const ratioMedian = median(ratios);
  // The same ratio in units per CPU second, where the workload measured CPU time.
  const cpuRatios =
    metric.key === 'value' &&
    results.ours.every((r) => r.cpu !== undefined) &&
    results.ws.every((r) => r.cpu !== undefined)
      ? results.ours.map((r, i) => r.cpu! / results.ws[i]!.cpu!)
      : [];
  const met =
    metric.target === null
      ? null
      : metric.better === 'lower'
        ? ratioMedian <= metric.target
        : ratioMedian >= metric.target;
  const base = workload.baseline
    ? { label: workload.baseline.label, values: baseline.map((r) => r[metric.key]!) }
    : null;
  let extra = '';
  if (base !== null && workload.baseline?.ratio !== undefined) {
    // A third side: the per-repetition ratios ours / baseline (turned round for durations).
    const b = median(base.values);
    const pairs = ours.map((o, i) => (metric.better === 'shorter' ? base.values[i]! / o : o / base.values[i]!));
    extra = `${base.label}: ${formatValue(b, { unit: metric.unit, bytesPerUnit: metric.bytesPerUnit })}; ${workload.baseline.ratio} ${ratioSpread(pairs)}`;
    let cpu: number | null = null;
    if (metric.key === 'value' && results.ours.every((r, i) => r.cpu !== undefined && baseline[i]?.cpu !== undefined)) {
      cpu = median(results.ours.map((r, i) => r.cpu! / baseline[i]!.cpu!));
      extra += `, CPU-time ${ratio(cpu)}`;
    }
    if (metric.baselineTarget !== undefined) {
      const verdict = (v: number) => (v >= metric.baselineTarget! ? 'met' : 'NOT MET');
      const wall = verdict(median(pairs));
      extra += `; target ≥ ${metric.baselineTarget}×: ${wall}${cpu !== null && verdict(cpu) !== wall ? ` (CPU: ${verdict(cpu)})` : ''}`;
    }
  } else if (base !== null) {
    const b = median(base.values);
    extra = `${base.label}: ${format(b, metric.unit)}; ours = ${((median(ours) / b) * 100).toFixed(0)}% of it`;
  }
  const raw = results.ours[0]?.raw;
  if (metric.unit === 'B' && raw !== undefined) {
    extra = `of ${format(raw, 'B')} raw: ours ${((median(ours) / raw) * 100).toFixed(1)}%, ws ${((median(ws) / raw) * 100).toFixed(1)}%`;
  }
  return {
    workload: workload.name,
    metric: metric.key,
    title: metric.title,
    unit: metric.unit,
    bytesPerUnit: metric.bytesPerUnit,
    better: metric.better,
    target: metric.target,
    ours,
    ws,
    ratios,
    baseline: base,
    oursMedian: median(ours),
    wsMedian: median(ws),
    ratioMedian,
    ratioMin: Math.min(...ratios),
    ratioMax: Math.max(...ratios),
    cpuRatios,
    cpuRatioMedian: cpuRatios.length > 0 ? median(cpuRatios) : null,
    met,
    extra,
  };
}

function errorRow(workload: Workload, metric: Metric, error: unknown): Row {
  return {
    workload: workload.name,
    metric: metric.key,
    title: metric.title,
    unit: metric.unit,
    better: metric.better,
    target: metric.target,
    ours: [],
    ws: [],
    ratios: [],
    baseline: null,
    oursMedian: NaN,
    wsMedian: NaN,
    ratioMedian: NaN,
    ratioMin: NaN,
    ratioMax: NaN,
    cpuRatios: [],
    cpuRatioMedian: null,
    met: null,
    extra: '',
    error: String((error as Error).message ?? error),
  };
}

interface PythonResults {
  wsproto: string;
  python: string;
  results: Record<string, { unit: string; values: number[] }>;
}

function runPython(quick: boolean, names: string[]): PythonResults | string {
  const script = path.join(repoRoot(), 'bench', 'py', 'wsproto_bench.py');
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const all: PythonResults = { wsproto: '?', python: '?', results: {} };
  try {
    // One workload per call when only some are wanted; all at once otherwise.
    const calls = names.length === 3 ? [[]] : names.map((n) => ['--only', n]);
    for (const extra of calls) {
      const out = execFileSync(python, [script, ...(quick ? ['--quick'] : []), ...extra], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      });
      const parsed = JSON.parse(out) as PythonResults;
      all.wsproto = parsed.wsproto;
      all.python = parsed.python;
      Object.assign(all.results, parsed.results);
    }
    return all;
  } catch (error) {
    return `Python wsproto not measured: ${String((error as Error).message ?? error).split('\n')[0]}`;
  }
}

// ---------------------------------------------------------------------------------
// the table

/** 'met' / 'NOT MET' on the wall-clock ratio; the CPU-time verdict is added when it differs. */
function status(r: Row): string {
  if (r.met === null) return '';
  const wall = r.met ? 'met' : 'NOT MET';
  if (r.cpuRatioMedian === null || r.target === null) return wall;
  const cpu = r.better === 'lower' ? r.cpuRatioMedian <= r.target : r.cpuRatioMedian >= r.target;
  return cpu === r.met ? wall : `${wall} (CPU: ${cpu ? 'met' : 'not met'})`;
}

function pad(s: string, n: number): string {
  return s + ' '.repeat(Math.max(0, n - [...s].length));
}

function table(rows: Row[]): string {
  const header = [
    'workload',
    'ours (median)',
    'ws (median)',
    'ours/ws: median (min–max)',
    'target',
    'status',
    'CPU-time ratio',
    'notes',
  ];
  const lines = rows.map((r) => {
    if (r.error !== undefined) return [r.title, 'error', '', '', '', '', '', r.error];
    const target = r.target === null ? '' : `${r.better === 'lower' ? '≤' : '≥'} ${r.target}×`;
    const spread = r.ratios.length > 1 ? ` (${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)})` : '';
    return [
      r.title,
      formatValue(r.oursMedian, r),
      formatValue(r.wsMedian, r),
      `${ratio(r.ratioMedian)}${spread}`,
      target,
      status(r),
      r.cpuRatioMedian === null ? '' : ratio(r.cpuRatioMedian),
      r.extra,
    ];
  });
  const widths = header.map((h, i) => Math.max([...h].length, ...lines.map((l) => [...l[i]!].length)));
  const fmt = (cells: string[]): string => `| ${cells.map((c, i) => pad(c, widths[i]!)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (options.list) {
    for (const w of WORKLOADS) console.log(`${w.name.padEnd(24)} ${w.metrics.map((m) => m.title).join('; ')}`);
    return;
  }
  const config = makeConfig(options.quick);
  const workloads = WORKLOADS.filter((w) => selected(w, options.only));
  if (workloads.length === 0) throw new Error(`no workload matches --only ${options.only?.join(',')} (try --list)`);

  const machine = machineInfo();
  const started = now();
  console.log('wsproto vs ws, side by side');
  console.log(`machine: ${machine.cpu}, ${machine.cores} CPUs, ${machine.memory}, ${machine.os}`);
  console.log(`node ${machine.node}; date ${machine.date}; load average ${loadavg()}`);
  console.log(
    `ws ${wsVersion} (bufferutil: ${wsUsesBufferutil() ? 'yes' : 'no'}); ours: masking ${maskBackend}, inflate ${PerMessageDeflate.inflateBackend}`,
  );
  console.log(
    `mode: ${options.quick ? 'quick' : 'full'} (${config.reps} paired runs of ≥${config.minMs} ms; loopback runs ≤${config.loopMs} ms; ` +
      `memory: ${config.memReps} × ${config.memConnections} idle / ${config.memDeflateConnections} compressed connections; ` +
      `broadcast: ${config.broadcastRounds} rounds to ${config.broadcastClients} clients in ${config.broadcastProcesses} processes)`,
  );
  console.log('');

  const rows: Row[] = [];
  for (const workload of workloads) {
    const t0 = now();
    process.stdout.write(`  ${workload.name} ... `);
    try {
      const got = await runWorkload(workload, config);
      rows.push(...got);
      console.log(
        `${((now() - t0) / 1000).toFixed(1)} s: ${got.map((r) => `${r.metric === 'value' ? '' : `${r.metric} `}${ratio(r.ratioMedian)}`).join(', ')}`,
      );
    } catch (error) {
      console.log(`failed: ${String((error as Error).stack ?? error)}`);
      rows.push(...workload.metrics.map((m) => errorRow(workload, m, error)));
    }
  }

  // Python wsproto, where it applies (parse 16 B, parse 1 KiB, serialize 16 B).
  const pyNames = workloads.map((w) => w.python).filter((p): p is string => p !== undefined);
  let python: PythonResults | string | null = null;
  if (options.python && pyNames.length > 0) {
    const t0 = now();
    process.stdout.write('  python wsproto ... ');
    python = runPython(options.quick, pyNames);
    console.log(typeof python === 'string' ? python : `${((now() - t0) / 1000).toFixed(1)} s`);
    if (typeof python !== 'string') {
      for (const r of rows) {
        const key = workloads.find((w) => w.name === r.workload)?.python;
        const values = key === undefined ? undefined : python.results[key]?.values;
        if (values === undefined || r.error !== undefined) continue;
        const py = median(values);
        r.extra = `py wsproto ${python.wsproto}: ${format(py, r.unit)}; ours ${(r.oursMedian / py).toFixed(0)}×`;
      }
    }
  }

  const elapsed = (now() - started) / 1000;
  console.log('');
  console.log(table(rows));
  console.log('');
  const judged = rows.filter((r) => r.met !== null);
  console.log(
    `targets met: ${judged.filter((r) => r.met).length} of ${judged.length}. ` +
      'ratio = median over pairs of (ours / ws), measured alternately in the same run; higher is better for rates, lower for memory and size; ' +
      'for durations (ms) it is ws / ours: how many times faster.',
  );
  console.log(
    'CPU-time ratio: the same ratio in units per CPU second of this process (all threads; the HTTP/2 echo rows: of both peer processes), which other processes on a busy machine do not disturb.',
  );
  console.log(`total time: ${elapsed.toFixed(1)} s; load average at the end ${loadavg()}`);

  if (options.json !== null) {
    const report = {
      machine,
      ws: { version: wsVersion, bufferutil: wsUsesBufferutil() },
      ours: { mask: maskBackend, inflate: PerMessageDeflate.inflateBackend },
      config,
      command: process.argv.slice(2),
      seconds: elapsed,
      loadAverageAtEnd: os.loadavg(),
      python: typeof python === 'string' ? { error: python } : python,
      results: rows,
    };
    fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`results written to ${options.json}`);
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
