/**
 * Workload 10: memory per connection, each measurement in fresh child processes
 * (bench/memory.ts, run with --expose-gc) so that one library's garbage never counts
 * against the other.
 *
 * - idle (server side): the child runs an echo server of one library; this process
 *   opens N raw sockets that complete the opening handshake and then stay idle.
 * - after compressed traffic, server side: the child's server has permessage-deflate on
 *   (each library's defaults); this process opens N ws clients that offer it, each
 *   sends three ~2 KiB JSON messages and waits for the three compressed echoes.
 * - the same with our server in its low-memory mode (`perMessageDeflate: { memory:
 *   'low' }`); ws has no such mode, so it keeps its defaults.
 * - after compressed traffic, client side: this process runs a ws server with
 *   permessage-deflate; the child opens N clients of one library that do the same.
 *
 * Each: N/2 connections are opened first and kept open (code loaded, pools warmed, and
 * the process's fixed growth done: V8 grows its young generation to 2 × 16 MiB while the
 * first few thousand connections are made, in every process alike, the bare-socket
 * server's too), then a snapshot after garbage collection, then N more connections,
 * another snapshot; the figures are (RSS delta) / N and (heapUsed delta) / N: what one
 * more connection costs. The RSS leaves out V8's young generation, whose resident pages
 * depend on the garbage of the last handshakes and not on the connections held
 * (bench/child.ts `settledMemory`).
 */
import * as path from 'node:path';
import { Child } from '../child';
import { fdLimit, sleep, type BenchConfig } from '../common';
import { closeAll, openClients, startServer, type MemoryMode } from '../memory-clients';
import type { Lib, Workload } from '../workload';

interface Snapshot {
  type: 'snapshot';
  /** RSS without V8's young generation (bench/child.ts `settledMemory`). */
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

/** A memory child (bench/memory.ts) of `lib` in `role`. */
function memoryChild(lib: Lib | 'socket', role: 'server' | 'client', mode: MemoryMode): Child {
  return new Child(path.join(__dirname, '..', 'memory.js'), [lib, role, mode], ['--expose-gc'], 'memory child');
}

/** The connections opened (and kept) before the first snapshot. */
const warmCount = (n: number): number => Math.ceil(n / 2);

function perConnection(before: Snapshot, after: Snapshot, open: number, n: number): Record<string, number> {
  if (after.connections < open) throw new Error(`only ${after.connections} of ${open} connections are open`);
  return {
    rss: (after.rss - before.rss) / n,
    heap: (after.heapUsed - before.heapUsed) / n,
    external: (after.external - before.external) / n,
  };
}

/** The server of `lib` in a child; clients here. */
async function serverSide(lib: Lib | 'socket', mode: MemoryMode, n: number): Promise<Record<string, number>> {
  const child = memoryChild(lib, 'server', mode);
  try {
    const { port } = await child.next<{ port: number }>('ready');
    // The clients are the same for both servers: raw idle sockets, or ws's compressed client.
    const kind = mode === 'idle' ? ({ mode: 'idle' } as const) : ({ mode: 'deflate', lib: 'ws' } as const);
    const warm = await openClients(kind, port, warmCount(n));
    await sleep(200);
    const before = await child.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot');
    const clients = await openClients(kind, port, n);
    await sleep(50);
    const after = await child.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot');
    closeAll(clients);
    closeAll(warm);
    return perConnection(before, after, warm.length + n, n);
  } finally {
    await child.stop();
  }
}

/** Clients of `lib` in a child; a ws server here. */
async function clientSide(lib: Lib, n: number): Promise<Record<string, number>> {
  const server = await startServer('ws', 'deflate');
  const child = memoryChild(lib, 'client', 'deflate');
  try {
    await child.next('ready');
    const warm = warmCount(n);
    await child.request({ cmd: 'open', port: server.port, n: warm }, 'opened');
    await sleep(100);
    const before = await child.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot');
    await child.request({ cmd: 'open', port: server.port, n }, 'opened');
    const after = await child.request<Snapshot>({ cmd: 'snapshot' }, 'snapshot');
    return perConnection(before, after, warm + n, n);
  } finally {
    await child.stop();
    await server.close();
  }
}

let warned = false;

/** N, reduced to fit the open-file limit (each process holds one socket per connection, warm-up included). */
export function connectionCount(wanted: number): number {
  const limit = fdLimit();
  const n = Math.min(wanted, Math.floor((limit - 200) / 1.5));
  if (n < wanted && !warned) {
    warned = true;
    console.log(
      `note: ulimit -n is ${limit}; memory workloads use ${n} connections instead of ${wanted} (raise it with ulimit -n)`,
    );
  }
  return Math.max(10, n);
}

function memoryWorkload(
  name: string,
  what: string,
  target: { rss: number; heap: number | null },
  count: (config: BenchConfig) => number,
  run: (lib: Lib, n: number) => Promise<Record<string, number>>,
  floor?: (n: number) => Promise<Record<string, number>>,
): Workload {
  return {
    ...(floor === undefined
      ? {}
      : {
          baseline: {
            label: 'a bare upgraded socket',
            measure: (config: BenchConfig) => floor(connectionCount(count(config))),
          },
        }),
    name,
    metrics: [
      { key: 'rss', title: `${what}, RSS`, unit: 'B/conn', better: 'lower', target: target.rss },
      { key: 'heap', title: `${what}, heap`, unit: 'B/conn', better: 'lower', target: target.heap },
    ],
    noWarmup: true,
    reps: (config) => config.memReps,
    measure: (lib: Lib, config: BenchConfig) => run(lib, connectionCount(count(config))),
  };
}

const idle = (config: BenchConfig): number => config.memConnections;
const deflate = (config: BenchConfig): number => config.memDeflateConnections;

export const memoryWorkloads: Workload[] = [
  memoryWorkload(
    'memory-idle',
    'idle server connection',
    { rss: 0.8, heap: 1.0 },
    idle,
    (lib, n) => serverSide(lib, 'idle', n),
    (n) => serverSide('socket', 'idle', n), // the floor: what any server pays per upgraded socket
  ),
  memoryWorkload('memory-deflate', 'server conn. after deflate traffic', { rss: 0.5, heap: 0.5 }, deflate, (lib, n) =>
    serverSide(lib, 'deflate', n),
  ),
  memoryWorkload(
    'memory-deflate-low',
    "server conn. after deflate traffic, memory 'low'",
    { rss: 0.1, heap: null },
    deflate,
    (lib, n) => serverSide(lib, 'deflate-low', n),
  ),
  memoryWorkload(
    'memory-deflate-client',
    'client conn. after deflate traffic',
    { rss: 0.5, heap: 0.5 },
    deflate,
    (lib, n) => clientSide(lib, n),
  ),
];
