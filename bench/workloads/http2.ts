/**
 * Workloads 12-14: WebSocket over HTTP/2 (RFC 8441). 100 concurrent WebSockets on ONE
 * HTTP/2 session (ours) against 100 HTTP/1.1 connections (ours, and ws, which has no
 * HTTP/2), over TLS with ALPN (`BENCH_HTTP2_TRANSPORT=clear`: h2c and plain http). The
 * server and the client of each variant run in processes of their own
 * (bench/http2-peer.ts), so each side's memory and CPU time are measured alone.
 *
 * In these rows "ours" is h2 (100 WebSockets multiplexed on one session), "ws" is ws on
 * 100 connections, and the notes give ours on 100 HTTP/1.1 connections with the ratio
 * h2 / HTTP/1.1 (measured in rotation with the other two).
 *
 * - http2-memory: fresh server and client processes for each measurement; 20
 *   WebSockets opened and closed first (code loaded, pools warm; h2: on a session of
 *   their own, closed with them), a snapshot of both after garbage collection, then 100
 *   WebSockets opened (h2: on one new session) each of which echoes one 16 B message,
 *   another snapshot. Figures: (delta) / 100, RSS and heapUsed, server and client; the
 *   h2 figures include the one session's cost, shared by its 100 WebSockets.
 * - http2-echo-16b, http2-echo-16k: the processes of each variant stay up for the
 *   workload with their 100 WebSockets open; a round: every WebSocket keeps `window`
 *   messages in flight until it has sent `count`, bounded by a time limit. Rate: echoes
 *   received per second of wall time (client clock); the CPU-time rate divides by the
 *   CPU time of both processes.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Child } from '../child';
import { sleep, type BenchConfig } from '../common';
import type { CpuTime, Echoed, Opened, Ready, Snapshot, Transport, Variant } from '../http2-protocol';
import type { Lib, Workload } from '../workload';

/** WebSockets per measurement (the figure): one h2 session, or as many connections. */
const WEBSOCKETS = 100;
/** WebSockets opened and closed before the first snapshot. */
const WARM = 20;

const TRANSPORT: Transport = process.env.BENCH_HTTP2_TRANSPORT === 'clear' ? 'clear' : 'tls';
/** Extra Node flags for the peer processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`). */
const PEER_FLAGS = (process.env.BENCH_HTTP2_FLAGS ?? '').split(' ').filter((f) => f !== '');

const VARIANT: Record<Lib, Variant> = { ours: 'h2', ws: 'ws' };

const TRANSPORT_NOTE =
  TRANSPORT === 'tls'
    ? 'TLS: h2 by ALPN on http2.createSecureServer, HTTP/1.1 on https.createServer'
    : 'cleartext: h2c (prior knowledge) on http2.createServer, HTTP/1.1 on http.createServer';

// ---------------------------------------------------------------------------------
// certificate and processes

let certDir: string | null = null;

/** A self-signed ECDSA P-256 certificate for 127.0.0.1, made once per run (openssl). */
function certificate(): string {
  if (certDir !== null) return certDir;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-bench-h2-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not make a certificate with openssl: ${String((error as Error).message)}`);
  }
  certDir = dir;
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function peer(role: 'server' | 'client', variant: Variant): Child {
  return new Child(
    path.join(__dirname, '..', 'http2-peer.js'),
    [role, variant, TRANSPORT, certificate()],
    ['--expose-gc', ...PEER_FLAGS],
    `http2 ${variant} ${role}`,
  );
}

/** A server and a client of one variant; the client opens groups against the server. */
class Pair {
  readonly server: Child;
  readonly client: Child;
  #port = 0;

  constructor(variant: Variant) {
    this.server = peer('server', variant);
    this.client = peer('client', variant);
  }

  async start(): Promise<void> {
    this.#port = (await this.server.next<Ready>('ready')).port;
    await this.client.next<Ready>('ready');
  }

  open(n: number): Promise<Opened> {
    return this.client.request<Opened>({ cmd: 'open', port: this.#port, n }, 'opened');
  }

  /** Snapshots of both, taken at the same time. */
  async snapshots(): Promise<{ server: Snapshot; client: Snapshot }> {
    const [server, client] = await Promise.all([
      this.server.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot'),
      this.client.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot'),
    ]);
    return { server, client };
  }

  async stop(): Promise<void> {
    await Promise.all([this.client.stop(), this.server.stop()]);
  }
}

// ---------------------------------------------------------------------------------
// memory

/** The TCP connections `n` WebSockets of `variant` take: one session, or one each. */
function socketsFor(variant: Variant, n: number): number {
  return variant === 'h2' ? 1 : n;
}

async function memory(variant: Variant): Promise<Record<string, number>> {
  const pair = new Pair(variant);
  try {
    await pair.start();
    await pair.open(WARM);
    await pair.client.request({ cmd: 'close' }, 'closed');
    await sleep(200);
    const before = await pair.snapshots();
    await pair.open(WEBSOCKETS);
    await sleep(50);
    const after = await pair.snapshots();
    for (const side of ['server', 'client'] as const) {
      const websockets = after[side].websockets - before[side].websockets;
      const sockets = after[side].sockets - before[side].sockets;
      if (websockets !== WEBSOCKETS || sockets !== socketsFor(variant, WEBSOCKETS)) {
        throw new Error(
          `${variant} ${side}: ${websockets} WebSockets on ${sockets} connections, not ${WEBSOCKETS} on ${socketsFor(variant, WEBSOCKETS)}`,
        );
      }
    }
    const per = (side: 'server' | 'client', key: 'rss' | 'heapUsed'): number =>
      (after[side][key] - before[side][key]) / WEBSOCKETS;
    return {
      serverRss: per('server', 'rss'),
      serverHeap: per('server', 'heapUsed'),
      clientRss: per('client', 'rss'),
      clientHeap: per('client', 'heapUsed'),
    };
  } finally {
    await pair.stop();
  }
}

const memoryWorkload: Workload = {
  name: 'http2-memory',
  metrics: [
    { key: 'serverRss', title: 'h2 ×100 on 1 session: server RSS/WS', unit: 'B/conn', better: 'lower', target: null },
    { key: 'serverHeap', title: 'h2 ×100 on 1 session: server heap/WS', unit: 'B/conn', better: 'lower', target: null },
    { key: 'clientRss', title: 'h2 ×100 on 1 session: client RSS/WS', unit: 'B/conn', better: 'lower', target: null },
    { key: 'clientHeap', title: 'h2 ×100 on 1 session: client heap/WS', unit: 'B/conn', better: 'lower', target: null },
  ],
  noWarmup: true,
  // 100 WebSockets move RSS by a few MiB only: more repetitions than the memory workloads.
  reps: (config) => (config.quick ? 1 : 7),
  setup: () => void certificate(),
  measure: (lib: Lib) => memory(VARIANT[lib]),
  baseline: { label: 'ours HTTP/1.1', ratio: 'h2/h1.1', measure: () => memory('h1') },
};

// ---------------------------------------------------------------------------------
// echo throughput

interface EchoShape {
  size: number;
  /** Messages each WebSocket sends in a round (a warm-up round: a quarter). */
  count: (config: BenchConfig) => number;
  /** Messages each WebSocket keeps in flight. */
  window: number;
}

function echoWorkload(name: string, title: string, shape: EchoShape): Workload {
  const pairs = new Map<Variant, Pair>();
  let limited = 0;
  const round = async (variant: Variant, config: BenchConfig, warmup: boolean): Promise<Record<string, number>> => {
    const pair = pairs.get(variant)!;
    const count = warmup ? Math.ceil(shape.count(config) / 4) : shape.count(config);
    const limitMs = config.quick ? 1000 : 2500;
    const cpu0 = await pair.server.request<CpuTime>({ cmd: 'cpu' }, 'cpu');
    const r = await pair.client.request<Echoed>(
      { cmd: 'echo', size: shape.size, count, window: shape.window, limitMs },
      'echoed',
    );
    const cpu1 = await pair.server.request<CpuTime>({ cmd: 'cpu' }, 'cpu');
    if (r.limited && !warmup) limited++;
    return {
      value: (r.messages / r.ms) * 1000,
      cpu: (r.messages / Math.max(r.cpuMs + cpu1.cpuMs - cpu0.cpuMs, 1e-3)) * 1000,
    };
  };
  return {
    name,
    metrics: [{ key: 'value', title, unit: 'msg/s', better: 'higher', target: null, bytesPerUnit: shape.size }],
    async setup(config) {
      limited = 0;
      for (const variant of ['h2', 'h1', 'ws'] as const) pairs.set(variant, new Pair(variant));
      try {
        for (const pair of pairs.values()) {
          await pair.start();
          const opened = await pair.open(WEBSOCKETS);
          if (opened.n !== WEBSOCKETS) throw new Error(`${opened.n} WebSockets opened, not ${WEBSOCKETS}`);
        }
      } catch (error) {
        // The runner tears down only what set up.
        await Promise.all([...pairs.values()].map((pair) => pair.stop()));
        pairs.clear();
        throw error;
      }
      process.stdout.write(
        `\n    ${WEBSOCKETS} WebSockets (${TRANSPORT_NOTE}); ${shape.size} B ${shape.size < 1024 ? 'text' : 'binary'} ` +
          `messages, ${shape.count(config)} per WebSocket per round, ${shape.window} in flight each; ` +
          `rounds stop at ${config.quick ? 1 : 2.5} s\n    `,
      );
    },
    measure: (lib, config, warmup) => round(VARIANT[lib], config, warmup),
    baseline: { label: 'ours HTTP/1.1', ratio: 'h2/h1.1', measure: (config, warmup) => round('h1', config, warmup) },
    async teardown() {
      await Promise.all([...pairs.values()].map((pair) => pair.stop()));
      pairs.clear();
      if (limited > 0) process.stdout.write(`(${limited} rounds stopped at the time limit) `);
    },
  };
}

export const http2Workloads: Workload[] = [
  memoryWorkload,
  echoWorkload('http2-echo-16b', 'h2 ×100 on 1 session: echo 16 B', {
    size: 16,
    count: (config) => (config.quick ? 200 : 1000),
    window: 32,
  }),
  echoWorkload('http2-echo-16k', 'h2 ×100 on 1 session: echo 16 KiB', {
    size: 16 * 1024,
    count: (config) => (config.quick ? 16 : 64),
    window: 4,
  }),
];
