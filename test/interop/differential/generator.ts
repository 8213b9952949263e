/**
 * Differential testing, the generator: seeded byte streams of valid and invalid frames
 * (see differential.test.ts for the list), cut and chunked at random.
 */
import * as zlib from 'node:zlib';
import { hex, rng } from '../../helpers/bytes';

export interface DiffCase {
  id: string;
  /** Our role: a server receives masked frames, a client unmasked ones. */
  role: 'client' | 'server';
  /** The agreed permessage-deflate parameters (null: no extension). */
  deflate: string | null;
  /** Ours inflates with zlib-sync (when installed) instead of node:zlib. */
  zlibSync: boolean;
  /** What was generated, before any cut. */
  stream: Buffer;
  /** The stream was cut here (the full one is run too, as the case's sibling). */
  cut: number | null;
  chunks: Buffer[];
  eof: boolean;
  /** The last frame declares a length beyond what is sent, beyond our frame limit. */
  huge: boolean;
}

class Gen {
  readonly r: () => number;
  constructor(seed: number) {
    this.r = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.r() * items.length)]!;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.r() * 256);
    return out;
  }
}

const VALID_CODES = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3001, 3999, 4000, 4001, 4999,
];
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1099, 1999, 2000, 2999, 5000, 5001, 65535];
const RESERVED_OPCODES = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];
// RFC 3629 violations: bad leads, overlongs, surrogates, > U+10FFFF, stray continuations,
// sequences cut short by ASCII.
const INVALID_UTF8 = [
  'ff',
  'fe',
  'c0 80',
  'c1 bf',
  'e0 80 80',
  'e0 9f bf',
  'ed a0 80',
  'ed bf bf',
  'f0 80 80 80',
  'f0 8f bf bf',
  'f4 90 80 80',
  'f5 80 80 80',
  '80',
  'bf',
  'c2 41',
  'e2 82 41',
  'f0 9f 98 41',
  'ed a0',
].map((h) => hex(h));

/** Valid UTF-8 of about `size` bytes: ASCII, 2-, 3- and 4-byte code points, edge values. */
function utf8(g: Gen, size: number): Buffer {
  const points: number[] = [];
  let length = 0;
  while (length < size) {
    const k = g.r();
    let cp: number;
    if (k < 0.5) cp = g.int(0, 0x7f);
    else if (k < 0.65) cp = g.int(0x80, 0x7ff);
    else if (k < 0.85) {
      cp = g.int(0x800, 0xffff);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = g.pick([0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff]);
    } else if (k < 0.97) cp = g.int(0x10000, 0x10ffff);
    else cp = g.pick([0x7f, 0x80, 0x7ff, 0x800, 0xffff, 0x10000, 0x10ffff]);
    points.push(cp);
    length += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return Buffer.from(String.fromCodePoint(...points));
}

/** Text payload: valid, or (sometimes) with one invalid sequence or cut mid code point. */
function textPayload(g: Gen, size: number): Buffer {
  const valid = utf8(g, size);
  if (!g.chance(0.12)) return valid;
  if (g.chance(0.25) && valid.length > 0) {
    // End in the middle of a code point (invalid at the end of the message).
    return Buffer.concat([valid, g.pick([hex('c3'), hex('e2 82'), hex('f0 9f 98'), hex('f4 8f')])]);
  }
  const at = g.int(0, valid.length);
  return Buffer.concat([valid.subarray(0, at), g.pick(INVALID_UTF8), valid.subarray(at)]);
}

interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  payload: Buffer;
  masked: boolean;
  form?: 7 | 16 | 64;
  /** A length to declare instead of the payload's (for the huge and MSB cases). */
  declared?: bigint;
}

/** Serialize a frame (independently of the library's encoder). */
function encodeFrame(g: Gen, f: FrameSpec): Buffer {
  const declared = f.declared ?? BigInt(f.payload.length);
  const form = f.form ?? (declared <= 125n ? 7 : declared <= 0xffffn ? 16 : 64);
  const head: number[] = [(f.fin ? 0x80 : 0) | f.rsv | f.opcode];
  const maskBit = f.masked ? 0x80 : 0;
  if (form === 7) head.push(maskBit | Number(declared));
  else if (form === 16) head.push(maskBit | 126, Number(declared >> 8n) & 0xff, Number(declared) & 0xff);
  else {
    head.push(maskBit | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((declared >> BigInt(i * 8)) & 0xffn));
  }
  if (!f.masked) return Buffer.concat([Buffer.from(head), f.payload]);
  const key = g.bytes(4);
  const body = Buffer.from(f.payload.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

export const DEFLATE_TAIL = hex('00 00 ff ff');

/** Build one case from its seed. */
export function generate(id: string, seed: number): DiffCase {
  const g = new Gen(seed);
  const role = g.chance(0.5) ? 'server' : 'client';
  const masked = role === 'server';
  let deflate: string | null = null;
  let windowBits = 15;
  if (g.chance(0.33)) {
    // What the handshake agreed on: the sender's window and context takeover.
    const params: string[] = [];
    if (g.chance(0.3)) windowBits = g.int(9, 15);
    const side = role === 'server' ? 'client' : 'server';
    if (windowBits !== 15 || g.chance(0.2)) params.push(`${side}_max_window_bits=${windowBits}`);
    if (g.chance(0.2)) params.push(`${side}_no_context_takeover`);
    deflate = ['permessage-deflate', ...params].join('; ');
  }
  const parts: Buffer[] = [];
  let budget = 69000;

  const emit = (spec: FrameSpec) => {
    // Frame-level mutations: reserved bits, the wrong masking, non-minimal lengths, MSB.
    if (g.chance(0.03)) spec.rsv |= g.pick([0x10, 0x20, 0x40, 0x30, 0x70]);
    if (deflate !== null && g.chance(0.03)) spec.rsv ^= 0x40;
    if (g.chance(0.02)) spec.masked = !spec.masked;
    const n = spec.payload.length;
    if (g.chance(0.04)) spec.form = n <= 125 ? g.pick([16, 64] as const) : n <= 0xffff ? 64 : 64;
    if (g.chance(0.005)) spec.declared = (1n << 63n) | BigInt(n);
    const bytes = encodeFrame(g, spec);
    parts.push(bytes);
  };

  const size = (): number => {
    const k = g.r();
    let n: number;
    if (k < 0.03) n = g.pick([0, 1, 125, 126, 127, 0xffff, 0x10000]);
    else if (k < 0.55) n = g.int(0, 20);
    else if (k < 0.85) n = g.int(21, 125);
    else if (k < 0.95) n = g.int(126, 1500);
    else if (k < 0.985) n = g.int(1501, 8000);
    else n = g.int(0x10000, 0x10000 + 3000);
    if (n > budget) n = g.int(0, Math.min(125, Math.max(0, budget)));
    budget -= n;
    return n;
  };

  const control = () => {
    const oversize = g.chance(0.03);
    emit({
      fin: !g.chance(0.03), // RFC 6455 5.5: control frames MUST NOT be fragmented
      rsv: 0,
      opcode: g.pick([0x9, 0xa]),
      payload: g.bytes(oversize ? g.int(126, 300) : g.int(0, 125)),
      masked,
    });
  };

  const close = () => {
    let payload: Buffer;
    const k = g.r();
    if (k < 0.1) payload = Buffer.alloc(0);
    else if (k < 0.14) payload = g.bytes(1);
    else {
      const code = g.chance(0.7) ? g.pick(VALID_CODES) : g.chance(0.5) ? g.pick(INVALID_CODES) : g.int(0, 0xffff);
      const head = Buffer.from([code >> 8, code & 0xff]);
      const kind = g.r();
      let reason: Buffer;
      if (kind < 0.4) reason = Buffer.alloc(0);
      else if (kind < 0.8) reason = utf8(g, g.int(0, 60));
      else if (kind < 0.88) reason = textPayload(g, g.int(0, 40));
      else if (kind < 0.93)
        reason = utf8(g, g.int(124, 200)); // close frame > 125 bytes
      else {
        reason = utf8(g, 123);
        while (reason.length > 123) reason = reason.subarray(0, reason.length - 1);
        reason = Buffer.from(reason.toString('utf8').replace(/\ufffd$/u, ''));
      }
      payload = Buffer.concat([head, reason]);
    }
    emit({ fin: true, rsv: 0, opcode: 0x8, payload, masked });
  };

  const message = () => {
    const binary = g.chance(0.4);
    const data = binary ? g.bytes(size()) : textPayload(g, size());
    let wire = data;
    const compressed = deflate !== null && g.chance(0.7);
    if (compressed) {
      const mode = g.r();
      const bfinal = mode < 0.08;
      wire = zlib.deflateRawSync(data, {
        windowBits,
        level: g.int(0, 9),
        finishFlush: bfinal ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      });
      if (bfinal) {
        // RFC 7692 7.2.3.4: a block with BFINAL set; the RFC's example pads with a 0x00.
        if (g.chance(0.5)) wire = Buffer.concat([wire, Buffer.from([0])]);
      } else if (wire.length >= 4 && wire.subarray(-4).equals(DEFLATE_TAIL)) {
        wire = wire.subarray(0, -4); // RFC 7692 7.2.1
      }
      if (mode > 0.93 && wire.length > 0) {
        wire = Buffer.from(wire);
        for (let i = g.int(1, 3); i > 0; i--) wire[g.int(0, wire.length - 1)] = g.int(0, 255);
      }
    }
    const fragments = g.chance(0.6) ? 1 : g.int(2, 6);
    const cuts = Array.from({ length: fragments - 1 }, () => g.int(0, wire.length)).sort((a, b) => a - b);
    const bounds = [0, ...cuts, wire.length];
    for (let i = 0; i < fragments; i++) {
      if (i > 0) {
        if (g.chance(0.25)) {
          // RFC 6455 5.4: control frames may be injected between fragments.
          for (let k = g.int(1, 2); k > 0; k--) (g.chance(0.9) ? control : close)();
        }
        if (g.chance(0.03)) {
          // RFC 6455 5.4: a new data frame inside a fragmented message (a violation).
          emit({ fin: g.chance(0.5), rsv: 0, opcode: g.pick([0x1, 0x2]), payload: g.bytes(g.int(0, 10)), masked });
        }
        if (g.chance(0.03)) return; // abandon the message: what follows interrupts it
      }
      emit({
        fin: i === fragments - 1,
        rsv: i === 0 && compressed ? 0x40 : 0,
        opcode: i === 0 ? (binary ? 0x2 : 0x1) : 0x0,
        payload: wire.subarray(bounds[i], bounds[i + 1]),
        masked,
      });
    }
  };

  const units = g.int(1, 8);
  for (let u = 0; u < units; u++) {
    const k = g.r();
    if (k < 0.55) message();
    else if (k < 0.78) control();
    else if (k < 0.88) {
      close();
      if (g.chance(0.5)) break; // else: data after the close
    } else if (k < 0.93) {
      // A continuation frame, usually with no message to continue.
      emit({ fin: g.chance(0.7), rsv: 0, opcode: 0x0, payload: g.bytes(g.int(0, 20)), masked });
    } else if (k < 0.97) {
      emit({ fin: g.chance(0.8), rsv: 0, opcode: g.pick(RESERVED_OPCODES), payload: g.bytes(g.int(0, 10)), masked });
    } else {
      const junk = g.bytes(g.int(1, 16));
      parts.push(junk);
    }
  }

  let huge = false;
  if (g.chance(0.015)) {
    // A 64-bit length beyond our frame limit (64 MiB) or beyond 2^53, and only a few
    // payload bytes: wsproto has no limit and waits for the payload.
    huge = true;
    const declared = g.chance(0.5)
      ? BigInt(64 * 1024 * 1024 + 1) + BigInt(g.int(0, 0x7fffffff))
      : (1n << 53n) + BigInt(g.int(0, 0x7fffffff)) * BigInt(g.int(1, 0x7fffffff));
    const head = encodeFrame(g, {
      fin: g.chance(0.7),
      rsv: 0,
      opcode: g.pick([0x0, 0x1, 0x2]),
      payload: Buffer.alloc(0),
      masked,
      declared,
    });
    parts.push(head, g.bytes(g.int(0, 64)));
  }

  const stream = Buffer.concat(parts);
  let cut: number | null = null;
  if (!huge && stream.length >= 2 && g.chance(0.2)) cut = g.int(1, stream.length - 1);
  const fed = cut === null ? stream : stream.subarray(0, cut);
  // Half of the deflate cases use the other inflate backend (decided without a draw, so
  // the cases are the same with and without zlib-sync installed).
  const zlibSync = ((seed >>> 7) & 1) === 1;
  return { id, role, deflate, zlibSync, stream, cut, chunks: chunk(g, fed), eof: g.chance(0.3), huge };
}

/** Split the stream the way a transport might: whole, at random, byte by byte. */
function chunk(g: Gen, data: Buffer): Buffer[] {
  const k = g.r();
  if (k < 0.15 || data.length < 2) return [data];
  if (k < 0.25 && data.length <= 2000) return Array.from(data, (_, i) => data.subarray(i, i + 1));
  const cuts = new Set<number>();
  for (let n = g.int(1, 16); n > 0; n--) cuts.add(g.int(1, data.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  return [0, ...sorted].map((at, i) => data.subarray(at, sorted[i] ?? data.length));
}
