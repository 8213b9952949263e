/**
 * The differential test server: one node:http server on 127.0.0.1 that serves the page
 * the browser runs on (GET /: an http origin) and plays each scenario's server behaviour
 * on `/s/<name>` upgrades. Well-behaved servers are ours (`handleUpgrade`, with
 * permessage-deflate where asked); malformed ones are written by hand on the socket: the
 * 101 (Sec-WebSocket-Accept from node:crypto, or a wrong one), then raw unmasked frames.
 *
 * Every connection is recorded from the server's side (the subprotocols and extensions
 * offered, the messages, pongs and close frames received, how our server saw the close),
 * and `take(name)` hands a scenario's records to the test once its connections are over.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { handleUpgrade } from '../../../lib/index';
import { listen } from '../../helpers/net';
import { SCENARIOS, type RawFrame, type Scenario, type ServerBehaviour } from './scenarios';

/** One connection as the server saw it. */
export interface ConnectionRecord {
  path: string;
  offeredProtocols: string | null;
  offeredExtensions: string | null;
  /** The Authorization header (credentials in the URL), or null. */
  authorization: string | null;
  received: Record<string, unknown>[];
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 1.3
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsproto differential</title></head>
<body>The differential runner is evaluated in this page.</body></html>
`;

const acceptFor = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');
const hexBytes = (hex: string) => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const fingerprint = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/** A message's content: short ones in full, long ones by length and hash. */
function content(data: Buffer, binary: boolean): Record<string, unknown> {
  if (binary)
    return data.length <= 64 ? { bytes: data.toString('hex') } : { length: data.length, sha256: fingerprint(data) };
  return data.length <= 192 ? { text: data.toString('utf8') } : { length: data.length, sha256: fingerprint(data) };
}

/** RFC 7692 7.2.1: DEFLATE the payload with a sync flush and drop the trailing 00 00 ff ff (no context kept). */
function deflate(payload: Buffer): Buffer {
  const out = deflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

/** RFC 6455 5.2: a server frame (unmasked unless the scenario says otherwise). */
export function buildFrame(frame: RawFrame): Buffer {
  let payload: Buffer = Buffer.alloc(frame.size ?? 0, 'x');
  if (frame.text !== undefined) payload = Buffer.from(frame.text, 'utf8');
  else if (frame.hex !== undefined) payload = hexBytes(frame.hex);
  if (frame.deflate === true) payload = deflate(payload);
  const rsv = (frame.rsv ?? 0) | (frame.deflate === true ? 4 : 0);
  const b0 = (frame.fin === false ? 0 : 0x80) | (rsv << 4) | frame.op;
  const maskBit = frame.mask === true ? 0x80 : 0;
  let head: Buffer;
  if (payload.length < 126 && frame.lengthBytes === undefined) head = Buffer.from([b0, maskBit | payload.length]);
  else if (payload.length < 0x10000 && frame.lengthBytes !== 8) {
    head = Buffer.from([b0, maskBit | 126, 0, 0]);
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  if (frame.mask !== true) return Buffer.concat([head, payload]);
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([head, key, masked]);
}

/** A client frame, as the raw server reads it. */
interface ClientFrame {
  op: number;
  fin: boolean;
  rsv1: boolean;
  masked: boolean;
  payload: Buffer;
}

/** Parse the client's frames as they arrive; `onFrame` gets each whole frame. */
function frameReader(onFrame: (frame: ClientFrame) => void) {
  let buffered = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const masked = (buffered[1]! & 0x80) !== 0;
      let length = buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const keyEnd = offset + (masked ? 4 : 0);
      if (buffered.length < keyEnd + length) return;
      const key = buffered.subarray(offset, keyEnd);
      const payload = Buffer.from(buffered.subarray(keyEnd, keyEnd + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
      const b0 = buffered[0]!;
      onFrame({ op: b0 & 0x0f, fin: (b0 & 0x80) !== 0, rsv1: (b0 & 0x40) !== 0, masked, payload });
      buffered = buffered.subarray(keyEnd + length);
    }
  };
}

/**
 * What a client frame looks like in a record. A compressed one (RSV1) is inflated on its
 * own: the raw servers that accept permessage-deflate ask for client_no_context_takeover.
 */
function describeClientFrame({ op, fin, rsv1, masked, payload }: ClientFrame): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  if (!masked) base.unmasked = true;
  if (!fin) base.fin = false;
  if (op <= 0x2)
    base.compressed = rsv1; // a data frame: whether the client compressed it
  else if (rsv1) base.rsv1 = true;
  if (rsv1) {
    try {
      const tail = Buffer.from([0x00, 0x00, 0xff, 0xff]);
      payload = inflateRawSync(Buffer.concat([payload, tail]), { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      base.inflateFailed = true;
    }
  }
  switch (op) {
    case 0x1:
      return { type: 'text', ...content(payload, false), ...base };
    case 0x2:
      return { type: 'binary', ...content(payload, true), ...base };
    case 0x8:
      return payload.length < 2
        ? { type: 'close', body: payload.toString('hex'), ...base }
        : { type: 'close', code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8'), ...base };
    case 0x9:
      return { type: 'ping', bytes: payload.toString('hex'), ...base };
    case 0xa:
      return { type: 'pong', bytes: payload.toString('hex'), ...base };
    default:
      return { type: `opcode ${op}`, bytes: payload.toString('hex'), ...base };
  }
}

/** The hand-made server: a 101 as the scenario wants it, raw frames, then end / reset / hold. */
function playRaw(
  behaviour: Extract<ServerBehaviour, { kind: 'raw' }>,
  req: http.IncomingMessage,
  socket: Socket,
  record: ConnectionRecord,
): void {
  const key = req.headers['sec-websocket-key'] ?? '';
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${behaviour.accept === 'bad' ? acceptFor(key + 'x') : acceptFor(key)}`,
  ];
  if (behaviour.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${behaviour.protocol}`);
  if (behaviour.extensions !== undefined) lines.push(`Sec-WebSocket-Extensions: ${behaviour.extensions}`);
  const frames = (behaviour.frames ?? []).map(buildFrame);
  let sentClose = (behaviour.frames ?? []).some((f) => f.op === 0x8);
  const head = Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1');
  if (behaviour.split === true) {
    socket.write(head);
    for (const f of frames) socket.write(f);
  } else socket.write(Buffer.concat([head, ...frames]));

  socket.on(
    'data',
    frameReader((frame) => {
      const { op, payload } = frame;
      record.received.push(describeClientFrame(frame));
      if (op !== 0x8 || socket.destroyed || socket.writableEnded) return;
      // RFC 6455 5.5.1: answer a close with a close (unless ours went first), then end TCP.
      if (!sentClose) socket.write(buildFrame({ op: 0x8, hex: payload.toString('hex') }));
      sentClose = true;
      socket.end();
    }),
  );
  socket.on('end', () => socket.end()); // the client ended TCP: so do we (upgrade sockets are half-open)
  if (behaviour.then === 'end') socket.end();
  else if (behaviour.then === 'rst') socket.resetAndDestroy();
}

/** Our server: echo, close, ping or flood. */
function playOurs(
  behaviour: Exclude<ServerBehaviour, { kind: 'raw' } | { kind: 'reject' }>,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  record: ConnectionRecord,
): void {
  const ws = handleUpgrade(req, socket, head, {
    perMessageDeflate: behaviour.kind === 'echo' && behaviour.deflate === true,
    selectSubprotocol: (offered) => {
      if (behaviour.kind !== 'echo' || behaviour.pick === undefined) return null;
      if (behaviour.pick === 'first') return offered[0] ?? null;
      return offered.includes(behaviour.pick) ? behaviour.pick : null;
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const trySend = (data: string) => {
    try {
      ws.send(data);
    } catch {
      // closing: the flood stops here
    }
  };
  ws.on('error', (error: Error) => record.received.push({ type: 'error', message: error.message }));
  ws.on('message', (data: string | Buffer, isBinary: boolean) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    record.received.push({ type: isBinary ? 'binary' : 'text', ...content(bytes, isBinary) });
    if (behaviour.kind === 'echo') ws.send(data, { binary: isBinary });
    else if (behaviour.kind === 'close' && behaviour.after === 'message') ws.close(behaviour.code, behaviour.reason);
  });
  ws.on('pong', (payload: Buffer) => {
    record.received.push({ type: 'pong', bytes: payload.toString('hex') });
    if (behaviour.kind === 'ping') ws.send('got pong');
  });
  ws.on('open', () => {
    if (behaviour.kind === 'close' && behaviour.after !== 'message') ws.close(behaviour.code, behaviour.reason);
    else if (behaviour.kind === 'ping') ws.ping(hexBytes(behaviour.hex));
    else if (behaviour.kind === 'flood') {
      let n = 0;
      timer = setInterval(() => trySend(`m${++n}`), behaviour.every);
    }
  });
  ws.on('close', (code: number, reason: string, wasClean: boolean) => {
    clearInterval(timer);
    record.received.push({ type: 'closed', code, reason, wasClean });
  });
}

/** Refuse the handshake: a plain HTTP response, then end. */
function playReject(behaviour: Extract<ServerBehaviour, { kind: 'reject' }>, socket: Duplex): void {
  const body = Buffer.from(behaviour.body ?? '', 'utf8');
  socket.end(
    `HTTP/1.1 ${behaviour.status} ${http.STATUS_CODES[behaviour.status] ?? 'Status'}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
      body.toString('latin1'),
    'latin1',
  );
}

/** The running server. */
export interface DiffServer {
  /** `ws://127.0.0.1:<port>` */
  baseUrl: string;
  /** The page's URL (http). */
  pageUrl: string;
  /** The records of `name`'s connections, once they are all over (others are dropped). */
  take(name: string): Promise<ConnectionRecord[]>;
  close(): Promise<void>;
}

/** Start the server; `scenarios` defaults to SCENARIOS. */
export async function startDiffServer(scenarios: readonly Scenario[] = SCENARIOS): Promise<DiffServer> {
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  let records: { name: string; record: ConnectionRecord; over: Promise<void> }[] = [];

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '/').split('?')[0] === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const name = decodeURIComponent(path.replace(/^\/s\//, ''));
    const behaviour = byName.get(name)?.server ?? null;
    const record: ConnectionRecord = {
      path,
      offeredProtocols: req.headers['sec-websocket-protocol'] ?? null,
      offeredExtensions: req.headers['sec-websocket-extensions'] ?? null,
      authorization: req.headers.authorization ?? null,
      received: [],
    };
    const over = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    records.push({ name, record, over });
    // Not recorded: whether a failing client's TCP close arrives as FIN or RST is a race.
    socket.on('error', () => undefined);
    // Nothing may hang the run: a connection still open after 5 s is dropped.
    const guard = setTimeout(() => socket.destroy(), 5000);
    void over.then(() => clearTimeout(guard));
    if (behaviour === null) playReject({ kind: 'reject', status: 404 }, socket);
    else if (behaviour.kind === 'reject') playReject(behaviour, socket);
    else if (behaviour.kind === 'raw') playRaw(behaviour, req, socket, record);
    else playOurs(behaviour, req, socket, head, record);
  });

  const srv = await listen(server);
  return {
    baseUrl: `ws://127.0.0.1:${srv.port}`,
    pageUrl: `http://127.0.0.1:${srv.port}/`,
    async take(name) {
      const mine = records.filter((r) => r.name === name);
      records = [];
      await Promise.race([Promise.all(mine.map((r) => r.over)), new Promise((r) => setTimeout(r, 6000))]);
      // Our server reports 'close' on the next tick after the socket closes.
      await new Promise((r) => setTimeout(r, 10));
      return mine.map((r) => r.record);
    },
    close: srv.close,
  };
}
