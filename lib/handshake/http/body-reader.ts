/**
 * The body of a response that is not the 101 (a client reads it to show the server's
 * error page), framed per RFC 9112 6.3 and decoded incrementally: body bytes are handed
 * out as views of the chunks they arrive in, never gathered; only a chunk-size line or
 * a trailer line split across chunks is held, and those are bounded.
 *
 * Errors are `RemoteProtocolError`s without `eventHint`: the response is already the
 * server's answer, there is no rejection to send back; the client closes the transport.
 * - `ERR_BAD_HTTP`: bad framing (Content-Length, Transfer-Encoding, chunk syntax, or a
 *   body cut short by the end of the transport);
 * - `ERR_BODY_TOO_LARGE`: a bound was hit (`maxBodySize`, the chunk-size line length,
 *   the trailer section size or field count).
 */
import { LocalProtocolError, RemoteProtocolError } from '../../errors';
import type { Headers } from '../../events';
import { asciiLowerCase, parseFieldLine, scanQuotedString, scanToken, skipOws } from './abnf';
import { DEFAULT_MAX_HEAD_SIZE, DEFAULT_MAX_HEADERS } from './head-parser';
import { getHeaderList, type HeaderList } from './headers';
import { LineReader } from './line-reader';

/** Default bound of the decoded body: 1 MiB. */
export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024;

/** Bound of one chunk-size line, chunk extensions included. */
export const MAX_CHUNK_LINE_SIZE = 4096;

/** Bound of the trailer section of a chunked body (its field count is bounded by `DEFAULT_MAX_HEADERS`). */
export const MAX_TRAILER_SIZE = DEFAULT_MAX_HEAD_SIZE;

/** Options of a `BodyReader`. */
export interface BodyReaderOptions {
  /** Most decoded body bytes accepted. Default 1 MiB. */
  maxBodySize?: number;
}

/** What a `BodyReader` needs of the response head. */
export interface BodyHead {
  /** The response status code. */
  statusCode: number;
  /** The response header fields. */
  headers: Headers;
}

/**
 * How the body length is known (RFC 9112 6.3): `none` (1xx, 204, 304), `chunked`,
 * `length` (Content-Length) or `eof` (read until the server closes).
 */
export type BodyFraming = 'none' | 'chunked' | 'length' | 'eof';

// States of the chunked decoder (RFC 9112 7.1).
const SIZE_LINE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER = 4;

const CR = 0x0d;
const LF = 0x0a;

function badHttp(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, { code: 'ERR_BAD_HTTP' });
}

function tooLarge(message: string): RemoteProtocolError {
  return new RemoteProtocolError(message, { code: 'ERR_BODY_TOO_LARGE' });
}

/** Content-Length per RFC 9110 8.6: digits only; a list of identical values is one value. */
function contentLength(values: string[]): number {
  let length: number | null = null;
  for (const v of values) {
    if (!/^[0-9]+$/.test(v)) throw badHttp(`invalid Content-Length: ${JSON.stringify(v)}`);
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw badHttp(`Content-Length too large: ${v}`);
    if (length !== null && n !== length) throw badHttp(`conflicting Content-Length values: ${values.join(', ')}`);
    length = n;
  }
  if (length === null) throw badHttp('empty Content-Length');
  return length;
}

/**
 * Decodes the body of a response, chunk by chunk. `push()` returns the body bytes
 * found in each chunk; `done` turns true after the last one. Call `end()` when the
 * transport reaches EOF. Bytes that arrive after the body is complete are ignored
 * (the connection is not reused after a failed handshake).
 */
export class BodyReader {
  /** How the body length is determined. */
  readonly framing: BodyFraming;
  readonly #maxBodySize: number;
  #received = 0;
  #remaining = 0; // `length`: bytes still due; `chunked`: bytes left in this chunk
  #done = false;
  #state = SIZE_LINE;
  readonly #lines = new LineReader(Math.max(MAX_CHUNK_LINE_SIZE, MAX_TRAILER_SIZE));
  #trailerBytes = 0;
  readonly #trailers: HeaderList = [];
  #error: RemoteProtocolError | null = null;

  /**
   * Chooses the framing from the head (RFC 9112 6.3). Throws `RemoteProtocolError` for
   * invalid framing headers or a Content-Length above `maxBodySize`.
   */
  constructor(head: BodyHead, options: BodyReaderOptions = {}) {
    const max = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new LocalProtocolError(
        `maxBodySize must be a non-negative integer, got ${String(max)}`,
        'ERR_INVALID_OPTION',
      );
    }
    this.#maxBodySize = max;
    const status = head.statusCode;
    const codings = getHeaderList(head.headers, 'transfer-encoding').map(asciiLowerCase);
    const hasTransferEncoding = head.headers.some(([n]) => asciiLowerCase(n) === 'transfer-encoding');
    const lengths = getHeaderList(head.headers, 'content-length');
    const hasContentLength = head.headers.some(([n]) => asciiLowerCase(n) === 'content-length');

    if ((status >= 100 && status < 200) || status === 204 || status === 304) {
      // RFC 9112 6.3 (1): these responses end at the end of the head.
      this.framing = 'none';
      this.#done = true;
    } else if (hasTransferEncoding) {
      // RFC 9112 6.3 (3): Transfer-Encoding overrides Content-Length.
      if (codings.length === 0) throw badHttp('empty Transfer-Encoding');
      const chunked = codings.filter((c) => c === 'chunked').length;
      // RFC 9112 7: a sender MUST NOT apply chunked more than once.
      if (chunked > 1) throw badHttp(`chunked applied more than once: ${codings.join(', ')}`);
      // RFC 9112 6.3 (4): chunked as the final coding frames the body; otherwise a
      // response body lasts until the connection closes (delivered still encoded).
      this.framing = codings[codings.length - 1] === 'chunked' ? 'chunked' : 'eof';
    } else if (hasContentLength) {
      // RFC 9112 6.3 (5): an invalid Content-Length is an unrecoverable error.
      const length = contentLength(lengths);
      if (length > max) throw tooLarge(`Content-Length ${length} exceeds maxBodySize (${max} bytes)`);
      this.framing = 'length';
      this.#remaining = length;
      this.#done = length === 0;
    } else {
      // RFC 9112 6.3 (8): no framing headers: the body lasts until the connection closes.
      this.framing = 'eof';
    }
  }

  /** True once the whole body has been read. */
  get done(): boolean {
    return this.#done;
  }

  /** Decoded body bytes handed out so far. */
  get received(): number {
    return this.#received;
  }

  /** Trailer fields of a chunked body (RFC 9112 7.1.2), once `done`. */
  get trailers(): HeaderList {
    return this.#trailers;
  }

  /** Bytes held for an unfinished chunk-size or trailer line. */
  get buffered(): number {
    return this.#lines.buffered;
  }

  /**
   * Feeds bytes; returns the body data found in them (views of `chunk`, possibly
   * none). Throws `RemoteProtocolError` on bad framing or a limit (and again on every
   * later call).
   */
  push(chunk: Uint8Array): Buffer[] {
    if (this.#error !== null) throw this.#error;
    if (this.#done || chunk.byteLength === 0) return [];
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      return this.#consume(buf);
    } catch (err) {
      if (err instanceof RemoteProtocolError) this.#error = err;
      throw err;
    }
  }

  /**
   * The transport reached EOF. Completes a body that lasts until EOF; throws
   * `RemoteProtocolError` (`ERR_BAD_HTTP`) when a body of declared length or a chunked
   * body was cut short. Does nothing once `done`.
   */
  end(): void {
    if (this.#error !== null) throw this.#error;
    if (this.#done) return;
    if (this.framing === 'eof') {
      this.#done = true;
      return;
    }
    this.#error =
      this.framing === 'length'
        ? badHttp(`connection closed after ${this.#received} of ${this.#received + this.#remaining} body bytes`)
        : badHttp('connection closed in the middle of a chunked body');
    throw this.#error;
  }

  #consume(chunk: Buffer): Buffer[] {
    if (this.framing === 'eof') {
      this.#count(chunk.length);
      return [chunk];
    }
    if (this.framing === 'length') {
      const take = Math.min(this.#remaining, chunk.length);
      this.#remaining -= take;
      this.#received += take;
      if (this.#remaining === 0) this.#done = true;
      return [chunk.subarray(0, take)];
    }
    return this.#chunked(chunk);
  }

  #count(n: number): void {
    if (this.#received + n > this.#maxBodySize) {
      throw tooLarge(`body exceeds maxBodySize (${this.#maxBodySize} bytes)`);
    }
    this.#received += n;
  }

  /** RFC 9112 7.1: `*chunk last-chunk trailer-section CRLF`. */
  #chunked(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < chunk.length && !this.#done) {
      switch (this.#state) {
        case DATA: {
          const take = Math.min(this.#remaining, chunk.length - pos);
          out.push(chunk.subarray(pos, pos + take));
          this.#received += take;
          this.#remaining -= take;
          pos += take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
        case DATA_LF: {
          // RFC 9112 7.1: chunk-data is followed by CRLF.
          const want = this.#state === DATA_CR ? CR : LF;
          if (chunk[pos] !== want) throw badHttp('chunk data is not followed by CRLF');
          pos++;
          this.#state = this.#state === DATA_CR ? DATA_LF : SIZE_LINE;
          break;
        }
        case SIZE_LINE: {
          const found = this.#lines.read(chunk, pos, MAX_CHUNK_LINE_SIZE - this.#lines.buffered);
          if (found === 'overflow') throw tooLarge(`chunk-size line longer than ${MAX_CHUNK_LINE_SIZE} bytes`);
          if (found === 'more') return out;
          pos = found.next;
          this.#sizeLine(stripCr(found.line, 'chunk-size line'));
          break;
        }
        default: {
          // TRAILER
          const room = MAX_TRAILER_SIZE - this.#trailerBytes;
          const found = this.#lines.read(chunk, pos, room);
          if (found === 'overflow') throw tooLarge(`trailer section larger than ${MAX_TRAILER_SIZE} bytes`);
          if (found === 'more') {
            this.#trailerBytes += chunk.length - pos;
            return out;
          }
          this.#trailerBytes += found.next - pos;
          pos = found.next;
          this.#trailerLine(stripCr(found.line, 'trailer line'));
        }
      }
    }
    return out;
  }

  /** RFC 9112 7.1: `chunk-size [ chunk-ext ] CRLF`, with chunk-size = 1*HEXDIG. */
  #sizeLine(line: Buffer): void {
    const text = line.toString('latin1');
    let i = 0;
    let size = 0;
    for (; i < text.length; i++) {
      const digit = parseInt(text[i]!, 16);
      if (Number.isNaN(digit)) break;
      size = size * 16 + digit;
      if (size > Number.MAX_SAFE_INTEGER) throw badHttp(`chunk size too large: ${JSON.stringify(text.slice(0, 32))}`);
    }
    if (i === 0) throw badHttp(`chunk size is not a hexadecimal number: ${JSON.stringify(text.slice(0, 64))}`);
    checkChunkExtensions(text, i);
    if (size === 0) {
      this.#state = TRAILER;
      return;
    }
    if (this.#received + size > this.#maxBodySize) {
      throw tooLarge(`body exceeds maxBodySize (${this.#maxBodySize} bytes)`);
    }
    this.#remaining = size;
    this.#state = DATA;
  }

  /** RFC 9112 7.1.2: `trailer-section = *( field-line CRLF )`, then the final CRLF. */
  #trailerLine(line: Buffer): void {
    if (line.length === 0) {
      this.#done = true;
      return;
    }
    if (this.#trailers.length >= DEFAULT_MAX_HEADERS) throw tooLarge(`more than ${DEFAULT_MAX_HEADERS} trailer fields`);
    const field = parseFieldLine(line);
    if (typeof field === 'string') throw badHttp(`trailer: ${field}`);
    this.#trailers.push(field);
  }
}

/** RFC 9112 2.2: lines end with CRLF; bare LF is refused, as in the head parser. */
function stripCr(line: Buffer, what: string): Buffer {
  if (line.length === 0 || line[line.length - 1] !== CR) throw badHttp(`${what} ends with a bare LF instead of CRLF`);
  return line.subarray(0, line.length - 1);
}

/**
 * RFC 9112 7.1.1: `chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`,
 * name a token, value a token or quoted-string. Extensions are checked and ignored.
 * Whitespace before the CRLF is tolerated (BWS), as h11 and llhttp do.
 */
function checkChunkExtensions(text: string, i: number): void {
  for (;;) {
    i = skipOws(text, i);
    if (i === text.length) return;
    if (text[i] !== ';') throw badExtension(text, 'expected ";"');
    i = skipOws(text, i + 1);
    const nameEnd = scanToken(text, i);
    if (nameEnd === i) throw badExtension(text, 'expected a name');
    i = skipOws(text, nameEnd);
    if (text[i] !== '=') continue;
    i = skipOws(text, i + 1);
    if (text[i] === '"') {
      const quoted = scanQuotedString(text, i);
      if (quoted === null) throw badExtension(text, 'malformed quoted-string');
      i = quoted.end;
    } else {
      const valueEnd = scanToken(text, i);
      if (valueEnd === i) throw badExtension(text, 'expected a value after "="');
      i = valueEnd;
    }
  }
}

function badExtension(text: string, what: string): RemoteProtocolError {
  return badHttp(`invalid chunk extension (${what}): ${JSON.stringify(text.slice(0, 64))}`);
}
