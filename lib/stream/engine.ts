/**
 * The `Engine` of a `WebSocketDuplex`: everything the stream does between its transport
 * and its readers, behind the Duplex's public face (websocket-duplex.ts draws the data
 * flow). It feeds the core, hands its events on, queues its bytes and applies what it
 * says about closing; its parts (flow, out-queue, messages, opening, ending, timers, the
 * object face) keep their own state and call back into it.
 *
 * It owns all those parts: their callbacks are its methods, so a connection costs no
 * closure per callback, and each part lives only while it has work (the opening until
 * open, the timers while one is armed, the flow while something waits, the ending from
 * the first step towards the close): an idle connection keeps its output queue only.
 */
import type { Duplex } from 'readable-stream';
import { ConnectionState, ConnectionType, type ConnectionRole, type SendableType } from '../connection';
import { LocalProtocolError, type RemoteProtocolError } from '../errors';
import { PingEvent, type ConnectionEvent, type WSEvent } from '../events';
import { PreparedMessage } from '../prepared-message';
import type { WSConnection } from '../ws-connection';
import { AppFace, type AppFaceOwner } from './app-face';
import { closeReport } from './close-report';
import { dispatch, type DispatchTarget } from './duplex-events';
import { Ending, type EndingOwner } from './ending';
import { Flow, dropped, inputTaken, settle, type Callback, type FlowOwner, type InputTaken } from './flow';
import { LifecycleTimers, type TimerHooks } from './lifecycle-timers';
import type { MessagePiece } from './message-assembler';
import { MessageRoute, type MessageQueue, type MessageQueueOwner } from './messages';
import { Opening, clientRequest, peerFailed, type HeadSink, type Negotiated, type OpeningOwner } from './opening';
import { extensionsOf, type ResolvedTimings, type WebSocketDuplexOptions } from './options';
import { OutQueue } from './out-queue';
import { ReadableOutput } from './wire-output';
import type { WebSocketDuplex } from './websocket-duplex';

// Flags of one field (see Engine.#flags).
const CLIENT = 1;
const PAUSED = 2; // client: events wait a turn after 'open' (see opened)

/** A core event or a broadcast, as `send` takes them. */
type Outgoing = ConnectionEvent | PreparedMessage;

/** One connection's engine (made by the `WebSocketDuplex` constructor). */
export class Engine
  implements EndingOwner, OpeningOwner, MessageQueueOwner, TimerHooks, AppFaceOwner, DispatchTarget, FlowOwner
{
  readonly ws: WebSocketDuplex;
  readonly timings: ResolvedTimings;
  #flags: number;
  readonly out: OutQueue;
  #timers: LifecycleTimers | null = null; // while one is armed (see opened)
  #route: MessageRoute | null = null; // from the first message in pieces, messages(), or their end
  #flow: Flow | null = null; // from the first input or writer held
  #ending: Ending | null = null; // from the first step towards the end
  #handshake: Opening | Negotiated; // the opening until open (it holds the accept hook), then what it settled
  #app: AppFace | null = null;

  constructor(
    ws: WebSocketDuplex,
    role: ConnectionRole,
    options: WebSocketDuplexOptions,
    timings: ResolvedTimings,
    heads: HeadSink | null,
  ) {
    this.ws = ws;
    this.timings = timings;
    this.#flags = role === ConnectionType.CLIENT ? CLIENT : 0;
    // To the Duplex's readable side, until the library wires the transport (wire-output.ts).
    this.out = new OutQueue(new ReadableOutput(ws as unknown as Duplex));
    const url = options.request?.url;
    this.#handshake = new Opening(this, { makeExtensions: extensionsOf(options), hook: options.accept, heads, url });
    if (role === ConnectionType.CLIENT) this.send(clientRequest(options));
    // Armed after the request was validated and written (a refused request throws above).
    this.timers.startHandshake();
  }

  /** The core (the stream's `connection`). */
  get connection(): WSConnection {
    return this.ws.connection;
  }

  // The opening, while the handshake lasts.
  get #opening(): Opening | null {
    const handshake = this.#handshake;
    return handshake instanceof Opening ? handshake : null;
  }

  /** The handshake's part: throws once the handshake is over (there is no request to decide on). */
  get opening(): Opening {
    if (this.#opening !== null) return this.#opening;
    throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
  }

  /** The subprotocol, and a client's response and URL: the opening's while it lasts, then what it settled. */
  get negotiated(): Negotiated {
    return this.#handshake;
  }

  /** The part that ends the stream, made at the first step towards the end. */
  get ending(): Ending {
    return (this.#ending ??= new Ending(this));
  }

  /** Our output ended (see `Ending.wireEnded`). */
  get wireEnded(): boolean {
    return this.#ending !== null && this.#ending.wireEnded;
  }

  /** The stream was destroyed or our output ended: nothing more is sent. */
  get outputOver(): boolean {
    return this.ws.destroyed || this.wireEnded;
  }

  /** The part that holds input and writers while readers or the transport are behind, made when one first waits. */
  get flow(): Flow {
    return (this.#flow ??= new Flow(this));
  }

  /** The deadlines and keepalive, made when one is armed. */
  get timers(): LifecycleTimers {
    return (this.#timers ??= new LifecycleTimers(this.timings, this));
  }

  // The message route, made on first use.
  get #routed(): MessageRoute {
    return (this.#route ??= new MessageRoute(this, this.timings.appHighWaterMark));
  }

  /** The queue of whole messages for `messages()` (and then 'message' listeners), made on first use. */
  get messages(): MessageQueue {
    return this.#routed.queue;
  }

  /** DispatchTarget: a piece of a message (the `messages()` queue, if any, gets it too). */
  message(event: MessagePiece, listening: boolean): string | Buffer | null {
    // A whole message and nothing routed yet (the common case): straight to the listeners.
    if (this.#route === null && event.messageFinished) return listening ? event.data : null;
    return this.#routed.add(event, listening);
  }

  /** DispatchTarget: no more messages (the queue's iterators finish after what is queued). */
  endMessages(): void {
    this.#routed.end();
  }

  /** The object face, made on first use. */
  face(): AppFace {
    this.#app ??= new AppFace(this, this.timings.appHighWaterMark);
    return this.#app;
  }

  // ---- the wire face ----

  /** Bytes from the transport. */
  write(chunk: Buffer, taken: InputTaken): void {
    if (this.wireEnded && this.connection.connection === null) {
      // A refused handshake: read no more of what the client sends (an endless head ...);
      // the stream is dropped once the response is out, or at closeTimeout.
      return this.flow.holdInput(taken);
    }
    if (this.outputOver || this.connection.state === ConnectionState.CLOSED) {
      return inputTaken(taken); // closed, lingering until the peer's EOF: input is read and dropped
    }
    this.#timers?.received();
    if (!this.#receive(chunk)) return inputTaken(taken);
    this.process();
    if ((this.#flow === null || this.#flow.empty) && !this.mustHoldInput()) {
      this.#flow = null; // nothing waits: the part goes until something does
      inputTaken(taken);
    } else this.flow.input(taken);
  }

  /** The transport's input ended. */
  final(): void {
    this.ending.peerEnd(() => {
      this.#flags &= ~PAUSED;
      this.#receive(null);
      this.process();
    });
  }

  /** The transport wants more bytes. */
  read(): void {
    this.out.flush();
    this.#flow?.releaseWriters();
  }

  /** The stream is being destroyed: release timers and held callbacks, then emit 'close'. */
  destroyed(error: Error | null, callback: (error: Error | null) => void): void {
    this.#timers?.clear();
    this.out.close(false);
    const cause = error ?? this.#ending?.cause ?? null;
    const report = closeReport(this.connection.connection, cause, this.#opening?.ended ?? '');
    this.#app?.finish(null);
    this.endMessages();
    callback(error);
    this.#flow?.end(dropped('the WebSocket closed before this was sent'));
    const emitClose = () => {
      this.out.output.closed();
      this.ws.emit('close', ...report);
    };
    if (this.#app === null) process.nextTick(emitClose);
    else this.#app.afterDrained(emitClose, this.timings.closeTimeout);
  }

  // ---- events in ----

  /** Give the core input; a handshake it refuses is answered (see Opening.failed). False when it threw. */
  feed(input: () => void): boolean {
    try {
      input();
      return true;
    } catch (error) {
      this.#failed(error);
      return false;
    }
  }

  // feed() for bytes, without a closure per chunk (the hot path).
  #receive(chunk: Buffer | null): boolean {
    try {
      this.connection.receiveData(chunk);
      return true;
    } catch (error) {
      this.#failed(error);
      return false;
    }
  }

  /** Take the core's events (and its automatic replies) while the readers keep up. */
  process(): void {
    this.out.beginBatch();
    try {
      for (;;) {
        if ((this.#flags & PAUSED) !== 0 || this.ws.destroyed) return;
        // The messages() loop is behind: the rest waits in the core (unless the peer ended).
        if (this.#route?.full === true && this.#ending?.peerEnded !== true) break;
        const event = this.connection.nextEvent();
        if (event === null) break;
        for (const bytes of this.connection.dataToSend()) {
          if (event.type === 'ping') this.out.writePong(bytes);
          else this.out.write(bytes);
        }
        dispatch(event, this);
      }
      this.#followCore();
    } finally {
      this.out.endBatch();
    }
  }

  // ---- events out ----

  /** Serialize and queue an event; null when it is dropped (the close handshake started, or the stream ended). */
  transmit(event: WSEvent | PreparedMessage): boolean | null {
    const core = this.connection.connection;
    if (core === null || this.outputOver || !core.canSend(typeOf(event) as SendableType)) return null;
    const prepared = event instanceof PreparedMessage;
    const ok = prepared
      ? this.out.write(core.sendPrepared(event))
      : this.out.writeFrame(this.connection.sendSplit(event));
    if (!prepared && event.type === 'close') this.#followCore();
    return ok;
  }

  /** `send()`, `ping()`, `close()` ...: throws before the handshake, calls back as `settle` (flow.ts) says. */
  sendEvent(event: Outgoing, callback?: Callback): boolean {
    if (this.connection.connection === null && !this.outputOver) {
      throw new LocalProtocolError(
        `cannot send '${typeOf(event)}' before the handshake completes`,
        'ERR_INVALID_STATE',
      );
    }
    const ok = this.transmit(event);
    if (callback !== undefined) {
      settle(ok, callback, () => dropped(`cannot send '${typeOf(event)}' in state ${this.connection.state}`), this);
    }
    return ok === true;
  }

  // ---- the parts' callbacks ----

  /** OpeningOwner: a handshake event, as head bytes, or over HTTP/2 a header list (a body stays bytes). */
  send(event: WSEvent): void {
    const heads = this.#opening?.heads ?? null; // (handshake events come while the opening lasts)
    if (heads === null || event.type === 'reject-data') this.out.write(this.connection.send(event));
    else heads.send(this.connection.sendHeaders(event), event.type === 'reject' && !event.hasBody);
  }

  /** OpeningOwner: the handshake completed. */
  opened(): void {
    this.#handshake = this.#opening!.negotiated(); // and drop the rest: the accept hook, what it holds
    this.timers.opened();
    if (!this.#timers!.armed) this.#timers = null; // no keepalive: nothing to time until the close
    this.ws.emit('open');
    this.#app?.opened();
    if ((this.#flags & CLIENT) !== 0) {
      // Frames that came in the same read as the 101 wait a turn, until the code that
      // awaited the open stream (connect()'s promise) has attached its listeners.
      this.#flags |= PAUSED;
      setImmediate(() => {
        this.#flags &= ~PAUSED;
        this.#resumeNow();
      });
    } else this.process(); // frames the client sent early
  }

  endWire(): void {
    this.ending.endWire();
  }

  noteCause(error: Error): void {
    this.ending.noteCause(error);
  }

  isDestroyed(): boolean {
    return this.ws.destroyed;
  }

  /** MessageQueueOwner: a reader caught up; take the events that waited in the core, then more input. */
  resume(): void {
    process.nextTick(() => this.#resumeNow());
  }

  /** MessageQueueOwner, AppFaceOwner: start the close handshake. */
  close(): void {
    this.ws.close();
  }

  /** DispatchTarget: the object face, if it was made. */
  app(): AppFace | null {
    return this.#app;
  }

  /** DispatchTarget: why the core failed the connection, or null. */
  failure(): RemoteProtocolError | null {
    return this.connection.connection?.failure ?? null;
  }

  /** FlowOwner: input waits while events wait for their reader (none come after our output ended). */
  mustHoldInput(): boolean {
    const paused = (this.#flags & PAUSED) !== 0;
    return !this.wireEnded && (paused || this.#route?.full === true || this.#app?.full === true);
  }

  /** AppFaceOwner: writes wait in the face until the handshake completed. */
  ready(): boolean {
    return this.connection.connection !== null || this.outputOver;
  }

  holdWriter(callback: Callback): void {
    this.flow.holdWriter(callback);
  }

  resumeFromApp(): void {
    this.#flow?.releaseInput();
  }

  /** EndingOwner: our output ends (EOF after the queued bytes); the readers' faces end. */
  endOutput(): void {
    this.out.close(true);
    this.out.output.end();
    this.#app?.endReadable();
    this.endMessages();
    this.#flow?.releaseInput();
  }

  onceOutputTaken(callback: () => void): void {
    this.out.output.onceTaken(callback);
  }

  outputTaken(): boolean {
    return this.out.output.taken;
  }

  core(): ReturnType<EndingOwner['core']> {
    return this.connection.connection;
  }

  readerBehindButMoving(): boolean {
    return this.#flow !== null && this.#flow.behindButMoving();
  }

  outputPending(): number {
    return this.out.bufferedAmount;
  }

  destroy(): void {
    this.ws.destroy();
  }

  /** TimerHooks: the deadlines end the stream (see Ending); keepalive pings. */
  handshakeTimedOut(): void {
    this.ending.handshakeTimedOut();
  }

  closeTimedOut(): void {
    this.ending.closeTimedOut();
  }

  pongTimedOut(): void {
    this.ending.pongTimedOut();
  }

  sendKeepalivePing(): void {
    this.sendEvent(new PingEvent({ payload: Buffer.from('keepalive') }));
  }

  #resumeNow(): void {
    this.process();
    this.#flow?.releaseInput();
  }

  // The peer broke the protocol: a server still deciding answers with a rejection.
  #failed(error: unknown): void {
    const opening = this.#opening;
    if (opening === null) peerFailed(this, error);
    else opening.failed(error, (this.#flags & CLIENT) === 0 && this.connection.state === ConnectionState.CONNECTING);
  }

  // Apply what the core says about closing; an open connection that expects no close makes no Ending.
  #followCore(): void {
    const core = this.connection.connection;
    if (core === null) return;
    if (this.#ending !== null || core.closeExpected() || core.shouldEndTransport()) this.ending.followCore();
  }
}

/** The event type `send` is about: a broadcast's message type, or the event's. */
const typeOf = (event: WSEvent | PreparedMessage) =>
  event instanceof PreparedMessage ? (event.binary ? 'bytes' : 'text') : event.type;
