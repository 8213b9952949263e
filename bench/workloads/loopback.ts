/**
 * Workloads 8-9: real connections over loopback TCP (127.0.0.1), client and server in
 * this one process (so a figure is the cost of both ends together), no compression.
 *
 * - ours: an `http.Server` whose 'upgrade' goes to `handleUpgrade()`, and a client from
 *   `connect()`; both `WebSocketDuplex`s, using `send()` and the 'message' event.
 * - ws: an `http.Server` whose 'upgrade' goes to `WebSocketServer({ noServer: true })`,
 *   and `new WebSocket(url)`; `send()` and 'message'. perMessageDeflate off on both.
 * - raw TCP (baseline column): `net` sockets moving the same payload bytes without any
 *   framing (the floor that the event loop and the kernel set).
 *
 * ping-pong: the client sends a 16 B text message, the server echoes it, the client
 * sends the next one when the echo arrives; for a window's time or 50,000 round trips.
 * one-way 16 B: the client sends 1000 text messages per event-loop turn (setImmediate)
 * while fewer than 20,000 are in flight; the server counts them. Timed from the first
 * send until the server has received everything sent within the window's time.
 * one-way 64 KiB: the same with 64 KiB binary messages, 16 per turn, at most 8 MiB in
 * flight; and the other way round (one-way-64k-down: the server sends, the client counts),
 * the direction without masking.
 *
 * Timing: one repetition cuts each side's `loopMs` into 5 windows (3 with --quick), and
 * the three sides (ours, ws, raw TCP) take turns window by window, so that load from
 * other processes falls on all three alike; a side's figure is the median of its windows
 * (bench/README.md, "Loopback", says why and what it changed).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect, handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { clock, median, now, since, wsLib, type BenchConfig } from '../common';
import type { Lib, Workload } from '../workload';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** The 16 B text message; raw TCP writes its bytes, prebuilt (what a transport writes in the end). */
const SMALL = 'sixteen-bytes-ok';
const SMALL_BYTES = Buffer.from(SMALL);

/** echo: the server echoes; count: the client sends, the server counts; down: the server sends, the client counts. */
type Mode = 'echo' | 'count' | 'down';

/** Counts what a server received, and tells the driver. */
interface Counter {
  units: number;
  notify: () => void;
}

/** A connected client (of one kind) and its server. */
interface Peer {
  send(data: string | Buffer): void;
  /** Called for each echo (ping-pong). */
  onReply: () => void;
  close(): Promise<void>;
}

function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: http.Server | net.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 500);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Units a server counts for one message: 1 for text (a message), bytes for binary. */
function units(data: { length: number }, isBinary: boolean): number {
  return isBinary ? data.length : 1;
}

async function ourPeer(mode: Mode, counter: Counter): Promise<Peer> {
  const server = http.createServer();
  const serverSide = new Set<WebSocketDuplex>();
  let accepted: (ws: WebSocketDuplex) => void = () => undefined;
  const first = new Promise<WebSocketDuplex>((resolve) => (accepted = resolve));
  server.on('upgrade', (req, socket, head) => {
    const ws = handleUpgrade(req, socket, head);
    serverSide.add(ws);
    accepted(ws);
    ws.on('close', () => serverSide.delete(ws));
    ws.on('message', (data: string | Buffer, isBinary: boolean) => {
      if (mode === 'echo') {
        ws.send(data, { binary: isBinary });
      } else {
        counter.units += units(data, isBinary);
        counter.notify();
      }
    });
  });
  const port = await listen(server);
  const client = await connect(`ws://127.0.0.1:${port}/`);
  const sender = mode === 'down' ? await first : client;
  if (mode === 'down') {
    client.on('message', (data: string | Buffer, isBinary: boolean) => {
      counter.units += units(data, isBinary);
      counter.notify();
    });
  }
  const peer: Peer = {
    send: (data) => void sender.send(data),
    onReply: () => undefined,
    async close() {
      client.destroy();
      for (const ws of serverSide) ws.destroy();
      await closeServer(server);
    },
  };
  client.on('message', () => peer.onReply());
  client.on('error', () => undefined);
  return peer;
}

async function wsPeer(mode: Mode, counter: Counter): Promise<Peer> {
  const server = http.createServer();
  const wss = new wsLib.WebSocketServer({ noServer: true, perMessageDeflate: false });
  let accepted: (ws: any) => void = () => undefined;
  const first = new Promise<any>((resolve) => (accepted = resolve));
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws: any) => {
      accepted(ws);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (mode === 'echo') {
          ws.send(data, { binary: isBinary });
        } else {
          counter.units += units(data, isBinary);
          counter.notify();
        }
      });
    });
  });
  const port = await listen(server);
  const client = new wsLib.WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const sender = mode === 'down' ? await first : client;
  if (mode === 'down') {
    client.on('message', (data: Buffer, isBinary: boolean) => {
      counter.units += units(data, isBinary);
      counter.notify();
    });
  }
  const peer: Peer = {
    send: (data) => sender.send(data),
    onReply: () => undefined,
    async close() {
      client.terminate();
      for (const ws of wss.clients) ws.terminate();
      await closeServer(server);
    },
  };
  client.on('message', () => peer.onReply());
  client.on('error', () => undefined);
  return peer;
}

/** Raw TCP: echo, or count bytes (`unit` bytes make one unit: 16 for 16 B messages, 1 for bytes). */
async function tcpPeer(mode: Mode, counter: Counter, unit: number, replySize: number): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  let accepted: (socket: net.Socket) => void = () => undefined;
  const first = new Promise<net.Socket>((resolve) => (accepted = resolve));
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    accepted(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (data) => {
      if (mode === 'echo') {
        socket.write(data);
      } else {
        counter.units += data.length / unit;
        counter.notify();
      }
    });
  });
  const port = await listen(server);
  const client = net.connect(port, '127.0.0.1');
  client.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  let pending = 0;
  const sender = mode === 'down' ? await first : client;
  const peer: Peer = {
    send: (data) => void sender.write(typeof data === 'string' ? SMALL_BYTES : data),
    onReply: () => undefined,
    async close() {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await closeServer(server);
    },
  };
  client.on('data', (data) => {
    if (mode === 'down') {
      counter.units += data.length / unit;
      counter.notify();
      return;
    }
    pending += data.length;
    while (pending >= replySize) {
      pending -= replySize;
      peer.onReply();
    }
  });
  client.on('error', () => undefined);
  return peer;
}

/** Units per wall-clock second (`value`) and per CPU second (`cpu`). */
type Rates = Record<'value' | 'cpu', number>;

/** One timed window's rates, with the units and CPU ms they came from (so that windows can be pooled). */
type Window = Rates & { units: number; cpuMs: number };

function rates(units: number, t: { ms: number; cpuMs: number }): Window {
  return { value: (units / t.ms) * 1000, cpu: (units / t.cpuMs) * 1000, units, cpuMs: t.cpuMs };
}

/** Round trips per second: send, wait for the echo, send again. */
function pingPong(peer: Peer, message: string | Buffer, ms: number, maxRoundTrips: number): Promise<Window> {
  return new Promise((resolve) => {
    let n = 0;
    const t0 = clock();
    const deadline = t0.wall + ms;
    peer.onReply = () => {
      n++;
      if (n >= maxRoundTrips || now() >= deadline) {
        peer.onReply = () => undefined;
        resolve(rates(n, since(t0)));
      } else {
        peer.send(message);
      }
    };
    peer.send(message);
  });
}

/** Units per second received by the server while the client sends batches each turn. */
function oneWay(
  peer: Peer,
  counter: Counter,
  message: string | Buffer,
  batch: number,
  unitsPerMessage: number,
  window: number,
  ms: number,
): Promise<Window> {
  return new Promise((resolve) => {
    counter.units = 0;
    let sent = 0;
    let stopped = false;
    let waiting = false;
    let finished = false;
    const t0 = clock();
    const finish = (): void => {
      if (finished) return;
      finished = true;
      const t = since(t0);
      counter.notify = () => undefined;
      resolve(rates(counter.units, t));
    };
    const pump = (): void => {
      if (now() - t0.wall >= ms) {
        stopped = true;
        if (counter.units >= sent) finish();
        return;
      }
      if (sent - counter.units >= window) {
        waiting = true;
        return;
      }
      for (let i = 0; i < batch; i++) peer.send(message);
      sent += batch * unitsPerMessage;
      setImmediate(pump);
    };
    counter.notify = () => {
      if (stopped) {
        if (counter.units >= sent) finish();
      } else if (waiting && sent - counter.units <= window / 2) {
        waiting = false;
        setImmediate(pump);
      }
    };
    pump();
  });
}

interface Peers {
  ours: Peer;
  ws: Peer;
  tcp: Peer;
}

/** The three sides of a loopback row: the two libraries and the raw TCP reference. */
type Side = keyof Peers;
const SIDES: readonly Side[] = ['tcp', 'ours', 'ws'];

/** `BENCH_LOOPBACK_TRACE=1`: every window's rates on stderr, in the order they ran (to see load come and go). */
const TRACE = process.env.BENCH_LOOPBACK_TRACE === '1';

/** Timed windows per side in one repetition (`BENCH_LOOPBACK_WINDOWS` overrides, for experiments). */
function windowsPerRepetition(config: BenchConfig): number {
  const forced = Number(process.env.BENCH_LOOPBACK_WINDOWS);
  return Number.isInteger(forced) && forced > 0 ? forced : config.quick ? 3 : 5;
}

/** The median of window rates (wall clock); CPU: all windows' units over all their CPU time. */
function combine(windows: Array<Window>): Rates {
  const walls = windows.map((w) => w.value);
  const units = windows.reduce((n, w) => n + w.units, 0);
  const cpuMs = windows.reduce((n, w) => n + w.cpuMs, 0);
  return { value: median(walls), cpu: (units / Math.max(cpuMs, 1e-3)) * 1000 };
}

function loopbackWorkload(
  name: string,
  title: string,
  mode: Mode,
  unit: 'rt/s' | 'msg/s' | 'B/s',
  target: number,
  rawTarget: number | undefined,
  run: (peer: Peer, counter: Counter, ms: number, config: BenchConfig) => Promise<Window>,
  tcpUnit: number,
  tcpReply: number,
): Workload {
  let peers: Peers | null = null;
  const counters = {
    ours: { units: 0, notify: () => undefined },
    ws: { units: 0, notify: () => undefined },
    tcp: { units: 0, notify: () => undefined },
  };
  /** Results of the current repetition's round not yet handed to the runner. */
  const pending = new Map<Side, Rates>();
  /** Every repetition's raw TCP figures, for their spread in the notes. */
  const reference: Rates[] = [];
  let rounds = 0;

  /**
   * One repetition of all three sides at once: `windows` timed windows each, the sides
   * taking turns window by window (the first side moving on each window and each
   * repetition), so that a burst of load from other processes falls on all three alike.
   */
  async function round(config: BenchConfig, warmup: boolean): Promise<void> {
    const windows = warmup ? 1 : windowsPerRepetition(config);
    const ms = (warmup ? config.warmupMs : config.loopMs) / windows;
    const got: Record<Side, Array<Window>> = { tcp: [], ours: [], ws: [] };
    for (let w = 0; w < windows; w++) {
      for (let k = 0; k < SIDES.length; k++) {
        const side = SIDES[(rounds + w + k) % SIDES.length]!;
        const window = await run(peers![side], counters[side], ms, config);
        if (TRACE)
          process.stderr.write(
            `${warmup ? 'warm-up ' : ''}${name} ${side}: ${window.value.toPrecision(4)} /s, ${window.cpu.toPrecision(4)} /CPU s\n`,
          );
        got[side].push(window);
      }
    }
    rounds++;
    for (const side of SIDES) pending.set(side, combine(got[side]));
    if (!warmup) reference.push(pending.get('tcp')!);
  }

  /** This repetition's figure for `side`: the runner asks for each side once per repetition. */
  async function take(side: Side, config: BenchConfig, warmup: boolean): Promise<Rates> {
    if (!pending.has(side)) await round(config, warmup);
    const r = pending.get(side)!;
    pending.delete(side);
    return r;
  }

  return {
    name,
    metrics: [
      {
        key: 'value',
        title,
        unit,
        better: 'higher',
        target,
        ...(rawTarget === undefined ? {} : { baselineTarget: rawTarget }),
      },
    ],
    async setup() {
      pending.clear();
      reference.length = 0;
      peers = {
        ours: await ourPeer(mode, counters.ours),
        ws: await wsPeer(mode, counters.ws),
        tcp: await tcpPeer(mode, counters.tcp, tcpUnit, tcpReply),
      };
    },
    measure: (lib: Lib, config: BenchConfig, warmup: boolean) => take(lib, config, warmup),
    baseline: {
      // The reference's own spread over the repetitions (wall clock, and units per CPU second).
      get label() {
        if (reference.length < 2) return 'raw TCP';
        const spread = (values: number[]): string => {
          const m = median(values);
          return `${((Math.min(...values) / m - 1) * 100).toFixed(0)}%/+${((Math.max(...values) / m - 1) * 100).toFixed(0)}%`;
        };
        const wall = spread(reference.map((r) => r.value));
        const cpu = spread(reference.map((r) => r.cpu));
        return `raw TCP (spread of ${reference.length} reps: ${wall}, per CPU s ${cpu})`;
      },
      ratio: 'ours/raw',
      measure: (config: BenchConfig, warmup: boolean) => take('tcp', config, warmup),
    },
    async teardown() {
      if (peers === null) return;
      await peers.ours.close();
      await peers.ws.close();
      await peers.tcp.close();
      peers = null;
    },
  };
}

const LARGE = Buffer.alloc(64 * 1024, 0x61);

export const loopbackWorkloads: Workload[] = [
  loopbackWorkload(
    'ping-pong',
    'loopback ping-pong 16 B',
    'echo',
    'rt/s',
    1.15,
    0.9, // issue 17: ours ≥ 0.9× raw TCP
    (peer, _counter, ms, config) => pingPong(peer, SMALL, ms, config.quick ? 10_000 : 50_000),
    16,
    16,
  ),
  loopbackWorkload(
    'one-way-16b',
    'loopback one-way 16 B',
    'count',
    'msg/s',
    1.5,
    undefined,
    (peer, counter, ms) => oneWay(peer, counter, SMALL, 1000, 1, 20_000, ms),
    16,
    16,
  ),
  // Client to server: RFC 6455 5.3 makes the client mask every byte (a pass that raw TCP
  // does not pay, and the server's unmasking another), so this row is read beside ws;
  // issue 17's target against raw TCP is on the unmasked direction below.
  loopbackWorkload(
    'one-way-64k',
    'loopback one-way 64 KiB, client → server (masked)',
    'count',
    'B/s',
    1.2,
    undefined,
    (peer, counter, ms) => oneWay(peer, counter, LARGE, 16, LARGE.length, 8 * 1024 * 1024, ms),
    1,
    LARGE.length,
  ),
  loopbackWorkload(
    'one-way-64k-down',
    'loopback one-way 64 KiB, server → client (unmasked)',
    'down',
    'B/s',
    1.2,
    0.8, // issue 17: ours ≥ 0.8× raw TCP
    (peer, counter, ms) => oneWay(peer, counter, LARGE, 16, LARGE.length, 8 * 1024 * 1024, ms),
    1,
    LARGE.length,
  ),
];
