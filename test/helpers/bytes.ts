/** Test helpers: byte vectors, a frame builder, chunkings, event collection. */
import {
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionType,
  Ping,
  Pong,
  TextMessage,
  type ConnectionEvent,
} from '../../lib/index';

/** Bytes from spaced hex: hex('81 05 48 65 6c 6c 6f'). */
export function hex(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(clean, 'hex');
}

/** A frame built from parts (for vectors the RFC does not spell out). */
export interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Uint8Array | string;
  /** A 4-byte key masks the payload; omit for an unmasked frame. */
  mask?: Uint8Array;
  /** Force a length form: 7, 16 or 64 bits (for non-minimal encodings). */
  lengthForm?: 7 | 16 | 64;
}

/** Serialize a FrameSpec, independently of the library's encoder. */
export function frame(spec: FrameSpec): Buffer {
  const payload =
    typeof spec.payload === 'string' ? Buffer.from(spec.payload, 'utf8') : Buffer.from(spec.payload ?? []);
  const n = payload.length;
  const form = spec.lengthForm ?? (n <= 125 ? 7 : n <= 0xffff ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | (spec.rsv ?? 0) | spec.opcode];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) head.push(maskBit | n);
  else if (form === 16) head.push(maskBit | 126, n >> 8, n & 0xff);
  else {
    head.push(maskBit | 127);
    const big = BigInt(n);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  let body = payload;
  if (spec.mask) {
    head.push(...spec.mask);
    body = Buffer.from(payload.map((b, i) => b ^ spec.mask![i % 4]!));
  }
  return Buffer.concat([Buffer.from(head), body]);
}

/** A fixed masking key for client-to-server vectors (RFC 6455 5.7 uses 37 fa 21 3d). */
export const KEY = hex('37 fa 21 3d');

/** Masked frame (what a client sends). */
export function masked(spec: FrameSpec): Buffer {
  return frame({ ...spec, mask: spec.mask ?? KEY });
}

/** A deterministic pseudo-random generator (mulberry32) for seeded tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Split `data` into chunks at the given offsets. */
export function splitAt(data: Buffer, offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let last = 0;
  for (const o of [...offsets].sort((a, b) => a - b)) {
    out.push(data.subarray(last, o));
    last = o;
  }
  out.push(data.subarray(last));
  return out;
}

/**
 * Every chunking the tests replay: whole, one byte at a time, every single split point,
 * and seeded random splits.
 */
export function chunkings(data: Buffer, randomRuns = 20, seed = 1): Buffer[][] {
  const all: Buffer[][] = [[data]];
  all.push(Array.from(data, (_, i) => data.subarray(i, i + 1)));
  const maxSplits = Math.min(data.length, 400);
  for (let i = 1; i < maxSplits; i++) all.push(splitAt(data, [i]));
  const rand = rng(seed);
  for (let r = 0; r < randomRuns; r++) {
    const cuts = new Set<number>();
    const count = 1 + Math.floor(rand() * 8);
    for (let c = 0; c < count; c++) cuts.add(Math.floor(rand() * (data.length + 1)));
    all.push(splitAt(data, [...cuts]));
  }
  return all;
}

/** What a conversation looks like once partial events are merged. */
export type Merged =
  | { type: 'text'; data: string }
  | { type: 'bytes'; data: string /* hex */ }
  | { type: 'ping' | 'pong'; payload: string /* hex */ }
  | { type: 'close'; code: number; reason: string }
  | { type: 'text-partial'; data: string }
  | { type: 'bytes-partial'; data: string };

/** Merge message pieces into whole messages (an unfinished last message stays partial). */
export function merge(events: readonly ConnectionEvent[], includeReason = true): Merged[] {
  const out: Merged[] = [];
  let text: string | null = null;
  let bytes: Buffer[] | null = null;
  for (const e of events) {
    if (e instanceof TextMessage) {
      text = (text ?? '') + e.data;
      if (e.messageFinished) {
        out.push({ type: 'text', data: text });
        text = null;
      }
    } else if (e instanceof BytesMessage) {
      (bytes ??= []).push(e.data);
      if (e.messageFinished) {
        out.push({ type: 'bytes', data: Buffer.concat(bytes).toString('hex') });
        bytes = null;
      }
    } else if (e instanceof Ping || e instanceof Pong) {
      out.push({ type: e.type, payload: e.payload.toString('hex') });
    } else if (e instanceof CloseConnection) {
      // A close ends reading: an unfinished message stays partial, before the close.
      if (text !== null) out.push({ type: 'text-partial', data: text });
      if (bytes !== null) out.push({ type: 'bytes-partial', data: Buffer.concat(bytes).toString('hex') });
      text = null;
      bytes = null;
      out.push({ type: 'close', code: e.code, reason: includeReason ? e.reason : '' });
    }
  }
  if (text !== null) out.push({ type: 'text-partial', data: text });
  if (bytes !== null) out.push({ type: 'bytes-partial', data: Buffer.concat(bytes).toString('hex') });
  return out;
}

/** Feed chunks to a fresh connection (draining after each) and collect every event. */
export function feed(
  chunks: readonly Buffer[],
  role: 'client' | 'server' = ConnectionType.SERVER,
  options: ConstructorParameters<typeof Connection>[1] = {},
  eof = false,
): { events: ConnectionEvent[]; conn: Connection } {
  const conn = new Connection(role, options);
  const events: ConnectionEvent[] = [];
  for (const chunk of chunks) {
    if (conn.state === 'CLOSED') break;
    // receiveData takes ownership (a server unmasks in place): feed copies, since the
    // same vector is replayed many times.
    conn.receiveData(Buffer.from(chunk));
    for (const e of conn.events()) events.push(e);
  }
  if (eof) {
    conn.receiveData(null);
    for (const e of conn.events()) events.push(e);
  }
  return { events, conn };
}

/** Replay `data` under every chunking; return the merged events of each (all must agree). */
export function replayAll(
  data: Buffer,
  role: 'client' | 'server' = ConnectionType.SERVER,
  options: ConstructorParameters<typeof Connection>[1] = {},
): { first: Merged[]; mismatches: number } {
  const cases = chunkings(data);
  const first = merge(feed(cases[0]!, role, options).events);
  const expected = JSON.stringify(first);
  let mismatches = 0;
  for (const chunks of cases.slice(1)) {
    if (JSON.stringify(merge(feed(chunks, role, options).events)) !== expected) mismatches++;
  }
  return { first, mismatches };
}
