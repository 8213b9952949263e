/**
 * Workloads 11-13: broadcast. One 1 KiB message to 10,000 clients over loopback TCP
 * (`--quick`: 1,000): ours `publish(topic, data)` / `broadcast(data)` of a
 * `WebSocketServer`, against ws's `wss.clients.forEach((c) => c.send(data))`, without
 * compression, with permessage-deflate where each message is compressed alone
 * (server_no_context_takeover: ours compresses once per publish), and with the default
 * context takeover (every connection compresses with its own context, in both
 * libraries).
 *
 * Processes (bench/broadcast-protocol.ts has the IPC messages):
 *
 *   this process ──fork──▶ broadcast-server.js ours │ ws │ raw   (one server each, its own CPU)
 *        │                      ▲ N clients each
 *        └──fork──▶ broadcast-clients.js × P        (N/P clients of every server each)
 *
 * A round: every client process is armed for one server; the server stamps the clock and
 * its CPU time and makes its publish call; each client process stamps the moment its last
 * client had the whole message; then the server reports its CPU time since the stamp.
 * Time to last delivery = latest client stamp − server stamp (one clock: CLOCK_MONOTONIC,
 * shared by every process on the machine; checked against this process's own clock).
 * Server CPU = process CPU (user + system, all threads) from just before the publish call
 * until every client has the message: framing, compression (ws's zlib pool included),
 * and the socket writes.
 *
 * The rounds pair up as the runner does for every loopback workload: ours (a publish()
 * round and a broadcast() round), ws (two forEach rounds), in alternating order, then the
 * raw floor (bench/broadcast-server.ts: one prebuilt frame `socket.write`n to every
 * socket) in the notes column. Warm-up: 3 rounds of each first.
 *
 * Profiling the servers: BENCH_BROADCAST_PROFILE=/tmp/prof profiles each from its first
 * publish on (bench/broadcast-server.ts); BENCH_BROADCAST_SERVER_FLAGS='--cpu-prof ...'
 * passes Node flags to every server process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fdLimit, median, now, type BenchConfig } from '../common';
import type {
  BroadcastMode,
  ClientCommand,
  ClientReport,
  SendMethod,
  ServerCommand,
  ServerKind,
  ServerReport,
} from '../broadcast-protocol';
import type { Lib, Metric, Workload } from '../workload';

/** How long one round, or opening one share of clients, may take. */
const ROUND_TIMEOUT = 120_000;
const OPEN_TIMEOUT = 300_000;
const KINDS: readonly ServerKind[] = ['ours', 'ws', 'raw'];

/** A child process and its IPC inbox. */
class Child<C extends object, R extends { type: string }> {
  readonly #proc: ChildProcess;
  readonly #inbox: R[] = [];
  readonly #wakers = new Set<() => void>();
  #exit: string | null = null;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    execArgv: string[] = [],
  ) {
    this.#proc = fork(path.join(__dirname, '..', script), args, {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#proc.on('message', (message: R) => {
      this.#inbox.push(message);
      for (const wake of this.#wakers) wake();
    });
    this.#proc.on('exit', (code, signal) => {
      this.#exit = `exited (${signal ?? code})`;
      for (const wake of this.#wakers) wake();
    });
  }

  /** The first message of `type` (that `match` accepts); an 'error' message throws. */
  async next<T extends R['type']>(
    type: T,
    timeout: number,
    match: (message: Extract<R, { type: T }>) => boolean = () => true,
  ): Promise<Extract<R, { type: T }>> {
    const deadline = now() + timeout;
    for (;;) {
      const failed = this.#inbox.find((m) => m.type === 'error') as { message?: string } | undefined;
      if (failed !== undefined) throw new Error(`${this.name}: ${failed.message}`);
      const index = this.#inbox.findIndex((m) => m.type === type && match(m as Extract<R, { type: T }>));
      if (index >= 0) return this.#inbox.splice(index, 1)[0] as Extract<R, { type: T }>;
      if (this.#exit !== null) throw new Error(`${this.name} ${this.#exit}`);
      const left = deadline - now();
      if (left <= 0) throw new Error(`${this.name}: no '${type}' within ${timeout} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#wakers.add(wake);
      });
    }
  }

  request<T extends R['type']>(command: C, type: T, timeout = ROUND_TIMEOUT): Promise<Extract<R, { type: T }>> {
    this.#proc.send(command);
    return this.next(type, timeout);
  }

  async stop(): Promise<void> {
    if (this.#exit !== null) return;
    const exited = new Promise<void>((resolve) => this.#proc.once('exit', () => resolve()));
    if (this.#proc.connected) this.#proc.disconnect();
    const timer = setTimeout(() => this.#proc.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

type ServerChild = Child<ServerCommand, ServerReport>;
type ClientChild = Child<ClientCommand, ClientReport>;

/** The processes of one workload, with N clients connected to each server. */
interface Fleet {
  mode: BroadcastMode;
  n: number;
  servers: Record<ServerKind, ServerChild>;
  ports: Record<ServerKind, number>;
  clients: ClientChild[];
  /** Each server's RSS after its last round. */
  rss: Record<ServerKind, number>;
  /** Per round of each server: the CPU time of the publish call alone, and of all client processes together. */
  inCall: Record<ServerKind, number[]>;
  clientCpu: Record<ServerKind, number[]>;
}

/** N, reduced to what the open-file limit allows (a server holds N sockets, a client process 3N/P). */
function fit(wanted: number, processes: number): number {
  const limit = fdLimit() - 100;
  const n = Math.min(wanted, limit, Math.floor((limit * processes) / KINDS.length));
  if (n < wanted) {
    console.log(
      `\n  note: ulimit -n is ${limit + 100}; broadcast uses ${n} clients instead of ${wanted} (raise it with ulimit -n)`,
    );
  }
  return n;
}

function expectExtensions(mode: BroadcastMode, kind: ServerKind, seen: Set<string>): void {
  for (const value of seen) {
    const deflate = value.includes('permessage-deflate');
    const noContext = value.includes('server_no_context_takeover');
    const ok = mode === 'plain' ? value === '' : deflate && noContext === (mode === 'once');
    if (!ok) throw new Error(`${kind} answered Sec-WebSocket-Extensions: '${value}' in mode ${mode}`);
  }
}

async function startFleet(mode: BroadcastMode, config: BenchConfig): Promise<Fleet> {
  const processes = config.broadcastProcesses;
  const n = fit(config.broadcastClients, processes);
  const flags = (process.env.BENCH_BROADCAST_SERVER_FLAGS ?? '').split(' ').filter((f) => f !== '');
  const servers = Object.fromEntries(
    KINDS.map((kind) => [kind, new Child(`${kind} server`, 'broadcast-server.js', [kind, mode], flags)]),
  ) as Record<ServerKind, ServerChild>;
  const clients: ClientChild[] = Array.from(
    { length: processes },
    (_, i) => new Child(`client process ${i}`, 'broadcast-clients.js', []),
  );
  const fleet: Fleet = {
    mode,
    n,
    servers,
    ports: { ours: 0, ws: 0, raw: 0 },
    clients,
    rss: { ours: 0, ws: 0, raw: 0 },
    inCall: { ours: [], ws: [], raw: [] },
    clientCpu: { ours: [], ws: [], raw: [] },
  };
  try {
    for (const kind of KINDS) fleet.ports[kind] = (await servers[kind].next('ready', 30_000)).port;
    await Promise.all(clients.map((c) => c.next('ready', 30_000)));
    // N clients of every server, spread over the client processes.
    const share = (i: number) => Math.floor(n / processes) + (i < n % processes ? 1 : 0);
    for (const kind of KINDS) {
      const opened = await Promise.all(
        clients.map((c, i) =>
          c.request(
            { cmd: 'open', set: kind, port: fleet.ports[kind], n: share(i), deflate: mode !== 'plain' },
            'opened',
            OPEN_TIMEOUT,
          ),
        ),
      );
      expectExtensions(mode, kind, new Set(opened.flatMap((o) => o.extensions)));
      // The server counts a client once its handshake is done on its side.
      for (let tries = 0; ; tries++) {
        const { clients: counted } = await servers[kind].request({ cmd: 'count' }, 'count');
        if (counted === n) break;
        if (tries === 100) throw new Error(`${kind} server has ${counted} of ${n} clients`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return fleet;
  } catch (error) {
    await stopFleet(fleet);
    throw error;
  }
}

async function stopFleet(fleet: Fleet): Promise<void> {
  await Promise.all(
    Object.values(fleet.servers).map((s) => s.request({ cmd: 'finish' }, 'finished', 60_000).catch(() => undefined)),
  );
  await Promise.all(fleet.clients.map((c) => c.request({ cmd: 'close' }, 'closed', 30_000).catch(() => undefined)));
  await Promise.all([...fleet.clients, ...Object.values(fleet.servers)].map((c) => c.stop()));
}

interface RoundResult {
  ms: number;
  cpuMs: number;
}

/** One message from `kind`'s server to all its clients (see the top of the file). */
async function round(fleet: Fleet, kind: ServerKind, method: SendMethod): Promise<RoundResult> {
  await Promise.all(fleet.clients.map((c) => c.request({ cmd: 'arm', set: kind }, 'armed')));
  const done = Promise.all(fleet.clients.map((c) => c.next('done', ROUND_TIMEOUT, (m) => m.set === kind)));
  done.catch(() => undefined); // awaited below; a failure before then is not unhandled
  const server = fleet.servers[kind];
  const published = await server.request({ cmd: 'publish', method }, 'published');
  const reports = await done;
  const here = now();
  const cpu = await server.request({ cmd: 'cpu' }, 'cpu');
  fleet.rss[kind] = cpu.rss;
  fleet.inCall[kind].push(published.syncCpuMs);
  fleet.clientCpu[kind].push(reports.reduce((sum, r) => sum + r.cpuMs, 0));

  const messages = reports.reduce((sum, r) => sum + r.messages, 0);
  const compressed = reports.reduce((sum, r) => sum + r.compressed, 0);
  const verified = reports.reduce((sum, r) => sum + r.verified, 0);
  if (published.sent !== fleet.n) throw new Error(`${kind} ${method}: sent to ${published.sent} of ${fleet.n}`);
  if (messages !== fleet.n) throw new Error(`${kind} ${method}: ${messages} of ${fleet.n} clients got the message`);
  if (compressed !== (fleet.mode === 'plain' ? 0 : fleet.n)) {
    throw new Error(`${kind} ${method}: ${compressed} of ${fleet.n} messages compressed (RSV1) in mode ${fleet.mode}`);
  }
  if (verified < fleet.clients.length) throw new Error(`${kind} ${method}: only ${verified} payloads verified`);
  const last = Math.max(...reports.map((r) => r.at));
  if (last < published.t0 || last > here) throw new Error('the processes do not share one monotonic clock');
  return { ms: last - published.t0, cpuMs: cpu.cpuMs };
}

/** The rounds of one measurement: two per side (ours: publish(), broadcast(); the others their one way, twice). */
async function measureKind(fleet: Fleet, kind: ServerKind, warmup: boolean): Promise<Record<string, number>> {
  const methods: [SendMethod, SendMethod] =
    kind === 'ours' ? ['publish', 'broadcast'] : kind === 'ws' ? ['forEach', 'forEach'] : ['write', 'write'];
  const record: Record<string, number> = {};
  for (const [i, key] of (['publish', 'broadcast'] as const).entries()) {
    let r: RoundResult | null = null;
    for (let k = 0; k < (warmup ? 3 : 1); k++) r = await round(fleet, kind, methods[i]!);
    record[key] = r!.ms;
    record[key === 'publish' ? 'cpuPublish' : 'cpuBroadcast'] = r!.cpuMs;
  }
  return record;
}

const MODES: Record<BroadcastMode, string> = {
  plain: 'no compression',
  once: 'deflate, no ctx takeover',
  takeover: 'deflate, ctx takeover',
};

function metrics(mode: BroadcastMode, n: number, target: number | null): Metric[] {
  const label = `1 KiB → ${n >= 1000 ? `${n / 1000}k` : n}, ${MODES[mode]}`;
  const time = (key: string, how: string): Metric => ({
    key,
    title: `${label}, ${how}: last delivery`,
    unit: 'ms',
    better: 'shorter',
    target,
  });
  const cpu = (key: string, how: string): Metric => ({
    key,
    title: `${label}, ${how}: server CPU`,
    unit: 'ms',
    better: 'shorter',
    target: null,
  });
  return [
    time('publish', 'publish()'),
    time('broadcast', 'broadcast()'),
    cpu('cpuPublish', 'publish()'),
    cpu('cpuBroadcast', 'broadcast()'),
  ];
}

function broadcastWorkload(name: string, mode: BroadcastMode, target: number | null): Workload {
  let fleet: Fleet | null = null;
  const workload: Workload = {
    name,
    metrics: metrics(mode, 10_000, target),
    async setup(config: BenchConfig) {
      fleet = await startFleet(mode, config);
      workload.metrics = metrics(mode, fleet.n, target);
    },
    reps: (config) => config.broadcastRounds,
    measure: (lib: Lib, _config: BenchConfig, warmup: boolean) => measureKind(fleet!, lib, warmup),
    baseline: {
      label: 'raw socket.write',
      measure: (_config: BenchConfig, warmup: boolean) => measureKind(fleet!, 'raw', warmup),
    },
    async teardown() {
      if (fleet === null) return;
      const f = fleet;
      const each = (what: (kind: ServerKind) => string) => KINDS.map((kind) => `${kind} ${what(kind)}`).join(', ');
      const ms = (values: number[]) => (values.length === 0 ? '–' : `${median(values).toFixed(1)} ms`);
      process.stdout.write(
        `\n    ${f.n} clients in ${f.clients.length} processes. Medians over all rounds (warm-up included): ` +
          `server CPU inside the publish call: ${each((k) => ms(f.inCall[k]))}; ` +
          `CPU of all client processes per round: ${each((k) => ms(f.clientCpu[k]))}; ` +
          `server RSS after the rounds: ${each((k) => `${Math.round(f.rss[k] / 2 ** 20)} MiB`)}\n    `,
      );
      await stopFleet(fleet);
      fleet = null;
    },
  };
  return workload;
}

export const broadcastWorkloads: Workload[] = [
  broadcastWorkload('broadcast-plain', 'plain', 5),
  broadcastWorkload('broadcast-deflate-once', 'once', 20),
  broadcastWorkload('broadcast-deflate-takeover', 'takeover', null),
];
