/**
 * `ServerHandshake`: the server side of the opening handshake (RFC 6455 4.2), from the
 * first request byte to the 101 or the end of the rejection.
 *
 * Theory of operation. The request head is read by the HTTP head parser and checked by
 * `validateRequest`; a good one becomes a `Request` event, and the application answers
 * with `send(AcceptConnection)` (the 101, after which the `onOpen` callback builds the
 * `Connection`) or `send(RejectConnection)` (then `RejectData` while REJECTING). A bad
 * one makes `receiveData` throw `RemoteProtocolError` whose `eventHint` is the
 * `RejectConnection` to send. Every state change happens in one of these phases, and
 * what `send` may take in each is the `SENDABLE` table:
 *
 *     reading ──request ok──▶ deciding ──accept──▶ open        (onOpen: the Connection)
 *        │                       └─────reject──▶ rejecting ──reject-data (last)──▶ closed
 *        ├──bad request──▶ failed ──reject──▶ rejecting / closed
 *        └──EOF──▶ closed
 *
 * Bytes a client sends after its request and before our answer (frames it sends
 * early) are kept, up to `MAX_EARLY_DATA`, and handed to the `Connection` on accept.
 */
import { ConnectionState } from '../connection';
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  RejectConnectionEvent,
  RequestEvent,
  type AcceptConnectionEvent,
  type Headers,
  type RejectDataEvent,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { acceptChoices, acceptHeaders, validateRequest, type ValidRequest } from './handshake';
import { HeadParser, type HeadLimits, type RequestHead } from './http/head-parser';
import { toHeaderList, type HeaderList } from './http/headers';
import { reasonPhrase, serializeResponse } from './http/serialize';

/**
 * @internal Most bytes a client may send after its request and before our answer; more
 * is refused with 400.
 */
export const MAX_EARLY_DATA = 64 * 1024;

/**
 * @internal Bytes a client sent after its request and before our answer, with `chunk`
 * added; throws `RemoteProtocolError` (400) past `MAX_EARLY_DATA`.
 */
export function withEarlyData(early: Buffer, chunk: Buffer): Buffer {
  if (early.length + chunk.length > MAX_EARLY_DATA) {
    throw new RemoteProtocolError('too much data before the handshake completed', {
      code: 'ERR_BAD_HANDSHAKE',
      eventHint: new RejectConnectionEvent({ statusCode: 400 }),
    });
  }
  return early.length === 0 ? chunk : Buffer.concat([early, chunk]);
}

/** @internal The states a handshake reports (the `Connection` owns the rest). */
export type HandshakeState =
  | typeof ConnectionState.CONNECTING
  | typeof ConnectionState.REJECTING
  | typeof ConnectionState.CLOSED
  | typeof ConnectionState.OPEN;

/**
 * @internal Called once when a handshake opens, with the enabled extensions and the
 * bytes received after the handshake; the caller builds the `Connection` from them.
 */
export type OnOpen = (extensions: readonly Extension[], trailing: Buffer) => void;

type Phase = 'reading' | 'failed' | 'deciding' | 'rejecting' | 'closed' | 'open';

const STATE: Record<Phase, HandshakeState> = {
  reading: ConnectionState.CONNECTING,
  failed: ConnectionState.CONNECTING,
  deciding: ConnectionState.CONNECTING,
  rejecting: ConnectionState.REJECTING,
  closed: ConnectionState.CLOSED,
  open: ConnectionState.OPEN,
};

// What `send()` takes in each phase. A failed request can only be rejected (with the
// error's hint); a request still being read can be neither accepted nor rejected.
const SENDABLE: Record<Phase, ReadonlyArray<WSEvent['type']>> = {
  reading: [],
  failed: ['reject'],
  deciding: ['accept', 'reject'],
  rejecting: ['reject-data'],
  closed: [],
  open: [],
};

const EMPTY = Buffer.alloc(0);

/** @internal The server side of the opening handshake (see the top of the file). */
export class ServerHandshake {
  readonly #onOpen: OnOpen;
  #phase: Phase = 'reading';
  #head: HeadParser<'request'> | null;
  #request: ValidRequest | null = null;
  #early: Buffer = EMPTY;
  #events: RequestEvent[] = [];

  /**
   * @param limits the request head limits (they are checked here, before any byte).
   * @param onOpen called once, when `send(AcceptConnection)` succeeds, with the enabled
   *   extensions and the bytes received after the request; it builds the `Connection`.
   *   If it throws, the handshake stays where it was.
   */
  constructor(limits: HeadLimits, onOpen: OnOpen) {
    this.#head = new HeadParser('request', limits);
    this.#onOpen = onOpen;
  }

  /** CONNECTING until answered; then OPEN, or REJECTING while the body is sent, then CLOSED. */
  get state(): HandshakeState {
    return STATE[this.#phase];
  }

  /**
   * Start from a request parsed elsewhere (pairs, or Node's flat `rawHeaders`). Throws
   * `RemoteProtocolError` with the rejection as `eventHint` when it is not a valid upgrade.
   */
  initiateUpgradeConnection(
    headers: Headers | readonly string[],
    target: string,
    method: string,
    version: string,
  ): void {
    if (this.#phase !== 'reading') {
      throw new LocalProtocolError(`cannot initiate an upgrade in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    this.#head = null;
    this.#phase = 'failed'; // until the request is found valid
    this.#onRequest({ method, target, version, headers: toHeaderList(headers) }, EMPTY);
  }

  /**
   * Serialize `AcceptConnection`, `RejectConnection` or `RejectData`, as the phase allows;
   * throws `LocalProtocolError` otherwise.
   */
  send(event: WSEvent): Buffer {
    const allowed = SENDABLE[this.#phase].includes(event.type);
    if (allowed && event.type === 'accept') return this.#sendAccept(event);
    if (allowed && event.type === 'reject') return this.#sendReject(event);
    if (allowed && event.type === 'reject-data') return this.#sendRejectData(event);
    throw new LocalProtocolError(`cannot send '${event.type}' in state ${this.state}`, 'ERR_INVALID_STATE');
  }

  /**
   * Feed bytes from the transport (`null` at EOF). Throws `RemoteProtocolError` (with the
   * rejection as `eventHint`) for a bad or truncated request and for too much early data.
   */
  receiveData(chunk: Buffer | null): void {
    switch (this.#phase) {
      case 'reading':
        this.#read(chunk);
        return;
      case 'deciding':
        // A client may send frames before it sees our answer: keep them (bounded) for
        // the Connection that accepting creates. EOF here is left to the application.
        if (chunk === null) return;
        this.#early = withEarlyData(this.#early, chunk);
        return;
      case 'open':
        throw new LocalProtocolError('the handshake is over: data goes to the Connection', 'ERR_INVALID_STATE');
      default:
        // failed: its rejection is all that is left; rejecting, closed: nothing more to read.
        return;
    }
  }

  /** The next handshake event (the `Request`), or null. */
  nextEvent(): RequestEvent | null {
    return this.#events.shift() ?? null;
  }

  #read(chunk: Buffer | null): void {
    const parser = this.#head!;
    if (chunk === null) {
      this.#phase = 'closed';
      this.#head = null;
      throw new RemoteProtocolError('the transport closed during the opening handshake', {
        code: 'ERR_BAD_HANDSHAKE',
        closeCode: 1006,
        eventHint: new RejectConnectionEvent({ statusCode: 400 }),
      });
    }
    let head;
    try {
      head = parser.push(chunk);
    } catch (error) {
      // The head is unusable: the rejection in the error's hint is all that is left.
      this.#phase = 'failed';
      this.#head = null;
      throw error;
    }
    if (head === null) return;
    this.#head = null;
    this.#phase = 'failed'; // until the request is found valid
    this.#onRequest(head, parser.takeTrailing());
  }

  #onRequest(head: RequestHead, trailing: Buffer): void {
    const valid = validateRequest(head);
    this.#request = valid;
    this.#early = trailing;
    this.#phase = 'deciding';
    this.#events.push(
      new RequestEvent({
        host: valid.host,
        target: head.target,
        extensions: valid.extensions,
        extraHeaders: head.headers,
        subprotocols: valid.subprotocols,
      }),
    );
  }

  #sendAccept(event: AcceptConnectionEvent): Buffer {
    const request = this.#request!;
    const { enabled, header } = acceptChoices(request, event.subprotocol, event.extensions);
    // RFC 6455 4.2.2: 101, Upgrade, Connection, Sec-WebSocket-Accept, then the choices.
    const bytes = serializeResponse(
      101,
      reasonPhrase(101),
      acceptHeaders(request.key, event.subprotocol, header, event.extraHeaders),
    );
    this.#onOpen(enabled, this.#early);
    this.#early = EMPTY;
    this.#request = null; // the Connection has what it needs of it
    this.#phase = 'open';
    return bytes;
  }

  #sendReject(event: RejectConnectionEvent): Buffer {
    if (event.statusCode < 100 || event.statusCode === 101 || event.statusCode > 999) {
      throw new LocalProtocolError(`cannot reject with status ${event.statusCode}`, 'ERR_INVALID_EVENT');
    }
    const headers: HeaderList = event.headers.map(([n, v]) => [n, v]);
    const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
    if (!event.hasBody) {
      if (!has('content-length')) headers.push(['Content-Length', '0']);
    } else if (!has('content-length') && !has('transfer-encoding')) {
      // RFC 9112 6.3: without a length the body ends when the connection closes.
      if (!has('connection')) headers.push(['Connection', 'close']);
    }
    const bytes = serializeResponse(event.statusCode, reasonPhrase(event.statusCode), headers);
    this.#early = EMPTY;
    this.#phase = event.hasBody ? 'rejecting' : 'closed';
    return bytes;
  }

  #sendRejectData(event: RejectDataEvent): Buffer {
    if (event.bodyFinished) this.#phase = 'closed';
    return event.data;
  }
}
