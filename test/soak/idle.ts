/**
 * Soak (c): many idle WebSocket connections held by ONE server process, the clients in
 * other processes; server memory per connection (RSS, heap, external after a full GC) for
 * wsproto and for ws, then a liveness check of every connection, then clean closes.
 *
 *     node dist/test/soak/idle.js [--connections 100000] [--processes 0] [--addresses-per-process 2]
 *          [--per-address 20000] [--batch 250] [--hold-s 5] [--api server|upgrade] [--skip-ws]
 *          [--phase-timeout-s 300]
 *
 * The file descriptor limit decides how far this can go in one process: the script asks
 * for N + a reserve, tries to raise the hard limit (`ulimit -Hn`, then `prlimit`; both need
 * CAP_SYS_RESOURCE), sets the soft limit as high as the hard one allows, and runs the
 * largest N that fits, saying so. Source addresses: each client process binds its
 * sockets to several 127.x.y.z addresses (one address gives one ephemeral port range,
 * about 28,000 ports), all inside 127.0.0.0/8. Every phase has a time bound.
 *
 * One library at a time: a fresh server process (test/soak/idle-server.ts) and fresh
 * client processes (test/soak/idle-clients.ts) for each, so that one's freed memory does
 * not hide the next one's RSS. Exit status 1 unless every connection opened, answered the
 * ping round and the echo round, and closed cleanly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClientCommand, ClientReport } from './idle-clients';
import type { Api, Impl, ServerCommand } from './idle-server';
import { parseArgs, raiseFdLimit, size } from './common';

const USAGE =
  'usage: node dist/test/soak/idle.js [--connections N] [--processes P] [--addresses-per-process A] ' +
  '[--per-address N] [--batch B] [--hold-s S] [--api server|upgrade] [--skip-ws] [--phase-timeout-s S]';
const args = parseArgs(
  {
    connections: 100_000,
    processes: 0, // 0: one client process per 25,000 connections, at least 4
    addressesPerProcess: 2,
    perAddress: 20_000,
    batch: 250,
    holdS: 5,
    api: 'server',
    skipWs: false as boolean,
    phaseTimeoutS: 300,
  },
  USAGE,
);
if (args.api !== 'server' && args.api !== 'upgrade') throw new Error('--api is server or upgrade');

/** Descriptors a process needs beyond its sockets (stdio, IPC, libuv, the listening socket). */
const RESERVED_FDS = 100;
const limit = raiseFdLimit(args.connections + RESERVED_FDS);
const maxN = Math.max(0, limit.soft - RESERVED_FDS);
const N = Math.min(args.connections, maxN);
const processes = args.processes > 0 ? args.processes : Math.max(4, Math.ceil(N / 25_000));
const perProcess = Math.ceil(N / processes);
const phaseMs = args.phaseTimeoutS * 1000;

/** Ephemeral ports per source address (net.ipv4.ip_local_port_range). */
function ephemeralPorts(): number {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return hi! - lo! + 1;
  } catch {
    return 28_232;
  }
}

/** A forked process answering IPC commands one at a time. */
class Proc {
  readonly #proc: ChildProcess;
  readonly #name: string;
  readonly #inbox: Array<{ type: string; message?: string }> = [];
  #wake: (() => void) | null = null;
  #exited = false;

  constructor(script: string, name: string, execArgv: string[] = []) {
    this.#name = name;
    this.#proc = fork(path.join(__dirname, script), [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#proc.on('message', (m: { type: string }) => {
      this.#inbox.push(m);
      this.#wake?.();
    });
    this.#proc.on('exit', () => {
      this.#exited = true;
      this.#wake?.();
    });
  }

  async request<T>(command: object, timeoutMs: number): Promise<T> {
    this.#proc.send(command);
    const deadline = Date.now() + timeoutMs + 10_000;
    for (;;) {
      const m = this.#inbox.shift();
      if (m !== undefined) {
        if (m.type === 'error') throw new Error(`${this.#name}: ${m.message}`);
        return m as T;
      }
      if (this.#exited) throw new Error(`${this.#name} exited`);
      if (Date.now() > deadline) throw new Error(`${this.#name}: no answer to ${JSON.stringify(command)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    if (this.#proc.connected) this.#proc.disconnect();
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface Memory {
  memory: NodeJS.MemoryUsage;
  connections: number;
}

interface Outcome {
  impl: Impl;
  n: number;
  openSeconds: number;
  idle: { rss: number; heap: number; external: number };
  afterRound: { rss: number; heap: number; external: number };
  serverRss: number;
  clientRss: number;
  problems: string[];
}

const perConn = (a: Memory, b: Memory, n: number) => ({
  rss: (b.memory.rss - a.memory.rss) / n,
  heap: (b.memory.heapUsed - a.memory.heapUsed) / n,
  external: (b.memory.external + b.memory.arrayBuffers - a.memory.external - a.memory.arrayBuffers) / n,
});

const sum = (reports: ClientReport[], key: keyof ClientReport): number =>
  reports.reduce((n, r) => n + (r[key] as number), 0);

/** Source addresses of client process `p` (0: the warm-up process) for library index `lib`. */
function addresses(lib: number, p: number, count: number): string[] {
  return Array.from({ length: count }, (_, a) => `127.${20 + lib}.${p}.${a + 1}`);
}

async function run(impl: Impl, lib: number): Promise<Outcome> {
  const problems: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  const server = new Proc('idle-server.js', `${impl} server`, ['--expose-gc']);
  const clients: Proc[] = [];
  try {
    const { port } = await server.request<{ port: number }>(
      { type: 'start', impl, api: args.api as Api, backlog: 4096 } satisfies ServerCommand,
      phaseMs,
    );
    // Warm-up: 100 connections opened, echoed and closed by a process of their own (code
    // loaded, pools warm), then the baseline.
    const warm = new Proc('idle-clients.js', 'warm-up client');
    const ask = (p: Proc, command: ClientCommand) => p.request<ClientReport>(command, phaseMs);
    await ask(warm, { type: 'open', port, addresses: addresses(lib, 0, 1), count: 100, batch: 50, timeoutMs: phaseMs });
    await ask(warm, { type: 'echo', timeoutMs: phaseMs });
    const warmClosed = await ask(warm, { type: 'close', timeoutMs: phaseMs });
    check(warmClosed.cleanCloses === 100, `warm-up: ${warmClosed.cleanCloses} of 100 closed cleanly`);
    await warm.stop();
    await server.request({ type: 'connections', waitForZeroMs: 5000 } satisfies ServerCommand, phaseMs);
    const base = await server.request<Memory>({ type: 'memory' } satisfies ServerCommand, phaseMs);

    // Open N: `processes` client processes, each over its own source addresses.
    const ports = ephemeralPorts();
    const perAddress = Math.min(args.perAddress, Math.floor(ports * 0.9));
    const addressCount = (share: number) => Math.max(args.addressesPerProcess, Math.ceil(share / perAddress));
    const t0 = Date.now();
    const shares = Array.from({ length: processes }, (_, p) => Math.min(perProcess, N - p * perProcess));
    for (let p = 0; p < processes; p++) clients.push(new Proc('idle-clients.js', `client ${p + 1}`));
    const opened = await Promise.all(
      clients.map((c, p) =>
        ask(c, {
          type: 'open',
          port,
          addresses: addresses(lib, p + 1, addressCount(shares[p]!)),
          count: Math.max(0, shares[p]!),
          batch: args.batch,
          timeoutMs: phaseMs,
        }),
      ),
    );
    const openSeconds = (Date.now() - t0) / 1000;
    const open = sum(opened, 'opened');
    check(
      open === N,
      `opened ${open} of ${N} (${sum(opened, 'failed')} failed: ${opened.flatMap((r) => r.errors).join('; ')})`,
    );
    console.log(
      `  ${impl}: ${open} connections open in ${openSeconds.toFixed(1)} s from ${processes} processes ` +
        `(${opened.map((r) => r.opened).join(' + ')}); idle for ${args.holdS} s`,
    );

    // Idle, then memory.
    await new Promise((r) => setTimeout(r, args.holdS * 1000));
    const idle = await server.request<Memory>({ type: 'memory' } satisfies ServerCommand, phaseMs);
    check(idle.connections === N, `server holds ${idle.connections} of ${N} after the idle period`);

    // Liveness: a ping round from the server to every connection, then an echo round from
    // every client; then memory again (buffers touched once).
    const ping = await server.request<{ pinged: number; pongs: number; ms: number }>(
      { type: 'ping', timeoutMs: phaseMs } satisfies ServerCommand,
      phaseMs,
    );
    check(ping.pongs === N, `ping round: ${ping.pongs} pongs of ${N}`);
    const echoed = await Promise.all(clients.map((c) => ask(c, { type: 'echo', timeoutMs: phaseMs })));
    const echoes = sum(echoed, 'echoes');
    const echoMs = Math.max(...echoed.map((r) => r.ms));
    check(echoes === N, `echo round: ${echoes} echoes of ${N}`);
    const after = await server.request<Memory>({ type: 'memory' } satisfies ServerCommand, phaseMs);
    const clientRss = sum(echoed, 'rss');
    console.log(
      `  ${impl}: alive: ${ping.pongs}/${N} pongs in ${ping.ms} ms (server pings all), ` +
        `${echoes}/${N} echoes in ${echoMs} ms (every client sends 16 B)`,
    );

    // Clean closes from the clients (1000); the server answers and ends each TCP connection.
    const closed = await Promise.all(clients.map((c) => ask(c, { type: 'close', timeoutMs: phaseMs })));
    const clean = sum(closed, 'cleanCloses');
    check(clean === N, `closes: ${clean} clean of ${N}`);
    const left = await server.request<{ connections: number }>(
      { type: 'connections', waitForZeroMs: 10_000 } satisfies ServerCommand,
      phaseMs,
    );
    check(left.connections === 0, `server still holds ${left.connections} connections after the closes`);
    return {
      impl,
      n: N,
      openSeconds,
      idle: perConn(base, idle, N),
      afterRound: perConn(base, after, N),
      serverRss: idle.memory.rss,
      clientRss,
      problems,
    };
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(
    `open files: wanted ${args.connections + RESERVED_FDS} (N + ${RESERVED_FDS}); hard limit ${limit.hard}` +
      `${limit.notes.length > 0 ? ` (${limit.notes.join('; ')})` : ''}; soft limit in effect ${limit.soft}`,
  );
  if (N < args.connections) {
    console.log(
      `the open file limit allows ${maxN} connections in one process: running N = ${N} instead of ` +
        `${args.connections} (raise the hard limit for more: test/soak/README.md)`,
    );
  }
  const ports = ephemeralPorts();
  console.log(
    `node ${process.version}; ${os.cpus().length} CPUs; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ` +
      `N = ${N} idle connections to one server process, from ${processes} client processes ` +
      `(${perProcess} each, on 127.x.y.z source addresses, ${ports} ephemeral ports per address); ` +
      `api: ${args.api}; memory after a full GC, server process only`,
  );
  if (N === 0) throw new Error('no connections fit under the open file limit');
  const results: Outcome[] = [];
  const impls: Impl[] = args.skipWs ? ['wsproto'] : ['wsproto', 'ws'];
  for (const [i, impl] of impls.entries()) {
    const r = await run(impl, i);
    results.push(r);
    console.log(
      `${impl.padEnd(8)} N=${r.n}  idle: RSS ${size(r.idle.rss).padStart(9)}/conn  heap ${size(r.idle.heap).padStart(9)}/conn  ` +
        `external ${size(r.idle.external).padStart(8)}/conn  |  after ping + echo round: RSS ${size(r.afterRound.rss)}/conn  ` +
        `heap ${size(r.afterRound.heap)}/conn  |  server RSS ${size(r.serverRss)}, clients ${size(r.clientRss)} in all`,
    );
    for (const p of r.problems) console.log(`  FAIL ${impl}: ${p}`);
  }
  const ours = results.find((r) => r.impl === 'wsproto');
  const theirs = results.find((r) => r.impl === 'ws');
  if (ours && theirs) {
    const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
    console.log(
      `ratio wsproto/ws idle: RSS ${ratio(ours.idle.rss, theirs.idle.rss)}, heap ${ratio(ours.idle.heap, theirs.idle.heap)}; ` +
        `after the round: RSS ${ratio(ours.afterRound.rss, theirs.afterRound.rss)}, heap ${ratio(ours.afterRound.heap, theirs.afterRound.heap)}`,
    );
  }
  const failed = results.some((r) => r.problems.length > 0);
  console.log(failed ? 'FAIL' : `ok: every connection opened, answered a ping and an echo, and closed cleanly`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
