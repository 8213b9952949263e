/**
 * Shared parts of the soak scripts (test/soak/README.md): arguments, re-executing with
 * a higher file descriptor limit and --expose-gc, memory after a collection.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** `--name value` and `--flag` arguments, with defaults. */
export function parseArgs<T extends Record<string, number | boolean | string>>(defaults: T, usage: string): T {
  const out: Record<string, number | boolean | string> = { ...defaults };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!arg.startsWith('--') || !(name in defaults) || arg === '--help') {
      console.log(usage);
      process.exit(arg === '--help' ? 0 : 2);
    }
    const kind = typeof defaults[name];
    if (kind === 'boolean') out[name] = true;
    else {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      out[name] = kind === 'number' ? Number(value.replace(/_/g, '')) : value;
      if (kind === 'number' && !Number.isFinite(out[name])) throw new Error(`${arg} needs a number`);
    }
  }
  return out as T;
}

function shell(command: string): string {
  return spawnSync('bash', ['-c', command], { encoding: 'utf8' }).stdout.trim();
}

/** The soft and hard limits on open files, as `ulimit` reports them. */
export function fdLimits(): { soft: number; hard: number } {
  const parse = (s: string) => (s === 'unlimited' ? Infinity : Number(s));
  return { soft: parse(shell('ulimit -n')), hard: parse(shell('ulimit -Hn')) };
}

/**
 * Make sure this process runs with --expose-gc and at least `wantFds` open files (as
 * far as the hard limit allows): otherwise re-execute it through
 * `bash -c 'ulimit -n N && exec node --expose-gc script args'` and exit with its status.
 * Returns the soft limit in effect.
 */
export function ensureLimits(wantFds: number): number {
  const { soft, hard } = fdLimits();
  const gcMissing = typeof globalThis.gc !== 'function';
  const target = Math.min(Math.max(wantFds, soft), hard, 65536);
  if (process.env.WSPROTO_SOAK_REEXEC !== '1' && (gcMissing || target > soft)) {
    const args = [process.execPath, '--expose-gc', ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)];
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const command = target > soft ? `ulimit -n ${target} && exec ${quoted}` : `exec ${quoted}`;
    if (target > soft) console.log(`raising the open file limit: ulimit -n ${target} (was ${soft}, hard ${hard})`);
    const result = spawnSync('bash', ['-c', command], {
      stdio: 'inherit',
      env: { ...process.env, WSPROTO_SOAK_REEXEC: '1' },
    });
    process.exit(result.status ?? 1);
  }
  return soft;
}

/** The limit on a hard limit: /proc/sys/fs/nr_open (Linux), or none known. */
function nrOpen(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

/** Bash run before the script: raise the hard limit if it can, then the soft one as far as allowed. */
const RAISE_FDS = [
  'want=$1; shift; notes=""; hard=$(ulimit -Hn)',
  'if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then',
  '  if ulimit -Hn "$want" 2>/dev/null; then notes="hard limit raised from $hard (ulimit -Hn)"',
  '  elif err=$(prlimit --pid $$ --nofile="$want:$want" 2>&1); then notes="hard limit raised from $hard (prlimit)"',
  '  else notes="could not raise the hard limit $hard: ulimit -Hn and prlimit failed: ${err##*: }"; fi',
  'fi',
  'hard=$(ulimit -Hn)',
  'if [ "$hard" = unlimited ] || [ "$hard" -ge "$want" ]; then soft=$want; else soft=$hard; fi',
  'ulimit -Sn "$soft" || notes="$notes; ulimit -Sn $soft failed"',
  'WSPROTO_SOAK_FDS="${notes:-ok}" exec "$@"',
].join('\n');

/**
 * Make sure this process runs with --expose-gc and an open file limit of `wantFds`, or as
 * close as the system allows: the first time through, re-execute it under bash, which
 * tries to raise the hard limit (`ulimit -Hn`, then `prlimit`: root with CAP_SYS_RESOURCE,
 * up to fs.nr_open) and sets the soft limit to `wantFds` or the hard limit, whichever is
 * lower; exit with its status. Returns the limits in effect and what the raising said.
 */
export function raiseFdLimit(wantFds: number): { soft: number; hard: number; notes: string[] } {
  const env = process.env.WSPROTO_SOAK_FDS;
  if (env === undefined) {
    const want = Math.min(wantFds, nrOpen());
    const node = [process.execPath, '--expose-gc', ...process.execArgv, process.argv[1]!, ...process.argv.slice(2)];
    const result = spawnSync('bash', ['-c', RAISE_FDS, 'raise-fds', String(want), ...node], { stdio: 'inherit' });
    process.exit(result.status ?? 1);
  }
  const { soft, hard } = fdLimits();
  return { soft, hard, notes: env === 'ok' ? [] : [env.replace(/^; /, '')] };
}

let collect: (() => void) | null = null;

/** A full garbage collection (via --expose-gc, or V8's flag when started without it). */
export function gc(): void {
  if (collect === null) {
    if (typeof globalThis.gc === 'function') {
      const g = globalThis.gc;
      collect = () => void g();
    } else {
      v8.setFlagsFromString('--expose-gc');
      collect = vm.runInNewContext('gc') as () => void;
    }
  }
  collect();
}

/** Memory after collecting twice (so that finalizers of the first pass have run). */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}

export const MiB = 1024 * 1024;
export const KiB = 1024;

/** Bytes as KiB or MiB with one decimal. */
export function size(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const b = Math.abs(bytes);
  return b >= MiB ? `${sign}${(b / MiB).toFixed(1)} MiB` : `${sign}${(b / KiB).toFixed(1)} KiB`;
}

/** Run `task` over `items` with at most `limit` at a time. */
export async function pool<T>(items: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(items);
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items) }, worker));
  return results;
}
