/**
 * `WSConnection`: the opening handshake (RFC 6455 section 4), then a `Connection`.
 * This is wsproto's `WSConnection` (its `H11Handshake` with our own HTTP/1.1 head
 * parser instead of h11).
 *
 *     server: receiveData(request head) -> Request event
 *             send(AcceptConnection) -> 101, OPEN     | send(RejectConnection) -> REJECTING/CLOSED
 *     client: send(Request) -> GET head
 *             receiveData(101) -> AcceptConnection, OPEN
 *             receiveData(other status) -> RejectConnection, RejectData..., CLOSED
 *
 * After the handshake every call is delegated to the `Connection`. A peer that breaks
 * the handshake makes `receiveData` throw `RemoteProtocolError`; on a server its
 * `eventHint` is the `RejectConnection` to send back.
 */
import {
  Connection,
  ConnectionState,
  ConnectionType,
  type ConnectionOptions,
  type ConnectionRole,
  type ConnectionStateValue,
} from './connection';
import { LocalProtocolError, RemoteProtocolError } from './errors';
import {
  AcceptConnectionEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  type ConnectionEvent,
  type Headers,
  type WSEvent,
} from './events';
import type { Extension } from './extensions/extension';
import type { MaskKeyGenerator } from './frame/mask';
import type { FrameLimits } from './frame/protocol';
import {
  acceptHeaders,
  generateKey,
  negotiateExtensions,
  requestHeaders,
  validateRequest,
  validateResponse,
  type ValidRequest,
} from './handshake/handshake';
import { BodyReader } from './handshake/http/body-reader';
import { HeadParser, type HeadLimits, type RequestHead, type ResponseHead } from './handshake/http/head-parser';
import type { HeaderList } from './handshake/http/headers';
import { reasonPhrase, serializeRequest, serializeResponse } from './handshake/http/serialize';

/** Options of a `WSConnection`: handshake limits plus the `Connection` limits. */
export interface WSConnectionOptions
  extends FrameLimits, HeadLimits, Pick<ConnectionOptions, 'autoPong' | 'autoCloseReply'> {
  /** Client: largest rejection body delivered as `RejectData`, in bytes. Default 1 MiB. */
  maxRejectBodySize?: number;
  /** Client only: the masking key source, for tests. */
  maskKey?: MaskKeyGenerator;
}

const EMPTY = Buffer.alloc(0);

// Bytes a client may send after its request and before our answer (frames it sends
// early), kept for the Connection. More is refused with 400.
const MAX_EARLY_DATA = 64 * 1024;

/** A WebSocket connection from the first handshake byte to the close. */
export class WSConnection {
  readonly #client: boolean;
  readonly #options: WSConnectionOptions;
  #state: ConnectionStateValue = ConnectionState.CONNECTING;
  #connection: Connection | null = null;
  #events: WSEvent[] = [];
  #head: HeadParser | null;
  // Server: the validated request while the application decides.
  #request: ValidRequest | null = null;
  // Client: what we offered, to check the response.
  #offer: { key: string; subprotocols: readonly string[]; extensions: readonly Extension[] } | null = null;
  #body: BodyReader | null = null;

  /**
   * Start a connection in state CONNECTING. A client sends a `Request` first; a server
   * waits for the request bytes (or `initiateUpgradeConnection`). Throws
   * `LocalProtocolError` (`ERR_INVALID_OPTION`) for an unknown `type`.
   *
   * @param type `ConnectionType.CLIENT` or `ConnectionType.SERVER`.
   * @param options limits for the handshake and the connection.
   */
  constructor(type: ConnectionRole, options: WSConnectionOptions = {}) {
    if (type !== ConnectionType.CLIENT && type !== ConnectionType.SERVER) {
      throw new LocalProtocolError(`unknown connection type ${String(type)}`, 'ERR_INVALID_OPTION');
    }
    this.#client = type === ConnectionType.CLIENT;
    this.#options = options;
    this.#head = this.#client ? null : new HeadParser('request', options);
  }

  /** The current state (CONNECTING until the handshake ends, then the `Connection`'s). */
  get state(): ConnectionStateValue {
    return this.#connection?.state ?? this.#state;
  }

  /** `ConnectionType.CLIENT` or `ConnectionType.SERVER`. */
  get type(): ConnectionRole {
    return this.#client ? ConnectionType.CLIENT : ConnectionType.SERVER;
  }

  /** The post-handshake `Connection`, once OPEN. */
  get connection(): Connection | null {
    return this.#connection;
  }

  /**
   * Server: start from a request that another HTTP layer already parsed (Node's
   * `http.Server` 'upgrade' event: `req.rawHeaders` and `req.url`). Validates it and
   * queues the `Request` event; throws `RemoteProtocolError` (with the rejection as
   * `eventHint`) when it is not a valid upgrade.
   */
  initiateUpgradeConnection(
    headers: Headers | readonly string[],
    target: string,
    method = 'GET',
    version = '1.1',
  ): void {
    if (this.#client) throw new LocalProtocolError('initiateUpgradeConnection is for servers', 'ERR_INVALID_STATE');
    if (this.#state !== ConnectionState.CONNECTING || this.#head === null) {
      throw new LocalProtocolError(`cannot initiate an upgrade in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    this.#head = null;
    this.#onRequest({ method, target, version, headers: toHeaderList(headers) });
  }

  /**
   * Serialize an event for the wire. Handshake events (`Request` for a client;
   * `AcceptConnection`, `RejectConnection`, `RejectData` for a server) while CONNECTING
   * or REJECTING; `Connection` events once OPEN. Throws `LocalProtocolError` otherwise.
   */
  send(event: WSEvent): Buffer {
    if (this.#connection !== null) {
      if (isConnectionEvent(event)) return this.#connection.send(event);
      throw new LocalProtocolError(`cannot send '${event.type}' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    switch (event.type) {
      case 'request':
        return this.#sendRequest(event);
      case 'accept':
        return this.#sendAccept(event);
      case 'reject':
        return this.#sendReject(event);
      case 'reject-data':
        return this.#sendRejectData(event);
      default:
        throw new LocalProtocolError(`cannot send '${event.type}' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
  }

  /**
   * Feed bytes from the transport (`null` at EOF). During the handshake this parses the
   * HTTP head and may throw `RemoteProtocolError`; afterwards it feeds the `Connection`.
   */
  receiveData(data: Uint8Array | null): void {
    if (this.#connection !== null) {
      this.#connection.receiveData(data);
      return;
    }
    const chunk =
      data === null ? null : Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.#body !== null) {
      this.#receiveBody(chunk);
      return;
    }
    if (this.#head === null) {
      if (chunk === null || this.#state === ConnectionState.CLOSED) return;
      if (this.#state === ConnectionState.CONNECTING) {
        if (this.#client) throw new LocalProtocolError('send the Request before receiving data', 'ERR_INVALID_STATE');
        if (this.#request === null) return; // the request failed: its rejection is all that is left
        // A client may send frames before it sees our answer: keep them (bounded) for
        // the Connection that accepting creates.
        if (this.#trailing.length + chunk.length > MAX_EARLY_DATA) {
          throw new RemoteProtocolError('too much data before the handshake completed', {
            code: 'ERR_BAD_HANDSHAKE',
            eventHint: new RejectConnectionEvent({ statusCode: 400 }),
          });
        }
        this.#trailing = this.#trailing.length === 0 ? chunk : Buffer.concat([this.#trailing, chunk]);
        return;
      }
      return; // REJECTING server: the client's further bytes are of no interest
    }
    if (chunk === null) {
      this.#state = ConnectionState.CLOSED;
      this.#head = null;
      throw new RemoteProtocolError('the transport closed during the opening handshake', {
        code: 'ERR_BAD_HANDSHAKE',
        closeCode: 1006,
        eventHint: this.#client ? undefined : new RejectConnectionEvent({ statusCode: 400 }),
      });
    }
    let head;
    try {
      head = this.#head.push(chunk);
    } catch (error) {
      // The head is unusable: parsing is over, and the rejection in the error's hint can be sent.
      this.#head = null;
      throw error;
    }
    if (head === null) return;
    const trailing = this.#head.takeTrailing();
    this.#head = null;
    if ('method' in head) this.#onRequest(head, trailing);
    else this.#onResponse(head, trailing);
  }

  /** The next event, or null. */
  nextEvent(): WSEvent | null {
    if (this.#events.length > 0) return this.#events.shift()!;
    return this.#connection?.nextEvent() ?? null;
  }

  /** The bytes of the `Connection`'s automatic replies (see `Connection.dataToSend`). */
  dataToSend(): readonly Buffer[] {
    return this.#connection?.dataToSend() ?? [];
  }

  /** Yield every pending event. Drain it after each `receiveData()`. */
  *events(): Generator<WSEvent, void, void> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  // ---- server ----

  #trailing: Buffer = EMPTY;

  #onRequest(head: RequestHead, trailing: Buffer = EMPTY): void {
    const valid = validateRequest(head);
    this.#request = valid;
    this.#trailing = trailing;
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
    const request = this.#request;
    if (this.#client || request === null || this.#state !== ConnectionState.CONNECTING) {
      throw new LocalProtocolError(`cannot send 'accept' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    if (event.subprotocol !== null && !request.subprotocols.includes(event.subprotocol)) {
      throw new LocalProtocolError(
        `subprotocol ${JSON.stringify(event.subprotocol)} was not offered by the client`,
        'ERR_INVALID_SUBPROTOCOL',
      );
    }
    const { enabled, header } = negotiateExtensions(event.extensions, request.extensions);
    const bytes = serializeResponse(
      101,
      reasonPhrase(101),
      acceptHeaders(request.key, event.subprotocol, header, event.extraHeaders),
    );
    this.#open(enabled, this.#trailing);
    this.#trailing = EMPTY;
    return bytes;
  }

  #sendReject(event: RejectConnectionEvent): Buffer {
    if (this.#client || this.#state !== ConnectionState.CONNECTING || (this.#request === null && this.#head !== null)) {
      throw new LocalProtocolError(`cannot send 'reject' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
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
    this.#head = null;
    this.#state = event.hasBody ? ConnectionState.REJECTING : ConnectionState.CLOSED;
    return bytes;
  }

  #sendRejectData(event: RejectDataEvent): Buffer {
    if (this.#client || this.#state !== ConnectionState.REJECTING) {
      throw new LocalProtocolError(`cannot send 'reject-data' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    if (event.bodyFinished) this.#state = ConnectionState.CLOSED;
    return event.data;
  }

  // ---- client ----

  #sendRequest(event: RequestEvent): Buffer {
    if (!this.#client || this.#offer !== null || this.#state !== ConnectionState.CONNECTING) {
      throw new LocalProtocolError(`cannot send 'request' in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    const extensions: Extension[] = [];
    for (const e of event.extensions) {
      if (typeof e === 'string' || !('offer' in e)) {
        throw new LocalProtocolError('a client offers extensions as Extension objects', 'ERR_INVALID_EXTENSION');
      }
      extensions.push(e);
    }
    const key = generateKey();
    const headers = requestHeaders(event.host, key, event.subprotocols, extensions, event.extraHeaders);
    const bytes = serializeRequest('GET', event.target, headers);
    this.#offer = { key, subprotocols: event.subprotocols, extensions };
    this.#head = new HeadParser('response', this.#options);
    return bytes;
  }

  #onResponse(head: ResponseHead, trailing: Buffer): void {
    const offer = this.#offer!;
    if (head.statusCode === 101) {
      const { subprotocol, extensions } = validateResponse(head, offer);
      this.#events.push(new AcceptConnectionEvent({ subprotocol, extensions, extraHeaders: head.headers }));
      this.#open(extensions, trailing);
      return;
    }
    if (head.statusCode < 200) {
      throw new RemoteProtocolError(`unexpected informational response ${head.statusCode} to an upgrade`, {
        code: 'ERR_BAD_HANDSHAKE',
      });
    }
    // RFC 6455 4.1: any status other than 101 means the handshake failed; deliver the
    // response so the application can show the error page or follow a redirect.
    const body = new BodyReader(
      head,
      this.#options.maxRejectBodySize === undefined ? {} : { maxBodySize: this.#options.maxRejectBodySize },
    );
    const hasBody = !body.done;
    this.#events.push(new RejectConnectionEvent({ statusCode: head.statusCode, headers: head.headers, hasBody }));
    if (!hasBody) {
      this.#state = ConnectionState.CLOSED;
      return;
    }
    this.#state = ConnectionState.REJECTING;
    this.#body = body;
    if (trailing.length > 0) this.#receiveBody(trailing);
  }

  #receiveBody(chunk: Buffer | null): void {
    const body = this.#body!;
    if (chunk === null) {
      this.#body = null;
      this.#state = ConnectionState.CLOSED;
      body.end(); // throws when a declared length was cut short
      this.#events.push(new RejectDataEvent({ data: EMPTY, bodyFinished: true }));
      return;
    }
    const pieces = body.push(chunk);
    for (const piece of pieces) this.#events.push(new RejectDataEvent({ data: piece, bodyFinished: false }));
    if (body.done) {
      this.#body = null;
      this.#state = ConnectionState.CLOSED;
      this.#events.push(new RejectDataEvent({ data: EMPTY, bodyFinished: true }));
    }
  }

  // ---- both ----

  #open(extensions: readonly Extension[], trailing: Buffer): void {
    const { maxMessageSize, maxFrameSize, maskKey, autoPong, autoCloseReply } = this.#options;
    this.#connection = new Connection(this.#client ? ConnectionType.CLIENT : ConnectionType.SERVER, {
      extensions,
      ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
      ...(maxFrameSize === undefined ? {} : { maxFrameSize }),
      ...(maskKey === undefined ? {} : { maskKey }),
      ...(autoPong === undefined ? {} : { autoPong }),
      ...(autoCloseReply === undefined ? {} : { autoCloseReply }),
      ...(trailing.length > 0 ? { trailingData: trailing } : {}),
    });
    this.#state = ConnectionState.OPEN;
  }
}

function isConnectionEvent(event: WSEvent): event is ConnectionEvent {
  return (
    event.type === 'text' ||
    event.type === 'bytes' ||
    event.type === 'ping' ||
    event.type === 'pong' ||
    event.type === 'close'
  );
}

/** Headers as pairs, from pairs or from Node's flat `rawHeaders` list. */
function toHeaderList(headers: Headers | readonly string[]): HeaderList {
  if (headers.length > 0 && typeof headers[0] === 'string') {
    const flat = headers as readonly string[];
    if (flat.length % 2 !== 0)
      throw new LocalProtocolError('rawHeaders must have an even length', 'ERR_INVALID_HEADER');
    const out: HeaderList = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
    return out;
  }
  return (headers as Headers).map(([n, v]) => [n, v]);
}
