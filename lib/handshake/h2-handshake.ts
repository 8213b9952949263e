/**
 * The opening handshake over an HTTP/2 stream (RFC 8441), both roles, with the same
 * events and states as the HTTP/1.1 handshakes (server-handshake.ts, client-handshake.ts).
 *
 * Theory of operation. HTTP/2 frames belong to the HTTP/2 layer, so the heads travel as
 * header lists: `receiveHeaders()` takes the HEADERS the stream received, `sendHeaders()`
 * returns the list to send (`stream.respond(list)`, `session.request(list)`). Bytes on
 * the stream (DATA) go through `receiveData()` / `send()` as over HTTP/1.1: WebSocket
 * frames once open, a refusal's body before that.
 *
 *   server: reading ──HEADERS ok──▶ deciding ──sendHeaders(accept)──▶ open
 *              │                       └──sendHeaders(reject)──▶ rejecting ──last RejectData──▶ closed
 *              └──bad HEADERS──▶ failed ──sendHeaders(reject)──▶ rejecting / closed
 *   client: idle ──sendHeaders(Request)──▶ reading ──2xx ok──▶ open
 *                                            ├──1xx──▶ reading (RFC 9110 15.2)
 *                                            ├──other──▶ rejecting ──DATA… END_STREAM──▶ closed
 *                                            └──bad HEADERS──▶ failed
 */
import { ConnectionState } from '../connection';
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  AcceptConnectionEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  type Headers,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import {
  connectAcceptHeaders,
  connectRejectHeaders,
  connectRequestHeaders,
  responseStatus,
  validateConnect,
  validateConnectResponse,
  type ValidConnect,
} from './extended-connect';
import { acceptChoices, type ClientOffer } from './handshake';
import { toHeaderList, type HeaderList } from './http/headers';
import { withEarlyData, type HandshakeState, type OnOpen } from './server-handshake';

type Phase = 'idle' | 'reading' | 'failed' | 'deciding' | 'rejecting' | 'closed' | 'open';

const STATE: Record<Phase, HandshakeState> = {
  idle: ConnectionState.CONNECTING,
  reading: ConnectionState.CONNECTING,
  failed: ConnectionState.CONNECTING,
  deciding: ConnectionState.CONNECTING,
  rejecting: ConnectionState.REJECTING,
  closed: ConnectionState.CLOSED,
  open: ConnectionState.OPEN,
};

const EMPTY = Buffer.alloc(0);

function wrongState(what: string, state: string): LocalProtocolError {
  return new LocalProtocolError(`cannot ${what} in state ${state}`, 'ERR_INVALID_STATE');
}

/** @internal What both roles share: the phase, the event queue. */
export abstract class H2Handshake {
  protected phase: Phase;
  protected readonly events: WSEvent[] = [];
  protected readonly onOpen: OnOpen;

  constructor(phase: Phase, onOpen: OnOpen) {
    this.phase = phase;
    this.onOpen = onOpen;
  }

  get state(): HandshakeState {
    return STATE[this.phase];
  }

  nextEvent(): WSEvent | null {
    return this.events.shift() ?? null;
  }

  abstract receiveHeaders(headers: Headers | readonly string[], endStream: boolean): void;
  abstract sendHeaders(event: WSEvent): HeaderList;
  abstract send(event: WSEvent): Buffer;
  abstract receiveData(chunk: Buffer | null): void;
}

/** @internal The server side of RFC 8441's handshake (see the top of the file). */
export class H2ServerHandshake extends H2Handshake {
  #request: ValidConnect | null = null;
  #early: Buffer = EMPTY;

  constructor(onOpen: OnOpen) {
    super('reading', onOpen);
  }

  /**
   * The request's HEADERS. Throws `RemoteProtocolError` with the refusal as `eventHint`
   * when it is not a valid extended CONNECT for a WebSocket.
   */
  receiveHeaders(headers: Headers | readonly string[], endStream: boolean): void {
    if (this.phase !== 'reading') throw wrongState('receive request headers', this.state);
    this.phase = 'failed'; // until the request is found valid
    const list = toHeaderList(headers);
    const valid = validateConnect(list);
    if (endStream) {
      throw new RemoteProtocolError('the extended CONNECT ended its stream at once', {
        code: 'ERR_BAD_HANDSHAKE',
        eventHint: new RejectConnectionEvent({ statusCode: 400 }),
      });
    }
    this.#request = valid;
    this.phase = 'deciding';
    this.events.push(
      new RequestEvent({
        host: valid.host,
        target: valid.path,
        extensions: valid.extensions,
        extraHeaders: list,
        subprotocols: valid.subprotocols,
      }),
    );
  }

  /** `AcceptConnection` (200) or `RejectConnection` as a header list, as the phase allows. */
  sendHeaders(event: WSEvent): HeaderList {
    if (event.type === 'accept' && this.phase === 'deciding') {
      const { enabled, header } = acceptChoices(this.#request!, event.subprotocol, event.extensions);
      const headers = connectAcceptHeaders(event.subprotocol, header, event.extraHeaders);
      this.onOpen(enabled, this.#early);
      this.#early = EMPTY;
      this.#request = null; // the Connection has what it needs of it
      this.phase = 'open';
      return headers;
    }
    if (event.type === 'reject' && (this.phase === 'deciding' || this.phase === 'failed')) {
      // RFC 9113 8.1.1: 101 does not exist in HTTP/2; 1xx are not final answers.
      if (event.statusCode < 200 || event.statusCode > 999) {
        throw new LocalProtocolError(`cannot reject with status ${event.statusCode}`, 'ERR_INVALID_EVENT');
      }
      // RFC 9113 8.5, RFC 8441 5: any 2xx to a CONNECT opens the tunnel; it cannot refuse.
      if (event.statusCode < 300) {
        throw new LocalProtocolError(
          `cannot reject with status ${event.statusCode}: a 2xx opens the WebSocket over HTTP/2`,
          'ERR_INVALID_EVENT',
        );
      }
      const headers = connectRejectHeaders(event.statusCode, event.headers);
      this.#early = EMPTY;
      this.phase = event.hasBody ? 'rejecting' : 'closed';
      return headers;
    }
    throw wrongState(`send '${event.type}' headers`, this.state);
  }

  /** `RejectData` while rejecting: the body bytes for the stream. */
  send(event: WSEvent): Buffer {
    if (event.type !== 'reject-data' || this.phase !== 'rejecting') {
      const hint =
        event.type === 'accept' || event.type === 'reject' ? ' (over HTTP/2 heads go through sendHeaders)' : '';
      throw wrongState(`send '${event.type}'${hint}`, this.state);
    }
    if (event.bodyFinished) this.phase = 'closed';
    return event.data;
  }

  /** DATA before the answer (frames sent early) are kept, bounded, for the Connection. */
  receiveData(chunk: Buffer | null): void {
    if (this.phase === 'reading') throw wrongState('receive data before the request headers', this.state);
    if (this.phase === 'open') throw wrongState('receive data on the handshake', this.state);
    if (this.phase !== 'deciding' || chunk === null) return;
    this.#early = withEarlyData(this.#early, chunk);
  }
}

/** @internal Options of an `H2ClientHandshake`. */
export interface H2ClientHandshakeOptions {
  /** `:scheme`: 'https' for `wss:`, 'http' for `ws:`. Default 'https'. */
  scheme?: 'http' | 'https';
  /** Largest refusal body delivered as `RejectData`. Default 1 MiB. */
  maxRejectBodySize?: number;
}

/** @internal The client side of RFC 8441's handshake (see the top of the file). */
export class H2ClientHandshake extends H2Handshake {
  readonly #options: H2ClientHandshakeOptions;
  #offer: Omit<ClientOffer, 'key'> | null = null;
  #bodyLeft = 0;

  constructor(options: H2ClientHandshakeOptions, onOpen: OnOpen) {
    super('idle', onOpen);
    this.#options = options;
  }

  /** The `Request` as the extended CONNECT's header list (once, first). */
  sendHeaders(event: WSEvent): HeaderList {
    if (event.type !== 'request' || this.phase !== 'idle') throw wrongState(`send '${event.type}' headers`, this.state);
    const extensions: Extension[] = [];
    for (const e of event.extensions) {
      if (typeof e === 'string' || !('offer' in e)) {
        throw new LocalProtocolError('a client offers extensions as Extension objects', 'ERR_INVALID_EXTENSION');
      }
      extensions.push(e);
    }
    const scheme = this.#options.scheme ?? 'https';
    const headers = connectRequestHeaders(
      scheme,
      event.host,
      event.target,
      event.subprotocols,
      extensions,
      event.extraHeaders,
    );
    this.#offer = { subprotocols: event.subprotocols, extensions };
    this.phase = 'reading';
    return headers;
  }

  /**
   * The response's HEADERS: a 2xx opens (`AcceptConnection`), a 1xx is skipped, another
   * status is a `RejectConnection` whose body follows as DATA. Throws
   * `RemoteProtocolError` for a bad response.
   */
  receiveHeaders(headers: Headers | readonly string[], endStream: boolean): void {
    if (this.phase !== 'reading') throw wrongState('receive response headers', this.state);
    const list = toHeaderList(headers);
    const status = responseStatus(list);
    if (status === null) {
      this.phase = 'failed';
      throw new RemoteProtocolError('the response has no valid :status', { code: 'ERR_BAD_HTTP' });
    }
    // RFC 9113 8.6: HTTP/2 has no 101; 8.1: an interim response cannot end the stream.
    if (status === 101 || (status < 200 && endStream)) {
      this.phase = 'failed';
      throw new RemoteProtocolError(
        status === 101 ? 'a 101 response does not exist in HTTP/2' : `an interim ${status} response with END_STREAM`,
        { code: 'ERR_BAD_HTTP' },
      );
    }
    if (status < 200) return; // RFC 9110 15.2: an interim response; the final one follows
    if (status < 300) {
      this.phase = 'failed'; // until the response is found good
      const { subprotocol, extensions } = validateConnectResponse(list, this.#offer!);
      this.events.push(new AcceptConnectionEvent({ subprotocol, extensions, extraHeaders: list }));
      this.onOpen(extensions, EMPTY);
      this.phase = 'open';
      return;
    }
    this.events.push(new RejectConnectionEvent({ statusCode: status, headers: list, hasBody: !endStream }));
    this.phase = endStream ? 'closed' : 'rejecting';
    this.#bodyLeft = this.#options.maxRejectBodySize ?? 1024 * 1024;
  }

  send(event: WSEvent): Buffer {
    const hint = event.type === 'request' ? ' (over HTTP/2 the request goes through sendHeaders)' : '';
    throw wrongState(`send '${event.type}'${hint}`, this.state);
  }

  /** The refusal's body (DATA), bounded; `null` is its END_STREAM. */
  receiveData(chunk: Buffer | null): void {
    if (this.phase === 'open') throw wrongState('receive data on the handshake', this.state);
    if (this.phase === 'reading' && chunk === null) {
      this.phase = 'closed';
      throw new RemoteProtocolError('the stream ended during the opening handshake', {
        code: 'ERR_BAD_HANDSHAKE',
        closeCode: 1006,
      });
    }
    if (this.phase !== 'rejecting') {
      if (chunk !== null && chunk.length > 0) throw wrongState('receive data before the response headers', this.state);
      return;
    }
    if (chunk === null) {
      this.phase = 'closed';
      this.events.push(new RejectDataEvent({ data: EMPTY, bodyFinished: true }));
      return;
    }
    if (chunk.length > this.#bodyLeft) {
      this.phase = 'failed';
      throw new RemoteProtocolError('the refusal body is larger than maxRejectBodySize', {
        code: 'ERR_BODY_TOO_LARGE',
      });
    }
    this.#bodyLeft -= chunk.length;
    if (chunk.length > 0) this.events.push(new RejectDataEvent({ data: chunk, bodyFinished: false }));
  }
}
