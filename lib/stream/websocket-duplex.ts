/**
 * `WebSocketDuplex`: the sans-I/O core under a Node Duplex (`readable-stream`).
 *
 *              transport (net.Socket, tls.TLSSocket, an http2 stream ...)
 *                  │ bytes                                  ▲ bytes
 *                  ▼                                        │
 *     ┌────────────────────────── WebSocketDuplex (the wire face) ─────────────┐
 *     │  _write(bytes) ──▶ WSConnection.receiveData ──▶ events ──┬──▶ 'message', 'ping' ...
 *     │       ▲ (callback held while ws.app's reader is behind)  └──▶ ws.app readable (objects)
 *     │  push(bytes) ◀── OutQueue ◀── WSConnection.send ◀── send(), ws.app writable
 *     │       (ws.app write callbacks held while the transport is behind)        │
 *     └────────────────────────────────────────────────────────────────────────┘
 *
 * So `socket.pipe(ws).pipe(socket)` (or `pipeline(socket, ws, socket, cb)`) connects the
 * wire, and `ws.app` carries the conversation as objects.
 *
 * A thin adapter: the core (`Connection`) owns the protocol state, closing included, and
 * makes the automatic replies; this class moves bytes and events and applies what the
 * core says (arm the close deadline when `closeExpected()`, end the transport when
 * `shouldEndTransport()`). Its own state is flow only: held callbacks and the output
 * queue. Backpressure: a reader of `ws.app` that falls behind holds the wire write
 * callback, so `pipe` stops reading the socket; a transport that falls behind holds the
 * callbacks of `ws.app` writers and makes `send()` return false. Input is never held
 * because of our own output, so two endpoints that both send bursts cannot deadlock;
 * the automatic replies a peer can cause are bounded (one waiting pong, one close).
 *
 * Nothing a peer does emits 'error': it ends in one 'close' event with
 * `(code, reason, wasClean, cause)`. 'error' is only for `destroy(error)`.
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
  type ConnectionEvent,
  type Headers,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { WSConnection } from '../ws-connection';
import { AppFace, type Callback } from './app-face';
import type { WebSocketDuplexEvents, WebSocketDuplexListener } from './duplex-events';
import { LifecycleTimers } from './lifecycle-timers';
import { MessageAssembler } from './message-assembler';
import { makeExtensions, resolveTimings, type SendOptions, type WebSocketDuplexOptions } from './options';
import { OutQueue } from './out-queue';
import { decide } from './server-decision';

/** @internal Ends the stream because its transport failed or went away (never emits 'error'). */
export const kAbort = Symbol('wsproto.abort');

/** The event methods of `WebSocketDuplex`, typed by `WebSocketDuplexEvents`. */
// The merge only narrows the types of methods the Duplex base implements (EventEmitter's).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocketDuplex {
  /** Add a listener (see `WebSocketDuplexEvents` for the events and their arguments). */
  on<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Add a one-time listener. */
  once<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Remove a listener. */
  off<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Add a listener. */
  addListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Remove a listener. */
  removeListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Add a listener in front of the others. */
  prependListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Add a one-time listener in front of the others. */
  prependOnceListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
  /** Emit an event. */
  emit<K extends keyof WebSocketDuplexEvents>(event: K, ...args: WebSocketDuplexEvents[K]): boolean;
  /** The number of listeners of an event. */
  listenerCount(event: keyof WebSocketDuplexEvents): number;
}

/** The Duplex WebSocket: wire bytes on the stream itself, events on `ws.app`. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebSocketDuplex extends Duplex {
  /** The sans-I/O connection underneath (read its state; do not feed it). */
  readonly connection: WSConnection;
  readonly #options: WebSocketDuplexOptions;
  readonly #client: boolean;
  readonly #out: OutQueue;
  readonly #timers: LifecycleTimers;
  readonly #assembler = new MessageAssembler();
  #app: AppFace | null = null;
  #heldInput: Callback | null = null; // the wire write callback, while ws.app's reader is behind
  #heldWriters: Callback[] = []; // send() / ws.app callbacks, while the transport is behind
  #preOpen: Array<[WSEvent, Callback]> = []; // ws.app writes made before the handshake completed
  #pendingRequest: RequestEvent | null = null;
  #protocol: string | null = null;
  #extensions: readonly Extension[] = [];
  #cause: Error | null = null; // what ended the stream outside the protocol: timeouts, the transport
  #handshakeEnd = ''; // why the handshake did not complete (rejections)
  #paused = false; // client: events wait a turn after 'open' (see #opened)
  #peerEnded = false; // the transport's input ended
  #wireEnded = false; // our output ended

  /**
   * Make a stream for one connection; pipe the transport through it. A client stream
   * needs `options.request` and writes the request at once. Most programs use
   * `connect` (client) or `handleUpgrade` (server behind `http.Server`) instead.
   *
   * @param role `'client'` or `'server'`.
   * @param options handshake, limits, timeouts and conveniences.
   */
  constructor(role: ConnectionRole, options: WebSocketDuplexOptions = {}) {
    const timings = resolveTimings(options);
    super({
      emitClose: false,
      allowHalfOpen: true,
      decodeStrings: true,
      readableHighWaterMark: timings.highWaterMark,
      writableHighWaterMark: timings.highWaterMark,
    } as DuplexOptions);
    this.#options = options;
    this.#client = role === ConnectionType.CLIENT;
    this.connection = new WSConnection(role, {
      ...options,
      autoPong: options.autoPong !== false,
      autoCloseReply: options.autoCloseReply !== false,
    });
    this.#out = new OutQueue(this as unknown as Duplex);
    this.#timers = new LifecycleTimers(timings, {
      handshakeTimedOut: () => this.#fail('ERR_HANDSHAKE_TIMEOUT', 'the opening handshake timed out'),
      closeTimedOut: () => this.#closeTimedOut(),
      sendKeepalivePing: () => this.#sendEvent(new PingEvent({ payload: Buffer.from('keepalive') })),
      pongTimedOut: () => this.#fail('ERR_PONG_TIMEOUT', 'nothing arrived within pongTimeout of a keepalive ping'),
    });
    if (this.#client) {
      const request = options.request;
      if (request === undefined)
        throw new LocalProtocolError('a client stream needs options.request', 'ERR_INVALID_OPTION');
      const bytes = this.connection.send(
        new RequestEvent({
          host: request.host,
          target: request.target,
          subprotocols: request.subprotocols ?? [],
          extraHeaders: request.extraHeaders ?? [],
          extensions: makeExtensions(options),
        }),
      );
      this.#out.write(bytes);
    }
    // Armed after the request was validated and written (a refused request throws above).
    this.#timers.startHandshake();
  }

  /** The object-mode face: readable yields events, writable takes events, strings and Buffers. */
  get app(): Duplex {
    this.#app ??= new AppFace(
      {
        writeFromApp: (event, callback) => this.#writeFromApp(event, callback),
        resumeFromApp: () => this.#releaseInput(),
        close: () => this.close(),
      },
      resolveTimings(this.#options).appHighWaterMark,
    );
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
    return this.readableLength + this.#out.pending;
  }

  // ---- the wire face ----

  /** @internal Duplex implementation: bytes from the transport. */
  override _write(chunk: Buffer, _encoding: string, callback: Callback): void {
    if (this.#wireEnded && this.connection.connection === null) {
      // A refused handshake: read no more of what the client sends (an endless head ...);
      // the stream is dropped at the peer's EOF or at closeTimeout.
      this.#heldInput = callback;
      return;
    }
    if (this.destroyed || this.#wireEnded || this.connection.state === ConnectionState.CLOSED) {
      callback(); // closed, lingering until the peer's EOF: input is read and dropped
      return;
    }
    this.#timers.received();
    try {
      this.connection.receiveData(chunk);
    } catch (error) {
      this.#handshakeFailed(error);
      callback();
      return;
    }
    this.#process();
    if (this.#mustHoldInput()) this.#heldInput = callback;
    else callback();
  }

  /** @internal Duplex implementation: the transport's input ended. */
  override _final(callback: Callback): void {
    this.#peerEnded = true;
    this.#paused = false;
    try {
      this.connection.receiveData(null);
    } catch (error) {
      this.#handshakeFailed(error);
    }
    this.#process();
    if (this.connection.connection === null) this.#endWire(); // EOF during the handshake
    this.#destroyWhenDone();
    callback();
  }

  /** @internal Duplex implementation: the transport wants more bytes. */
  override _read(): void {
    this.#out.flush();
    const held = this.#heldWriters;
    if (held.length > 0) {
      this.#heldWriters = [];
      for (const cb of held) cb();
    }
  }

  /** @internal Duplex implementation: release timers and held callbacks, then emit 'close'. */
  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#timers.clear();
    this.#out.close(false);
    const [code, reason, wasClean, cause] = this.#closeInfo(error);
    const held = this.#heldInput;
    this.#heldInput = null;
    const writers = this.#heldWriters;
    this.#heldWriters = [];
    const preOpen = this.#preOpen;
    this.#preOpen = [];
    this.#app?.finish(null);
    callback(error);
    held?.();
    const dropped = new LocalProtocolError('the WebSocket closed before this was sent', 'ERR_INVALID_STATE');
    for (const cb of writers) cb(dropped);
    for (const [, cb] of preOpen) cb();
    process.nextTick(() => this.emit('close', code, reason, wasClean, cause));
  }

  /** @internal The transport failed or closed under us (see socket-wiring). */
  [kAbort](cause: Error | null): void {
    if (this.destroyed) return;
    if (cause !== null) this.#cause ??= cause;
    this.destroy();
  }

  /**
   * Server: start from a request head another HTTP layer parsed (see `handleUpgrade`).
   * An invalid request is answered with its rejection, and the stream closes.
   */
  initiateUpgrade(rawHeaders: readonly string[] | Headers, target: string, method = 'GET', version = '1.1'): void {
    try {
      this.connection.initiateUpgradeConnection(rawHeaders, target, method, version);
    } catch (error) {
      this.#handshakeFailed(error);
      return;
    }
    this.#process();
  }

  // ---- the conveniences ----

  /**
   * Send a message (text for strings unless `binary`; binary for Buffers). Returns false
   * when the transport is behind (the callback then waits until it takes more). After
   * the close handshake started the message is dropped: false, and the callback gets an
   * `ERR_INVALID_STATE` error. Throws `LocalProtocolError` before the handshake completed.
   */
  send(data: string | Uint8Array, options: SendOptions = {}, callback?: Callback): boolean {
    const binary = options.binary ?? typeof data !== 'string';
    const compress = options.compress === undefined ? {} : { compress: options.compress };
    const event = binary
      ? new BytesMessageEvent({ data: typeof data === 'string' ? Buffer.from(data) : data, ...compress })
      : new TextMessageEvent({ data: typeof data === 'string' ? data : Buffer.from(data).toString(), ...compress });
    return this.#sendEvent(event, callback);
  }

  /** Send a ping (payload at most 125 bytes); dropped like `send()` after the close started. */
  ping(payload: string | Uint8Array = Buffer.alloc(0), callback?: Callback): boolean {
    return this.#sendEvent(
      new PingEvent({ payload: typeof payload === 'string' ? Buffer.from(payload) : payload }),
      callback,
    );
  }

  /**
   * Start the close handshake (default 1000), or answer the peer's close when
   * `autoCloseReply` is off. Does nothing once our close is sent. Before the handshake
   * completed it drops the connection.
   */
  close(code: number = CloseReason.NORMAL_CLOSURE, reason = ''): void {
    if (this.destroyed) return;
    if (this.connection.connection === null) {
      if (this.#wireEnded) return; // a rejection is on its way
      this.#handshakeEnd = 'closed before the opening handshake completed';
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
    if (this.#pendingRequest === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    const extensions = init.extensions ?? makeExtensions(this.#options);
    this.#out.write(this.connection.send(new AcceptConnectionEvent({ ...init, extensions })));
    this.#pendingRequest = null;
    this.#opened();
    this.#process();
  }

  /** Server: reject the pending request with an HTTP status and an optional body. */
  reject(statusCode = 403, body: string | Buffer = '', headers: Headers = []): void {
    if (this.#pendingRequest === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    this.#rejectWith(statusCode, body, headers);
    this.#pendingRequest = null;
    this.#handshakeEnd = `rejected with ${statusCode}`;
  }

  // ---- events in ----

  #process(): void {
    for (;;) {
      if (this.#paused || this.destroyed) return;
      const event = this.connection.nextEvent();
      if (event === null) break;
      for (const bytes of this.connection.dataToSend()) {
        if (event.type === 'ping') this.#out.writePong(bytes);
        else this.#out.write(bytes);
      }
      this.#dispatch(event);
    }
    this.#followCore();
  }

  #dispatch(event: WSEvent): void {
    this.#app?.deliver(event);
    switch (event.type) {
      case 'request':
        this.#pendingRequest = event;
        this.emit('request', event);
        if (this.#options.accept !== undefined) decide(event, this.#options.accept, this.#decisionTarget());
        else if (this.listenerCount('request') === 0 && this.#pendingRequest === event) this.accept();
        break;
      case 'accept':
        this.#protocol = event.subprotocol;
        this.#extensions = event.extensions;
        this.#opened();
        break;
      case 'reject':
        this.#handshakeEnd = `the server rejected the handshake with ${event.statusCode}`;
        this.emit('rejected', event);
        if (!event.hasBody) this.#endWire();
        break;
      case 'reject-data':
        this.emit('rejected-data', event);
        if (event.bodyFinished) this.#endWire();
        break;
      case 'text':
      case 'bytes': {
        const whole = this.#assembler.add(event, this.listenerCount('message') > 0);
        if (whole !== null) this.emit('message', whole, event.type === 'bytes');
        break;
      }
      case 'ping':
        this.emit('ping', event.payload);
        break;
      case 'pong':
        this.emit('pong', event.payload);
        break;
      case 'close':
        break; // the core answered it (autoCloseReply); #followCore ends what is left
    }
  }

  /** Apply what the core says about closing. */
  #followCore(): void {
    const core = this.connection.connection;
    if (core === null || this.destroyed) return;
    if (core.closeExpected()) this.#timers.armClose();
    if (core.shouldEndTransport()) this.#endWire();
  }

  #opened(): void {
    this.#timers.opened();
    if (!this.#client) this.#extensions = this.connection.connection?.extensions ?? [];
    this.emit('open');
    const early = this.#preOpen;
    this.#preOpen = [];
    for (const [event, cb] of early) this.#writeFromApp(event, cb);
    if (this.#client) {
      // Frames that came in the same read as the 101 wait a turn, until the code that
      // awaited the open stream (connect()'s promise) has attached its listeners.
      this.#paused = true;
      setImmediate(() => {
        this.#paused = false;
        this.#process();
        this.#releaseInput();
      });
    }
  }

  #mustHoldInput(): boolean {
    return this.#paused || (this.#app !== null && this.#app.full);
  }

  #releaseInput(): void {
    if (this.#heldInput === null) return;
    // Readable calls _read before it removes the chunk it hands out: look once it has.
    process.nextTick(() => {
      const held = this.#heldInput;
      if (held === null || this.#mustHoldInput()) return;
      this.#heldInput = null;
      held();
    });
  }

  // ---- events out ----

  #sendEvent(event: ConnectionEvent, callback?: Callback): boolean {
    const core = this.connection.connection;
    if (core === null && !this.destroyed && !this.#wireEnded) {
      throw new LocalProtocolError(`cannot send '${event.type}' before the handshake completes`, 'ERR_INVALID_STATE');
    }
    if (core === null || this.destroyed || this.#wireEnded || !core.canSend(event.type)) {
      const error = new LocalProtocolError(
        `cannot send '${event.type}' in state ${this.connection.state}`,
        'ERR_INVALID_STATE',
      );
      if (callback) process.nextTick(callback, error);
      return false;
    }
    const ok = this.#out.write(this.connection.send(event));
    if (event.type === 'close') this.#followCore();
    if (callback) {
      if (ok) process.nextTick(callback);
      else this.#heldWriters.push(callback);
    }
    return ok;
  }

  #writeFromApp(event: WSEvent, callback: Callback): void {
    const core = this.connection.connection;
    if (core === null) {
      // Held until the handshake completes; dropped if it never does.
      if (this.destroyed || this.#wireEnded) callback();
      else this.#preOpen.push([event, callback]);
      return;
    }
    // After the close handshake started, messages are dropped (as a browser does).
    if (this.destroyed || this.#wireEnded || !core.canSend(event.type as ConnectionEvent['type'])) {
      callback();
      return;
    }
    let ok: boolean;
    try {
      ok = this.#out.write(this.connection.send(event));
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (event.type === 'close') this.#followCore();
    if (ok) callback();
    else this.#heldWriters.push(callback);
  }

  // ---- closing ----

  /** End our output (the transport gets EOF once it took every byte); destroy when both sides ended. */
  #endWire(): void {
    if (this.#wireEnded) return;
    this.#wireEnded = true;
    this.#out.close(true);
    this.push(null);
    this.#app?.endReadable();
    this.#timers.armClose();
    // Destroying before the peer's EOF would make a socket with unread input send RST,
    // which can discard our close frame at the peer: linger until its EOF (bounded).
    this.once('end', () => this.#destroyWhenDone());
    this.#destroyWhenDone();
  }

  #destroyWhenDone(): void {
    // A refused handshake is done once the response is out (what the client sends more
    // is not read); a WebSocket once the peer ended its side too.
    const peerDone = this.#peerEnded || this.connection.connection === null;
    if (this.#wireEnded && peerDone && this.readableEnded) this.destroy();
  }

  #closeTimedOut(): void {
    const core = this.connection.connection;
    if (core === null || (core.closeReceived === null && core.failure === null)) {
      this.#fail('ERR_CLOSE_TIMEOUT', 'the peer did not answer the close within closeTimeout');
    } else this.destroy(); // the close handshake is done; the peer was slow to end the transport
  }

  /** End the stream for a reason outside the protocol (a timeout): close code 1006. */
  #fail(code: 'ERR_HANDSHAKE_TIMEOUT' | 'ERR_CLOSE_TIMEOUT' | 'ERR_PONG_TIMEOUT', message: string): void {
    this.#cause ??= new RemoteProtocolError(message, { code, closeCode: CloseReason.ABNORMAL_CLOSURE });
    this.destroy();
  }

  #handshakeFailed(error: unknown): void {
    if (!(error instanceof RemoteProtocolError)) throw error;
    this.#cause ??= error;
    const hint = error.eventHint;
    if (
      !this.#client &&
      hint instanceof RejectConnectionEvent &&
      this.connection.state === ConnectionState.CONNECTING
    ) {
      // Tell the client what was wrong.
      this.#rejectWith(hint.statusCode, `${error.message}\n`, hint.headers);
    } else this.#endWire();
  }

  #rejectWith(statusCode: number, body: string | Buffer, headers: Headers): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const all: Array<readonly [string, string]> = [...headers, ['Content-Length', String(bytes.length)]];
    if (bytes.length > 0 && !headers.some(([n]) => n.toLowerCase() === 'content-type')) {
      all.push(['Content-Type', 'text/plain; charset=utf-8']);
    }
    this.#out.write(
      this.connection.send(new RejectConnectionEvent({ statusCode, headers: all, hasBody: bytes.length > 0 })),
    );
    if (bytes.length > 0)
      this.#out.write(this.connection.send(new RejectDataEvent({ data: bytes, bodyFinished: true })));
    this.#endWire();
  }

  #decisionTarget() {
    return {
      awaits: (request: RequestEvent) => !this.destroyed && this.#pendingRequest === request,
      accept: (init: AcceptConnectionInit) => this.accept(init),
      reject: (statusCode: number, body: string | Buffer, headers: Headers) => this.reject(statusCode, body, headers),
      hookFailed: (error: Error) => {
        this.#cause ??= error;
        this.#pendingRequest = null;
        this.#handshakeEnd = 'the accept hook failed';
        this.#rejectWith(500, '', []);
      },
    };
  }

  /** The close code, reason, cleanness and cause, from the core and the transport. */
  #closeInfo(error: Error | null): [number, string, boolean, Error | null] {
    const core = this.connection.connection;
    const cause = error ?? this.#cause;
    if (core === null) {
      const reason = this.#handshakeEnd || cause?.message || 'the transport closed before the handshake completed';
      return [CloseReason.ABNORMAL_CLOSURE, reason, false, cause];
    }
    const failure = core.failure;
    if (failure !== null && failure.code !== 'ERR_ABNORMAL_CLOSURE') {
      return [failure.closeCode, failure.message, false, failure]; // the peer broke the protocol
    }
    const received = core.closeReceived;
    if (received !== null) return [received.code, received.reason, core.wasClean, core.wasClean ? null : cause];
    const lost =
      cause ??
      failure ??
      new RemoteProtocolError('the transport ended without a close frame', {
        code: 'ERR_ABNORMAL_CLOSURE',
        closeCode: CloseReason.ABNORMAL_CLOSURE,
      });
    return [CloseReason.ABNORMAL_CLOSURE, lost.message, false, lost];
  }
}
