/**
 * One process of the HTTP/2 workloads (started by bench/workloads/http2.ts with
 * --expose-gc): the server or the client side of one variant, alone in its process so
 * that its memory and CPU time are its own.
 *
 *   node --expose-gc dist/bench/http2-peer.js server <h2|h1|ws> <tls|clear> <certDir>
 *   node --expose-gc dist/bench/http2-peer.js client <h2|h1|ws> <tls|clear> <certDir>
 *
 * Servers echo every message on ECHO_PATH, no compression:
 * - h2: `http2.createSecureServer({ allowHTTP1: true })` (h2c: `http2.createServer()`)
 *   with our `WebSocketServer({ server })`, which serves extended CONNECT streams;
 * - h1: `https.createServer()` (`http`) with our `WebSocketServer({ server })`;
 * - ws: `https.createServer()` (`http`) with ws's `WebSocketServer({ server })`.
 * Clients: h2: one `http2.connect()` session per group, `connect(url, { http2: session })`
 * for each WebSocket; h1: `connect(url)`, one TLS connection each; ws: `new WebSocket(url)`.
 *
 * IPC (types in http2-protocol.ts): the child sends `ready`; then answers `snapshot`
 * (after garbage collection), `cpu`, and on a client `open` (a group of n WebSockets,
 * each echoing one message before it counts), `close` (all of them) and `echo` (a round).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { WebSocketServer, connect } from '../lib/index';
import { settledMemory } from './child';
import { wsLib } from './common';
import {
  ECHO_PATH,
  payload,
  type Command,
  type Echoed,
  type Snapshot,
  type Transport,
  type Variant,
} from './http2-protocol';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * `BENCH_HTTP2_WINDOW=<bytes>`: HTTP/2 flow-control windows (stream: SETTINGS_INITIAL_WINDOW_SIZE;
 * connection: setLocalWindowSize) for both ends, instead of the protocol's default 65,535
 * bytes, which Node keeps. For experiments; the suite measures the defaults.
 */
const WINDOW = Number(process.env.BENCH_HTTP2_WINDOW ?? 0) || null;
const windowSettings = WINDOW === null ? {} : { settings: { initialWindowSize: WINDOW } };

function widen(session: http2.Http2Session): void {
  if (WINDOW !== null) session.setLocalWindowSize(WINDOW);
}

interface Credentials {
  key: Buffer;
  cert: Buffer;
}

/** What a server reports. */
interface Server {
  port: number;
  websockets(): number;
  sockets(): number;
}

function notFound(_req: unknown, res: { writeHead(status: number): unknown; end(): unknown }): void {
  res.writeHead(404);
  res.end();
}

async function startServer(variant: Variant, transport: Transport, creds: Credentials): Promise<Server> {
  const tls = transport === 'tls';
  const server =
    variant === 'h2'
      ? tls
        ? http2.createSecureServer({ ...creds, allowHTTP1: true, ...windowSettings }, notFound)
        : http2.createServer(windowSettings, notFound)
      : tls
        ? https.createServer(creds, notFound)
        : http.createServer(notFound);
  server.on('session', widen);
  // Accepted TCP connections ('connection' is the raw socket on TLS servers too).
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  let clients: { size: number };
  if (variant === 'ws') {
    const wss = new wsLib.WebSocketServer({ server, path: ECHO_PATH, perMessageDeflate: false });
    wss.on('connection', (ws: any) => {
      ws.on('error', () => undefined);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    clients = wss.clients;
  } else {
    const wss = new WebSocketServer({ server, path: ECHO_PATH });
    wss.on('connection', (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (data, isBinary) => void ws.send(data, { binary: isBinary }));
    });
    clients = wss.clients;
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    websockets: () => clients.size,
    sockets: () => sockets.size,
  };
}

/** A client WebSocket of either library, as the echo round drives it. */
interface Peer {
  send(data: string | Buffer): void;
  /** Called with each message's length (bytes for binary, characters for text). */
  onMessage: (length: number) => void;
  destroy(): void;
}

/** The client side: groups of WebSockets and their HTTP/2 sessions. */
class Clients {
  readonly peers: Peer[] = [];
  readonly sessions: http2.ClientHttp2Session[] = [];
  readonly #variant: Variant;
  readonly #tls: boolean;
  readonly #ca: Buffer;

  constructor(variant: Variant, transport: Transport, creds: Credentials) {
    this.#variant = variant;
    this.#tls = transport === 'tls';
    this.#ca = creds.cert;
  }

  /** Open `n` WebSockets (h2: on one new session), at most 20 handshakes at a time; each echoes one message. */
  async open(port: number, n: number): Promise<void> {
    const url = `${this.#tls ? 'wss' : 'ws'}://127.0.0.1:${port}${ECHO_PATH}`;
    let session: http2.ClientHttp2Session | null = null;
    if (this.#variant === 'h2') {
      const origin = `${this.#tls ? 'https' : 'http'}://127.0.0.1:${port}`;
      session = http2.connect(origin, { ...windowSettings, ...(this.#tls ? { ca: this.#ca } : {}) });
      session.on('error', () => undefined);
      session.once('connect', widen);
      this.sessions.push(session);
      // No wait for the session: connect() waits for the server's SETTINGS, once per
      // session, however many WebSockets are opened at once (fixed in 97c2fb2).
    }
    let started = 0;
    const opener = async (): Promise<void> => {
      while (started < n) {
        started++;
        this.peers.push(await this.#openOne(url, session));
      }
    };
    await Promise.all(Array.from({ length: Math.min(20, n) }, opener));
  }

  async #openOne(url: string, session: http2.ClientHttp2Session | null): Promise<Peer> {
    let peer: Peer;
    if (this.#variant === 'ws') {
      const ws = new wsLib.WebSocket(url, { perMessageDeflate: false, ...(this.#tls ? { ca: this.#ca } : {}) });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('error', () => undefined);
      peer = { send: (data) => ws.send(data), onMessage: () => undefined, destroy: () => ws.terminate() };
      ws.on('message', (data: Buffer) => peer.onMessage(data.length));
    } else {
      const ws = await connect(url, {
        ...(session !== null ? { http2: session } : {}),
        ...(this.#tls ? { tls: { ca: this.#ca } } : {}),
      });
      if ((ws.response?.httpVersion === '2') !== (session !== null)) throw new Error(`wrong HTTP version for ${url}`);
      ws.on('error', () => undefined);
      peer = {
        send: (data) => void ws.send(data, { binary: typeof data !== 'string' }),
        onMessage: () => undefined,
        destroy: () => ws.destroy(),
      };
      ws.on('message', (data) => peer.onMessage(data.length));
    }
    // One echo, so that each WebSocket has carried a message both ways before it counts.
    await new Promise<void>((resolve) => {
      peer.onMessage = () => resolve();
      peer.send(payload(16));
    });
    peer.onMessage = () => undefined;
    return peer;
  }

  async closeAll(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    this.peers.length = 0;
    for (const session of this.sessions) session.close();
    this.sessions.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  /**
   * An echo round: every WebSocket keeps `window` messages in flight until it has sent
   * `count`, or until `limitMs` has passed (then the senders stop and the figures are
   * those at the limit; the messages in flight are drained, untimed, for at most 10 s).
   */
  echo(size: number, count: number, window: number, limitMs: number): Promise<Echoed> {
    const data = payload(size);
    const total = this.peers.length * count;
    let received = 0;
    let inFlight = 0;
    let stopped = false;
    let result: Echoed | null = null;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const stamp = (limited: boolean): Echoed => {
      const cpu = process.cpuUsage(cpu0);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return { type: 'echoed', messages: received, ms, cpuMs: (cpu.user + cpu.system) / 1000, limited };
    };
    return new Promise<Echoed>((resolve, reject) => {
      let drainTimer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(limitTimer);
        clearTimeout(drainTimer);
        for (const peer of this.peers) peer.onMessage = () => undefined;
        resolve(result!);
      };
      const limitTimer = setTimeout(() => {
        stopped = true;
        result = stamp(true);
        drainTimer = setTimeout(() => reject(new Error(`${inFlight} echoes did not arrive within 10 s`)), 10_000);
      }, limitMs);
      for (const peer of this.peers) {
        let sent = 0;
        peer.onMessage = (length) => {
          if (length !== size) reject(new Error(`an echo of ${length} bytes, not ${size}`));
          received++;
          inFlight--;
          if (!stopped && sent < count) {
            sent++;
            inFlight++;
            peer.send(data);
          }
          if (received === total && result === null) result = stamp(false);
          if (inFlight === 0 && (stopped || received === total)) done();
        };
        for (; sent < Math.min(window, count); sent++, inFlight++) peer.send(data);
      }
    });
  }
}

async function main(): Promise<void> {
  const [role, variant, transport, certDir] = process.argv.slice(2) as [
    'server' | 'client',
    Variant,
    Transport,
    string,
  ];
  if (
    (role !== 'server' && role !== 'client') ||
    !['h2', 'h1', 'ws'].includes(variant) ||
    (transport !== 'tls' && transport !== 'clear') ||
    certDir === undefined
  ) {
    throw new Error('usage: http2-peer.js <server|client> <h2|h1|ws> <tls|clear> <certDir>');
  }
  const creds: Credentials = {
    key: fs.readFileSync(path.join(certDir, 'key.pem')),
    cert: fs.readFileSync(path.join(certDir, 'cert.pem')),
  };
  const send = (message: object): void => void process.send!(message);
  const server = role === 'server' ? await startServer(variant, transport, creds) : null;
  const clients = role === 'client' ? new Clients(variant, transport, creds) : null;

  const answer = async (command: Command): Promise<object> => {
    switch (command.cmd) {
      case 'snapshot': {
        const m = await settledMemory();
        const snapshot: Snapshot = {
          type: 'snapshot',
          rss: m.rss,
          heapUsed: m.heapUsed,
          external: m.external,
          websockets: server !== null ? server.websockets() : clients!.peers.length,
          sockets:
            server !== null ? server.sockets() : variant === 'h2' ? clients!.sessions.length : clients!.peers.length,
        };
        return snapshot;
      }
      case 'cpu': {
        const cpu = process.cpuUsage();
        return { type: 'cpu', cpuMs: (cpu.user + cpu.system) / 1000 };
      }
      case 'open':
        await clients!.open(command.port, command.n);
        return { type: 'opened', n: clients!.peers.length };
      case 'close':
        await clients!.closeAll();
        return { type: 'closed' };
      case 'echo':
        return clients!.echo(command.size, command.count, command.window, command.limitMs);
    }
  };
  process.on('message', (command: Command) => {
    answer(command).then(send, (error: unknown) =>
      send({ type: 'error', message: String((error as Error).stack ?? error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: server?.port ?? 0 });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
