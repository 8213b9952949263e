/**
 * `ClientHandshake`: the client side of the opening handshake (RFC 6455 4.1), from the
 * `Request` to the 101 or the end of the server's rejection.
 *
 * Theory of operation. `send(Request)` returns the GET head with a fresh key and
 * remembers the offer (key, subprotocols, extensions). The response head is read by the
 * HTTP head parser. A 101 is checked against the offer (`validateResponse`) and becomes
 * an `AcceptConnection` event, after which the `onOpen` callback builds the `Connection`
 * with the bytes that followed the head (the server's first frames). Any other final
 * status becomes a `RejectConnection` event, then its body, decoded by `BodyReader` and
 * bounded by `maxRejectBodySize`, as `RejectData` events until one has `bodyFinished`.
 * An interim 1xx response (100 Continue, 103 Early Hints ...) is read and skipped, as
 * RFC 9110 15.2 asks of every client: the next head is read in its place. Every state
 * change happens in one of these phases:
 *
 *     idle ──send Request──▶ reading ──101 ok──▶ open              (onOpen: the Connection)
 *                               ├──other status──▶ rejecting ──body done / EOF──▶ closed
 *                               │       └──(no body)──────────────────────────▶ closed
 *                               ├──interim 1xx──▶ reading (the next head)
 *                               ├──bad response──▶ failed
 *                               └──EOF──▶ closed
 *
 * A bad response makes `receiveData` throw `RemoteProtocolError` (without `eventHint`:
 * there is nothing to send back; the client drops the transport).
 */
import { ConnectionState } from '../connection';
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  AcceptConnectionEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  type RequestEvent,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { generateKey, requestHeaders, validateResponse, type ClientOffer } from './handshake';
import { BodyReader } from './http/body-reader';
import { HeadParser, type HeadLimits, type ResponseHead } from './http/head-parser';
import { serializeRequest } from './http/serialize';
import type { HandshakeState, OnOpen } from './server-handshake';

/** @internal Options of a `ClientHandshake`: the response head limits and the body bound. */
export interface ClientHandshakeOptions extends HeadLimits {
  /** Largest rejection body delivered as `RejectData`, in bytes. Default 1 MiB. */
  maxRejectBodySize?: number;
}

type Phase = 'idle' | 'reading' | 'failed' | 'rejecting' | 'closed' | 'open';

const STATE: Record<Phase, HandshakeState> = {
  idle: ConnectionState.CONNECTING,
  reading: ConnectionState.CONNECTING,
  failed: ConnectionState.CONNECTING,
  rejecting: ConnectionState.REJECTING,
  closed: ConnectionState.CLOSED,
  open: ConnectionState.OPEN,
};

const EMPTY = Buffer.alloc(0);

/** @internal The client side of the opening handshake (see the top of the file). */
export class ClientHandshake {
  readonly #options: ClientHandshakeOptions;
  readonly #onOpen: OnOpen;
  #phase: Phase = 'idle';
  #offer: ClientOffer | null = null;
  #head: HeadParser<'response'> | null = null;
  #body: BodyReader | null = null;
  #events: WSEvent[] = [];

  /**
   * @param options the response head limits and `maxRejectBodySize` (checked when used).
   * @param onOpen called once, when a valid 101 arrives, with the enabled extensions and
   *   the bytes that followed the head; it builds the `Connection`.
   */
  constructor(options: ClientHandshakeOptions, onOpen: OnOpen) {
    this.#options = options;
    this.#onOpen = onOpen;
  }

  /** CONNECTING until the response; then OPEN, or REJECTING while its body arrives, then CLOSED. */
  get state(): HandshakeState {
    return STATE[this.#phase];
  }

  /**
   * Serialize the `Request` (once, first); throws `LocalProtocolError` for any other
   * event, or for a request that cannot be written (bad extension objects, CR/LF).
   */
  send(event: WSEvent): Buffer {
    if (this.#phase !== 'idle' || event.type !== 'request') {
      throw new LocalProtocolError(`cannot send '${event.type}' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    return this.#sendRequest(event);
  }

  /**
   * Feed bytes from the transport (`null` at EOF). Throws `RemoteProtocolError` for a
   * bad or truncated response, or a bad rejection body.
   */
  receiveData(chunk: Buffer | null): void {
    switch (this.#phase) {
      case 'reading':
        this.#read(chunk);
        return;
      case 'rejecting':
        this.#receiveBody(chunk);
        return;
      case 'idle':
      case 'failed':
        // Nothing is expected here (before the Request, or after a failed response).
        if (chunk !== null) throw new LocalProtocolError('send the Request before receiving data', 'ERR_INVALID_STATE');
        return;
      case 'open':
        throw new LocalProtocolError('the handshake is over: data goes to the Connection', 'ERR_INVALID_STATE');
      case 'closed':
        return;
    }
  }

  /** The next handshake event (`AcceptConnection`, `RejectConnection`, `RejectData`), or null. */
  nextEvent(): WSEvent | null {
    return this.#events.shift() ?? null;
  }

  #sendRequest(event: RequestEvent): Buffer {
    const extensions: Extension[] = [];
    for (const e of event.extensions) {
      if (typeof e === 'string' || !('offer' in e)) {
        throw new LocalProtocolError('a client offers extensions as Extension objects', 'ERR_INVALID_EXTENSION');
      }
      extensions.push(e);
    }
    // RFC 6455 4.1: a fresh 16-byte key for each request.
    const key = generateKey();
    const headers = requestHeaders(event.host, key, event.subprotocols, extensions, event.extraHeaders);
    const bytes = serializeRequest('GET', event.target, headers);
    this.#head = new HeadParser('response', this.#options);
    this.#offer = { key, subprotocols: event.subprotocols, extensions };
    this.#phase = 'reading';
    return bytes;
  }

  #read(chunk: Buffer | null): void {
    const parser = this.#head!;
    if (chunk === null) {
      this.#phase = 'closed';
      this.#head = null;
      throw new RemoteProtocolError('the transport closed during the opening handshake', {
        code: 'ERR_BAD_HANDSHAKE',
        closeCode: 1006,
      });
    }
    let head;
    try {
      head = parser.push(chunk);
    } catch (error) {
      this.#phase = 'failed';
      this.#head = null;
      throw error;
    }
    if (head === null) return;
    const trailing = parser.takeTrailing();
    if (head.statusCode < 200 && head.statusCode !== 101) {
      // RFC 9110 15.2: an interim response (it has no body); the final one follows.
      this.#head = new HeadParser('response', this.#options);
      if (trailing.length > 0) this.#read(trailing);
      return;
    }
    this.#head = null;
    this.#phase = 'failed'; // until the response is found good
    this.#onResponse(head, trailing);
  }

  #onResponse(head: ResponseHead, trailing: Buffer): void {
    if (head.statusCode === 101) {
      const { subprotocol, extensions } = validateResponse(head, this.#offer!);
      this.#events.push(new AcceptConnectionEvent({ subprotocol, extensions, extraHeaders: head.headers }));
      this.#onOpen(extensions, trailing);
      this.#phase = 'open';
      return;
    }
    // RFC 6455 4.1: any status other than 101 means the handshake failed; deliver the
    // response so the application can show the error page or follow a redirect.
    const max = this.#options.maxRejectBodySize;
    const body = new BodyReader(head, max === undefined ? {} : { maxBodySize: max });
    const hasBody = !body.done;
    this.#events.push(new RejectConnectionEvent({ statusCode: head.statusCode, headers: head.headers, hasBody }));
    if (!hasBody) {
      this.#phase = 'closed';
      return;
    }
    this.#phase = 'rejecting';
    this.#body = body;
    if (trailing.length > 0) this.#receiveBody(trailing);
  }

  #receiveBody(chunk: Buffer | null): void {
    const body = this.#body!;
    if (chunk === null) {
      this.#finishBody();
      body.end(); // throws when a declared length was cut short
      this.#events.push(new RejectDataEvent({ data: EMPTY, bodyFinished: true }));
      return;
    }
    for (const piece of body.push(chunk)) {
      this.#events.push(new RejectDataEvent({ data: piece, bodyFinished: false }));
    }
    if (body.done) {
      this.#finishBody();
      this.#events.push(new RejectDataEvent({ data: EMPTY, bodyFinished: true }));
    }
  }

  #finishBody(): void {
    this.#body = null;
    this.#phase = 'closed';
  }
}
