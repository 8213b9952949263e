/**
 * Differential testing, the verdict: identical conversations, or one of the documented
 * differences (each with the RFC section that decides it), or unexplained.
 */
import { TextDecoder } from 'node:util';
import * as zlib from 'node:zlib';
import type { CloseKind, Conversation, Entry, Marker } from './conversation';
import { DEFLATE_TAIL, type DiffCase } from './generator';

/**
 * Every way the two may differ, with the RFC section that decides it. A difference that
 * matches none of these fails the test.
 */
export const DOCUMENTED = {
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

export type Documented = keyof typeof DOCUMENTED;
// The three deflate-* entries are checked, not assumed: wsproto_diff.py runs each
// deflate case a second time with PatchedPerMessageDeflate (the wsproto bug fixed), and
// that run must agree with ours (or differ only in another documented way).

/**
 * The frames that break two rules at once, and which each side reports (code and a
 * pattern of its failure reason). See DOCUMENTED['check-order'].
 */
export const CHECK_ORDER: ReadonlyArray<{ ours: [number, RegExp]; theirs: [number, RegExp]; what: string }> = [
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

export interface Verdict {
  kind: 'identical' | Documented | 'UNEXPLAINED';
  detail?: string;
  /** Judging needs the uncut stream (a cut case where one side failed before the cut). */
  needsSibling?: boolean;
}

/** True when `data`, read as frames from its start, ends inside a frame. */
export function endsInsideFrame(data: Buffer): boolean {
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

export const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
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
export interface Context {
  /** Cut cases: the uncut stream's verdict and conversations. */
  sibling?: { verdict: Verdict; ours: Conversation; theirs: Conversation };
  /** Deflate cases: wsproto with PatchedPerMessageDeflate (its two bugs fixed). */
  patched?: Conversation;
}

/** Compare one case: identical, a documented difference, or unexplained. */
export function judge(c: DiffCase, ours: Conversation, theirs: Conversation, ctx: Context = {}): Verdict {
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
export function textIsInvalid(c: DiffCase): boolean {
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
