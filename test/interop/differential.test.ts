/**
 * Differential testing against the original: the same byte streams go to Python
 * wsproto 1.2's post-handshake `wsproto.connection.Connection` (one Python process, JSON
 * lines over stdin/stdout: test/interop/peers/wsproto_diff.py) and to our `Connection`,
 * fed in the same chunks, and the resulting conversations are compared: whole messages
 * (pieces merged), pings, pongs, and closes (code, who closed: the peer's close frame, a
 * failure of the connection, or transport EOF; the reason only for the peer's close).
 *
 * The cases come from a seeded generator: sequences of valid and invalid frames (random
 * opcodes including reserved ones, FIN/RSV bits, masked or not, 7/16/64-bit lengths with
 * non-minimal encodings, fragmentation in and out of order, control frames interleaved or
 * longer than 125 bytes, text split inside code points with valid and invalid UTF-8,
 * close frames with valid and invalid codes and reasons, data after the close), a third
 * of them with permessage-deflate (RFC 7692) negotiated, cut at random points and fed in
 * random chunks.
 *
 * Every difference must match one entry of DOCUMENTED below, each decided by an RFC
 * section; everything else must be identical. WSPROTO_DIFF_CASES=N runs N cases
 * (default 3000), WSPROTO_DIFF_SEED picks the seed; `node scripts/fuzz-diff.js N` runs
 * many.
 */
import { expect } from 'chai';
import { TextDecoder } from 'node:util';
import * as zlib from 'node:zlib';
import { Connection, PerMessageDeflate, type ConnectionEvent } from '../../lib/index';
import { hex, rng } from '../helpers/bytes';
import { requirePeer } from '../helpers/peers';
import { PythonProcess, PYTHON_INSTALL, pythonHas } from './python-peers';

const CASES = Number(process.env.WSPROTO_DIFF_CASES ?? 3000);
const SEED = Number(process.env.WSPROTO_DIFF_SEED ?? 0x5eed);
/** WSPROTO_DIFF_ONLY=i runs case i alone and prints it in full (to replay a failure). */
const ONLY = process.env.WSPROTO_DIFF_ONLY === undefined ? null : Number(process.env.WSPROTO_DIFF_ONLY);

// ---------------------------------------------------------------------------------
// The conversation, normalized the same way for both sides
// ---------------------------------------------------------------------------------

/** An event as both sides report it (Python prints these; ours are converted). */
type Raw =
  | ['text', string, boolean, boolean]
  | ['bytes', string, boolean, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string, CloseKind]
  | ['exception', string]
  | ['marker', Marker];

/**
 * What wsproto_diff.py notes in wsproto's permessage-deflate (not events): a control frame
 * inside a compressed message, a compressed message with an empty payload, the end of
 * the DEFLATE stream (BFINAL).
 */
type Marker = 'deflate-interleaved' | 'deflate-empty' | 'deflate-eof';

/** peer: a close frame arrived; failure: the receiver failed the connection; eof: transport EOF (1006). */
type CloseKind = 'peer' | 'failure' | 'eof';

/** A merged conversation entry: whole messages, unfinished ones (`-partial`), control events, closes. */
type Entry = ReadonlyArray<string | number>;

interface Conversation {
  entries: Entry[];
  /** The reason of the failure close, if any (each library words its own; not compared). */
  failureReason?: string;
  /** Python only: the markers, each with the entry count when it was noted. */
  markers: Array<{ marker: Marker; at: number }>;
}

/** Merge message pieces into messages (an unfinished one stays partial, before a close). */
function normalize(raw: readonly Raw[]): Conversation {
  const entries: Entry[] = [];
  const markers: Conversation['markers'] = [];
  let failureReason: string | undefined;
  let text: string | null = null;
  let bytes: string | null = null;
  const flush = () => {
    // An unfinished message that delivered nothing yet is no entry (wsproto reports
    // empty pieces, we do not).
    if (text !== null && text !== '') entries.push(['text-partial', text]);
    if (bytes !== null && bytes !== '') entries.push(['bytes-partial', bytes]);
    text = bytes = null;
  };
  for (const e of raw) {
    switch (e[0]) {
      case 'text':
        text = (text ?? '') + e[1];
        if (e[3]) {
          entries.push(['text', text]);
          text = null;
        }
        break;
      case 'bytes':
        bytes = (bytes ?? '') + e[1];
        if (e[3]) {
          entries.push(['bytes', bytes]);
          bytes = null;
        }
        break;
      case 'ping':
      case 'pong':
        entries.push([e[0], e[1]]);
        break;
      case 'close':
        flush();
        // Failure reasons are each library's own wording; only a peer's reason is data.
        entries.push(['close', e[1], e[3], e[3] === 'peer' ? e[2] : '']);
        if (e[3] === 'failure') failureReason ??= e[2];
        break;
      case 'exception':
        flush();
        entries.push(['exception', e[1]]);
        break;
      case 'marker':
        markers.push({ marker: e[1], at: entries.length });
        break;
    }
  }
  flush();
  return { entries, markers, ...(failureReason === undefined ? {} : { failureReason }) };
}

/** Our side: a fresh Connection fed the same chunks (drained after each), then EOF. */
function runOurs(c: Pick<DiffCase, 'role' | 'deflate' | 'zlibSync' | 'chunks' | 'eof'>): Conversation {
  const extensions = c.deflate === null ? [] : [ourDeflate(c.role, c.deflate, c.zlibSync && ZLIB_SYNC)];
  const conn = new Connection(c.role, { extensions });
  const raw: Raw[] = [];
  let failureSeen = false;
  let eofPhase = false;
  const drain = () => {
    for (const e of conn.events()) raw.push(toRaw(e));
  };
  const toRaw = (e: ConnectionEvent): Raw => {
    switch (e.type) {
      case 'text':
        return ['text', e.data, e.frameFinished, e.messageFinished];
      case 'bytes':
        return ['bytes', e.data.toString('hex'), e.frameFinished, e.messageFinished];
      case 'ping':
      case 'pong':
        return [e.type, e.payload.toString('hex')];
      case 'close': {
        let kind: CloseKind = 'peer';
        if (eofPhase && e.code === 1006) kind = 'eof';
        else if (conn.failed && !failureSeen) {
          kind = 'failure';
          failureSeen = true;
        }
        return ['close', e.code, e.reason, kind];
      }
    }
  };
  try {
    for (const chunk of c.chunks) {
      // A copy: receiveData may take ownership of the bytes (and unmask them in place).
      conn.receiveData(Buffer.from(chunk));
      drain();
    }
    if (c.eof) {
      eofPhase = true;
      conn.receiveData(null);
      drain();
    }
  } catch (error) {
    // README: after the handshake nothing the peer sends throws; this is a bug.
    raw.push(['exception', `${(error as Error).name}: ${(error as Error).message}`]);
  }
  return normalize(raw);
}

/** Whether the optional zlib-sync addon is there (deflate cases then use both inflate backends). */
const ZLIB_SYNC = PerMessageDeflate.zlibSyncAvailable;

/** Our permessage-deflate, configured as a handshake with `agreed` would have left it. */
function ourDeflate(role: 'client' | 'server', agreed: string, zlibSync: boolean): PerMessageDeflate {
  const [name, ...rest] = agreed.split(';').map((s) => s.trim());
  const params = rest.map((p): [string, string | null] => {
    const [k, v] = p.split('=');
    return [k!, v ?? null];
  });
  const extension = new PerMessageDeflate({ inflateBackend: zlibSync ? 'zlib-sync' : 'node:zlib' });
  if (role === 'server') {
    if (extension.accept({ name: name!, params }) === null) throw new Error(`our server declined ${agreed}`);
  } else extension.finalize({ name: name!, params });
  return extension;
}

// ---------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------

interface DiffCase {
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

const DEFLATE_TAIL = hex('00 00 ff ff');

/** Build one case from its seed. */
function generate(id: string, seed: number): DiffCase {
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

// ---------------------------------------------------------------------------------
// The documented differences
// ---------------------------------------------------------------------------------

/**
 * Every way the two may differ, with the RFC section that decides it. A difference that
 * matches none of these fails the test.
 */
const DOCUMENTED = {
  'check-order': {
    who: 'both (order of checks)',
    what:
      'one frame breaks two rules and each side reports the one it checks first (the pairs ' +
      'in CHECK_ORDER): with permessage-deflate, a new data frame inside a fragmented ' +
      'message (RFC 6455 5.4) whose payload does not inflate is 1002 for us, 1007 for ' +
      'wsproto (it inflates first); a frame with RSV bits set that declares more than ' +
      '2^53 - 1 bytes is 1009 for us (our length limit is checked first), 1002 for wsproto',
    rfc:
      'RFC 6455 7.1.7 requires failing the connection on a violation and 7.4.1 lists the ' +
      'codes; it does not say which to report when a frame has two. Both fail the ' +
      'connection at the same frame.',
  },
  'close-1014': {
    who: 'wsproto 1.2',
    what: 'a close frame with code 1014 is a peer close for us; wsproto fails the connection with 1002',
    rfc:
      'RFC 6455 7.4.2 reserves 1000-2999 for codes defined by the protocol, its revisions and ' +
      'public specifications, and 11.7 creates the IANA registry for them; IANA registered ' +
      '1014 (Bad Gateway) after the RFC, so 1014 is a defined code a peer may send. ' +
      "wsproto 1.2's CloseReason enum lacks it and rejects it as reserved.",
  },
  'frame-length-limit': {
    who: 'both (a limit)',
    what:
      'a frame that declares more than our maxFrameSize (64 MiB by default) or more than ' +
      '2^53 - 1 bytes fails at once with 1009 (1002 if the header is also out of order); ' +
      'wsproto has no limit and waits for the payload',
    rfc:
      'RFC 6455 10.4: implementations with limits on frame or message size "MUST protect ' +
      'themselves against exceeding those limits"; 7.4.1: 1009 is the code for a message ' +
      'too big to process.',
  },
  'fail-fast': {
    who: 'both (timing)',
    what:
      'one side fails the connection before the other has the bytes it needs to see the ' +
      'violation (ours: masking bit, reserved opcode and control-frame rules from the first ' +
      'two header bytes, and UTF-8 sequences such as ED A0 that no continuation can make ' +
      'valid; wsproto: RSV bits and non-minimal lengths before the masking key). The later ' +
      'side fails with the same code once the bytes arrive (checked on the uncut stream), ' +
      'or never when the stream ends first. For UTF-8 the later side may instead meet ' +
      'another violation or a close frame before the byte that shows the error (an ' +
      'independent WHATWG decoder must then agree the text is invalid). Message data and ' +
      'control frames it delivered in between belong to a connection that is failing',
    rfc:
      'RFC 6455 7.1.7 and 8.1 say an endpoint that finds a violation (or invalid UTF-8) MUST ' +
      'fail the connection, not how early; 10.7 lets it drop data that violates the rules. ' +
      'Both behaviours conform; failing early is what Autobahn 6.4.x ("fail fast on invalid ' +
      'UTF-8") rewards.',
  },
  'deflate-bfinal': {
    who: 'wsproto 1.2 (bug)',
    what:
      'after a compressed message that ends with a DEFLATE block with BFINAL set, the next ' +
      'compressed message fails in wsproto with 1007 (its zlib decompressor was flushed at ' +
      'the end of the stream and is unusable); we start a new DEFLATE stream',
    rfc:
      'RFC 7692 7.2.3.4 allows a sender to end a message with a block whose BFINAL bit is ' +
      'set; the receiver must keep decoding the messages that follow.',
  },
  'deflate-interleaved-control': {
    who: 'wsproto 1.2 (bug)',
    what:
      "a control frame between the fragments of a compressed message resets wsproto's " +
      '"message is compressed" state, so it takes the rest of the message as uncompressed ' +
      '(then fails with 1007 on text, or delivers the raw DEFLATE bytes); we inflate the ' +
      'whole message',
    rfc:
      'RFC 6455 5.4: control frames MAY be injected in the middle of a fragmented message; ' +
      'RFC 7692 6: the Per-Message Compressed bit of the first frame applies to the whole ' +
      'message and control frames are never compressed.',
  },
  'deflate-empty-payload': {
    who: 'both (wsproto 1.2 garbles what follows)',
    what:
      'a compressed message (RSV1) whose payload is empty: we deliver an empty message and ' +
      'leave the DEFLATE stream as it was; wsproto appends 00 00 ff ff to nothing, which ' +
      'leaves its decompressor inside the header of a stored block, so the next ' +
      'compressed message is garbled (wrong data, or 1007)',
    rfc:
      'RFC 7692 7.2.3.6: an empty message is sent as a single 0x00 (an empty stored ' +
      'block); 7.2.2 appends 00 00 ff ff to the payload before inflating, which for an ' +
      'empty payload is no DEFLATE data at all. We treat it as the empty message a sender ' +
      'meant, and the DEFLATE stream (RFC 1951) stays aligned for the messages after it.',
  },
} as const;

type Documented = keyof typeof DOCUMENTED;
// The three deflate-* entries are checked, not assumed: wsproto_diff.py runs each
// deflate case a second time with PatchedPerMessageDeflate (the wsproto bug fixed), and
// that run must agree with ours (or differ only in another documented way).

/**
 * The frames that break two rules at once, and which each side reports (code and a
 * pattern of its failure reason). See DOCUMENTED['check-order'].
 */
const CHECK_ORDER: ReadonlyArray<{ ours: [number, RegExp]; theirs: [number, RegExp]; what: string }> = [
  {
    // RFC 6455 5.4 vs RFC 7692 6.1 / 7.2.2
    ours: [1002, /fragmented message/],
    theirs: [1007, /error in extension/],
    what: 'a new data frame inside a fragmented message, with a payload that does not inflate',
  },
  {
    // RFC 6455 5.2 (RSV bits) vs our frame length limit (10.4)
    ours: [1009, /2\^53/],
    theirs: [1002, /Reserved bit/],
    what: 'RSV bits set on a frame that declares more than 2^53 - 1 bytes',
  },
];

const BUG_OF_MARKER: Record<Marker, Documented> = {
  'deflate-interleaved': 'deflate-interleaved-control',
  'deflate-empty': 'deflate-empty-payload',
  'deflate-eof': 'deflate-bfinal',
};

interface Verdict {
  kind: 'identical' | Documented | 'UNEXPLAINED';
  detail?: string;
  /** Judging needs the uncut stream (a cut case where one side failed before the cut). */
  needsSibling?: boolean;
}

/** True when `data`, read as frames from its start, ends inside a frame. */
function endsInsideFrame(data: Buffer): boolean {
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 2) return true;
    const short = data[pos + 1]! & 0x7f;
    const header = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (data[pos + 1]! & 0x80 ? 4 : 0);
    if (data.length - pos < header) return true;
    const length =
      short === 126
        ? BigInt(data.readUInt16BE(pos + 2))
        : short === 127
          ? data.readBigUInt64BE(pos + 2)
          : BigInt(short);
    const end = BigInt(pos + header) + length;
    if (end > BigInt(data.length)) return true;
    pos = Number(end);
  }
  return false;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const isPartial = (e: Entry | undefined) => e !== undefined && (e[0] === 'text-partial' || e[0] === 'bytes-partial');
const isClose = (e: Entry | undefined, kind: CloseKind, code?: number) =>
  e !== undefined && e[0] === 'close' && e[2] === kind && (code === undefined || e[1] === code);
const isControl = (e: Entry | undefined) => e !== undefined && (e[0] === 'ping' || e[0] === 'pong');
/** `longer` carries on where `shorter` stopped (same kind of partial, same data first). */
const extendsPartial = (shorter: Entry | null, longer: Entry | null) =>
  shorter === null || (longer !== null && longer[0] === shorter[0] && String(longer[1]).startsWith(String(shorter[1])));

/**
 * The rest of `early` (from index k) is [partial?] failure(code) [eof?]; the rest of
 * `late` is [control*] [partial that extends early's?] [failure(same code)?] [eof?].
 * Returns the code and whether the late side failed too, or null.
 */
function failsEarlier(early: Entry[], late: Entry[], k: number): { code: number; lateFailed: boolean } | null {
  let i = k;
  const earlyPartial = isPartial(early[i]) ? early[i++]! : null;
  if (!isClose(early[i], 'failure')) return null;
  const code = early[i++]![1] as number;
  if (isClose(early[i], 'eof')) i++;
  if (i !== early.length) return null;
  let j = k;
  while (isControl(late[j])) j++;
  const latePartial = isPartial(late[j]) ? late[j++]! : null;
  if (!extendsPartial(earlyPartial, latePartial)) return null;
  let lateFailed = false;
  if (isClose(late[j], 'failure', code)) {
    j++;
    lateFailed = true;
  }
  if (isClose(late[j], 'eof')) j++;
  if (j !== late.length) return null;
  return { code, lateFailed };
}

/** What judging a case may consult besides the two conversations. */
interface Context {
  /** Cut cases: the uncut stream's verdict and conversations. */
  sibling?: { verdict: Verdict; ours: Conversation; theirs: Conversation };
  /** Deflate cases: wsproto with PatchedPerMessageDeflate (its two bugs fixed). */
  patched?: Conversation;
}

/** Compare one case: identical, a documented difference, or unexplained. */
function judge(c: DiffCase, ours: Conversation, theirs: Conversation, ctx: Context = {}): Verdict {
  const O = ours.entries;
  const Y = theirs.entries;
  if (same(O, Y)) return { kind: 'identical' };
  if (O.some((e) => e[0] === 'exception')) return { kind: 'UNEXPLAINED', detail: 'our Connection threw' };
  let k = 0;
  while (k < O.length && k < Y.length && same(O[k], Y[k])) k++;

  // The permessage-deflate bugs of wsproto 1.2: the difference is theirs when wsproto
  // with them fixed (PatchedPerMessageDeflate) agrees with us, or differs only in another
  // documented way. The first situation wsproto_diff.py noted before the difference
  // names the bug.
  const marker = theirs.markers.find((m) => m.at <= k);
  if (ctx.patched !== undefined && (marker !== undefined || !same(ctx.patched.entries, Y))) {
    const fixed = judge(c, ours, ctx.patched, ctx.sibling === undefined ? {} : { sibling: ctx.sibling });
    if (fixed.needsSibling) return fixed;
    if (fixed.kind !== 'UNEXPLAINED') {
      // The fixes changed nothing here: the other difference is the whole story.
      if (same(ctx.patched.entries, Y)) return fixed;
      const also = fixed.kind === 'identical' ? {} : { detail: `and ${fixed.kind}` };
      if (marker !== undefined) return { kind: BUG_OF_MARKER[marker.marker], ...also };
    }
    // Otherwise the rules below must explain the difference with the unpatched wsproto.
  }

  // check-order: one frame breaks two rules, and each side reports the one it checks
  // first (the pairs in CHECK_ORDER); both fail at that frame.
  const pair = CHECK_ORDER.find(
    (p) =>
      isClose(O[k], 'failure', p.ours[0]) &&
      isClose(Y[k], 'failure', p.theirs[0]) &&
      p.ours[1].test(ours.failureReason ?? '') &&
      p.theirs[1].test(theirs.failureReason ?? ''),
  );
  if (pair !== undefined && same(O.slice(k + 1), Y.slice(k + 1))) return { kind: 'check-order', detail: pair.what };

  // close-1014: our peer close 1014 is wsproto's 1002 failure; the rest is the same.
  if (isClose(O[k], 'peer', 1014) && isClose(Y[k], 'failure', 1002) && same(O.slice(k + 1), Y.slice(k + 1))) {
    return { kind: 'close-1014' };
  }
  // ... and when the reason of that close frame is not UTF-8: we fail on the reason
  // (1007), wsproto on the code first (1002). wsproto rejects no other code that we take.
  if (
    isClose(O[k], 'failure', 1007) &&
    isClose(Y[k], 'failure', 1002) &&
    /close reason/.test(ours.failureReason ?? '') &&
    /unknown reserved code/.test(theirs.failureReason ?? '') &&
    same(O.slice(k + 1), Y.slice(k + 1))
  ) {
    return { kind: 'close-1014', detail: 'with a reason that is not UTF-8' };
  }

  // frame-length-limit: the last frame declares more than our limit; we fail at its
  // header, wsproto takes what follows as payload.
  if (c.huge) {
    let i = k;
    const ourPartial = isPartial(O[i]) ? O[i++]! : null;
    if (isClose(O[i], 'failure', 1009) || isClose(O[i], 'failure', 1002)) {
      i++;
      if (isClose(O[i], 'eof')) i++;
      let j = k;
      const theirPartial = isPartial(Y[j]) ? Y[j++]! : null;
      if (isClose(Y[j], 'failure')) j++;
      if (isClose(Y[j], 'eof')) j++;
      if (i === O.length && j === Y.length && extendsPartial(ourPartial, theirPartial))
        return { kind: 'frame-length-limit' };
    }
  }

  // fail-fast: one side fails earlier; the other fails the same way later, or the stream
  // ended first (then the uncut stream must show the other side failing the same way).
  for (const [early, late, lateSide] of [
    [O, Y, 'theirs'],
    [Y, O, 'ours'],
  ] as const) {
    const found = failsEarlier(early, late, k);
    if (found === null) continue;
    const first = lateSide === 'theirs' ? 'we' : 'wsproto';
    if (found.lateFailed) return { kind: 'fail-fast', detail: `${first} failed first (${found.code})` };
    if (c.cut !== null) {
      // The stream was cut: the uncut one must show the other side failing there too.
      const sibling = ctx.sibling;
      if (sibling === undefined) return { kind: 'UNEXPLAINED', needsSibling: true };
      const lateFull = lateSide === 'theirs' ? sibling.theirs : sibling.ours;
      if (sibling.verdict.kind !== 'UNEXPLAINED' && lateFull.entries.some((e) => isClose(e, 'failure'))) {
        return { kind: 'fail-fast', detail: `${first} failed first, then the stream was cut (${found.code})` };
      }
      if (endsInsideFrame(c.stream)) {
        return {
          kind: 'fail-fast',
          detail: `${first} failed first, the stream ends inside that frame (${found.code})`,
        };
      }
    } else if (endsInsideFrame(Buffer.concat(c.chunks))) {
      // Generated junk (or a declared length) left the stream inside a frame: the other
      // side never got the bytes it checks.
      return { kind: 'fail-fast', detail: `${first} failed first, the stream ends inside that frame (${found.code})` };
    }
  }
  // fail-fast on UTF-8: we failed a text message at a sequence no continuation can make
  // valid (ED A0 ...); wsproto waits for the next byte and meanwhile fails on something
  // else, takes a close frame, or the stream ends. An independent decoder (WHATWG, fatal)
  // must agree that the text is invalid.
  const late = failsEarlierLoosely(O, Y, k);
  if (late !== null && /invalid UTF-8 in a text message/.test(ours.failureReason ?? '') && textIsInvalid(c)) {
    return { kind: 'fail-fast', detail: `we failed first on UTF-8, wsproto ${late}` };
  }
  return { kind: 'UNEXPLAINED' };
}

/**
 * Ours from k: [partial?] failure(1007) [eof?]; wsproto's: [control*] [partial that
 * extends ours?] then a failure with any code, a close frame, or nothing, [eof?].
 * Returns what wsproto did instead, or null.
 */
function failsEarlierLoosely(O: Entry[], Y: Entry[], k: number): string | null {
  let i = k;
  const ourPartial = isPartial(O[i]) ? O[i++]! : null;
  if (!isClose(O[i++], 'failure', 1007)) return null;
  if (isClose(O[i], 'eof')) i++;
  if (i !== O.length) return null;
  let j = k;
  while (isControl(Y[j])) j++;
  const theirPartial = isPartial(Y[j]) ? Y[j++]! : null;
  if (!extendsPartial(ourPartial, theirPartial)) return null;
  let what = 'saw the stream end first';
  if (isClose(Y[j], 'failure')) what = `failed later with ${Y[j++]![1]}`;
  else if (isClose(Y[j], 'peer')) {
    what = 'took a close frame first';
    j++;
  }
  if (isClose(Y[j], 'eof')) j++;
  return j === Y.length ? what : null;
}

/**
 * An independent reading of the stream (frames per RFC 6455 5.2 up to the first framing
 * violation or close frame, no extensions): true when a text message holds bytes that
 * the WHATWG UTF-8 decoder (fatal, streaming: it rejects a bad byte as soon as it sees
 * it) refuses, or ends mid code point.
 */
function textIsInvalid(c: DiffCase): boolean {
  const data = Buffer.concat(c.chunks);
  const expectMasked = c.role === 'server';
  let message = 0; // 0, or the opcode of the message in progress
  let compressed: Buffer[] | null = null; // the compressed payload of the message so far
  let decoder: TextDecoder | null = null;
  let pos = 0;
  try {
    while (pos + 2 <= data.length) {
      const b0 = data[pos]!;
      const b1 = data[pos + 1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const short = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      // RFC 7692 6: RSV1 marks the first frame of a compressed message.
      const rsv1 = c.deflate !== null && opcode !== 0 && opcode < 8 ? 0x40 : 0;
      if ((b0 & 0x70 & ~rsv1) !== 0 || masked !== expectMasked || ![0, 1, 2, 8, 9, 10].includes(opcode)) return false;
      if (opcode >= 8 && (!fin || short > 125)) return false;
      const header = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (pos + header > data.length) return false;
      let length = short;
      if (short === 126) length = data.readUInt16BE(pos + 2);
      if (short === 127) {
        const big = data.readBigUInt64BE(pos + 2);
        if (big > 0xffffffffn) return false;
        length = Number(big);
      }
      if ((short === 126 && length <= 125) || (short === 127 && length <= 0xffff)) return false;
      const payload = Buffer.from(data.subarray(pos + header, pos + header + length));
      if (masked) {
        const key = data.subarray(pos + header - 4, pos + header);
        for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
      }
      const complete = payload.length === length;
      pos += header + length;
      if (opcode === 8) return false;
      if (opcode >= 8) continue;
      if (opcode === 0 ? message === 0 : message !== 0) return false;
      if (opcode !== 0) {
        message = opcode;
        decoder = opcode === 1 ? new TextDecoder('utf-8', { fatal: true }) : null;
        compressed = (b0 & 0x40) !== 0 ? [] : null;
      }
      const last = complete && fin;
      if (decoder !== null && compressed !== null) {
        // Inflate the message so far (alone: one that refers back to an earlier message
        // cannot be checked here) and decode all of it again.
        compressed.push(payload);
        let text: Buffer;
        try {
          const input = Buffer.concat(last ? [...compressed, DEFLATE_TAIL] : compressed);
          text = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        } catch {
          return false;
        }
        new TextDecoder('utf-8', { fatal: true }).decode(text, { stream: !last });
      } else {
        decoder?.decode(payload, { stream: true });
        if (last) decoder?.decode();
      }
      if (last) {
        message = 0;
        decoder = null;
        compressed = null;
      }
    }
  } catch {
    return true; // the decoder refused the text
  }
  return false;
}

// ---------------------------------------------------------------------------------
// Running cases through the one Python process
// ---------------------------------------------------------------------------------

interface PyCase {
  id: string;
  role: 'client' | 'server';
  chunks: string[];
  eof: boolean;
  deflate: string | null;
  patched: boolean;
}

/** One wsproto process for every case: JSON lines in, JSON lines out, in order. */
class Wsproto {
  readonly py = new PythonProcess('wsproto_diff.py', []);
  #next = 0;

  send(c: PyCase): Promise<boolean> {
    const ok = this.py.child.stdin.write(`${JSON.stringify(c)}\n`);
    if (ok) return Promise.resolve(true);
    return new Promise((resolve) => this.py.child.stdin.once('drain', () => resolve(true)));
  }

  /** The answer to the next case sent (answers come in order). */
  async receive(id: string): Promise<Raw[]> {
    const line = await this.py.line<{ id: string; events: Raw[] }>(this.#next++, 60000);
    if (line.id !== id) throw new Error(`wsproto_diff.py answered ${line.id} for ${id}`);
    this.py.lines[this.#next - 1] = null; // done with it
    return line.events;
  }
}

function toPy(c: Pick<DiffCase, 'id' | 'role' | 'chunks' | 'eof' | 'deflate'>, patched = false): PyCase {
  const id = patched ? `${c.id}/patched` : c.id;
  return {
    id,
    role: c.role,
    chunks: c.chunks.map((b) => b.toString('base64')),
    eof: c.eof,
    deflate: c.deflate,
    patched,
  };
}

/** The answers to one run: wsproto's conversation and, with deflate, the patched one's. */
async function runBoth(
  py: Wsproto,
  r: DiffCase,
): Promise<() => Promise<{ ours: Conversation; theirs: Conversation; ctx: Context }>> {
  const ours = runOurs(r);
  await py.send(toPy(r));
  if (r.deflate !== null) await py.send(toPy(r, true));
  return async () => {
    const theirs = normalize(await py.receive(r.id));
    const ctx: Context = r.deflate === null ? {} : { patched: normalize(await py.receive(`${r.id}/patched`)) };
    return { ours, theirs, ctx };
  };
}

/**
 * Send a case (with deflate, its patched run too); return a function that collects the
 * answers (they come in order) and judges the case. A cut case whose verdict needs the
 * uncut stream comes back with `needsSibling`: pass it to `judgeWithSibling`.
 */
async function submit(
  py: Wsproto,
  c: DiffCase,
): Promise<() => Promise<{ verdict: Verdict; ours: Conversation; theirs: Conversation; ctx: Context }>> {
  const collect = await runBoth(py, c);
  return async () => {
    const { ours, theirs, ctx } = await collect();
    return { verdict: judge(c, ours, theirs, ctx), ours, theirs, ctx };
  };
}

/** Judge a cut case again with its uncut stream run on both sides. */
async function judgeWithSibling(
  py: Wsproto,
  c: DiffCase,
  ours: Conversation,
  theirs: Conversation,
  ctx: Context,
): Promise<Verdict> {
  const full: DiffCase = { ...c, id: `${c.id}/full`, cut: null, chunks: [c.stream] };
  const s = await (await runBoth(py, full))();
  const sibling = { verdict: judge(full, s.ours, s.theirs, s.ctx), ours: s.ours, theirs: s.theirs };
  return judge(c, ours, theirs, { ...ctx, sibling });
}

/** What a failing case prints: enough to replay it. */
function describeCase(c: DiffCase, ours: Conversation, theirs: Conversation, verdict: Verdict, full = false): string {
  const fed = c.cut === null ? c.stream : c.stream.subarray(0, c.cut);
  const shown =
    fed.length > 400 && !full
      ? `${fed.subarray(0, 400).toString('hex')}... (${fed.length} bytes)`
      : fed.toString('hex');
  const clip = (v: string | number) => (typeof v === 'string' && v.length > 80 && !full ? `${v.slice(0, 80)}...` : v);
  const short = (entries: Entry[]) => JSON.stringify(entries.map((e) => e.map(clip)));
  return [
    `case ${c.id}: ${verdict.kind}${verdict.detail ? ` (${verdict.detail})` : ''}`,
    `  role ${c.role}, deflate ${c.deflate === null ? 'off' : `${c.deflate} (ours: ${c.zlibSync && ZLIB_SYNC ? 'zlib-sync' : 'node:zlib'})`}, eof ${c.eof}, ${c.cut === null ? 'uncut' : `cut at ${c.cut} of ${c.stream.length}`}, ` +
      `${c.huge ? 'huge length, ' : ''}chunks ${c.chunks.map((b) => b.length).join('+')}`,
    `  bytes ${shown}`,
    `  ours    ${short(ours.entries)}`,
    `  wsproto ${short(theirs.entries)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------
// Pinned vectors: each documented difference, byte for byte
// ---------------------------------------------------------------------------------

const M = '37 fa 21 3d'; // masking key (RFC 6455 5.7)
/** Mask a hex payload with M. */
function maskHex(payload: string): string {
  const key = hex(M);
  return Buffer.from(hex(payload).map((b, i) => b ^ key[i % 4]!)).toString('hex');
}

interface Pinned {
  title: string;
  kind: Documented;
  role: 'client' | 'server';
  deflate: string | null;
  bytes: string;
  ours: Entry[];
  wsproto: Entry[];
  /** The uncut stream, when `bytes` is cut short of it. */
  full?: string;
  huge?: boolean;
}

const PINNED: Pinned[] = [
  {
    title: 'close frame with code 1014 (IANA: Bad Gateway)',
    kind: 'close-1014',
    role: 'server',
    deflate: null,
    bytes: `88 83 ${M} ${maskHex('03 f6 78')}`,
    ours: [['close', 1014, 'peer', 'x']],
    wsproto: [['close', 1002, 'failure', '']],
  },
  {
    title: 'binary frame declaring 2^53 bytes',
    kind: 'frame-length-limit',
    role: 'client',
    deflate: null,
    bytes: '82 7f 00 20 00 00 00 00 00 00 01 02 03',
    huge: true,
    ours: [['close', 1009, 'failure', '']],
    wsproto: [['bytes-partial', '010203']],
  },
  {
    title: 'text frame declaring 64 MiB + 1 bytes (our default maxFrameSize is 64 MiB)',
    kind: 'frame-length-limit',
    role: 'client',
    deflate: null,
    bytes: '81 7f 00 00 00 00 04 00 00 01 61 62',
    huge: true,
    ours: [['close', 1009, 'failure', '']],
    wsproto: [['text-partial', 'ab']],
  },
  {
    title: 'close frame with code 1014 and a reason that is not UTF-8',
    kind: 'close-1014',
    role: 'server',
    deflate: null,
    bytes: `88 83 ${M} ${maskHex('03 f6 ff')}`,
    ours: [['close', 1007, 'failure', '']],
    wsproto: [['close', 1002, 'failure', '']],
  },
  {
    title: 'RSV1 set (no extension) on a frame that declares 2^53 bytes',
    kind: 'check-order',
    role: 'client',
    deflate: null,
    bytes: 'c2 7f 00 20 00 00 00 00 00 00',
    ours: [['close', 1009, 'failure', '']],
    wsproto: [['close', 1002, 'failure', '']],
  },
  {
    title: 'UTF-8: ED A0 ends a fragment, then a close frame arrives',
    kind: 'fail-fast',
    role: 'client',
    deflate: null,
    bytes: '01 03 61 ed a0 88 02 03 e8',
    ours: [['close', 1007, 'failure', '']],
    wsproto: [
      ['text-partial', 'a'],
      ['close', 1000, 'peer', ''],
    ],
  },
  {
    title: 'UTF-8: ED A0 (a surrogate) ends a fragment; the next one completes it',
    kind: 'fail-fast',
    role: 'client',
    deflate: null,
    bytes: '01 04 61 62 ed a0 89 00 80 01 80',
    ours: [['close', 1007, 'failure', '']],
    wsproto: [
      ['ping', ''],
      ['text-partial', 'ab'],
      ['close', 1007, 'failure', ''],
    ],
  },
  {
    title: 'server receives an unmasked frame with a 16-bit length, cut after 2 bytes',
    kind: 'fail-fast',
    role: 'server',
    deflate: null,
    bytes: '82 7e',
    full: '82 7e 00 80 ' + '00 '.repeat(128),
    ours: [['close', 1002, 'failure', '']],
    wsproto: [],
  },
  {
    title: 'RSV2 set on a masked frame, cut inside the masking key',
    kind: 'fail-fast',
    role: 'server',
    deflate: null,
    bytes: 'a2 85 37 fa',
    full: `a2 85 ${M} ${maskHex('48 65 6c 6c 6f')}`,
    ours: [],
    wsproto: [['close', 1002, 'failure', '']],
  },
  {
    title: 'permessage-deflate: "Hello" ended with BFINAL (RFC 7692 7.2.3.4), then "Hello" again',
    kind: 'deflate-bfinal',
    role: 'client',
    deflate: 'permessage-deflate',
    bytes: 'c1 08 f3 48 cd c9 c9 07 00 00 c1 07 f2 48 cd c9 c9 07 00',
    ours: [
      ['text', 'Hello'],
      ['text', 'Hello'],
    ],
    wsproto: [
      ['text', 'Hello'],
      ['close', 1007, 'failure', ''],
    ],
  },
  {
    title: 'permessage-deflate: a ping between the fragments of a compressed "Hello"',
    kind: 'deflate-interleaved-control',
    role: 'client',
    deflate: 'permessage-deflate',
    bytes: '41 03 f2 48 cd 89 01 70 80 04 c9 c9 07 00',
    ours: [
      ['ping', '70'],
      ['text', 'Hello'],
    ],
    wsproto: [
      ['ping', '70'],
      ['text-partial', 'He'],
      ['close', 1007, 'failure', ''],
    ],
  },
  {
    title: 'permessage-deflate: a compressed message with an empty payload, then "Hello"',
    kind: 'deflate-empty-payload',
    role: 'client',
    deflate: 'permessage-deflate',
    bytes: 'c1 00 c1 07 f2 48 cd c9 c9 07 00',
    ours: [
      ['text', ''],
      ['text', 'Hello'],
    ],
    wsproto: [
      ['text', ''],
      ['close', 1007, 'failure', ''],
    ],
  },
];

// ---------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------

describe('differential: our Connection against Python wsproto 1.2, the same bytes in the same chunks', function () {
  this.timeout(Math.max(60000, CASES * 30));
  let wsproto: Wsproto | null = null;

  before(function () {
    if (pythonHas('wsproto')) wsproto = new Wsproto();
  });
  after(async () => {
    await wsproto?.py.stop();
  });

  describe('pinned vectors: every documented difference, byte for byte', () => {
    for (const p of PINNED) {
      it(`${p.kind}: ${p.title}`, async function () {
        requirePeer(this, wsproto !== null, 'Python wsproto (/usr/bin/python3)', PYTHON_INSTALL);
        const full = hex(p.full ?? p.bytes);
        const fed = hex(p.bytes);
        const c: DiffCase = {
          id: `pinned ${p.title}`,
          role: p.role,
          deflate: p.deflate,
          zlibSync: false,
          stream: full,
          cut: p.full === undefined ? null : fed.length,
          chunks: [fed],
          eof: false,
          huge: p.huge ?? false,
        };
        const first = await (await submit(wsproto!, c))();
        const { ours, theirs } = first;
        expect(ours.entries, 'ours').to.deep.equal(p.ours);
        expect(theirs.entries, 'wsproto').to.deep.equal(p.wsproto);
        const verdict = first.verdict.needsSibling
          ? await judgeWithSibling(wsproto!, c, ours, theirs, first.ctx)
          : first.verdict;
        expect(verdict.kind).to.equal(p.kind);
        if (p.deflate !== null) {
          // With its two permessage-deflate bugs fixed, wsproto agrees with us.
          await wsproto!.send(toPy(c, true));
          expect(normalize(await wsproto!.receive(`${c.id}/patched`)).entries, 'patched wsproto').to.deep.equal(p.ours);
        }
      });
    }
  });

  describe('known bugs in our library (reported; each passes once fixed, and is skipped until then)', () => {
    it('permessage-deflate: a message whose DEFLATE stream ends (BFINAL) exactly at the end of the appended 00 00 ff ff loses the next message', async function () {
      requirePeer(this, wsproto !== null, 'Python wsproto (/usr/bin/python3)', PYTHON_INSTALL);
      // c1 01 01: a compressed text message whose payload is 01, the header of a final
      // (BFINAL) stored block; the 00 00 ff ff appended on receipt (RFC 7692 7.2.2) is
      // its LEN/NLEN, so the stream ends exactly at the last byte inflated. Then "Hello"
      // (RFC 7692 7.2.3.1) must inflate in a new stream (7.2.3.4).
      const bytes = hex('c1 01 01 c1 07 f2 48 cd c9 c9 07 00');
      const c: DiffCase = {
        id: 'known bug: BFINAL at the tail',
        role: 'client',
        deflate: 'permessage-deflate',
        zlibSync: false, // node:zlib, the default backend
        stream: bytes,
        cut: null,
        chunks: [bytes],
        eof: false,
        huge: false,
      };
      const ours = runOurs(c).entries;
      await wsproto!.send(toPy(c, true));
      const fixedWsproto = normalize(await wsproto!.receive(`${c.id}/patched`)).entries;
      const correct = [
        ['text', ''],
        ['text', 'Hello'],
      ];
      expect(fixedWsproto, 'wsproto with its BFINAL bug fixed').to.deep.equal(correct);
      if (ZLIB_SYNC) expect(runOurs({ ...c, zlibSync: true }).entries, 'ours with zlib-sync').to.deep.equal(correct);
      if (
        same(ours, [
          ['text', ''],
          ['text', ''],
        ])
      ) {
        // zlib-backend's NodeInflater.ended only notices the end of the stream when input
        // is left over; here none is, so the ended inflater is kept and the next message
        // comes out empty (silently).
        console.log('      KNOWN BUG (reported): "Hello" is delivered as an empty message');
        this.skip();
      }
      expect(ours).to.deep.equal(correct);
    });
  });

  it(`${CASES} generated cases (seed ${SEED}): identical conversations, or a documented difference`, async function () {
    requirePeer(this, wsproto !== null, 'Python wsproto (/usr/bin/python3)', PYTHON_INSTALL);
    const py = wsproto!;
    const started = Date.now();
    const counts = new Map<string, number>();
    const details = new Map<string, number>();
    const unexplained: string[] = [];
    let deflateCases = 0;
    let cutCases = 0;
    let bytesFed = 0;

    // A bounded window of cases in flight: generate, run ours, send to wsproto, judge
    // when its answers are back.
    const window: Array<{ c: DiffCase; collect: Awaited<ReturnType<typeof submit>> }> = [];
    const deferred: Array<{ c: DiffCase; ours: Conversation; theirs: Conversation; ctx: Context }> = [];
    const count = (c: DiffCase, verdict: Verdict, ours: Conversation, theirs: Conversation) => {
      counts.set(verdict.kind, (counts.get(verdict.kind) ?? 0) + 1);
      if (verdict.detail !== undefined) {
        const key = `${verdict.kind}: ${verdict.detail.replace(/ \(\d+\)$/, '')}`;
        details.set(key, (details.get(key) ?? 0) + 1);
      }
      if (verdict.kind === 'UNEXPLAINED' && unexplained.length < 10)
        unexplained.push(describeCase(c, ours, theirs, verdict));
    };
    const settle = async ({ c, collect }: (typeof window)[number]) => {
      const { verdict, ours, theirs, ctx } = await collect();
      // Cut cases that need their uncut stream wait until the window is drained.
      if (verdict.needsSibling && deferred.length < 20000) deferred.push({ c, ours, theirs, ctx });
      else count(c, verdict, ours, theirs);
    };
    for (let i = ONLY ?? 0; i < (ONLY === null ? CASES : ONLY + 1); i++) {
      const c = generate(String(i), (SEED + Math.imul(i, 0x9e3779b1)) >>> 0);
      if (ONLY !== null) {
        const first = await (await submit(py, c))();
        const { ours, theirs } = first;
        const verdict = first.verdict.needsSibling
          ? await judgeWithSibling(py, c, ours, theirs, first.ctx)
          : first.verdict;
        console.log(describeCase(c, ours, theirs, verdict, true));
        if (first.ctx.patched) console.log(`  patched wsproto ${JSON.stringify(first.ctx.patched.entries)}`);
        console.log(
          `  markers ${JSON.stringify(theirs.markers)}; failure reasons: ours ${ours.failureReason}; wsproto ${theirs.failureReason}`,
        );
        if (c.cut !== null) console.log(`  uncut: ${c.stream.toString('hex')}`);
        return;
      }
      if (c.deflate !== null) deflateCases++;
      if (c.cut !== null) cutCases++;
      bytesFed += c.chunks.reduce((n, b) => n + b.length, 0);
      window.push({ c, collect: await submit(py, c) });
      if (window.length >= 256) await settle(window.shift()!);
    }
    while (window.length > 0) await settle(window.shift()!);
    for (const d of deferred) count(d.c, await judgeWithSibling(py, d.c, d.ours, d.theirs, d.ctx), d.ours, d.theirs);

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const identical = counts.get('identical') ?? 0;
    console.log(
      `      ${CASES} cases (${deflateCases} with permessage-deflate, ${cutCases} cut short, ` +
        `${(bytesFed / 1e6).toFixed(1)} MB fed) in ${seconds} s: ${identical} identical`,
    );
    for (const kind of Object.keys(DOCUMENTED) as Documented[]) {
      console.log(`      documented ${kind} (${DOCUMENTED[kind].who}): ${counts.get(kind) ?? 0}`);
    }
    for (const [key, n] of [...details].sort()) console.log(`        ${key}: ${n}`);
    console.log(`      unexplained: ${counts.get('UNEXPLAINED') ?? 0}`);
    expect(unexplained, unexplained.join('\n\n')).to.deep.equal([]);
    // The generator must mostly produce conversations both libraries agree on.
    expect(identical).to.be.greaterThan(CASES * 0.8);
  });
});
