/**
 * `WebSocketDuplex`: the sans-I/O core under a Node Duplex (`readable-stream`).
 *
 *              transport (net.Socket, tls.TLSSocket, an http2 stream ...)
 *                  │ bytes                                  ▲ bytes
 *                  ▼                                        │
 *     ┌────────────────────────── WebSocketDuplex (the wire face) ─────────────┐
 *     │  _write(bytes) ──▶ WSConnection.receiveData ──▶ events ──┬──▶ 'message', 'ping' ...
 *     │       ▲ (callback held while ws.app's reader is full)    └──▶ ws.app readable (objects)
 *     │  push(bytes) ◀── WSConnection.send ◀── ws.app writable (events, strings, Buffers)
 *     │       (ws.app write callbacks held while the transport is full)          │
 *     └────────────────────────────────────────────────────────────────────────┘
 *
 * So `socket.pipe(ws).pipe(socket)` (or `pipeline(socket, ws, socket, cb)`) connects the
 * wire, and `ws.app` carries the conversation as objects. Backpressure runs end to end:
 * a reader of `ws.app` that falls behind holds the wire write callback, so `pipe` stops
 * reading the socket and TCP pushes back on the peer; a socket that falls behind holds
 * the callbacks of `ws.app` writers.
 *
 * The stream's 'close' event carries `(code, reason, wasClean)`; it is emitted once, when
 * the stream is done (the stream's own automatic 'close' is switched off).
 */
import { Duplex, type DuplexOptions } from 'readable-stream';
import { CloseReason } from '../close-codes';
import { ConnectionState, ConnectionType, type ConnectionRole } from '../connection';
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  AcceptConnectionEvent,
  BytesMessageEvent,
  CloseConnectionEvent,
  PingEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  TextMessageEvent,
  type AcceptConnectionInit,
  type Headers,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { AppFace } from './app-face';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate';

import { WSConnection, type WSConnectionOptions } from '../ws-connection';

/**
 * What the server's `accept` option decides: `true` accepts without a subprotocol,
 * `false` rejects with 403, an `AcceptConnectionInit` (optionally with `accept: true`)
 * accepts with those fields, and `{ accept: false, statusCode, body, headers }` rejects
 * with that response.
 */
export type AcceptDecision =
  | boolean
  | (AcceptConnectionInit & {
      /** Optional marker of an acceptance. */
      accept?: true;
    })
  | {
      /** Reject the request. */
      accept: false;
      /** The HTTP status of the rejection. Default 403. */
      statusCode?: number;
      /** The response body (sent as `text/plain; charset=utf-8` unless `headers` say otherwise). Default empty. */
      body?: string | Buffer;
      /** Extra response headers. */
      headers?: Headers;
    };

/** Options of a `WebSocketDuplex`. */
export interface WebSocketDuplexOptions extends WSConnectionOptions {
  /** Client: the request to send (host and target are required). */
  request?: {
    /** The `Host` header value. */
    host: string;
    /** The request target (path and query). */
    target: string;
    /** Subprotocols to offer, in order of preference. */
    subprotocols?: string[];
    /** Extra request headers (e.g. Origin, Authorization). */
    extraHeaders?: Headers;
  };
  /**
   * permessage-deflate (RFC 7692): `true` for the defaults, or its options. Client: offered.
   * Server: accepted when the client offers it. Default false.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Client: extensions to offer. Server: extensions to negotiate. A function makes fresh ones per connection. */
  extensions?: Extension[] | (() => Extension[]);
  /**
   * Server: decides on each request (sync or async). Without it, a 'request' listener
   * decides by calling `accept()` / `reject()`; with neither, every valid request is
   * accepted without a subprotocol.
   */
  accept?: (request: RequestEvent) => AcceptDecision | Promise<AcceptDecision>;
  /** Answer pings with pongs automatically. Default true. */
  autoPong?: boolean;
  /** Answer a peer's close with a close automatically. Default true. */
  autoCloseReply?: boolean;
  /** Milliseconds for the opening handshake before the transport is dropped. Default 30000; 0 disables. */
  handshakeTimeout?: number;
  /** Milliseconds to wait for the peer's side of the close handshake. Default 5000. */
  closeTimeout?: number;
  /** Send a ping after this many idle milliseconds. Default 0 (off). */
  pingInterval?: number;
  /** Drop the connection when no pong arrives this many milliseconds after a keepalive ping. Default: pingInterval. */
  pongTimeout?: number;
  /** High-water mark of the wire face, in bytes. Default 64 KiB. */
  highWaterMark?: number;
  /** High-water mark of `ws.app`, in objects. Default 16. */
  appHighWaterMark?: number;
}

/** Options of `send()`. */
export interface SendOptions {
  /** Send as binary (default: true for Buffers, false for strings). */
  binary?: boolean;
  /** false: send this message uncompressed even when compression is negotiated. */
  compress?: boolean;
}

type Callback = (error?: Error | null) => void;

// Frames smaller than this are coalesced within a tick (see #pushOut).
const COALESCE_MAX = 16 * 1024;

/** The Duplex WebSocket: wire bytes on the stream itself, events on `ws.app`. */
export class WebSocketDuplex extends Duplex {
  /** The sans-I/O connection underneath (read its `state`; do not feed it). */
  readonly connection: WSConnection;
  readonly #options: WebSocketDuplexOptions;
  readonly #client: boolean;
  #app: AppFace | null = null;
  // Wire writable callback held while ws.app's reader is behind.
  #heldWireCallback: Callback | null = null;
  // ws.app writable callbacks held while the transport is behind.
  #heldAppCallbacks: Callback[] = [];
  // Whole-message assembly for 'message'.
  #pieces: Buffer[] | string[] = [];
  #protocol: string | null = null;
  #extensions: readonly Extension[] = [];
  #closeCode: number = CloseReason.ABNORMAL_CLOSURE;
  #closeReason = '';
  #sentClose = false;
  #receivedClose = false;
  #wireEnded = false;
  #done = false;
  #pendingRequest: RequestEvent | null = null;
  // Event processing is held (see #opened).
  #paused = false;
  // #closeReason holds our own diagnosis (a timeout), not a peer's reason.
  #diagnosed = false;
  #timers = new Set<NodeJS.Timeout>();
  #handshakeTimer: NodeJS.Timeout | null = null;
  #closeTimer: NodeJS.Timeout | null = null;
  #pingTimer: NodeJS.Timeout | null = null;
  #pongTimer: NodeJS.Timeout | null = null;

  /**
   * Make a stream for one connection; pipe the transport through it. A client stream
   * needs `options.request` and writes the request at once. Most programs use
   * `connect` (client) or `handleUpgrade` (server behind `http.Server`) instead.
   *
   * @param role `'client'` or `'server'`.
   * @param options handshake, limits, timeouts and conveniences.
   */
  constructor(role: ConnectionRole, options: WebSocketDuplexOptions = {}) {
    super({
      emitClose: false,
      allowHalfOpen: true,
      decodeStrings: true,
      readableHighWaterMark: options.highWaterMark ?? 64 * 1024,
      writableHighWaterMark: options.highWaterMark ?? 64 * 1024,
    } as DuplexOptions);
    this.#options = options;
    this.#client = role === ConnectionType.CLIENT;
    this.connection = new WSConnection(role, options);
    if (this.#client) {
      const request = options.request;
      if (request === undefined)
        throw new LocalProtocolError('a client stream needs options.request', 'ERR_INVALID_OPTION');
      this.#write(
        new RequestEvent({
          host: request.host,
          target: request.target,
          subprotocols: request.subprotocols ?? [],
          extraHeaders: request.extraHeaders ?? [],
          extensions: this.#makeExtensions(),
        }),
      );
    }
    // Armed after the request was validated and written (a refused request throws above).
    const handshakeTimeout = options.handshakeTimeout ?? 30000;
    if (handshakeTimeout > 0) {
      this.#handshakeTimer = this.#timer(handshakeTimeout, () => {
        this.destroy(
          new RemoteProtocolError('the opening handshake timed out', { code: 'ERR_BAD_HANDSHAKE', closeCode: 1006 }),
        );
      });
    }
  }

  /** The object-mode face: readable yields events, writable takes events, strings and Buffers. */
  get app(): AppFace {
    this.#app ??= new AppFace(this, this.#options.appHighWaterMark ?? 16);
    return this.#app;
  }

  /** The negotiated subprotocol (after 'open'). */
  get protocol(): string | null {
    return this.#protocol;
  }

  /** The negotiated extensions (after 'open'). */
  get extensions(): readonly Extension[] {
    return this.#extensions;
  }

  /** The connection state (`ConnectionState`). */
  get state(): string {
    return this.connection.state;
  }

  /** Bytes produced for the transport and not yet taken by it. */
  get bufferedAmount(): number {
    return this.readableLength + this.#outBytes;
  }

  // Small frames produced in one tick are pushed as one chunk, so that a burst of sends
  // costs one transport write instead of one per frame.
  #out: Buffer[] = [];
  #outBytes = 0;
  #flushScheduled = false;

  #pushOut(bytes: Buffer): boolean {
    if (bytes.length >= COALESCE_MAX) {
      this.#flushOut();
      return this.push(bytes);
    }
    this.#out.push(bytes);
    this.#outBytes += bytes.length;
    if (this.#outBytes >= COALESCE_MAX) return this.#flushOut();
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(() => {
        this.#flushScheduled = false;
        this.#flushOut();
      });
    }
    return this.readableLength + this.#outBytes < this.readableHighWaterMark;
  }

  #flushOut(): boolean {
    const out = this.#out;
    if (out.length === 0 || this.destroyed || this.#wireEndPushed) return true;
    const chunk = out.length === 1 ? out[0]! : Buffer.concat(out, this.#outBytes);
    this.#out = [];
    this.#outBytes = 0;
    return this.push(chunk);
  }

  // ---- the wire face ----

  /** @internal Duplex implementation: bytes from the transport. */
  override _write(chunk: Buffer, _encoding: string, callback: Callback): void {
    if (this.#done || this.connection.state === ConnectionState.CLOSED) {
      // Closed (lingering until the peer's EOF): input is read and dropped.
      callback();
      return;
    }
    try {
      this.connection.receiveData(chunk);
    } catch (error) {
      this.#handshakeFailure(error, callback);
      return;
    }
    this.#process();
    // Stop taking input while its consumer (ws.app's reader) or the transport (pongs and
    // close replies the input produces) is behind: pipe() then stops reading the socket.
    if (this.#mustHoldInput()) this.#heldWireCallback = callback;
    else callback();
  }

  /** @internal Duplex implementation: the transport ended. */
  override _final(callback: Callback): void {
    // The transport ended (socket 'end' -> pipe -> ws.end()).
    this.#wireEnded = true;
    this.#paused = false;
    if (!this.#done && this.connection.state !== ConnectionState.CLOSED) {
      try {
        this.connection.receiveData(null);
      } catch (error) {
        if (!(error instanceof RemoteProtocolError)) throw error;
        this.#closeCode = CloseReason.ABNORMAL_CLOSURE;
        this.#closeReason = error.message;
      }
      this.#process();
      this.#finish();
    } else if (this.#client && this.connection.state === ConnectionState.CLOSED) {
      // RFC 6455 7.1.1: the server closed the transport first, as it should.
      this.#finish();
    }
    this.#destroyWhenDone();
    callback();
  }

  /** @internal Duplex implementation: the transport wants more bytes. */
  override _read(): void {
    const held = this.#heldAppCallbacks;
    if (held.length > 0) {
      this.#heldAppCallbacks = [];
      for (const cb of held) cb();
    }
    this.resumeFromApp();
  }

  #mustHoldInput(): boolean {
    return (
      this.#paused ||
      (this.#app !== null && this.#app.full) ||
      this.readableLength + this.#outBytes >= this.readableHighWaterMark
    );
  }

  /** @internal Duplex implementation: release timers and held callbacks, then emit 'close'. */
  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const held = this.#heldWireCallback;
    this.#heldWireCallback = null;
    const appHeld = this.#heldAppCallbacks;
    this.#heldAppCallbacks = [];
    const wasClean = this.#sentClose && this.#receivedClose;
    if (!wasClean && this.#closeCode !== CloseReason.ABNORMAL_CLOSURE && !this.#receivedClose) {
      this.#closeCode = CloseReason.ABNORMAL_CLOSURE;
    }
    const code = this.#closeCode;
    const reason = this.#closeReason === '' && error !== null ? error.message : this.#closeReason;
    this.#done = true;
    if (this.#app !== null) this.#app.finish(error);
    callback(error);
    held?.();
    for (const cb of appHeld) cb(error ?? new LocalProtocolError('the WebSocket was destroyed', 'ERR_INVALID_STATE'));
    process.nextTick(() => this.emit('close', code, reason, wasClean));
  }

  /**
   * Server: start from a request head another HTTP layer parsed (see `handleUpgrade`).
   * An invalid request is answered with its rejection, then the stream fails.
   */
  initiateUpgrade(rawHeaders: readonly string[] | Headers, target: string, method = 'GET', version = '1.1'): void {
    try {
      this.connection.initiateUpgradeConnection(rawHeaders, target, method, version);
    } catch (error) {
      this.#handshakeFailure(error, (e) => {
        if (e) this.destroy(e);
      });
      return;
    }
    this.#process();
  }

  // ---- conveniences ----

  /** Send a message (text for strings unless `binary`; binary for Buffers). */
  send(data: string | Uint8Array, options: SendOptions = {}, callback?: Callback): boolean {
    const binary = options.binary ?? typeof data !== 'string';
    const payload = binary
      ? typeof data === 'string'
        ? Buffer.from(data)
        : data
      : typeof data === 'string'
        ? data
        : Buffer.from(data).toString();
    const compress = options.compress === undefined ? {} : { compress: options.compress };
    const event =
      typeof payload === 'string'
        ? new TextMessageEvent({ data: payload, ...compress })
        : new BytesMessageEvent({ data: payload, ...compress });
    return this.#sendEvent(event, callback);
  }

  /** Send a ping (payload at most 125 bytes). */
  ping(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#sendEvent(
      new PingEvent({ payload: typeof payload === 'string' ? Buffer.from(payload) : payload }),
      callback,
    );
  }

  /** Start the close handshake (default 1000). */
  close(code: number = CloseReason.NORMAL_CLOSURE, reason = ''): void {
    if (this.#done) return;
    const state = this.connection.state;
    if (state === ConnectionState.OPEN || state === ConnectionState.REMOTE_CLOSING) {
      this.#sendEvent(new CloseConnectionEvent({ code, reason }));
    } else if (state === ConnectionState.CONNECTING) {
      this.destroy();
    }
  }

  /** Server: accept the pending request (from a 'request' listener). */
  accept(init: AcceptConnectionInit = {}): void {
    if (this.#pendingRequest === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    this.#pendingRequest = null;
    const extensions = init.extensions ?? this.#makeExtensions();
    this.#write(new AcceptConnectionEvent({ ...init, extensions }));
    this.#opened();
    this.#process();
  }

  /** Server: reject the pending request with an HTTP status and an optional body. */
  reject(statusCode = 403, body: string | Buffer = '', headers: Headers = []): void {
    if (this.#pendingRequest === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    this.#pendingRequest = null;
    this.#rejectWith(statusCode, body, headers);
  }

  // ---- internals ----

  #rejectWith(statusCode: number, body: string | Buffer, headers: Headers): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const all: Headers = [...headers, ['Content-Length', String(bytes.length)]];
    if (bytes.length > 0 && !headers.some(([n]) => n.toLowerCase() === 'content-type')) {
      (all as Array<readonly [string, string]>).push(['Content-Type', 'text/plain; charset=utf-8']);
    }
    this.#write(new RejectConnectionEvent({ statusCode, headers: all, hasBody: bytes.length > 0 }));
    if (bytes.length > 0) this.#write(new RejectDataEvent({ data: bytes, bodyFinished: true }));
    this.#closeCode = CloseReason.ABNORMAL_CLOSURE;
    this.#closeReason = `rejected with ${statusCode}`;
    this.#endWire();
  }

  #makeExtensions(): Extension[] {
    const e = this.#options.extensions;
    const list = typeof e === 'function' ? e() : [...(e ?? [])];
    const deflate = this.#options.perMessageDeflate;
    if (deflate !== undefined && deflate !== false) {
      list.push(new PerMessageDeflate(deflate === true ? {} : deflate));
    }
    return list;
  }

  #sendEvent(event: WSEvent, callback?: Callback): boolean {
    if (this.#done || (this.connection.state !== ConnectionState.OPEN && event.type !== 'close')) {
      const error = new LocalProtocolError(
        `cannot send '${event.type}' in state ${this.connection.state}`,
        'ERR_INVALID_STATE',
      );
      if (callback) process.nextTick(callback, error);
      return false;
    }
    let ok: boolean;
    try {
      ok = this.#write(event);
    } catch (error) {
      if (callback) process.nextTick(callback, error);
      else throw error;
      return false;
    }
    if (callback) {
      if (ok) process.nextTick(callback);
      else this.#heldAppCallbacks.push(callback);
    }
    return ok;
  }

  /** Serialize and push an event; false when the transport is behind. */
  #write(event: WSEvent): boolean {
    const bytes = this.connection.send(event);
    if (event.type === 'close') {
      this.#sentClose = true;
      if (!this.#receivedClose) {
        this.#closeCode = event.code;
        this.#closeReason = event.reason;
        this.#armCloseTimer();
      }
    }
    const ok = this.#pushOut(bytes);
    if (event.type === 'close' && this.connection.state === ConnectionState.CLOSED) this.#closedHandshake();
    this.#touch();
    return ok;
  }

  /** @internal Used by ws.app's writable side. */
  writeFromApp(event: WSEvent, callback: Callback): void {
    const state = this.connection.state;
    if (
      this.#done ||
      (state !== ConnectionState.OPEN && !(event.type === 'close' && state === ConnectionState.REMOTE_CLOSING))
    ) {
      // After the close handshake started, messages are discarded (as a browser does).
      if (state === ConnectionState.CONNECTING && !this.#done) {
        callback(
          new LocalProtocolError(`cannot send '${event.type}' before the handshake completes`, 'ERR_INVALID_STATE'),
        );
      } else callback();
      return;
    }
    let ok: boolean;
    try {
      ok = this.#write(event);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (ok) callback();
    else this.#heldAppCallbacks.push(callback);
  }

  /** @internal Used by ws.app's readable side when its reader wants more. */
  resumeFromApp(): void {
    const held = this.#heldWireCallback;
    if (held === null || this.#mustHoldInput()) return;
    this.#heldWireCallback = null;
    held();
  }

  #process(): void {
    for (;;) {
      if (this.#paused) return;
      let event: WSEvent | null;
      try {
        event = this.connection.nextEvent();
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      if (event === null) return;
      this.#dispatch(event);
      if (this.#done) return;
    }
  }

  #dispatch(event: WSEvent): void {
    this.#app?.deliver(event);
    switch (event.type) {
      case 'request':
        this.#onRequest(event);
        break;
      case 'accept':
        this.#protocol = event.subprotocol;
        this.#extensions = event.extensions;
        this.#opened();
        break;
      case 'reject':
        this.#closeReason = `the server rejected the handshake with ${event.statusCode}`;
        this.emit('rejected', event);
        break;
      case 'reject-data':
        this.emit('rejected-data', event);
        if (event.bodyFinished) this.#finish();
        break;
      case 'text':
      case 'bytes':
        this.#touch();
        this.#assemble(event);
        break;
      case 'ping':
        this.#touch();
        if (this.#options.autoPong !== false && this.connection.state === ConnectionState.OPEN)
          this.#write(event.response());
        this.emit('ping', event.payload);
        break;
      case 'pong':
        this.#touch();
        if (this.#pongTimer !== null) {
          this.#clear(this.#pongTimer);
          this.#pongTimer = null;
        }
        this.emit('pong', event.payload);
        break;
      case 'close':
        this.#onClose(event);
        break;
    }
  }

  #onRequest(request: RequestEvent): void {
    this.#pendingRequest = request;
    this.emit('request', request);
    const decide = this.#options.accept;
    if (decide !== undefined) {
      let decision: AcceptDecision | Promise<AcceptDecision>;
      try {
        decision = decide(request);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      if (decision instanceof Promise) {
        decision.then(
          (d) => this.#apply(request, d),
          (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
        );
      } else this.#apply(request, decision);
    } else if (this.listenerCount('request') === 0 && this.#pendingRequest === request) {
      this.accept();
    }
  }

  #apply(request: RequestEvent, decision: AcceptDecision): void {
    if (this.#done || this.#pendingRequest !== request) return;
    try {
      if (decision === false || (typeof decision === 'object' && decision.accept === false)) {
        const d = typeof decision === 'object' && decision.accept === false ? decision : { accept: false as const };
        this.reject(d.statusCode ?? 403, d.body ?? '', d.headers ?? []);
      } else {
        const init: AcceptConnectionInit = typeof decision === 'object' ? { ...decision } : {};
        this.accept(init);
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  #opened(): void {
    if (this.#handshakeTimer !== null) {
      this.#clear(this.#handshakeTimer);
      this.#handshakeTimer = null;
    }
    if (!this.#client) this.#extensions = this.connection.connection?.extensions ?? [];
    this.#touch();
    this.emit('open');
    if (this.#client) {
      // Frames that came in the same read as the 101 wait until the code that awaited
      // the open stream (connect()'s promise) has attached its listeners.
      this.#paused = true;
      setImmediate(() => {
        this.#paused = false;
        if (this.#done) return;
        this.#process();
        this.resumeFromApp();
      });
    }
  }

  #assemble(event: TextMessageEvent | BytesMessageEvent): void {
    if (this.listenerCount('message') === 0) return;
    // The core bounds each message by maxMessageSize, so this buffer is bounded too.
    if (event.type === 'text') (this.#pieces as string[]).push(event.data);
    else (this.#pieces as Buffer[]).push(event.data);
    if (!event.messageFinished) return;
    const pieces = this.#pieces;
    this.#pieces = [];
    if (event.type === 'text') this.emit('message', (pieces as string[]).join(''), false);
    else this.emit('message', pieces.length === 1 ? pieces[0] : Buffer.concat(pieces as Buffer[]), true);
  }

  #onClose(event: CloseConnectionEvent): void {
    const state = this.connection.state;
    const failed = event.code === CloseReason.ABNORMAL_CLOSURE;
    // A close made by the core for a protocol violation is not a close frame from the peer.
    if (!failed) this.#receivedClose = !(this.connection.connection?.failed ?? false);
    if (!this.#sentClose || failed) {
      this.#closeCode = event.code;
      // A transport EOF (1006) keeps a diagnosis made before it (a close timeout).
      if (!(failed && this.#diagnosed)) this.#closeReason = event.reason;
    }
    if (state === ConnectionState.REMOTE_CLOSING && this.#options.autoCloseReply !== false) {
      this.#write(
        event.code === CloseReason.NO_STATUS_RCVD
          ? new CloseConnectionEvent({ code: CloseReason.NO_STATUS_RCVD })
          : event.response(),
      );
    } else if (state === ConnectionState.CLOSED) {
      if (failed) this.#finish();
      else this.#closedHandshake();
    }
  }

  /** Both close frames have passed. */
  #closedHandshake(): void {
    if (!this.#client || this.#wireEnded) {
      // RFC 6455 7.1.1: the server closes the transport first.
      this.#finish();
      return;
    }
    // The client waits (bounded) for the server to close the transport.
    this.#armCloseTimer();
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== null) return;
    this.#closeTimer = this.#timer(this.#options.closeTimeout ?? 5000, () => {
      this.#closeTimer = null;
      // RFC 6455 7.1.5: without a close frame from the peer the code is 1006.
      if (!this.#receivedClose) {
        this.#closeReason = 'the peer did not answer the close within closeTimeout';
        this.#diagnosed = true;
      }
      this.#finish();
    });
  }

  /** End the wire output, then destroy once it has been taken (or after closeTimeout). */
  #finish(): void {
    if (this.#done) return;
    this.#endWire();
  }

  #wireEndPushed = false;
  #endWire(): void {
    if (this.#wireEndPushed) return;
    this.#flushOut();
    this.#wireEndPushed = true;
    this.push(null);
    this.#app?.endReadable();
    // Destroy once the transport has taken every byte (the close frame included) and the
    // peer has ended its side too, or after closeTimeout. Destroying earlier would make a
    // socket with unread input send RST, which can discard our close frame at the peer
    // (a "lingering close": keep reading, and dropping, until the peer's FIN).
    this.once('end', () => this.#destroyWhenDone());
    this.#timer(this.#options.closeTimeout ?? 5000, () => this.destroy());
  }

  #destroyWhenDone(): void {
    if (this.#wireEndPushed && this.readableEnded && this.#wireEnded) this.destroy();
  }

  #handshakeFailure(error: unknown, callback: Callback): void {
    if (!(error instanceof RemoteProtocolError)) {
      callback(error as Error);
      return;
    }
    this.#closeCode = CloseReason.ABNORMAL_CLOSURE;
    this.#closeReason = error.message;
    const hint = error.eventHint;
    if (
      !this.#client &&
      hint instanceof RejectConnectionEvent &&
      this.connection.state === ConnectionState.CONNECTING
    ) {
      // Tell the client what was wrong, then fail the stream with the error.
      try {
        this.#rejectWith(hint.statusCode, `${error.message}\n`, hint.headers);
      } catch {
        // The state no longer allows a response; just fail.
      }
      this.once('end', () => this.destroy(error));
      callback();
      return;
    }
    callback(error);
  }

  #touch(): void {
    const interval = this.#options.pingInterval ?? 0;
    if (interval <= 0 || this.connection.state !== ConnectionState.OPEN) return;
    if (this.#pingTimer !== null) this.#clear(this.#pingTimer);
    this.#pingTimer = this.#timer(interval, () => {
      this.#pingTimer = null;
      if (this.connection.state !== ConnectionState.OPEN) return;
      this.#write(new PingEvent({ payload: Buffer.from('keepalive') }));
      this.#pongTimer ??= this.#timer(this.#options.pongTimeout ?? interval, () => {
        this.#closeReason = 'no pong before the keepalive deadline';
        this.destroy();
      });
    });
  }

  #timer(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.#timers.add(t);
    return t;
  }

  #clear(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.#timers.delete(t);
  }
}
