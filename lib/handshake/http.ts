/**
 * The HTTP/1.1 message head, strict and bounded (RFC 9112), as far as the WebSocket
 * opening handshake (RFC 6455 section 4) needs it: an incremental head parser for
 * requests and responses, header look-up helpers, and serializers that refuse header
 * injection.
 *
 * Theory of operation: `HeadParser.push()` cuts the input into lines as bytes arrive
 * and parses each line as soon as its LF is seen, so no byte is scanned twice however
 * the input is chunked. A line split across chunks is gathered in one scratch buffer
 * that grows by doubling, never beyond `maxHeadSize`. Every byte is counted against
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
 * Header names and values are decoded as latin1, byte for byte; the serializers encode
 * the same way and refuse characters above U+00FF rather than truncate them (latin1
 * encoding of U+010A would otherwise produce a raw LF).
 */
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import { RejectConnectionEvent, type Headers } from '../events';

/** Header fields as `[name, value]` pairs, names in their original case, in order. */
export type HeaderList = Array<[string, string]>;

/** Default bound of a message head: start line, header fields and the final CRLF. */
export const DEFAULT_MAX_HEAD_SIZE = 16 * 1024;

/** Default bound of the number of header fields in a head. */
export const DEFAULT_MAX_HEADERS = 100;

/** Bounds of a message head. */
export interface HeadLimits {
  /** Most bytes the head may take, start line to final CRLF included. Default 16 KiB. */
  maxHeadSize?: number;
  /** Most header fields the head may have. Default 100. */
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

// ---------------------------------------------------------------------------------
// Character classes

const SP = 0x20;
const HTAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = TCHAR[c + 0x20] = 1;

// RFC 9110 5.5: field-value octets are VCHAR, obs-text, SP and HTAB; everything else
// (CR, LF, NUL, the other CTLs and DEL) is refused.
const FIELD_CHAR = new Uint8Array(256);
for (let c = 0x20; c <= 0xff; c++) FIELD_CHAR[c] = c === 0x7f ? 0 : 1;
FIELD_CHAR[HTAB] = 1;

/** True when `s` is an RFC 9110 5.6.2 token: one or more tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * Lower-cases ASCII letters only. Header names and tokens are case-insensitive in
 * ASCII; `String.prototype.toLowerCase` would also fold e.g. U+212A KELVIN SIGN to `k`.
 */
export function asciiLowerCase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** @internal Index of the first non-tchar at or after `i` in `s` (`s.length` if none). */
export function scanToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) break;
    i++;
  }
  return i;
}

/** @internal Index of the first character at or after `i` that is not SP or HTAB. */
export function skipOws(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === SP || s.charCodeAt(i) === HTAB)) i++;
  return i;
}

/**
 * @internal Reads the RFC 9110 5.6.4 quoted-string that starts at `s[i]` (a DQUOTE).
 * Returns its unescaped value and the index after the closing DQUOTE, or null when it
 * is unterminated or holds a character that qdtext / quoted-pair do not allow.
 */
export function scanQuotedString(s: string, i: number): { value: string; end: number } | null {
  if (s.charCodeAt(i) !== 0x22) return null;
  let value = '';
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { value, end: j + 1 };
    if (c === 0x5c) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const next = s.charCodeAt(j + 1);
      if (!(next === HTAB || (next >= 0x20 && next <= 0xff && next !== 0x7f))) return null;
      value += s[j + 1];
      j += 2;
      continue;
    }
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
    if (!(c === HTAB || (c >= 0x20 && c <= 0xff && c !== 0x7f))) return null;
    value += s[j];
    j++;
  }
  return null;
}

/** A short printable excerpt of untrusted bytes for error messages. */
function excerpt(bytes: Buffer, max = 64): string {
  const text = JSON.stringify(bytes.toString('latin1', 0, Math.min(bytes.length, max)));
  return bytes.length > max ? `${text}...` : text;
}

function hexByte(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * @internal Parses one field line (RFC 9112 5: `field-name ":" OWS field-value OWS`,
 * line ending already removed). Returns the `[name, value]` pair, or a string saying
 * what is wrong. Shared by the head parser and the chunked trailer reader.
 */
export function parseFieldLine(line: Buffer): [string, string] | string {
  const first = line[0];
  // RFC 9112 5.2: obs-fold (a line starting with whitespace) is rejected; RFC 9112 2.2
  // has the same rule for whitespace between the start-line and the first field.
  if (first === SP || first === HTAB) return `obsolete line folding (obs-fold) is not accepted: ${excerpt(line)}`;
  const colon = line.indexOf(0x3a);
  if (colon === -1) return `header line has no colon: ${excerpt(line)}`;
  if (colon === 0) return `header name is empty: ${excerpt(line)}`;
  for (let i = 0; i < colon; i++) {
    const c = line[i]!;
    if (TCHAR[c] === 1) continue;
    // RFC 9112 5.1: no whitespace is allowed between the field name and the colon.
    if (c === SP || c === HTAB) return `whitespace between header name and colon: ${excerpt(line)}`;
    return `header name contains an invalid character: ${hexByte(c)} in ${excerpt(line.subarray(0, colon))}`;
  }
  let start = colon + 1;
  let end = line.length;
  while (start < end && (line[start] === SP || line[start] === HTAB)) start++;
  while (end > start && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  const name = line.toString('latin1', 0, colon);
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if (FIELD_CHAR[c] !== 1) {
      return `header ${name} value contains an invalid character: ${hexByte(c)}${c === CR ? ' (bare CR)' : ''}`;
    }
  }
  return [name, line.toString('latin1', start, end)];
}

// ---------------------------------------------------------------------------------
// Line gathering

/** @internal What `LineReader.read` found. */
export type LineResult =
  /** A whole line without its LF (the CR, if any, is still there), and the index after the LF. */
  | { line: Buffer; next: number }
  /** The chunk ended inside the line; its bytes are kept. */
  | 'more'
  /** `room` bytes went by without an LF; nothing more was kept. */
  | 'overflow';

/**
 * @internal Gathers LF-terminated lines from a sequence of chunks. A line that lies
 * within one chunk is returned as a view of it; a split line is copied into a scratch
 * buffer that grows by doubling, and is valid until the next `read`.
 */
export class LineReader {
  #buf: Buffer = EMPTY;
  #len = 0;
  readonly #cap: number;

  /** `cap`: the most bytes a line may have (the scratch buffer never grows beyond it). */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Bytes of an unfinished line held. */
  get buffered(): number {
    return this.#len;
  }

  /** Reads from `chunk[pos]` on, taking at most `room` more bytes (LF included) for this line. */
  read(chunk: Buffer, pos: number, room: number): LineResult {
    const limit = Math.min(chunk.length, pos + Math.max(0, room));
    const lf = chunk.subarray(pos, limit).indexOf(LF);
    if (lf === -1) {
      if (limit < chunk.length) return 'overflow';
      this.#append(chunk, pos, chunk.length);
      return 'more';
    }
    const end = pos + lf;
    if (this.#len === 0) return { line: chunk.subarray(pos, end), next: end + 1 };
    this.#append(chunk, pos, end);
    const line = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    return { line, next: end + 1 };
  }

  #append(src: Buffer, start: number, end: number): void {
    const need = this.#len + (end - start);
    if (need > this.#buf.length) {
      const size = Math.min(Math.max(need, this.#buf.length * 2, 256), Math.max(need, this.#cap));
      const grown = Buffer.allocUnsafe(size);
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    src.copy(this.#buf, this.#len, start, end);
    this.#len = need;
  }
}

// ---------------------------------------------------------------------------------
// The head parser

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

// ---------------------------------------------------------------------------------
// Header helpers

/**
 * The value of header `name` (case-insensitive), or null when absent. Repeated fields
 * are combined with `, ` as RFC 9110 5.3 allows for list-based fields (so do not use
 * this for `Set-Cookie`).
 */
export function getHeader(headers: Headers, name: string): string | null {
  const wanted = asciiLowerCase(name);
  let out: string | null = null;
  for (const [n, v] of headers) {
    if (asciiLowerCase(n) === wanted) out = out === null ? v : `${out}, ${v}`;
  }
  return out;
}

/**
 * The elements of list header `name` (RFC 9110 5.6.1: `#element`), across repeated
 * fields: split at commas outside quoted-strings, OWS trimmed, empty elements dropped.
 * Elements are returned as written (a quoted-string keeps its quotes).
 */
export function getHeaderList(headers: Headers, name: string): string[] {
  const wanted = asciiLowerCase(name);
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (asciiLowerCase(n) === wanted) splitList(v, out);
  }
  return out;
}

function splitList(value: string, out: string[]): void {
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      pushElement(value.slice(start, i), out);
      start = i + 1;
    }
  }
  pushElement(value.slice(start), out);
}

function pushElement(raw: string, out: string[]): void {
  const start = skipOws(raw, 0);
  let end = raw.length;
  while (end > start && (raw.charCodeAt(end - 1) === SP || raw.charCodeAt(end - 1) === HTAB)) end--;
  if (end > start) out.push(raw.slice(start, end));
}

/**
 * True when list header `name` holds `token`, compared ASCII case-insensitively
 * (e.g. `hasToken(headers, 'Connection', 'upgrade')` for `Connection: keep-alive, Upgrade`).
 */
export function hasToken(headers: Headers, name: string, token: string): boolean {
  const wanted = asciiLowerCase(token);
  return getHeaderList(headers, name).some((element) => asciiLowerCase(element) === wanted);
}

// ---------------------------------------------------------------------------------
// Serializers

function invalidHeader(message: string): LocalProtocolError {
  return new LocalProtocolError(message, 'ERR_INVALID_HEADER');
}

/** Checks a field value or reason phrase: no CTL but HTAB, nothing above U+00FF. */
function badFieldChar(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_CHAR[c] !== 1) return c;
  }
  return -1;
}

function describeChar(c: number): string {
  return c > 0xff ? `U+${c.toString(16).toUpperCase().padStart(4, '0')} (not latin1)` : hexByte(c);
}

function serializeFields(headers: Headers): string {
  let out = '';
  for (const [name, value] of headers) {
    if (!isToken(name)) throw invalidHeader(`header name is not a token: ${JSON.stringify(name)}`);
    if (typeof value !== 'string') throw invalidHeader(`header ${name} value is not a string`);
    const bad = badFieldChar(value);
    if (bad !== -1) throw invalidHeader(`header ${name} value contains an invalid character: ${describeChar(bad)}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/**
 * An HTTP/1.1 request head (RFC 9112 3), ending with the empty line. Throws
 * `LocalProtocolError` (`ERR_INVALID_HEADER`) for a method that is not a token, a
 * target with whitespace, CTLs or non-ASCII, or a header that could break the framing.
 */
export function serializeRequest(method: string, target: string, headers: Headers): Buffer {
  if (!isToken(method)) throw invalidHeader(`method is not a token: ${JSON.stringify(method)}`);
  if (target.length === 0) throw invalidHeader('request-target is empty');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      throw invalidHeader(`request-target contains an invalid character: ${describeChar(c)}`);
    }
  }
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${serializeFields(headers)}\r\n`, 'latin1');
}

/**
 * An HTTP/1.1 response head (RFC 9112 4), ending with the empty line. Throws
 * `LocalProtocolError` (`ERR_INVALID_HEADER`) for a status outside 100-999, a reason
 * with CR, LF or other CTLs, or a header that could break the framing.
 */
export function serializeResponse(statusCode: number, reason: string, headers: Headers): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
    throw invalidHeader(`status code must be an integer from 100 to 999, got ${String(statusCode)}`);
  }
  const bad = badFieldChar(reason);
  if (bad !== -1) throw invalidHeader(`reason phrase contains an invalid character: ${describeChar(bad)}`);
  return Buffer.from(`HTTP/1.1 ${statusCode} ${reason}\r\n${serializeFields(headers)}\r\n`, 'latin1');
}

// RFC 9110 15 (and RFC 6585 for 428, 429, 431).
const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The standard reason phrase of `status` (RFC 9110 15), or `''` for an unknown one. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}
