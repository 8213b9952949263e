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
import * as zlib from 'node:zlib';
import { Connection, PerMessageDeflate, type ConnectionEvent } from '../../lib/index';
import { hex, rng } from '../helpers/bytes';
import { requirePeer } from '../helpers/peers';
import { PythonProcess, PYTHON_INSTALL, pythonHas } from './python-peers';

const CASES = Number(process.env.WSPROTO_DIFF_CASES ?? 3000);
const SEED = Number(process.env.WSPROTO_DIFF_SEED ?? 0x5eed);

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
  | ['deflate-eof'];

/** peer: a close frame arrived; failure: the receiver failed the connection; eof: transport EOF (1006). */
type CloseKind = 'peer' | 'failure' | 'eof';

/** A merged conversation entry: whole messages, unfinished ones (`-partial`), control events, closes. */
type Entry = ReadonlyArray<string | number>;

interface Conversation {
  entries: Entry[];
  /** Python only: the entry count when wsproto's decompressor hit a BFINAL block. */
  deflateEofAt: number[];
}

/** Merge message pieces into messages (an unfinished one stays partial, before a close). */
function normalize(raw: readonly Raw[]): Conversation {
  const entries: Entry[] = [];
  const deflateEofAt: number[] = [];
  let text: string | null = null;
  let bytes: string | null = null;
  const flush = () => {
    if (text !== null) entries.push(['text-partial', text]);
    if (bytes !== null) entries.push(['bytes-partial', bytes]);
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
        break;
      case 'exception':
        flush();
        entries.push(['exception', e[1]]);
        break;
      case 'deflate-eof':
        deflateEofAt.push(entries.length);
        break;
    }
  }
  flush();
  return { entries, deflateEofAt };
}

/** Our side: a fresh Connection fed the same chunks (drained after each), then EOF. */
function runOurs(c: Pick<DiffCase, 'role' | 'deflate' | 'chunks' | 'eof'>): Conversation {
  const conn = new Connection(c.role, { extensions: c.deflate === null ? [] : [ourDeflate(c.role, c.deflate)] });
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

/** Our permessage-deflate, configured as a handshake with `agreed` would have left it. */
function ourDeflate(role: 'client' | 'server', agreed: string): PerMessageDeflate {
  const [name, ...rest] = agreed.split(';').map((s) => s.trim());
  const params = rest.map((p): [string, string | null] => {
    const [k, v] = p.split('=');
    return [k!, v ?? null];
  });
  const extension = new PerMessageDeflate();
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
  /** What was generated, before any cut. */
  stream: Buffer;
  /** The stream was cut here (the full one is run too, as the case's sibling). */
  cut: number | null;
  chunks: Buffer[];
  eof: boolean;
  /** The last frame declares a length beyond what is sent, beyond our frame limit. */
  huge: boolean;
  /** Offset of the first frame of a compressed message with a control frame inside (in what is fed). */
  interleavedAt: number | null;
  /** The same in the uncut stream. */
  interleavedInStream: number | null;
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

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3001, 3999, 4000, 4001, 4999];
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1099, 1999, 2000, 2999, 5000, 5001, 65535];
const RESERVED_OPCODES = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];
// RFC 3629 violations: bad leads, overlongs, surrogates, > U+10FFFF, stray continuations,
// sequences cut short by ASCII.
const INVALID_UTF8 = [
  'ff', 'fe', 'c0 80', 'c1 bf', 'e0 80 80', 'e0 9f bf', 'ed a0 80', 'ed bf bf', 'f0 80 80 80', 'f0 8f bf bf',
  'f4 90 80 80', 'f5 80 80 80', '80', 'bf', 'c2 41', 'e2 82 41', 'f0 9f 98 41', 'ed a0',
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
  let offset = 0;
  let budget = 69000;
  let interleavedAt: number | null = null;

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
    offset += bytes.length;
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
      else if (kind < 0.93) reason = utf8(g, g.int(124, 200)); // close frame > 125 bytes
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
    const start = offset;
    for (let i = 0; i < fragments; i++) {
      if (i > 0) {
        if (g.chance(0.25)) {
          // RFC 6455 5.4: control frames may be injected between fragments.
          if (compressed && interleavedAt === null) interleavedAt = start;
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
      offset += junk.length;
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
    const head = encodeFrame(g, { fin: g.chance(0.7), rsv: 0, opcode: g.pick([0x0, 0x1, 0x2]), payload: Buffer.alloc(0), masked, declared });
    parts.push(head, g.bytes(g.int(0, 64)));
  }

  const stream = Buffer.concat(parts);
  let cut: number | null = null;
  if (!huge && stream.length >= 2 && g.chance(0.2)) cut = g.int(1, stream.length - 1);
  const fed = cut === null ? stream : stream.subarray(0, cut);
  const interleavedInStream = interleavedAt;
  if (interleavedAt !== null && interleavedAt >= fed.length) interleavedAt = null;
  return { id, role, deflate, stream, cut, chunks: chunk(g, fed), eof: g.chance(0.3), huge, interleavedAt, interleavedInStream };
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
      "valid; wsproto: RSV bits and non-minimal lengths before the masking key). The later " +
      'side fails with the same code once the bytes arrive, or never when the stream ends ' +
      'first; message data and control frames it delivered in between belong to a ' +
      'connection that is failing',
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
      "compressed message fails in wsproto with 1007 (its zlib decompressor was flushed at " +
      'the end of the stream and is unusable); we start a new DEFLATE stream',
    rfc:
      'RFC 7692 7.2.3.4 allows a sender to end a message with a block whose BFINAL bit is ' +
      'set; the receiver must keep decoding the messages that follow.',
  },
  'deflate-interleaved-control': {
    who: 'wsproto 1.2 (bug)',
    what:
      'a control frame between the fragments of a compressed message resets wsproto\'s ' +
      '"message is compressed" state, so it takes the rest of the message as uncompressed ' +
      '(then fails with 1007 on text, or delivers the raw DEFLATE bytes); we inflate the ' +
      'whole message',
    rfc:
      'RFC 6455 5.4: control frames MAY be injected in the middle of a fragmented message; ' +
      'RFC 7692 6: the Per-Message Compressed bit of the first frame applies to the whole ' +
      'message and control frames are never compressed.',
  },
} as const;

type Documented = keyof typeof DOCUMENTED;

interface Verdict {
  kind: 'identical' | Documented | 'UNEXPLAINED';
  detail?: string;
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

  // The two permessage-deflate bugs of wsproto 1.2: the difference is theirs when
  // wsproto with both fixed agrees with us (or differs only in another documented way).
  if (ctx.patched !== undefined && !same(ctx.patched.entries, Y)) {
    const fixed = judge(c, ours, ctx.patched, ctx.sibling === undefined ? {} : { sibling: ctx.sibling });
    if (fixed.kind === 'UNEXPLAINED') return fixed;
    const also = fixed.kind === 'identical' ? undefined : `and ${fixed.kind}`;
    // wsproto's decompressor met BFINAL before the difference: the BFINAL bug.
    if (theirs.deflateEofAt.some((at) => at <= k)) return { kind: 'deflate-bfinal', ...(also ? { detail: also } : {}) };
    if (c.interleavedAt !== null) return { kind: 'deflate-interleaved-control', ...(also ? { detail: also } : {}) };
    return { kind: 'UNEXPLAINED', detail: 'the wsproto fixes changed an unrelated case' };
  }

  // close-1014: our peer close 1014 is wsproto's 1002 failure; the rest is the same.
  if (isClose(O[k], 'peer', 1014) && isClose(Y[k], 'failure', 1002) && same(O.slice(k + 1), Y.slice(k + 1))) {
    return { kind: 'close-1014' };
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
      if (i === O.length && j === Y.length && extendsPartial(ourPartial, theirPartial)) return { kind: 'frame-length-limit' };
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
    const sibling = ctx.sibling;
    if (c.cut !== null && sibling !== undefined && sibling.verdict.kind !== 'UNEXPLAINED') {
      const lateFull = lateSide === 'theirs' ? sibling.theirs : sibling.ours;
      if (lateFull.entries.some((e) => isClose(e, 'failure', found.code))) {
        return { kind: 'fail-fast', detail: `${first} failed first, then the stream was cut (${found.code})` };
      }
    }
  }
  return { kind: 'UNEXPLAINED' };
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
  return { id, role: c.role, chunks: c.chunks.map((b) => b.toString('base64')), eof: c.eof, deflate: c.deflate, patched };
}

/**
 * Send a case (and, with deflate, its patched run) and its uncut sibling; return a
 * function that collects the answers in the same order and judges the case.
 */
async function submit(py: Wsproto, c: DiffCase): Promise<() => Promise<{ verdict: Verdict; ours: Conversation; theirs: Conversation }>> {
  const full: DiffCase | null =
    c.cut === null ? null : { ...c, id: `${c.id}/full`, cut: null, chunks: [c.stream], interleavedAt: c.interleavedInStream };
  const runs = full === null ? [c] : [c, full];
  const ours = runs.map((r) => runOurs(r));
  for (const r of runs) {
    await py.send(toPy(r));
    if (r.deflate !== null) await py.send(toPy(r, true));
  }
  return async () => {
    const answers: Array<{ theirs: Conversation; patched?: Conversation }> = [];
    for (const r of runs) {
      const theirs = normalize(await py.receive(r.id));
      answers.push(r.deflate === null ? { theirs } : { theirs, patched: normalize(await py.receive(`${r.id}/patched`)) });
    }
    const ctx = (i: number): Context => (answers[i]!.patched === undefined ? {} : { patched: answers[i]!.patched! });
    let sibling: Context['sibling'];
    if (full !== null) sibling = { verdict: judge(full, ours[1]!, answers[1]!.theirs, ctx(1)), ours: ours[1]!, theirs: answers[1]!.theirs };
    const verdict = judge(c, ours[0]!, answers[0]!.theirs, { ...ctx(0), ...(sibling ? { sibling } : {}) });
    return { verdict, ours: ours[0]!, theirs: answers[0]!.theirs };
  };
}

/** What a failing case prints: enough to replay it. */
function describeCase(c: DiffCase, ours: Conversation, theirs: Conversation, verdict: Verdict): string {
  const fed = c.cut === null ? c.stream : c.stream.subarray(0, c.cut);
  const shown = fed.length > 400 ? `${fed.subarray(0, 400).toString('hex')}... (${fed.length} bytes)` : fed.toString('hex');
  const short = (entries: Entry[]) => JSON.stringify(entries.map((e) => e.map((v) => (typeof v === 'string' && v.length > 80 ? `${v.slice(0, 80)}...` : v))));
  return [
    `case ${c.id}: ${verdict.kind}${verdict.detail ? ` (${verdict.detail})` : ''}`,
    `  role ${c.role}, deflate ${c.deflate ?? 'off'}, eof ${c.eof}, chunks ${c.chunks.map((b) => b.length).join('+')}`,
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
  interleavedAt?: number;
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
    title: 'UTF-8: ED A0 (a surrogate) ends a fragment; the next one completes it',
    kind: 'fail-fast',
    role: 'client',
    deflate: null,
    bytes: '01 04 61 62 ed a0 89 00 80 01 80',
    ours: [['close', 1007, 'failure', '']],
    wsproto: [['ping', ''], ['text-partial', 'ab'], ['close', 1007, 'failure', '']],
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
    ours: [['text', 'Hello'], ['text', 'Hello']],
    wsproto: [['text', 'Hello'], ['close', 1007, 'failure', '']],
  },
  {
    title: 'permessage-deflate: a ping between the fragments of a compressed "Hello"',
    kind: 'deflate-interleaved-control',
    role: 'client',
    deflate: 'permessage-deflate',
    bytes: '41 03 f2 48 cd 89 01 70 80 04 c9 c9 07 00',
    interleavedAt: 0,
    ours: [['ping', '70'], ['text', 'Hello']],
    wsproto: [['ping', '70'], ['text-partial', 'He'], ['close', 1007, 'failure', '']],
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
          stream: full,
          cut: p.full === undefined ? null : fed.length,
          chunks: [fed],
          eof: false,
          huge: p.huge ?? false,
          interleavedAt: p.interleavedAt ?? null,
          interleavedInStream: p.interleavedAt ?? null,
        };
        const { verdict, ours, theirs } = await (await submit(wsproto!, c))();
        expect(ours.entries, 'ours').to.deep.equal(p.ours);
        expect(theirs.entries, 'wsproto').to.deep.equal(p.wsproto);
        expect(verdict.kind).to.equal(p.kind);
        if (p.deflate !== null) {
          // With its two permessage-deflate bugs fixed, wsproto agrees with us.
          await wsproto!.send(toPy(c, true));
          expect(normalize(await wsproto!.receive(`${c.id}/patched`)).entries, 'patched wsproto').to.deep.equal(p.ours);
        }
      });
    }
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
    const settle = async ({ c, collect }: (typeof window)[number]) => {
      const { verdict, ours, theirs } = await collect();
      counts.set(verdict.kind, (counts.get(verdict.kind) ?? 0) + 1);
      if (verdict.detail !== undefined) {
        const key = `${verdict.kind}: ${verdict.detail.replace(/ \(\d+\)$/, '')}`;
        details.set(key, (details.get(key) ?? 0) + 1);
      }
      if (verdict.kind === 'UNEXPLAINED' && unexplained.length < 10) unexplained.push(describeCase(c, ours, theirs, verdict));
    };
    for (let i = 0; i < CASES; i++) {
      const c = generate(String(i), (SEED + Math.imul(i, 0x9e3779b1)) >>> 0);
      if (c.deflate !== null) deflateCases++;
      if (c.cut !== null) cutCases++;
      bytesFed += c.chunks.reduce((n, b) => n + b.length, 0);
      window.push({ c, collect: await submit(py, c) });
      if (window.length >= 256) await settle(window.shift()!);
    }
    while (window.length > 0) await settle(window.shift()!);

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

// For replaying a case by hand (node -e "require('./dist/test/interop/differential.test.js')...").
export { generate, runOurs, SEED };
