/**
 * Frame serialization (RFC 6455 5.2). Produces one Buffer per frame, header and
 * payload, masked with a fresh key when this side is a client (RFC 6455 5.3).
 */
// The module's binding: the global `Buffer` is an accessor on globalThis (a getter call per use).
import { Buffer } from 'node:buffer';
import { LocalProtocolError } from '../errors';
import { maskInto, unmaskInPlace, type MaskKeyGenerator } from './mask';
import { FIN, LENGTH_16, LENGTH_64, MASK_BIT, MAX_CONTROL_PAYLOAD, isControl } from './opcode';

// Where short non-ASCII text is encoded before it is copied into its frame (3 bytes per
// UTF-16 unit at most: 125 bytes hold any string of up to 41 units).
const scratch = Buffer.allocUnsafe(125);

/** Length of the header that `encodeFrame` writes for a payload of `length` bytes. */
export function headerLength(length: number, masked: boolean): number {
  const base = length <= 125 ? 2 : length <= 0xffff ? 4 : 10;
  return masked ? base + 4 : base;
}

/**
 * Write a frame header into `out` at 0 and return its length. `key`, when given, is
 * written as the masking key.
 */
export function writeHeader(
  out: Uint8Array,
  fin: boolean,
  rsv: number,
  opcode: number,
  length: number,
  key: Uint8Array | null,
): number {
  out[0] = (fin ? FIN : 0) | rsv | opcode;
  const maskBit = key === null ? 0 : MASK_BIT;
  let offset: number;
  if (length <= 125) {
    out[1] = maskBit | length;
    offset = 2;
  } else if (length <= 0xffff) {
    out[1] = maskBit | LENGTH_16;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
    offset = 4;
  } else {
    out[1] = maskBit | LENGTH_64;
    // Lengths are below 2^53, so the high word fits in 21 bits.
    const high = Math.floor(length / 0x100000000);
    const low = length >>> 0;
    out[2] = 0;
    out[3] = (high >>> 16) & 0xff;
    out[4] = (high >>> 8) & 0xff;
    out[5] = high & 0xff;
    out[6] = low >>> 24;
    out[7] = (low >>> 16) & 0xff;
    out[8] = (low >>> 8) & 0xff;
    out[9] = low & 0xff;
    offset = 10;
  }
  if (key !== null) {
    out[offset] = key[0]!;
    out[offset + 1] = key[1]!;
    out[offset + 2] = key[2]!;
    out[offset + 3] = key[3]!;
    offset += 4;
  }
  return offset;
}

/**
 * Unmasked payloads of at least this many bytes may go out after their header instead of
 * being copied into one frame buffer: past this size the copy costs more than a second
 * buffer in the transport's writev (a small frame is cheaper copied and written whole).
 */
export const SPLIT_MIN = 16 * 1024;

/**
 * A frame as two buffers written one after the other: its header, then its payload as
 * the caller gave it (not copied, so it must not change until written).
 */
export type SplitFrame = readonly [header: Buffer, payload: Buffer];

/** The header alone of an unmasked frame whose payload is written after it as is. */
export function encodeHeader(fin: boolean, rsv: number, opcode: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(headerLength(length, false));
  writeHeader(out, fin, rsv, opcode, length, null);
  return out;
}

/**
 * Serialize one frame into a single Buffer. `maskKey` is null for a server (frames go
 * unmasked) and the key generator for a client.
 */
export function encodeFrame(
  fin: boolean,
  rsv: number,
  opcode: number,
  payload: Uint8Array,
  maskKey: MaskKeyGenerator | null,
): Buffer {
  const length = payload.length;
  if (isControl(opcode)) {
    // RFC 6455 5.5: control frames carry at most 125 bytes and are never fragmented.
    if (length > MAX_CONTROL_PAYLOAD) {
      throw new LocalProtocolError(
        `control frame payload is ${length} bytes; RFC 6455 5.5 allows at most 125`,
        'ERR_CONTROL_PAYLOAD_TOO_BIG',
      );
    }
  }
  const masked = maskKey !== null;
  const size = headerLength(length, masked);
  const out = Buffer.allocUnsafe(size + length);
  if (masked) {
    const key = maskKey();
    writeHeader(out, fin, rsv, opcode, length, key);
    maskInto(payload, out, size, key);
  } else {
    writeHeader(out, fin, rsv, opcode, length, null);
    out.set(payload, size);
  }
  return out;
}

/**
 * Serialize a text frame straight from a string: the UTF-8 bytes are written into the
 * frame buffer once (no intermediate `Buffer.from(string)`), then masked in place for a
 * client. Used when no extension needs to see the payload. The bytes are those of
 * `encodeFrame(fin, 0, opcode, Buffer.from(text), maskKey)`, one key taken per frame.
 */
export function encodeTextFrame(fin: boolean, opcode: number, text: string, maskKey: MaskKeyGenerator | null): Buffer {
  const masked = maskKey !== null;
  const headSize = masked ? 6 : 2;
  const units = text.length;
  // Text of over 41 units that starts or ends with a non-ASCII unit skips the ASCII
  // attempt, whose buffer it would waste (measured: the check costs ~8 ns on 16 B, too
  // much for the shortest messages, whose non-ASCII path below stays cheaper than before).
  if (units <= 125 && (units <= 41 || (text.charCodeAt(0) | text.charCodeAt(units - 1)) < 0x80)) {
    // Short ASCII (most chat and JSON): one exact-size buffer, filled by a JS loop that
    // checks and copies in one pass (measured: cheaper than a scan plus
    // `write(..., 'latin1')`, whose native call costs more than copying 16 bytes).
    const out = Buffer.allocUnsafe(headSize + units);
    if (copyAscii(text, out, headSize)) {
      out[0] = (fin ? FIN : 0) | opcode;
      if (masked) {
        const key = maskKey();
        out[1] = MASK_BIT | units;
        out[2] = key[0]!;
        out[3] = key[1]!;
        out[4] = key[2]!;
        out[5] = key[3]!;
        for (let i = 0; i < units; i++) out[6 + i] = out[6 + i]! ^ key[i & 3]!;
      } else {
        out[1] = units;
      }
      return out;
    }
    // Not ASCII: that buffer is dropped, the paths below size their own.
  }
  if (units * 3 <= 125) {
    // Short text that is not ASCII: encoded into a scratch area (at most 125 bytes),
    // then copied into an exact-size frame (cheaper than a worst-case frame and a view).
    const n = scratch.write(text);
    const out = Buffer.allocUnsafe(headSize + n);
    out[0] = (fin ? FIN : 0) | opcode;
    if (masked) {
      const key = maskKey();
      out[1] = MASK_BIT | n;
      out[2] = key[0]!;
      out[3] = key[1]!;
      out[4] = key[2]!;
      out[5] = key[3]!;
      for (let i = 0; i < n; i++) out[6 + i] = scratch[i]! ^ key[i & 3]!;
    } else {
      out[1] = n;
      for (let i = 0; i < n; i++) out[2 + i] = scratch[i]!;
    }
    return out;
  }
  const length = Buffer.byteLength(text);
  const size = headerLength(length, masked);
  const out = Buffer.allocUnsafe(size + length);
  out.write(text, size);
  if (masked) {
    const key = maskKey();
    writeHeader(out, fin, 0, opcode, length, key);
    unmaskInPlace(out, size, length, key, 0);
  } else {
    writeHeader(out, fin, 0, opcode, length, null);
  }
  return out;
}

/**
 * Copy `text` into `out` at `offset`, one byte per UTF-16 unit, and return true when
 * every unit was ASCII (otherwise `out` holds garbage and the caller drops it). Four
 * units a step and one test per step: any unit >= 0x80 leaves a high bit in `bits`
 * (measured ~10 ns less per 16 B than a test per unit).
 */
function copyAscii(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  let bits = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    bits |= c0 | c1 | c2 | c3;
    if (bits >= 0x80) return false;
    out[offset + i] = c0;
    out[offset + i + 1] = c1;
    out[offset + i + 2] = c2;
    out[offset + i + 3] = c3;
  }
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    bits |= c;
    out[offset + i] = c;
  }
  return bits < 0x80;
}
