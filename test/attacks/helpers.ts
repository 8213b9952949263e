/**
 * Helpers for the attack tests: servers a public deployment would run (a bare
 * `net.Server` piping sockets through `WebSocketDuplex`, and an `http.Server` using
 * `handleUpgrade`), an attacker that speaks raw bytes over 127.0.0.1 and parses what
 * the server answers on its own (not with the library under test), and memory probes.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { handleUpgrade, WebSocketDuplex, type UpgradeOptions, type WebSocketDuplexOptions } from '../../lib/index';
import { masked } from '../helpers/bytes';
import { listen, once, until } from '../helpers/net';

/** A running server and the streams it made. */
export interface TestServer {
  port: number;
  streams: WebSocketDuplex[];
  /** Server-side sockets, in accept order. */
  sockets: net.Socket[];
  /** Errors the streams emitted. */
  errors: Error[];
  /** Close events: [code, reason, wasClean] per stream. */
  closes: Array<[number, string, boolean]>;
  /** The cause of each close event (null for a clean close). */
  causes: Array<Error | null>;
  close(): Promise<void>;
}

function track(server: TestServer, ws: WebSocketDuplex, socket: net.Socket, echo: boolean): void {
  server.streams.push(ws);
  server.sockets.push(socket);
  ws.on('error', (error: Error) => server.errors.push(error));
  ws.on('close', (code, reason, wasClean, cause) => {
    server.closes.push([code, reason, wasClean]);
    server.causes.push(cause);
  });
  if (echo) ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
}

/**
 * An echo server on a bare `net.Server`: `socket.pipe(ws).pipe(socket)`, the stream reads
 * the handshake itself (so `handshakeTimeout`, `maxHeadSize` are the library's).
 */
export async function netServer(
  options: WebSocketDuplexOptions = {},
  onStream: (ws: WebSocketDuplex, socket: net.Socket) => void = () => undefined,
  echo = true,
): Promise<TestServer> {
  const result: TestServer = {
    port: 0,
    streams: [],
    sockets: [],
    errors: [],
    closes: [],
    causes: [],
    close: async () => {},
  };
  const server = net.createServer((socket) => {
    const ws = new WebSocketDuplex('server', options);
    socket.on('error', () => undefined);
    socket.pipe(ws).pipe(socket);
    ws.on('close', () => socket.destroy());
    socket.on('close', () => ws.destroy());
    track(result, ws, socket, echo);
    onStream(ws, socket);
  });
  const srv = await listen(server);
  result.port = srv.port;
  result.close = srv.close;
  return result;
}

/** An echo server on an `http.Server` using `handleUpgrade`. */
export async function httpServer(
  options: UpgradeOptions = {},
  serverOptions: http.ServerOptions = {},
  onStream: (ws: WebSocketDuplex, socket: net.Socket) => void = () => undefined,
): Promise<TestServer & { http: http.Server }> {
  const server = http.createServer(serverOptions, (_req, res) => res.end('plain http\n'));
  const result: TestServer & { http: http.Server } = {
    port: 0,
    streams: [],
    sockets: [],
    errors: [],
    closes: [],
    causes: [],
    close: async () => {},
    http: server,
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const ws = handleUpgrade(req, socket, head, options);
    track(result, ws, socket, true);
    onStream(ws, socket);
  });
  const srv = await listen(server);
  result.port = srv.port;
  result.close = srv.close;
  return result;
}

/** RFC 6455 1.3's sample key. */
export const SAMPLE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A valid upgrade request head. */
export function requestHead(extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [
      'GET /chat HTTP/1.1',
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${SAMPLE_KEY}`,
      'Sec-WebSocket-Version: 13',
      ...extraHeaders,
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
}

/** A frame the server sent. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
}

/**
 * The attacker: a raw TCP client. It collects what the server sends and parses it
 * itself: an HTTP response head, then unmasked frames.
 */
export class Attacker {
  readonly socket: net.Socket;
  #received: Buffer[] = [];
  receivedBytes = 0;
  closed = false;
  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.#received.push(d);
      this.receivedBytes += d.length;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(port: number): Promise<Attacker> {
    const socket = net.connect(port, '127.0.0.1');
    const attacker = new Attacker(socket);
    await once(socket, 'connect');
    return attacker;
  }

  /** Everything received so far. */
  get received(): Buffer {
    if (this.#received.length > 1) this.#received = [Buffer.concat(this.#received)];
    return this.#received[0] ?? Buffer.alloc(0);
  }

  /** The response head, once it has arrived (null before). */
  get head(): { status: number; headers: string; rest: Buffer } | null {
    const all = this.received;
    const end = all.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const text = all.toString('latin1', 0, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
    return { status, headers: text, rest: all.subarray(end + 4) };
  }

  /** Send a request head and wait for the response head. */
  async handshake(extraHeaders: string[] = []): Promise<{ status: number; headers: string }> {
    this.socket.write(requestHead(extraHeaders));
    await until(() => this.head !== null || this.closed, 5000, 'the response head');
    const head = this.head;
    if (head === null) throw new Error('closed before a response');
    return head;
  }

  /** The frames the server sent after its response head (complete ones only). */
  get frames(): ServerFrame[] {
    const head = this.head;
    return head === null ? [] : parseFrames(head.rest);
  }

  /** Wait for a close frame from the server (or the connection's end); its code, or null. */
  async closeCode(ms = 5000): Promise<number | null> {
    const found = () => this.frames.find((f) => f.opcode === 0x8);
    await until(() => found() !== undefined || this.closed, ms, 'a close frame');
    const close = found();
    if (close === undefined) return null;
    return close.payload.length >= 2 ? close.payload.readUInt16BE(0) : 1005;
  }

  /** Write bytes; resolves when the kernel took them (or the socket closed). */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      this.socket.write(bytes, () => resolve());
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Parse unmasked frames (what a server sends); an incomplete last frame is left out. */
export function parseFrames(data: Buffer): ServerFrame[] {
  const frames: ServerFrame[] = [];
  let at = 0;
  for (;;) {
    if (data.length - at < 2) return frames;
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    if ((b1 & 0x80) !== 0) throw new Error('the server sent a masked frame');
    let length = b1 & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      if (data.length < pos + 2) return frames;
      length = data.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      if (data.length < pos + 8) return frames;
      length = Number(data.readBigUInt64BE(pos));
      pos += 8;
    }
    if (data.length < pos + length) return frames;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: b0 & 0x70,
      opcode: b0 & 0x0f,
      payload: data.subarray(pos, pos + length),
    });
    at = pos + length;
  }
}

/** A masked close frame (what a client sends). */
export function closeFrame(code: number, reason: Uint8Array = Buffer.alloc(0)): Buffer {
  return masked({ opcode: 0x8, payload: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason]) });
}

// A garbage collector for memory probes: mocha is not started with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

/** Memory after a full collection. */
export function memory(): NodeJS.MemoryUsage {
  collect();
  collect();
  return process.memoryUsage();
}

/** Poll `sample` every few ms while `work` runs; the largest value seen. */
export async function peakDuring(sample: () => number, work: Promise<unknown>, every = 5): Promise<number> {
  let peak = sample();
  const timer = setInterval(() => {
    peak = Math.max(peak, sample());
  }, every);
  try {
    await work;
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, sample());
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
