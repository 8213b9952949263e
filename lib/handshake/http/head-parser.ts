/**
 * The HTTP/1.1 message head parser, strict and bounded (RFC 9112), as far as the
 * WebSocket opening handshake (RFC 6455 section 4) needs it: request heads on a server,
 * response heads on a client.
 *
 * Theory of operation: `HeadParser.push()` cuts the input into lines as bytes arrive
 * (see `line-reader.ts`) and parses each line as soon as its LF is seen, so no byte is
 * scanned twice however the input is chunked. Every byte is counted against
 * `maxHeadSize` before it is kept, so a peer can never make the parser hold more.
 *
 * Where we are stricter than RFC 9112 allows (deliberately: two HTTP parsers that
 * disagree about where a line or a header ends is how request smuggling starts):
 *
 * - Bare LF line endings are rejected (RFC 9112 2.2 lets a recipient accept them).
 * - The request-line parts must be separated by exactly one SP (RFC 9112 3 lets a
 *   recipient split on any whitespace).
 * - obs-fold is rejected with 400 (RFC 9112 5.2 allows that or unfolding).
 *
 * Where we are lenient: empty lines before a request-line are skipped (RFC 9112 2.2;
 * they count against `maxHeadSize`, which bounds them), and a status-line that ends
 * right after the status code, without the SP before an empty reason, is accepted
 * (real servers send `HTTP/1.1 101\r\n`).
 *
 * Header names and values are decoded as latin1, byte for byte.
 */
import { LocalProtocolError, RemoteProtocolError } from '../../errors';
import { RejectConnectionEvent } from '../../events';
import { CR, FIELD_CHAR, SP, TCHAR, excerpt, hexByte, parseFieldLine } from './abnf';
import type { HeaderList } from './headers';
import { LineReader } from './line-reader';

const EMPTY = Buffer.alloc(0);

/** Default bound of a message head: start line, header fields and the final CRLF. */
export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;

/** Default bound of the number of header fields in a head. */
export const DEFAULT_MAX_HEADERS = 100;

/** Bounds of a message head. */
export interface HeadLimits {
  /** Most bytes the head may take, start line to final CRLF included. @defaultValue `16384` (16 KiB) */
  maxHeadSize?: number;
  /** Most header fields the head may have. @defaultValue `100` */
  maxHeaders?: number;
}

/** A parsed request head (RFC 9112 3). */
export interface RequestHead {
  /** The method, e.g. `GET` (case-sensitive, RFC 9110 9.1). */
  method: string;
  /** The request-target as sent, e.g. `/chat?room=1`. */
  target: string;
  /** The protocol version without the `HTTP/` prefix, e.g. `1.1`. */
  version: string;
  /** The header fields in order, OWS trimmed from the values. */
  headers: HeaderList;
}

/** A parsed response head (RFC 9112 4). */
export interface ResponseHead {
  /** The protocol version without the `HTTP/` prefix, e.g. `1.1`. */
  version: string;
  /** The status code, 100 to 999. */
  statusCode: number;
  /** The reason phrase, possibly empty. */
  reason: string;
  /** The header fields in order, OWS trimmed from the values. */
  headers: HeaderList;
}

/** Which head a parser reads. */
export type HeadKind = 'request' | 'response';

/** The head type that a parser of kind `K` returns. */
export type HeadOf<K extends HeadKind> = K extends 'request' ? RequestHead : ResponseHead;

function badHttp(message: string, statusCode = 400): RemoteProtocolError {
  return new RemoteProtocolError(message, {
    code: 'ERR_BAD_HTTP',
    eventHint: new RejectConnectionEvent({ statusCode }),
  });
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LocalProtocolError(`${name} must be a positive integer, got ${String(value)}`, 'ERR_INVALID_OPTION');
  }
  return value;
}

/** Parses `HTTP/d.d` (RFC 9112 2.3: case-sensitive); returns `d.d`. */
function parseVersion(bytes: Buffer): string {
  const ok =
    bytes.length === 8 &&
    bytes.toString('latin1', 0, 5) === 'HTTP/' &&
    isDigit(bytes[5]) &&
    bytes[6] === 0x2e &&
    isDigit(bytes[7]);
  if (!ok) throw badHttp(`invalid HTTP-version: ${excerpt(bytes)}`);
  // RFC 9112 2.3 / RFC 9110 15.6.6: this parser speaks HTTP/1.x framing only.
  if (bytes[5] !== 0x31) throw badHttp(`unsupported HTTP major version: ${excerpt(bytes)}`, 505);
  return bytes.toString('latin1', 5, 8);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** RFC 9112 3: `request-line = method SP request-target SP HTTP-version`. */
function parseRequestLine(line: Buffer): Omit<RequestHead, 'headers'> {
  const sp1 = line.indexOf(SP);
  const sp2 = sp1 === -1 ? -1 : line.indexOf(SP, sp1 + 1);
  if (sp2 === -1) throw badHttp(`request line is not "method SP request-target SP HTTP-version": ${excerpt(line)}`);
  if (sp1 === 0) throw badHttp(`request line has an empty method: ${excerpt(line)}`);
  for (let i = 0; i < sp1; i++) {
    if (TCHAR[line[i]!] !== 1) throw badHttp(`method contains an invalid character: ${hexByte(line[i]!)}`);
  }
  if (sp2 === sp1 + 1) throw badHttp(`request line has an empty request-target (or a double SP): ${excerpt(line)}`);
  // RFC 9112 3.2: the request-target is URI syntax, which has no whitespace, CTLs or
  // non-ASCII octets.
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = line[i]!;
    if (c <= 0x20 || c >= 0x7f) throw badHttp(`request-target contains an invalid character: ${hexByte(c)}`);
  }
  return {
    method: line.toString('latin1', 0, sp1),
    target: line.toString('latin1', sp1 + 1, sp2),
    version: parseVersion(line.subarray(sp2 + 1)),
  };
}

/** RFC 9112 4: `status-line = HTTP-version SP status-code SP [ reason-phrase ]`. */
function parseStatusLine(line: Buffer): Omit<ResponseHead, 'headers'> {
  if (line.length < 12 || line[8] !== SP) {
    throw badHttp(`status line is not "HTTP-version SP status-code SP reason": ${excerpt(line)}`);
  }
  const version = parseVersion(line.subarray(0, 8));
  if (!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || (line.length > 12 && line[12] !== SP)) {
    throw badHttp(`status code is not three digits: ${excerpt(line)}`);
  }
  const statusCode = Number(line.toString('latin1', 9, 12));
  if (statusCode < 100) throw badHttp(`status code out of range: ${statusCode}`);
  for (let i = 13; i < line.length; i++) {
    const c = line[i]!;
    if (FIELD_CHAR[c] !== 1) throw badHttp(`reason phrase contains an invalid character: ${hexByte(c)}`);
  }
  return { version, statusCode, reason: line.length > 13 ? line.toString('latin1', 13) : '' };
}

/**
 * Parses one HTTP/1.1 request or response head (RFC 9112 2-5) from bytes arriving in
 * chunks of any size. `push()` returns null until the head's final CRLF arrives, then
 * the head; `takeTrailing()` then gives the bytes that followed it in the same chunk.
 *
 * Errors (thrown by `push()`, and thrown again by every later call):
 * - `ERR_BAD_HTTP` with status 400 (505 for an HTTP major version other than 1):
 *   a syntax violation, named in the message;
 * - `ERR_HEAD_TOO_LARGE`: more than `maxHeadSize` bytes without the end of the head,
 *   status 414 while still inside the request-line (RFC 9112 3), 431 otherwise;
 * - `ERR_TOO_MANY_HEADERS`, status 431: more than `maxHeaders` fields.
 *
 * The status is carried by `eventHint`, a `RejectConnectionEvent` for a server to send.
 */
export class HeadParser<K extends HeadKind = HeadKind> {
  /** Which head this parser reads. */
  readonly kind: K;
  readonly #maxHeadSize: number;
  readonly #maxHeaders: number;
  readonly #lines: LineReader;
  #size = 0;
  #start: Omit<RequestHead, 'headers'> | Omit<ResponseHead, 'headers'> | null = null;
  #headers: HeaderList = [];
  #result: HeadOf<K> | null = null;
  #trailing: Buffer = EMPTY;
  #error: RemoteProtocolError | null = null;

  /** `kind`: `'request'` on a server, `'response'` on a client. */
  constructor(kind: K, limits: HeadLimits = {}) {
    if (kind !== 'request' && kind !== 'response') {
      throw new LocalProtocolError(`kind must be 'request' or 'response', got ${String(kind)}`, 'ERR_INVALID_OPTION');
    }
    this.kind = kind;
    this.#maxHeadSize = positiveInteger(limits.maxHeadSize, DEFAULT_MAX_HEAD_SIZE, 'maxHeadSize');
    this.#maxHeaders = positiveInteger(limits.maxHeaders, DEFAULT_MAX_HEADERS, 'maxHeaders');
    this.#lines = new LineReader(this.#maxHeadSize);
  }

  /** True once the whole head has been parsed. */
  get done(): boolean {
    return this.#result !== null;
  }

  /** Bytes of the head consumed so far (never more than `maxHeadSize`). */
  get headBytes(): number {
    return this.#size;
  }

  /** Bytes held for an unfinished line (never more than `maxHeadSize`). */
  get buffered(): number {
    return this.#lines.buffered;
  }

  /**
   * Feeds bytes. Returns the head once its final CRLF has arrived, null while more
   * bytes are needed. Throws `RemoteProtocolError` on bad input (see the class), and
   * `LocalProtocolError` when called again after the head is complete.
   */
  push(chunk: Uint8Array): HeadOf<K> | null {
    if (this.#error !== null) throw this.#error;
    if (this.#result !== null) {
      throw new LocalProtocolError(
        'the head is already complete; use takeTrailing() for what follows',
        'ERR_INVALID_STATE',
      );
    }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      return this.#consume(buf);
    } catch (err) {
      if (err instanceof RemoteProtocolError) this.#error = err;
      throw err;
    }
  }

  /**
   * The bytes that followed the head in the chunk that completed it (for a client,
   * possibly the first WebSocket frames). A view of that chunk, not a copy. Returns
   * them once; later calls return an empty buffer.
   */
  takeTrailing(): Buffer {
    const out = this.#trailing;
    this.#trailing = EMPTY;
    return out;
  }

  #consume(chunk: Buffer): HeadOf<K> | null {
    let pos = 0;
    while (pos < chunk.length) {
      // Limits are checked before bytes are kept: `room` is all the head may still take.
      const found = this.#lines.read(chunk, pos, this.#maxHeadSize - this.#size);
      if (found === 'overflow') throw this.#tooLarge();
      if (found === 'more') {
        this.#size += chunk.length - pos;
        return null;
      }
      this.#size += found.next - pos;
      pos = found.next;
      const { line } = found;
      // RFC 9112 2.2: lines end with CRLF. Bare LF is not recognized (see the top).
      if (line.length === 0 || line[line.length - 1] !== CR) {
        throw badHttp(`line ends with a bare LF instead of CRLF: ${excerpt(line)}`);
      }
      if (this.#line(line.subarray(0, line.length - 1))) {
        this.#trailing = chunk.subarray(pos);
        return this.#result;
      }
    }
    return null;
  }

  /** One line without its CRLF; returns true at the empty line that ends the head. */
  #line(line: Buffer): boolean {
    if (this.#start === null) {
      if (line.length === 0) {
        // RFC 9112 2.2: a server SHOULD ignore empty lines before the request-line.
        if (this.kind === 'request') return false;
        throw badHttp('empty line before the status line');
      }
      this.#start = this.kind === 'request' ? parseRequestLine(line) : parseStatusLine(line);
      return false;
    }
    if (line.length === 0) {
      this.#result = { ...this.#start, headers: this.#headers } as HeadOf<K>;
      return true;
    }
    if (this.#headers.length >= this.#maxHeaders) {
      throw new RemoteProtocolError(`more than ${this.#maxHeaders} header fields`, {
        code: 'ERR_TOO_MANY_HEADERS',
        eventHint: new RejectConnectionEvent({ statusCode: 431 }),
      });
    }
    const field = parseFieldLine(line);
    if (typeof field === 'string') throw badHttp(field);
    this.#headers.push(field);
    return false;
  }

  #tooLarge(): RemoteProtocolError {
    // RFC 9112 3: a request-target longer than the server will parse SHOULD get 414;
    // RFC 6585 5: header fields too large get 431.
    const inRequestLine = this.kind === 'request' && this.#start === null;
    const what = inRequestLine ? 'request line' : 'message head';
    return new RemoteProtocolError(`${what} larger than maxHeadSize (${this.#maxHeadSize} bytes)`, {
      code: 'ERR_HEAD_TOO_LARGE',
      eventHint: new RejectConnectionEvent({ statusCode: inRequestLine ? 414 : 431 }),
    });
  }
}
