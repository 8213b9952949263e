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
import { type ConnectionRole } from '../connection';
import { CloseConnectionEvent, PingEvent, PongEvent, type AcceptConnectionInit, type Headers } from '../events';
import type { Extension } from '../extensions/extension';
import { PreparedMessage } from '../prepared-message';
import { WSConnection } from '../ws-connection';
import { Engine } from './engine';
import type { TransportOutput } from './wire-output';
import { dropped, type Callback, type InputTaken } from './flow';
import type { Message, MessagesOptions } from './messages';
import { coreOptions, messageEvent, resolveTimings, wireOptions } from './options';
import type { SendOptions, WebSocketDuplexOptions } from './options';
import type { HandshakeResponse, HeadSink } from './opening';
import { defineReadyStates, readyStateOf, type ReadyState } from './ready-state';

/** @internal Ends the stream because its transport failed or went away (never emits 'error'). */
export const kAbort = Symbol('wsproto.abort');

/** @internal Waits for the transport to take more output (the server's slow-client queues). */
export const kWhenDrained = Symbol('wsproto.whenDrained');

/** @internal Explains an end of input that may turn out abnormal (an HTTP/2 reset). */
export const kEndCause = Symbol('wsproto.endCause');

/**
 * @internal Bytes from a transport the library wired itself (socket-wiring.ts): what
 * `_write` does, without the Writable's bookkeeping; `taken` is told only once a reader
 * that is behind took more, and the wiring pauses the transport until then.
 */
export const kInput = Symbol('wsproto.input');

/**
 * @internal Our output goes straight to a transport the library wired (socket-wiring.ts),
 * not through the Duplex's readable side (see `Engine.writeTo`); `kDrained` when it drains.
 */
export const kOutputTo = Symbol('wsproto.outputTo');
/** @internal See `kOutputTo`. */
export const kDrained = Symbol('wsproto.drained');

/** @internal HTTP/2: the HEADERS the stream received (see `WSConnection.receiveHeaders`). */
export const kHeaders = Symbol('wsproto.headers');

/**
 * The table of an EventEmitter's listeners, as EventEmitter wants it (no inherited keys),
 * but made by a constructor, so that V8 keeps it in fast mode: the `{ __proto__: null }`
 * the emitter makes for itself is a dictionary of about 160 bytes, this about 60 (an idle
 * server holds many connections; bench/RESULTS.md on memory). EventEmitter replaces it
 * with its own when the last listener goes.
 */
const ListenerTable = function ListenerTable() {} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/**
 * The Duplex WebSocket: wire bytes on the stream itself, events on `ws.app`. Its event
 * methods are typed by `WebSocketDuplexEvents` (see duplex-events.ts).
 */
export class WebSocketDuplex extends Duplex {
  /** The sans-I/O connection underneath (read its state; do not feed it). */
  readonly connection: WSConnection;
  readonly #e: Engine;

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
    const http2 = heads === undefined ? {} : { http2: true, scheme: heads.scheme };
    this.connection = new WSConnection(role, { ...coreOptions(options), ...http2 });
    this.#e = new Engine(this, role, options, timings, heads ?? null);
    const emitter = this as unknown as { _events: object; _eventsCount: number };
    if (emitter._eventsCount === 0) emitter._events = new ListenerTable();
  }

  /** The object-mode face: readable yields events, writable takes events, strings and Buffers. */
  get app(): Duplex {
    return this.#e.face();
  }

  /**
   * Whole messages, `for await (const { data, isBinary } of ws.messages())`, with
   * backpressure; it ends when the WebSocket closes, and leaving it early closes (1000).
   */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<Message> {
    return this.#e.messages.iterate(options);
  }

  /** The negotiated subprotocol after 'open', '' when none (as in `ws` and the browser). */
  get protocol(): string {
    return this.#e.negotiated.protocol ?? '';
  }

  /** Client: the URL of the connection (the last one after redirects); '' otherwise. */
  get url(): string {
    return this.#e.negotiated.url;
  }

  /** Client: the server's 101 response (status and headers) once open; null before, and on a server. */
  get response(): HandshakeResponse | null {
    return this.#e.negotiated.response;
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
    return readyStateOf(this.connection.state, this.#e.wireEnded, this.destroyed);
  }

  /** Bytes produced for the transport and not yet taken by it. */
  get bufferedAmount(): number {
    return this.#e.out.bufferedAmount;
  }

  // ---- the wire face ----

  /** @internal Duplex implementation: bytes from the transport. */
  override _write(chunk: Buffer, _encoding: string, callback: Callback): void {
    this.#e.write(chunk, callback);
  }

  /** @internal Duplex implementation: the transport's input ended. */
  override _final(callback: Callback): void {
    this.#e.final();
    callback();
  }

  /** @internal Duplex implementation: the transport wants more bytes. */
  override _read(): void {
    this.#e.read();
  }

  /** @internal Duplex implementation: release timers and held callbacks, then emit 'close'. */
  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#e.destroyed(error, callback);
  }

  /** @internal See `kInput`. */
  [kInput](chunk: Buffer, taken: InputTaken): void {
    this.#e.write(chunk, taken);
  }

  /** @internal See `kOutputTo`. */
  [kOutputTo](output: TransportOutput): void {
    this.#e.out.writeTo(output);
  }

  /** @internal See `kOutputTo`: the transport took more of our output. */
  [kDrained](): void {
    this.#e.read();
  }

  /** @internal The transport failed or closed under us (see socket-wiring). */
  [kAbort](cause: Error | null): void {
    this.#e.ending.abort(cause);
  }

  /** @internal Why the transport's input ended, should the end turn out abnormal (no close frame). */
  [kEndCause](cause: Error): void {
    this.#e.ending.noteCause(cause);
  }

  /** @internal Call back the next time the transport takes more of our output (with an error if the stream ends first). */
  [kWhenDrained](callback: Callback): void {
    if (this.destroyed) process.nextTick(callback, dropped('the WebSocket closed'));
    else this.#e.flow.holdWriter(callback);
  }

  /** @internal HTTP/2: the stream's HEADERS (the request, or the response), and whether they ended it. */
  [kHeaders](headers: Headers | readonly string[], endStream: boolean): void {
    if (this.#e.feed(() => this.connection.receiveHeaders(headers, endStream))) this.#e.process();
  }

  /**
   * Server: start from a request head another HTTP layer parsed (see `handleUpgrade`).
   * An invalid request is answered with its rejection, and the stream closes.
   */
  initiateUpgrade(rawHeaders: readonly string[] | Headers, target: string, method = 'GET', version = '1.1'): void {
    if (this.#e.feed(() => this.connection.initiateUpgradeConnection(rawHeaders, target, method, version))) {
      this.#e.process();
    }
  }

  /**
   * Send a message (text for strings unless `binary`; binary for Buffers). Returns false
   * when the transport is behind (the callback then waits until it takes more). After
   * the close handshake started the message is dropped: false, and the callback gets an
   * `ERR_INVALID_STATE` error. Throws `LocalProtocolError` before the handshake completed.
   * A `PreparedMessage` (a broadcast) goes out as it was prepared; `options` do not apply.
   * A server's binary payload of 16 KiB or more is written as it is, not copied (as
   * `socket.write` does): do not change it before the callback.
   */
  send(data: string | Uint8Array | PreparedMessage, options: SendOptions = {}, callback?: Callback): boolean {
    return this.#e.sendEvent(data instanceof PreparedMessage ? data : messageEvent(data, options), callback);
  }

  /** Send a ping (payload at most 125 bytes); dropped like `send()` after the close started. */
  ping(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#e.sendEvent(new PingEvent({ payload: bytes(payload) }), callback);
  }

  /** Send an unsolicited pong (RFC 6455 5.5.3: a heartbeat; at most 125 bytes), like `ping()`. */
  pong(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#e.sendEvent(new PongEvent({ payload: bytes(payload) }), callback);
  }

  /**
   * Start the close handshake (default 1000), or answer the peer's close when
   * `autoCloseReply` is off. Does nothing once our close is sent. Before the handshake
   * completed it drops the connection.
   */
  close(code: number = CloseReason.NORMAL_CLOSURE, reason = ''): void {
    if (this.destroyed) return;
    if (this.connection.connection === null) {
      if (this.#e.wireEnded) return; // a rejection is on its way
      this.#e.opening.ended = 'closed before the opening handshake completed';
      this.destroy();
      return;
    }
    if (this.connection.connection.canSend('close')) this.#e.sendEvent(new CloseConnectionEvent({ code, reason }));
  }

  /** Drop the connection now, without a close handshake (close code 1006). */
  terminate(): void {
    this.destroy();
  }

  /** Server: accept the pending request (from a 'request' listener). */
  accept(init: AcceptConnectionInit = {}): void {
    this.#e.opening.accept(init);
  }

  /** Server: reject the pending request with an HTTP status and an optional body. */
  reject(statusCode = 403, body: string | Buffer = '', headers: Headers = []): void {
    this.#e.opening.reject(statusCode, body, headers);
  }
}

defineReadyStates(WebSocketDuplex);
const bytes = (payload: string | Uint8Array) => (typeof payload === 'string' ? Buffer.from(payload) : payload);
