/**
 * `WebSocketDuplex`: the sans-I/O core under a Node Duplex (`readable-stream`).
 *
 *              transport (net.Socket, tls.TLSSocket, an http2 stream ...)
 *                  │ bytes                                  ▲ bytes
 *                  ▼                                        │
 *     ┌────────────────────────── WebSocketDuplex (the wire face) ─────────────┐
 *     │  _write(bytes) ──▶ WSConnection.receiveData ──▶ events ──┬──▶ 'message', messages() ...
 *     │       ▲ (held while ws.app's or messages()' reader is behind) └──▶ ws.app readable (objects)
 *     │  push(bytes) ◀── OutQueue ◀── WSConnection.send ◀── send(), ws.app writable
 *     │       (ws.app write callbacks held while the transport is behind)        │
 *     └────────────────────────────────────────────────────────────────────────┘
 *
 * A thin adapter: the core owns the protocol state, closing included, and the automatic
 * replies; this class moves bytes and events and applies what the core says. Its own
 * state is flow (flow.ts, out-queue.ts, messages.ts): input is held only while a reader
 * (`ws.app`, `messages()`) is behind, never for our own output, so two endpoints that both send bursts cannot
 * deadlock. A peer never causes 'error': it ends in one 'close' (ending.ts, close-report.ts).
 */
import { Duplex, type DuplexOptions } from 'readable-stream';
import { CloseReason } from '../close-codes';
import { ConnectionState, ConnectionType, type ConnectionRole, type SendableType } from '../connection';
import { LocalProtocolError } from '../errors';
import {
  CloseConnectionEvent,
  PingEvent,
  PongEvent,
  type AcceptConnectionInit,
  type ConnectionEvent,
  type Headers,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { PreparedMessage } from '../prepared-message';
import { WSConnection } from '../ws-connection';
import { AppFace } from './app-face';
import { Flow, type Callback } from './flow';
import { dispatch, type DispatchTarget } from './duplex-events';
import { Ending } from './ending';
import { LifecycleTimers } from './lifecycle-timers';
import { MessageQueue, type Message, type MessagesOptions } from './messages';
import { coreOptions, makeExtensions, messageEvent, resolveTimings, wireOptions } from './options';
import type { ResolvedTimings, SendOptions, WebSocketDuplexOptions } from './options';
import { OutQueue } from './out-queue';
import { closeReport } from './close-report';
import { Opening, clientRequest, type HandshakeResponse, type HeadSink } from './opening';
import { defineReadyStates, readyStateOf, type ReadyState } from './ready-state';

/** @internal Ends the stream because its transport failed or went away (never emits 'error'). */
export const kAbort = Symbol('wsproto.abort');

/** @internal Waits for the transport to take more output (the server's slow-client queues). */
export const kWhenDrained = Symbol('wsproto.whenDrained');

/** @internal Explains an end of input that may turn out abnormal (an HTTP/2 reset). */
export const kEndCause = Symbol('wsproto.endCause');

/** @internal HTTP/2: the HEADERS the stream received (see `WSConnection.receiveHeaders`). */
export const kHeaders = Symbol('wsproto.headers');

/**
 * The Duplex WebSocket: wire bytes on the stream itself, events on `ws.app`. Its event
 * methods are typed by `WebSocketDuplexEvents` (see duplex-events.ts).
 */
export class WebSocketDuplex extends Duplex {
  /** The sans-I/O connection underneath (read its state; do not feed it). */
  readonly connection: WSConnection;
  readonly #timings: ResolvedTimings;
  readonly #url: string;
  readonly #client: boolean;
  readonly #out: OutQueue;
  readonly #timers: LifecycleTimers;
  #app: AppFace | null = null;
  readonly #messages: MessageQueue;
  // Input waits while events wait for their reader (none come after our output ended).
  readonly #flow = new Flow(
    () => !this.#ending.wireEnded && (this.#paused || this.#messages.full || !!this.#app?.full),
  );
  // How the stream ends: our output, the peer's, the deadlines, the cause.
  readonly #ending: Ending = new Ending({
    endOutput: () => {
      this.#out.close(true);
      this.push(null);
      this.#app?.endReadable();
      this.#messages.end();
      this.#flow.releaseInput();
    },
    onceOutputTaken: (callback) => void this.once('end', callback),
    outputTaken: () => this.readableEnded,
    core: () => this.connection.connection,
    readerBehindButMoving: () => this.#flow.behindButMoving(),
    outputPending: () => this.bufferedAmount,
    armClose: () => this.#timers.armClose(),
    postponeClose: () => this.#timers.postponeClose(),
    isDestroyed: () => this.destroyed,
    destroy: () => this.destroy(),
  });
  readonly #opening: Opening;
  readonly #heads: HeadSink | null;
  readonly #to: DispatchTarget;
  #paused = false; // client: events wait a turn after 'open' (see #opened)

  /**
   * Make a stream for one connection; pipe the transport through it. A client stream
   * needs `options.request` and writes the request at once. Most programs use
   * `connect` (client) or `handleUpgrade` (server behind `http.Server`) instead.
   *
   * @param role `'client'` or `'server'`.
   * @param options handshake, limits, timeouts and conveniences.
   * @param heads @internal over HTTP/2 (RFC 8441): where the handshake's heads go.
   */
  constructor(role: ConnectionRole, options: WebSocketDuplexOptions = {}, heads?: HeadSink) {
    const timings = resolveTimings(options);
    super(wireOptions(timings) as DuplexOptions);
    this.#timings = timings;
    this.#url = options.request?.url ?? '';
    this.#client = role === ConnectionType.CLIENT;
    this.#heads = heads ?? null;
    const http2 = heads === undefined ? {} : { http2: true, scheme: heads.scheme };
    this.connection = new WSConnection(role, { ...coreOptions(options), ...http2 });
    this.#out = new OutQueue(this as unknown as Duplex);
    this.#messages = new MessageQueue(
      { resume: () => process.nextTick(() => this.#resume()), close: () => this.close() },
      timings.appHighWaterMark,
    );
    this.#opening = new Opening(
      {
        send: (event) => this.#sendHead(event),
        opened: () => this.#opened(),
        endWire: () => this.#ending.endWire(),
        noteCause: (error) => this.#ending.noteCause(error),
        isDestroyed: () => this.destroyed,
      },
      extensionsOf(options), // not a closure here: this constructor's closures must not hold the options
    );
    this.#to = {
      app: () => this.#app,
      opening: this.#opening,
      messages: this.#messages,
      hook: options.accept,
      emitter: this,
    };
    this.#timers = new LifecycleTimers(timings, {
      ...this.#ending.deadlines,
      sendKeepalivePing: () => this.#sendEvent(new PingEvent({ payload: Buffer.from('keepalive') })),
    });
    if (this.#client) this.#sendHead(clientRequest(options));
    // Armed after the request was validated and written (a refused request throws above).
    this.#timers.startHandshake();
  }

  /** The object-mode face: readable yields events, writable takes events, strings and Buffers. */
  get app(): Duplex {
    this.#app ??= new AppFace(
      {
        ready: () => this.connection.connection !== null || this.#ending.outputOver,
        transmit: (event) => this.#transmit(event),
        holdWriter: (callback) => this.#flow.holdWriter(callback),
        resumeFromApp: () => this.#flow.releaseInput(),
        close: () => this.close(),
      },
      this.#timings.appHighWaterMark,
    );
    return this.#app;
  }

  /**
   * Whole messages, `for await (const { data, isBinary } of ws.messages())`, with
   * backpressure; it ends when the WebSocket closes, and leaving it early closes (1000).
   */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<Message> {
    return this.#messages.iterate(options);
  }

  /** The negotiated subprotocol after 'open', '' when none (as in `ws` and the browser). */
  get protocol(): string {
    return this.#opening.protocol ?? '';
  }

  /** Client: the URL of the connection (the last one after redirects); '' otherwise. */
  get url(): string {
    return this.#url;
  }

  /** Client: the server's 101 response (status and headers) once open; null before, and on a server. */
  get response(): HandshakeResponse | null {
    return this.#opening.response;
  }

  /** The negotiated extensions (after 'open'). */
  get extensions(): readonly Extension[] {
    return this.connection.connection?.extensions ?? [];
  }

  /** The connection state (`ConnectionState`). */
  get state(): string {
    return this.connection.state;
  }

  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (`WebSocketDuplex.OPEN` ...), as in `ws`. */
  get readyState(): ReadyState {
    return readyStateOf(this.connection.state, this.#ending.wireEnded, this.destroyed);
  }

  /** Bytes produced for the transport and not yet taken by it. */
  get bufferedAmount(): number {
    return this.readableLength + this.#out.pending;
  }

  // ---- the wire face ----

  /** @internal Duplex implementation: bytes from the transport. */
  override _write(chunk: Buffer, _encoding: string, callback: Callback): void {
    if (this.#ending.wireEnded && this.connection.connection === null) {
      // A refused handshake: read no more of what the client sends (an endless head ...);
      // the stream is dropped once the response is out, or at closeTimeout.
      this.#flow.holdInput(callback);
      return;
    }
    if (this.#ending.outputOver || this.connection.state === ConnectionState.CLOSED) {
      callback(); // closed, lingering until the peer's EOF: input is read and dropped
      return;
    }
    this.#timers.received();
    if (!this.#feed(() => this.connection.receiveData(chunk))) return callback();
    this.#process();
    this.#flow.input(callback);
  }

  /** @internal Duplex implementation: the transport's input ended. */
  override _final(callback: Callback): void {
    this.#ending.peerEnd(() => {
      this.#paused = false;
      this.#feed(() => this.connection.receiveData(null));
      this.#process();
    });
    callback();
  }

  /** @internal Duplex implementation: the transport wants more bytes. */
  override _read(): void {
    this.#out.flush();
    this.#flow.releaseWriters();
  }

  /** @internal Duplex implementation: release timers and held callbacks, then emit 'close'. */
  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#timers.clear();
    this.#out.close(false);
    const report = closeReport(this.connection.connection, error ?? this.#ending.cause, this.#opening.ended);
    this.#app?.finish(null);
    this.#messages.end();
    callback(error);
    this.#flow.end(dropped('the WebSocket closed before this was sent'));
    const emitClose = () => this.emit('close', ...report);
    if (this.#app === null) process.nextTick(emitClose);
    else this.#app.afterDrained(emitClose, this.#timings.closeTimeout);
  }

  /** @internal The transport failed or closed under us (see socket-wiring). */
  [kAbort](cause: Error | null): void {
    this.#ending.abort(cause);
  }

  /** @internal Why the transport's input ended, should the end turn out abnormal (no close frame). */
  [kEndCause](cause: Error): void {
    this.#ending.noteCause(cause);
  }

  /** @internal Call back the next time the transport takes more of our output (with an error if the stream ends first). */
  [kWhenDrained](callback: Callback): void {
    if (this.destroyed) process.nextTick(callback, dropped('the WebSocket closed'));
    else this.#flow.holdWriter(callback);
  }

  /** @internal HTTP/2: the stream's HEADERS (the request, or the response), and whether they ended it. */
  [kHeaders](headers: Headers | readonly string[], endStream: boolean): void {
    if (this.#feed(() => this.connection.receiveHeaders(headers, endStream))) this.#process();
  }

  /**
   * Server: start from a request head another HTTP layer parsed (see `handleUpgrade`).
   * An invalid request is answered with its rejection, and the stream closes.
   */
  initiateUpgrade(rawHeaders: readonly string[] | Headers, target: string, method = 'GET', version = '1.1'): void {
    if (this.#feed(() => this.connection.initiateUpgradeConnection(rawHeaders, target, method, version))) {
      this.#process();
    }
  }

  /**
   * Send a message (text for strings unless `binary`; binary for Buffers). Returns false
   * when the transport is behind (the callback then waits until it takes more). After
   * the close handshake started the message is dropped: false, and the callback gets an
   * `ERR_INVALID_STATE` error. Throws `LocalProtocolError` before the handshake completed.
   * A `PreparedMessage` (a broadcast) goes out as it was prepared; `options` do not apply.
   */
  send(data: string | Uint8Array | PreparedMessage, options: SendOptions = {}, callback?: Callback): boolean {
    return this.#sendEvent(data instanceof PreparedMessage ? data : messageEvent(data, options), callback);
  }

  /** Send a ping (payload at most 125 bytes); dropped like `send()` after the close started. */
  ping(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#sendEvent(new PingEvent({ payload: bytes(payload) }), callback);
  }

  /** Send an unsolicited pong (RFC 6455 5.5.3: a heartbeat; at most 125 bytes), like `ping()`. */
  pong(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#sendEvent(new PongEvent({ payload: bytes(payload) }), callback);
  }

  /**
   * Start the close handshake (default 1000), or answer the peer's close when
   * `autoCloseReply` is off. Does nothing once our close is sent. Before the handshake
   * completed it drops the connection.
   */
  close(code: number = CloseReason.NORMAL_CLOSURE, reason = ''): void {
    if (this.destroyed) return;
    if (this.connection.connection === null) {
      if (this.#ending.wireEnded) return; // a rejection is on its way
      this.#opening.ended = 'closed before the opening handshake completed';
      this.destroy();
      return;
    }
    if (this.connection.connection.canSend('close')) this.#sendEvent(new CloseConnectionEvent({ code, reason }));
  }

  /** Drop the connection now, without a close handshake (close code 1006). */
  terminate(): void {
    this.destroy();
  }

  /** Server: accept the pending request (from a 'request' listener). */
  accept(init: AcceptConnectionInit = {}): void {
    this.#opening.accept(init);
  }

  /** Server: reject the pending request with an HTTP status and an optional body. */
  reject(statusCode = 403, body: string | Buffer = '', headers: Headers = []): void {
    this.#opening.reject(statusCode, body, headers);
  }

  // ---- events in ----

  /** Give the core input; a handshake it refuses is answered (see Opening.failed). False when it threw. */
  #feed(input: () => void): boolean {
    try {
      input();
      return true;
    } catch (error) {
      this.#opening.failed(error, !this.#client && this.connection.state === ConnectionState.CONNECTING);
      return false;
    }
  }

  #process(): void {
    for (;;) {
      if (this.#paused || this.destroyed) return;
      // The messages() loop is behind: the rest waits in the core (unless the peer ended).
      if (this.#messages.full === true && !this.#ending.peerEnded) break;
      const event = this.connection.nextEvent();
      if (event === null) break;
      for (const bytes of this.connection.dataToSend()) {
        if (event.type === 'ping') this.#out.writePong(bytes);
        else this.#out.write(bytes);
      }
      dispatch(event, this.#to);
    }
    this.#ending.followCore();
  }

  #opened(): void {
    this.#to.hook = undefined; // the accept hook (and the request it holds) is done with
    this.#timers.opened();
    this.emit('open');
    this.#app?.opened();
    if (this.#client) {
      // Frames that came in the same read as the 101 wait a turn, until the code that
      // awaited the open stream (connect()'s promise) has attached its listeners.
      this.#paused = true;
      setImmediate(() => {
        this.#paused = false;
        this.#resume();
      });
    } else this.#process(); // frames the client sent early
  }

  /** A reader caught up: take the events that waited in the core, then more input. */
  #resume(): void {
    this.#process();
    this.#flow.releaseInput();
  }

  // ---- events out ----

  /** A handshake event: head bytes on the wire, or over HTTP/2 a header list for the stream (a body stays bytes). */
  #sendHead(event: WSEvent): void {
    if (this.#heads === null || event.type === 'reject-data') this.#out.write(this.connection.send(event));
    else this.#heads.send(this.connection.sendHeaders(event), event.type === 'reject' && !event.hasBody);
  }

  /** Serialize and queue an event; null when it is dropped (the close handshake started, or the stream ended). */
  #transmit(event: WSEvent | PreparedMessage): boolean | null {
    const core = this.connection.connection;
    if (core === null || this.#ending.outputOver || !core.canSend(typeOf(event) as SendableType)) return null;
    const prepared = event instanceof PreparedMessage;
    const ok = this.#out.write(prepared ? core.sendPrepared(event) : this.connection.send(event));
    if (!prepared && event.type === 'close') this.#ending.followCore();
    return ok;
  }

  #sendEvent(event: ConnectionEvent | PreparedMessage, callback?: Callback): boolean {
    if (this.connection.connection === null && !this.#ending.outputOver) {
      throw new LocalProtocolError(
        `cannot send '${typeOf(event)}' before the handshake completes`,
        'ERR_INVALID_STATE',
      );
    }
    const ok = this.#transmit(event);
    this.#flow.settle(ok, callback, () => dropped(`cannot send '${typeOf(event)}' in state ${this.connection.state}`));
    return ok === true;
  }
}

defineReadyStates(WebSocketDuplex);
const typeOf = (event: WSEvent | PreparedMessage) =>
  event instanceof PreparedMessage ? (event.binary ? 'bytes' : 'text') : event.type;
const extensionsOf = (options: WebSocketDuplexOptions) => () => makeExtensions(options);
const dropped = (message: string) => new LocalProtocolError(message, 'ERR_INVALID_STATE');
const bytes = (payload: string | Uint8Array) => (typeof payload === 'string' ? Buffer.from(payload) : payload);
