/**
 * Incremental UTF-8 validation and decoding for text messages (RFC 6455 5.6 and 8.1:
 * text is UTF-8, and an endpoint that finds invalid UTF-8 fails the connection).
 *
 * A message arrives in pieces that may split a code point anywhere. Each piece is
 * validated as it arrives: the complete part with Node's simdutf-backed
 * `buffer.isUtf8`, the incomplete tail (at most 3 bytes) by checking that it is a
 * prefix some valid sequence could complete (RFC 3629 section 4), so the failure comes
 * with the piece holding the first invalid byte, not at the end of the message. Decoded
 * strings always hold whole code points; the incomplete tail is carried to the next piece.
 */
import { isUtf8 } from 'node:buffer';

// Node's Buffer has had these since v0.x; they skip toString()'s argument checks.
declare module 'node:buffer' {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    utf8Slice(start: number, end: number): string;
  }
}

/** Length of the sequence a lead byte starts, or 0 for a byte that cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead < 0xc2) return 0; // continuation byte, or overlong C0/C1
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  if (lead < 0xf5) return 4;
  return 0; // F5-FF: beyond U+10FFFF
}

/** RFC 3629 4: the range the second byte must fall in, after a given lead byte. */
function secondByteOk(lead: number, b: number): boolean {
  switch (lead) {
    case 0xe0:
      return b >= 0xa0 && b <= 0xbf; // no overlong 3-byte forms
    case 0xed:
      return b >= 0x80 && b <= 0x9f; // no surrogates
    case 0xf0:
      return b >= 0x90 && b <= 0xbf; // no overlong 4-byte forms
    case 0xf4:
      return b >= 0x80 && b <= 0x8f; // nothing above U+10FFFF
    default:
      return b >= 0x80 && b <= 0xbf;
  }
}

/** True when bytes[start, end) could be the beginning of one valid sequence. */
function isValidPrefix(bytes: Uint8Array, start: number, end: number): boolean {
  const lead = bytes[start]!;
  const n = sequenceLength(lead);
  if (n <= 1 || end - start >= n) return false;
  if (end - start >= 2 && !secondByteOk(lead, bytes[start + 1]!)) return false;
  if (end - start >= 3 && (bytes[start + 2]! & 0xc0) !== 0x80) return false;
  return true;
}

/** Where the incomplete sequence at the end of bytes[start, end) begins (end if none). */
function incompleteTailStart(bytes: Uint8Array, start: number, end: number): number {
  const stop = Math.max(start, end - 3);
  for (let i = end - 1; i >= stop; i--) {
    const b = bytes[i]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const n = sequenceLength(b);
    return n > 1 && i + n > end ? i : end;
  }
  return end;
}

// Up to this many bytes, ASCII is recognized by a JS loop instead of `isUtf8`.
const ASCII_SCAN_MAX = 64;

function isAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/**
 * Validate and decode bytes[from, to) that end a message and follow nothing carried (a
 * message whole in one piece): the text, or null when the bytes are not valid UTF-8 or end
 * mid-sequence. What a fresh `Utf8Decoder`'s `decodeRange(bytes, from, to, true)` gives,
 * with no decoder (a connection that only ever gets such messages needs none).
 */
export function decodeComplete(bytes: Buffer, from: number, to: number): string | null {
  // Short ASCII runs (most chat and JSON messages): a JS scan beats the native call.
  if (to - from <= ASCII_SCAN_MAX && isAscii(bytes, from, to)) return from === to ? '' : bytes.latin1Slice(from, to);
  const body = from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to);
  return isUtf8(body) ? bytes.utf8Slice(from, to) : null;
}

/** Validates and decodes one text message, piece by piece. */
export class Utf8Decoder {
  #pending: Uint8Array | null = null; // a code point split across pieces (allocated when one is)
  #pendingLength = 0;

  /** True while a code point is split across pieces. */
  get hasPending(): boolean {
    return this.#pendingLength > 0;
  }

  /**
   * Validate and decode the next piece. Returns the decoded whole code points, or null
   * when the bytes so far are not valid UTF-8 (or, with `final`, end mid-sequence).
   */
  decode(bytes: Buffer, final: boolean): string | null {
    return this.decodeRange(bytes, 0, bytes.length, final);
  }

  /** `decode()` over bytes[from, to), without making a view. */
  decodeRange(bytes: Buffer, from: number, to: number, final: boolean): string | null {
    if (final && this.#pendingLength === 0) return decodeComplete(bytes, from, to);
    let start = from;
    let prefix = '';
    if (this.#pendingLength > 0) {
      const pending = this.#pending!;
      const need = sequenceLength(pending[0]!);
      while (this.#pendingLength < need && start < to) {
        pending[this.#pendingLength++] = bytes[start++]!;
        if (this.#pendingLength < need && !isValidPrefix(pending, 0, this.#pendingLength)) {
          return null;
        }
      }
      if (this.#pendingLength < need) {
        return final ? null : '';
      }
      if (!isUtf8(pending.subarray(0, need))) return null;
      prefix = Buffer.from(pending.buffer, pending.byteOffset, need).toString('utf8');
      this.#pendingLength = 0;
    }
    const end = to;
    // Short ASCII runs (most chat and JSON messages): a JS scan beats the native call.
    if (end - start <= ASCII_SCAN_MAX && isAscii(bytes, start, end)) {
      if (start === end) return prefix;
      const ascii = bytes.latin1Slice(start, end);
      return prefix === '' ? ascii : prefix + ascii;
    }
    const tail = incompleteTailStart(bytes, start, end);
    if (tail > start) {
      const body = start === 0 && tail === bytes.length ? bytes : bytes.subarray(start, tail);
      if (!isUtf8(body)) return null;
    }
    if (tail < end) {
      if (final || !isValidPrefix(bytes, tail, end)) return null;
      (this.#pending ??= new Uint8Array(4)).set(bytes.subarray(tail, end), 0);
      this.#pendingLength = end - tail;
    }
    if (tail === start) return prefix;
    const text = bytes.utf8Slice(start, tail);
    return prefix === '' ? text : prefix + text;
  }

  /** Forget any carried bytes (start of a new message). */
  reset(): void {
    this.#pendingLength = 0;
  }
}

/** Validate a complete byte string (close reasons). */
export function decodeUtf8Strict(bytes: Buffer): string | null {
  return isUtf8(bytes) ? bytes.toString('utf8') : null;
}
