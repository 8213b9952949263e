/**
 * Runs one schedule over real TCP on 127.0.0.1: opens the pairing, runs both sides'
 * scripts at once, watches progress (a watchdog), memory and bufferedAmount, traps
 * uncaught errors, waits for both 'close' events, then hands everything to the oracle.
 * Over HTTP/2 (`schedule.transport`) one session carries the WebSocket and its
 * neighbours, all run at once (http2-pairs.ts opens them).
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, handleUpgrade, type ConnectOptions, type WebSocketDuplex } from '../../../lib/index';
import { CLOSE_TIMEOUT_MS, OurEndpoint, WsEndpoint, type Endpoint } from './endpoints';
import { openHttp2Pairs } from './http2-pairs';
import { makePayload } from './prng';
import { checkOutcome, type Outcome } from './oracle';
import { describeSchedule, isOurs, type Schedule, type SideScript, type Step } from './schedule';

/** Knobs of a run. */
export interface RunOptions {
  /** Fail when no message byte moves and nothing closes for this long. Default 5000. */
  watchdogMs?: number;
  /** Hard limit for one schedule. Default 30000. */
  deadlineMs?: number;
  /** Extra options of our client's `connect` (e.g. a `proxy` to run the schedule through). */
  connect?: ConnectOptions;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let gcFunction: (() => void) | null | undefined;
/** A full GC when the VM allows it (through --expose-gc, turned on at run time). */
export function collectGarbage(): boolean {
  if (gcFunction === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFunction = vm.runInNewContext('gc') as () => void;
    } catch {
      gcFunction = null;
    }
  }
  gcFunction?.();
  return gcFunction !== null;
}

/** The endpoints of a run: the main pair, its HTTP/2 neighbours, and how to tear all down. */
export interface Pair {
  client: Endpoint;
  server: Endpoint;
  neighbours: Array<{ client: Endpoint; server: Endpoint }>;
  close(): Promise<void>;
}

function listenOn(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

async function openPair(schedule: Schedule, options: RunOptions): Promise<Pair> {
  if ((schedule.transport ?? 'tcp') !== 'tcp') return openHttp2Pairs(schedule, options.connect);
  const { pairing, deflate } = schedule;
  const httpServer = http.createServer((_req, res) => res.end());
  const sockets = new Set<net.Socket>();
  httpServer.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  let wss: WebSocketServer | null = null;
  let serverEndpoint: Promise<Endpoint>;
  if (isOurs(pairing, 'server')) {
    serverEndpoint = new Promise((resolve) => {
      httpServer.once('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const ws = handleUpgrade(req, socket, head, { perMessageDeflate: deflate, closeTimeout: CLOSE_TIMEOUT_MS });
        const endpoint = new OurEndpoint('our server', ws, schedule.server.reader, socket);
        ws.once('open', () => resolve(endpoint));
      });
    });
  } else {
    wss = new WebSocketServer({ server: httpServer, perMessageDeflate: deflate });
    const server = wss;
    serverEndpoint = new Promise((resolve) => {
      server.once('connection', (ws: WebSocket, req: http.IncomingMessage) => {
        resolve(new WsEndpoint('ws server', ws, schedule.server.reader, req.socket as net.Socket));
      });
    });
  }
  const port = await listenOn(httpServer);
  const url = `ws://127.0.0.1:${port}/stress`;
  let clientEndpoint: Promise<Endpoint>;
  if (isOurs(pairing, 'client')) {
    clientEndpoint = connect(url, {
      closeTimeout: CLOSE_TIMEOUT_MS,
      ...options.connect,
      perMessageDeflate: deflate,
    }).then((ws: WebSocketDuplex) => new OurEndpoint('our client', ws, schedule.client.reader, null));
  } else {
    let socket: net.Socket | null = null;
    const ws = new WebSocket(url, {
      perMessageDeflate: deflate,
      createConnection: (options: net.NetConnectOpts) => {
        socket = net.createConnection(options);
        return socket;
      },
    } as WebSocket.ClientOptions);
    clientEndpoint = new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsEndpoint('ws client', ws, schedule.client.reader, socket)));
      ws.once('error', reject);
    });
  }
  const [client, server] = await withTimeout(
    Promise.all([clientEndpoint, serverEndpoint]),
    5000,
    'opening the connection',
  );
  return {
    client,
    server,
    neighbours: [],
    close: async () => {
      client.dispose();
      server.dispose();
      wss?.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Process-level traps: every uncaught exception or unhandled rejection during a run. */
class Traps {
  readonly caught: string[] = [];
  #saved = new Map<string, NodeJS.UncaughtExceptionListener[]>();
  readonly #onError = (error: unknown) => {
    const e = error as Error;
    this.caught.push(`uncaught: ${e?.stack ?? String(error)}`);
  };
  readonly #onRejection = (reason: unknown) => {
    const e = reason as Error;
    this.caught.push(`unhandled rejection: ${e?.stack ?? String(reason)}`);
  };

  install(): void {
    // mocha's own handlers are set aside, so that the failure is reported here, with the seed.
    for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
      this.#saved.set(event, process.listeners(event as 'uncaughtException'));
      process.removeAllListeners(event);
    }
    process.on('uncaughtException', this.#onError);
    process.on('unhandledRejection', this.#onRejection);
  }

  uninstall(): void {
    process.removeListener('uncaughtException', this.#onError);
    process.removeListener('unhandledRejection', this.#onRejection);
    for (const [event, listeners] of this.#saved) {
      for (const l of listeners) process.on(event as 'uncaughtException', l);
    }
    this.#saved.clear();
  }
}

/** A promise that settles when the run is aborted (watchdog or deadline), for races. */
class Abort {
  reason: string | null = null;
  readonly promise: Promise<void>;
  #resolve!: () => void;
  constructor() {
    this.promise = new Promise((resolve) => (this.#resolve = resolve));
  }
  fire(reason: string): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.#resolve();
  }
}

async function runScript(side: string, script: SideScript, me: Endpoint, abort: Abort): Promise<string[]> {
  const log: string[] = [];
  const race = (p: Promise<unknown>) => Promise.race([p, abort.promise]);
  for (const [index, step] of script.steps.entries()) {
    if (abort.reason !== null) break;
    log.push(`${side} step ${index}: ${step.kind}`);
    await runStep(step, me, abort, race);
  }
  return log;
}

async function runStep(
  step: Step,
  me: Endpoint,
  abort: Abort,
  race: (p: Promise<unknown>) => Promise<unknown>,
): Promise<void> {
  switch (step.kind) {
    case 'burst': {
      const pending: Promise<void>[] = [];
      for (const spec of step.messages) {
        if (abort.reason !== null) return;
        if (!me.isOpen()) {
          // It saw the close (or the transport went): one refused send, then stop.
          me.send(makePayload(spec));
          return;
        }
        const sent = new Promise<void>((resolve) => me.send(makePayload(spec), () => resolve()));
        if (step.awaitMode === 'each') await race(sent);
        else pending.push(sent);
      }
      if (step.awaitMode === 'end') await race(Promise.all(pending));
      return;
    }
    case 'ping':
      me.ping();
      return;
    case 'sleep':
      await race(sleep(step.ms));
      return;
    case 'close':
      me.close(step.code, step.reason);
      return;
    case 'reset':
      me.reset(step.how);
      return;
    case 'await-received':
      while (me.received.length < step.count && !me.closed && abort.reason === null) await sleep(5);
      return;
  }
}

/** Run one schedule; resolves with the oracle's failures (empty when it passed) and a report. */
export async function runSchedule(
  schedule: Schedule,
  options: RunOptions = {},
): Promise<{ failures: string[]; report: string }> {
  const watchdogMs = options.watchdogMs ?? 5000;
  const deadlineMs = options.deadlineMs ?? 30000;
  const traps = new Traps();
  traps.install();
  collectGarbage();
  const baseline = process.memoryUsage();
  let peakArrayBuffers = baseline.arrayBuffers;
  let peakHeap = baseline.heapUsed;
  const abort = new Abort();
  let pair: Pair | null = null;
  let stuck: string | null = null;
  let logs: string[][] = [];
  const started = Date.now();
  try {
    try {
      pair = await openPair(schedule, options);
    } catch (error) {
      return {
        failures: [`could not open the connection: ${(error as Error).message}`, ...traps.caught],
        report: describeSchedule(schedule),
      };
    }
    const { client, server, neighbours } = pair;
    const pairs = [{ client, server }, ...neighbours];
    const endpoints = pairs.flatMap((p) => [p.client, p.server]);
    const scriptsOf = [schedule, ...(schedule.neighbours ?? [])];
    let lastProgress = Date.now();
    let lastMoved = -1;
    const watchdog = setInterval(() => {
      const mem = process.memoryUsage();
      peakArrayBuffers = Math.max(peakArrayBuffers, mem.arrayBuffers);
      peakHeap = Math.max(peakHeap, mem.heapUsed);
      for (const e of endpoints) e.sampleBuffered();
      const moved = endpoints.reduce((n, e) => n + e.bytesIn + e.closes.length, 0);
      const now = Date.now();
      if (moved !== lastMoved) {
        lastMoved = moved;
        lastProgress = now;
      } else if (now - lastProgress > watchdogMs) {
        stuck = pairs.map((p) => describeStuck(p.client, p.server, watchdogMs)).join('\n');
        abort.fire('watchdog');
      }
      if (now - started > deadlineMs) {
        stuck ??= `the schedule did not finish within ${deadlineMs} ms (bytes were still moving)`;
        abort.fire('deadline');
      }
    }, 50);
    try {
      const scripts = Promise.all(
        pairs.flatMap((p, i) => [
          runScript(`client${i === 0 ? '' : ` #${i}`}`, scriptsOf[i]!.client, p.client, abort),
          runScript(`server${i === 0 ? '' : ` #${i}`}`, scriptsOf[i]!.server, p.server, abort),
        ]),
      );
      logs = await Promise.race([scripts, abort.promise.then(() => [])]);
      // Every end must report its close (bounded by the watchdog).
      while (!endpoints.every((e) => e.closed) && abort.reason === null) await sleep(10);
      // Time for a second, wrong 'close' event to show up.
      await sleep(100);
    } finally {
      clearInterval(watchdog);
    }
    const outcome: Outcome = {
      schedule,
      client,
      server,
      neighbours,
      stuck,
      unhandled: traps.caught,
      memory: {
        baselineArrayBuffers: baseline.arrayBuffers,
        peakArrayBuffers,
        baselineHeap: baseline.heapUsed,
        peakHeap,
      },
    };
    const failures = checkOutcome(outcome);
    const report = [
      describeSchedule(schedule),
      ...endpoints.map((e) => `  ${e.summary()}`),
      `  elapsed ${Date.now() - started} ms; steps run: ${logs.map((l) => l.length).join(' / ') || 'aborted'}`,
    ].join('\n');
    return { failures, report };
  } finally {
    for (const p of pair === null ? [] : [pair, ...pair.neighbours]) {
      p.client.stop();
      p.server.stop();
    }
    if (pair !== null) await pair.close();
    // Errors raised while tearing down still belong to this run.
    await sleep(20);
    traps.uninstall();
  }
}

function describeStuck(client: Endpoint, server: Endpoint, ms: number): string {
  const side = (e: Endpoint) => {
    const waiting: string[] = [];
    if (e.outstandingCount > 0) waiting.push(`${e.outstandingCount} send callbacks pending`);
    if (e.bufferedAmount() > 0) waiting.push(`${e.bufferedAmount()} B buffered for the transport`);
    if (!e.closed) waiting.push('no close event yet');
    return `${e.label} (${waiting.join(', ') || 'idle'})`;
  };
  return (
    `deadlock: no message byte moved and nothing closed for ${ms} ms while ` +
    `${[client, server].every((e) => e.socket === null || !e.socket.destroyed) ? 'both transports were alive' : 'a transport was already gone'}; ` +
    `stuck: ${side(client)}; ${side(server)}`
  );
}
