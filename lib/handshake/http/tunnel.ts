/**
 * The HTTP CONNECT exchange that opens a tunnel through a forward proxy (RFC 9110
 * 9.3.6), sans I/O: `tunnelRequest()` makes the request head, `TunnelResponse` reads the
 * proxy's answer from bytes as they arrive.
 *
 * Theory of operation. The request target is the authority (`host:port`, an IPv6
 * literal in brackets), repeated in `Host`. The proxy's interim 1xx responses are
 * skipped (RFC 9110 15.2). Any 2xx is the tunnel (RFC 9110 9.3.6: a 2xx to CONNECT has
 * no content, whatever its framing headers say); the bytes after its head already belong
 * to the tunnelled connection and are handed back. Any other status is a refusal: its
 * body is read (the first `MAX_REFUSAL_BODY` bytes; a body without a length lasts until
 * the proxy closes, RFC 9112 6.3, bounded in time by the caller's connect timeout) so the
 * error can show the proxy's explanation, and the connection is not reused.
 */
import { LocalProtocolError, RemoteProtocolError } from '../../errors';
import type { Headers } from '../../events';
import { BodyReader } from './body-reader';
import { HeadParser, type HeadLimits, type ResponseHead } from './head-parser';
import { serializeRequest } from './serialize';

/** How much of a refusal's body is kept, in bytes (the rest is read and dropped). */
export const MAX_REFUSAL_BODY = 16 * 1024;

/** What the proxy answered: the tunnel, or a refusal with its status, headers and body. */
export type TunnelAnswer =
  | { readonly established: true; readonly statusCode: number; readonly headers: Headers; readonly trailing: Buffer }
  | {
      readonly established: false;
      readonly statusCode: number;
      readonly reason: string;
      readonly headers: Headers;
      readonly body: Buffer;
    };

/**
 * The CONNECT request head for a tunnel to `authority` (`host:port`), with `Host` set to
 * it and the extra `headers` (e.g. `Proxy-Authorization`). Throws `LocalProtocolError`
 * (`ERR_INVALID_HEADER`) for an authority or a header that could break the framing.
 */
export function tunnelRequest(authority: string, headers: Headers = []): Buffer {
  if (!/^(\[[0-9A-Fa-f:.]+\]|[^\s:/?#@[\]]+):\d{1,5}$/.test(authority)) {
    throw new LocalProtocolError(`not a host:port authority: ${JSON.stringify(authority)}`, 'ERR_INVALID_HEADER');
  }
  return serializeRequest('CONNECT', authority, [['Host', authority], ...headers]);
}

/** Reads the proxy's answer to a CONNECT (see the top of the file). */
export class TunnelResponse {
  readonly #limits: HeadLimits;
  #head: HeadParser<'response'>;
  #refusal: { head: ResponseHead; reader: BodyReader | null; body: Buffer[]; kept: number } | null = null;
  #answer: TunnelAnswer | null = null;

  /** @param limits bounds on each response head (the defaults of `HeadParser`). */
  constructor(limits: HeadLimits = {}) {
    this.#limits = limits;
    this.#head = new HeadParser('response', limits);
  }

  /**
   * Feed the proxy's bytes (`null` at EOF). Returns the answer once it is complete, else
   * null. Throws `RemoteProtocolError` for a response that is not HTTP/1.x, a head over
   * the limits, or EOF before a head.
   */
  push(chunk: Buffer | null): TunnelAnswer | null {
    if (this.#answer !== null) return this.#answer;
    if (this.#refusal !== null) return this.#pushBody(chunk);
    if (chunk === null) {
      throw new RemoteProtocolError('the proxy closed the connection before it answered the CONNECT', {
        code: 'ERR_BAD_HTTP',
        closeCode: 1006,
      });
    }
    const head = this.#head.push(chunk);
    if (head === null) return null;
    const trailing = this.#head.takeTrailing();
    if (head.statusCode < 200) {
      this.#head = new HeadParser('response', this.#limits); // RFC 9110 15.2: interim
      return trailing.length > 0 ? this.push(trailing) : null;
    }
    if (head.statusCode < 300) {
      this.#answer = { established: true, statusCode: head.statusCode, headers: head.headers, trailing };
      return this.#answer;
    }
    let reader: BodyReader | null = null;
    try {
      reader = new BodyReader(head, { maxBodySize: Number.MAX_SAFE_INTEGER });
    } catch {
      // Unreadable framing: the refusal stands without its body.
    }
    this.#refusal = { head, reader, body: [], kept: 0 };
    return this.#pushBody(trailing);
  }

  #pushBody(chunk: Buffer | null): TunnelAnswer | null {
    const refusal = this.#refusal!;
    const reader = refusal.reader;
    let done = reader === null || reader.done || chunk === null;
    if (!done && chunk !== null && chunk.length > 0) {
      // A chunked body is fed line by line: if it turns out malformed, the data read in
      // the failing push is then at the start of that line, whatever the chunking was.
      const pieces = reader!.framing === 'chunked' && refusal.kept < MAX_REFUSAL_BODY ? lines(chunk) : [chunk];
      for (const piece of pieces) {
        const before = reader!.received;
        try {
          for (const data of reader!.push(piece)) keep(refusal, data);
        } catch {
          keep(refusal, piece.subarray(0, reader!.received - before)); // a malformed body ends it: keep what was read
          done = true;
          break;
        }
        done = reader!.done;
        if (done) break;
      }
      // Past the bound nothing more would be kept: the answer is complete.
      done ||= refusal.kept >= MAX_REFUSAL_BODY;
    }
    if (!done) return null;
    const { head } = refusal;
    this.#answer = {
      established: false,
      statusCode: head.statusCode,
      reason: head.reason,
      headers: head.headers,
      body: Buffer.concat(refusal.body),
    };
    return this.#answer;
  }
}

/** Keeps `data` of a refusal's body, up to MAX_REFUSAL_BODY in all. */
function keep(refusal: { body: Buffer[]; kept: number }, data: Buffer): void {
  const room = MAX_REFUSAL_BODY - refusal.kept;
  if (room > 0) refusal.body.push(data.subarray(0, room));
  refusal.kept += Math.min(room, data.length);
}

/** `chunk` cut after each LF. */
function lines(chunk: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let lf = chunk.indexOf(0x0a); lf !== -1; lf = chunk.indexOf(0x0a, start)) {
    out.push(chunk.subarray(start, lf + 1));
    start = lf + 1;
  }
  if (start < chunk.length) out.push(chunk.subarray(start));
  return out;
}
