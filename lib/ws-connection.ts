/**
 * `WSConnection`: the opening handshake (RFC 6455 section 4), then a `Connection`; this
 * is wsproto's `WSConnection` (its `H11Handshake` with our own HTTP/1.1 head parser).
 *
 * Theory of operation. It holds the role's handshake (`ServerHandshake`: request ->
 * `Request` event -> 101 or rejection; `ClientHandshake`: `Request` -> GET head -> 101
 * or rejection) and keeps no state of its own. Until the handshake opens, every call
 * goes to it, and it owns CONNECTING, REJECTING and CLOSED. When it opens it hands over
 * the negotiated extensions and the bytes received after it, a `Connection` is built
 * from them and the options, and from then on the `Connection` owns the state. Events
 * the handshake queued (the `AcceptConnection`) come out before the `Connection`'s.
 *
 * A peer that breaks the handshake makes `receiveData` throw `RemoteProtocolError`; on a
 * server its `eventHint` is the `RejectConnection` to send back.
 *
 * Over HTTP/2 (`http2: true`, RFC 8441) the heads are header lists the HTTP/2 layer
 * sends and receives as HEADERS frames: `receiveHeaders()` and `sendHeaders()` replace
 * the head bytes (h2-handshake.ts); everything after the handshake is the same.
 */
import {
  Connection,
  ConnectionType,
  type ConnectionOptions,
  type ConnectionRole,
  type ConnectionStateValue,
} from './connection';
import { LocalProtocolError } from './errors';
import type { ConnectionEvent, Headers, WSEvent } from './events';
import type { Extension } from './extensions/extension';
import type { SplitFrame } from './frame/encoder';
import type { MaskKeyGenerator } from './frame/mask';
import type { FrameLimits } from './frame/limits';
import { ClientHandshake } from './handshake/client-handshake';
import { H2ClientHandshake, type H2Handshake, H2ServerHandshake } from './handshake/h2-handshake';
import type { HeadLimits } from './handshake/http/head-parser';
import { ServerHandshake } from './handshake/server-handshake';

/** Options of a `WSConnection`: handshake limits plus the `Connection` limits. */
export interface WSConnectionOptions
  extends FrameLimits, HeadLimits, Pick<ConnectionOptions, 'autoPong' | 'autoCloseReply'> {
  /** Client: largest rejection body delivered as `RejectData`, in bytes. @defaultValue `1048576` (1 MiB) */
  maxRejectBodySize?: number;
  /** Client only: the masking key source, for tests. @defaultValue a CSPRNG pool */
  maskKey?: MaskKeyGenerator;
  /**
   * The handshake is RFC 8441's, on an HTTP/2 stream: heads go through
   * `receiveHeaders()` / `sendHeaders()`. @defaultValue `false` (HTTP/1.1, RFC 6455 4)
   */
  http2?: boolean;
  /** Client over HTTP/2: the `:scheme`, 'https' for `wss:` or 'http' for `ws:`. @defaultValue `'https'` */
  scheme?: 'http' | 'https';
}

// WSConnection.#kind bits.
const CLIENT = 1;
const HTTP2 = 2;

type Handshake = ServerHandshake | ClientHandshake | H2ServerHandshake | H2ClientHandshake;

/** A WebSocket connection from the first handshake byte to the close. */
export class WSConnection {
  readonly #kind: number; // CLIENT, HTTP2 (one field: a server holds many idle connections)
  #options: WSConnectionOptions | null; // until the Connection takes what is its
  // Dropped once the Connection took over and its last event was taken (an open
  // connection holds nothing of its handshake: see bench/RESULTS.md on idle memory).
  #handshake: Handshake | null;
  #connection: Connection | null = null;

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
    this.#options = options;
    const onOpen = (extensions: readonly Extension[], trailing: Buffer) => this.#open(extensions, trailing);
    const client = type === ConnectionType.CLIENT;
    this.#kind = (client ? CLIENT : 0) | (options.http2 === true ? HTTP2 : 0);
    if (options.http2 === true) {
      this.#handshake = client ? new H2ClientHandshake(options, onOpen) : new H2ServerHandshake(onOpen);
    } else this.#handshake = client ? new ClientHandshake(options, onOpen) : new ServerHandshake(options, onOpen);
  }

  /** True when the handshake is RFC 8441's (an HTTP/2 stream). */
  get http2(): boolean {
    return (this.#kind & HTTP2) !== 0;
  }

  /** The current state (CONNECTING until the handshake ends, then the `Connection`'s). */
  get state(): ConnectionStateValue {
    return this.#connection?.state ?? this.#handshake!.state;
  }

  /** `ConnectionType.CLIENT` or `ConnectionType.SERVER`. */
  get type(): ConnectionRole {
    return (this.#kind & CLIENT) !== 0 ? ConnectionType.CLIENT : ConnectionType.SERVER;
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
    if (this.http2 || this.type !== ConnectionType.SERVER) {
      throw new LocalProtocolError('initiateUpgradeConnection is for HTTP/1.1 servers', 'ERR_INVALID_STATE');
    }
    if (this.#connection !== null) {
      throw new LocalProtocolError(`cannot initiate an upgrade in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    (this.#handshake as ServerHandshake).initiateUpgradeConnection(headers, target, method, version);
  }

  /**
   * HTTP/2 (RFC 8441): the HEADERS the stream received, pseudo-header fields included
   * (pairs, or Node's flat `rawHeaders`), and whether they ended the stream. A server
   * gets the extended CONNECT (a `Request` event, or `RemoteProtocolError` with the
   * refusal as `eventHint`); a client gets the response (`AcceptConnection` for a 2xx,
   * else `RejectConnection`, whose body then arrives through `receiveData`).
   */
  receiveHeaders(headers: Headers | readonly string[], endStream = false): void {
    this.#http2Handshake('receiveHeaders', 'receive headers').receiveHeaders(headers, endStream);
  }

  /**
   * HTTP/2 (RFC 8441): a handshake head as the header list to send (pseudo-header
   * fields first, names in lower case): a client's `Request` (the extended CONNECT), a
   * server's `AcceptConnection` (200) or `RejectConnection`. A refusal's body is then
   * sent with `send(RejectData)` as DATA.
   */
  sendHeaders(event: WSEvent): Array<[string, string]> {
    const handshake = this.#http2Handshake('sendHeaders', 'send headers');
    if (this.#connection !== null)
      throw new LocalProtocolError(`cannot send headers in state ${this.state}`, 'ERR_INVALID_STATE');
    return handshake.sendHeaders(event);
  }

  /** The RFC 8441 handshake, for the HTTP/2-only methods; throws on an HTTP/1.1 connection. */
  #http2Handshake(method: string, doing: string): H2Handshake {
    if (!this.http2) {
      throw new LocalProtocolError(`${method} is for HTTP/2 connections (http2: true)`, 'ERR_INVALID_STATE');
    }
    if (this.#handshake === null) {
      throw new LocalProtocolError(`cannot ${doing} in state ${this.state}`, 'ERR_INVALID_STATE');
    }
    return this.#handshake as H2Handshake;
  }

  /**
   * Serialize an event for the wire. Handshake events (`Request` for a client;
   * `AcceptConnection`, `RejectConnection`, `RejectData` for a server) while CONNECTING
   * or REJECTING; `Connection` events once OPEN. Throws `LocalProtocolError` otherwise.
   */
  send(event: WSEvent): Buffer {
    if (this.#connection === null) return this.#handshake!.send(event);
    if (isConnectionEvent(event)) return this.#connection.send(event);
    throw new LocalProtocolError(`cannot send '${event.type}' in state ${this.state}`, 'ERR_INVALID_STATE');
  }

  /** @internal `send()`, where a large unmasked payload may come back apart from its header (see `Connection.sendSplit`). */
  sendSplit(event: WSEvent): Buffer | SplitFrame {
    if (this.#connection !== null && isConnectionEvent(event)) return this.#connection.sendSplit(event);
    return this.send(event);
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
    this.#handshake!.receiveData(
      data === null || Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  }

  /** The next event, or null. */
  nextEvent(): WSEvent | null {
    if (this.#handshake !== null) {
      const event = this.#handshake.nextEvent();
      if (event !== null || this.#connection === null) return event;
      this.#handshake = null;
    }
    return this.#connection!.nextEvent();
  }

  /** The bytes of the `Connection`'s automatic replies (see `Connection.dataToSend`). */
  dataToSend(): readonly Buffer[] {
    return this.#connection?.dataToSend() ?? [];
  }

  /** Yield every pending event. Drain it after each `receiveData()`. */
  *events(): Generator<WSEvent, void, void> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  // The handshake opened: the Connection takes over, with what the handshake negotiated
  // and received after it, and the options that are the Connection's.
  #open(extensions: readonly Extension[], trailing: Buffer): void {
    const { maxMessageSize, maxFrameSize, maskKey, autoPong, autoCloseReply } = this.#options!;
    this.#options = null;
    this.#connection = new Connection(this.type, {
      extensions,
      ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
      ...(maxFrameSize === undefined ? {} : { maxFrameSize }),
      ...(maskKey === undefined ? {} : { maskKey }),
      ...(autoPong === undefined ? {} : { autoPong }),
      ...(autoCloseReply === undefined ? {} : { autoCloseReply }),
      ...(trailing.length > 0 ? { trailingData: trailing } : {}),
    });
  }
}

const CONNECTION_EVENTS: ReadonlySet<WSEvent['type']> = new Set(['text', 'bytes', 'ping', 'pong', 'close']);

function isConnectionEvent(event: WSEvent): event is ConnectionEvent {
  return CONNECTION_EVENTS.has(event.type);
}
