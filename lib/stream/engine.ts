/**
 * The `Engine` of a `WebSocketDuplex`: everything the stream does between its transport
 * and its readers, behind the Duplex's public face (websocket-duplex.ts draws the data
 * flow). It feeds the core, hands its events on, queues its bytes and applies what it
 * says about closing; its parts (flow, out-queue, messages, opening, ending, timers, the
 * object face) keep their own state and call back into it.
 *
 * It is the one owner of all those parts: their callbacks are its methods, on the
 * prototype, so a connection costs one object here and no closure per callback (an idle
 * server holds many connections; see bench/RESULTS.md on memory).
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
import { Flow, dropped, inputTaken, type Callback, type FlowOwner, type InputTaken } from './flow';
import { LifecycleTimers, type TimerHooks } from './lifecycle-timers';
import { MessageAssembler, type MessagePiece } from './message-assembler';
import { MessageQueue, type MessageQueueOwner } from './messages';
import { Opening, clientRequest, type HeadSink, type OpeningOwner } from './opening';
import { extensionsOf, type ResolvedTimings, type WebSocketDuplexOptions } from './options';
import { OutQueue } from './out-queue';
import { ReadableOutput, TransportOutput, type WireOutput } from './wire-output';
import type { WebSocketDuplex } from './websocket-duplex';

/** A core event or a broadcast, as `send` takes them. */
type Outgoing = ConnectionEvent | PreparedMessage;

/** One connection's engine (made by the `WebSocketDuplex` constructor). */
export class Engine
  implements EndingOwner, OpeningOwner, MessageQueueOwner, TimerHooks, AppFaceOwner, DispatchTarget, FlowOwner
{
  readonly ws: WebSocketDuplex;
  readonly connection: WSConnection;
  readonly timings: ResolvedTimings;
  readonly url: string;
  readonly #client: boolean;
  readonly out: OutQueue;
  readonly timers: LifecycleTimers;
  #messages: MessageQueue | null = null; // made by messages(): 'message' listeners need none
  #messagesEnded = false; // end() came before the queue was made
  // For 'message' listeners while there is no queue, from the first message in pieces.
  #assembler: MessageAssembler | null = null;
  readonly flow: Flow;
  readonly ending: Ending;
  readonly opening: Opening;
  readonly #heads: HeadSink | null;
  #app: AppFace | null = null;
  /** The accept hook; dropped once the handshake is over (it holds the HTTP request). */
  hook: WebSocketDuplexOptions['accept'];
  #paused = false; // client: events wait a turn after 'open' (see opened)
  // Where our output goes: the Duplex's readable side, until the library wires the
  // transport and it goes there directly (wire-output.ts).
  #output: WireOutput;

  constructor(
    ws: WebSocketDuplex,
    role: ConnectionRole,
    options: WebSocketDuplexOptions,
    timings: ResolvedTimings,
    heads: HeadSink | null,
  ) {
    this.ws = ws;
    this.connection = ws.connection;
    this.timings = timings;
    this.url = options.request?.url ?? '';
    this.#client = role === ConnectionType.CLIENT;
    this.#heads = heads;
    this.hook = options.accept;
    this.#output = new ReadableOutput(ws as unknown as Duplex);
    this.out = new OutQueue(this);
    this.flow = new Flow(this);
    this.ending = new Ending(this);
    this.opening = new Opening(this, extensionsOf(options));
    this.timers = new LifecycleTimers(timings, this);
    if (this.#client) this.send(clientRequest(options));
    // Armed after the request was validated and written (a refused request throws above).
    this.timers.startHandshake();
  }

  /** The queue of whole messages for `messages()` (and then 'message' listeners), made on first use. */
  get messages(): MessageQueue {
    if (this.#messages === null) {
      this.#messages = new MessageQueue(this, this.timings.appHighWaterMark, this.#assembler ?? undefined);
      this.#assembler = null;
      if (this.#messagesEnded) this.#messages.end();
    }
    return this.#messages;
  }

  /** DispatchTarget: a piece of a message (the `messages()` queue, if any, gets it too). */
  message(event: MessagePiece, listening: boolean): string | Buffer | null {
    if (this.#messages !== null) return this.#messages.add(event, listening);
    if (this.#assembler === null && event.messageFinished) return listening ? event.data : null;
    return (this.#assembler ??= new MessageAssembler()).add(event, listening);
  }

  /** DispatchTarget: no more messages (the queue's iterators finish after what is queued). */
  endMessages(): void {
    if (this.#messages === null) this.#messagesEnded = true;
    else this.#messages.end();
  }

  /** The object face, made on first use. */
  face(): AppFace {
    this.#app ??= new AppFace(this, this.timings.appHighWaterMark);
    return this.#app;
  }

  // ---- the wire face ----

  /** Bytes from the transport. */
  write(chunk: Buffer, taken: InputTaken): void {
    if (this.ending.wireEnded && this.connection.connection === null) {
      // A refused handshake: read no more of what the client sends (an endless head ...);
      // the stream is dropped once the response is out, or at closeTimeout.
      this.flow.holdInput(taken);
      return;
    }
    if (this.ending.outputOver || this.connection.state === ConnectionState.CLOSED) {
      inputTaken(taken); // closed, lingering until the peer's EOF: input is read and dropped
      return;
    }
    this.timers.received();
    if (!this.#receive(chunk)) return inputTaken(taken);
    this.process();
    this.flow.input(taken);
  }

  /** The transport's input ended. */
  final(): void {
    this.ending.peerEnd(() => {
      this.#paused = false;
      this.#receive(null);
      this.process();
    });
  }

  /** The transport wants more bytes. */
  read(): void {
    this.out.flush();
    this.flow.releaseWriters();
  }

  /**
   * Write our output straight to `output`'s transport from now on (what is already on the readable
   * side goes first): the library wired the transport itself, so no one else reads the
   * wire face, and its Readable machinery is skipped. Backpressure: the transport's
   * buffer counts as ours (`bufferedAmount`), and its 'drain' calls `read()`.
   */
  writeTo(output: TransportOutput): void {
    const ws = this.ws;
    if (this.#output instanceof TransportOutput) return;
    // Output over before the wiring (a deadline while connecting): it hears of the close only.
    if (ws.readableEnded) return void ws.once('close', () => output.closed());
    this.out.flush();
    for (let chunk = ws.read() as Buffer | null; chunk !== null; chunk = ws.read() as Buffer | null) {
      output.push(chunk);
    }
    this.#output = output;
  }

  // ---- OutQueueSink: the output queue pushes to the current output ----

  /** Push a chunk of our output; false when the transport is behind. */
  push(chunk: Buffer): boolean {
    return this.#output.push(chunk);
  }

  /** Push a frame's header and payload (not joined when the transport writes both at once). */
  pushSplit(header: Buffer, payload: Buffer): boolean {
    return this.#output.pushSplit(header, payload);
  }

  /** Bytes pushed and not yet taken by the transport. */
  get readableLength(): number {
    return this.#output.readableLength;
  }

  get readableHighWaterMark(): number {
    return this.#output.readableHighWaterMark;
  }

  /** The stream is being destroyed: release timers and held callbacks, then emit 'close'. */
  destroyed(error: Error | null, callback: (error: Error | null) => void): void {
    this.timers.clear();
    this.out.close(false);
    const report = closeReport(this.connection.connection, error ?? this.ending.cause, this.opening.ended);
    this.#app?.finish(null);
    this.endMessages();
    callback(error);
    this.flow.end(dropped('the WebSocket closed before this was sent'));
    const emitClose = () => {
      this.#output.closed();
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
      this.opening.failed(error, !this.#client && this.connection.state === ConnectionState.CONNECTING);
      return false;
    }
  }

  // feed() for bytes, without a closure per chunk (the hot path).
  #receive(chunk: Buffer | null): boolean {
    try {
      this.connection.receiveData(chunk);
      return true;
    } catch (error) {
      this.opening.failed(error, !this.#client && this.connection.state === ConnectionState.CONNECTING);
      return false;
    }
  }

  /** Take the core's events (and its automatic replies) while the readers keep up. */
  process(): void {
    this.out.beginBatch();
    try {
      for (;;) {
        if (this.#paused || this.ws.destroyed) return;
        // The messages() loop is behind: the rest waits in the core (unless the peer ended).
        if (this.#messages?.full === true && !this.ending.peerEnded) break;
        const event = this.connection.nextEvent();
        if (event === null) break;
        for (const bytes of this.connection.dataToSend()) {
          if (event.type === 'ping') this.out.writePong(bytes);
          else this.out.write(bytes);
        }
        dispatch(event, this);
      }
      this.ending.followCore();
    } finally {
      this.out.endBatch();
    }
  }

  // ---- events out ----

  /** Serialize and queue an event; null when it is dropped (the close handshake started, or the stream ended). */
  transmit(event: WSEvent | PreparedMessage): boolean | null {
    const core = this.connection.connection;
    if (core === null || this.ending.outputOver || !core.canSend(typeOf(event) as SendableType)) return null;
    const prepared = event instanceof PreparedMessage;
    const ok = prepared
      ? this.out.write(core.sendPrepared(event))
      : this.out.writeFrame(this.connection.sendSplit(event));
    if (!prepared && event.type === 'close') this.ending.followCore();
    return ok;
  }

  /** `send()`, `ping()`, `close()` ...: throws before the handshake, calls back as `Flow.settle` says. */
  sendEvent(event: Outgoing, callback?: Callback): boolean {
    if (this.connection.connection === null && !this.ending.outputOver) {
      throw new LocalProtocolError(
        `cannot send '${typeOf(event)}' before the handshake completes`,
        'ERR_INVALID_STATE',
      );
    }
    const ok = this.transmit(event);
    if (callback !== undefined) {
      this.flow.settle(ok, callback, () => dropped(`cannot send '${typeOf(event)}' in state ${this.connection.state}`));
    }
    return ok === true;
  }

  // ---- the parts' callbacks ----

  /** OpeningOwner: a handshake event, as head bytes, or over HTTP/2 a header list (a body stays bytes). */
  send(event: WSEvent): void {
    if (this.#heads === null || event.type === 'reject-data') this.out.write(this.connection.send(event));
    else this.#heads.send(this.connection.sendHeaders(event), event.type === 'reject' && !event.hasBody);
  }

  /** OpeningOwner: the handshake completed. */
  opened(): void {
    this.hook = undefined; // the accept hook (and the request it holds) is done with
    this.timers.opened();
    this.ws.emit('open');
    this.#app?.opened();
    if (this.#client) {
      // Frames that came in the same read as the 101 wait a turn, until the code that
      // awaited the open stream (connect()'s promise) has attached its listeners.
      this.#paused = true;
      setImmediate(() => {
        this.#paused = false;
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

  /** DispatchTarget: where the EventEmitter conveniences are emitted. */
  get emitter(): WebSocketDuplex {
    return this.ws;
  }

  /** FlowOwner: input waits while events wait for their reader (none come after our output ended). */
  mustHoldInput(): boolean {
    return !this.ending.wireEnded && (this.#paused || !!this.#messages?.full || !!this.#app?.full);
  }

  /** AppFaceOwner: writes wait in the face until the handshake completed. */
  ready(): boolean {
    return this.connection.connection !== null || this.ending.outputOver;
  }

  holdWriter(callback: Callback): void {
    this.flow.holdWriter(callback);
  }

  resumeFromApp(): void {
    this.flow.releaseInput();
  }

  /** EndingOwner: our output ends (EOF after the queued bytes); the readers' faces end. */
  endOutput(): void {
    this.out.close(true);
    this.#output.end();
    this.#app?.endReadable();
    this.endMessages();
    this.flow.releaseInput();
  }

  onceOutputTaken(callback: () => void): void {
    this.#output.onceTaken(callback);
  }

  outputTaken(): boolean {
    return this.#output.taken;
  }

  core(): ReturnType<EndingOwner['core']> {
    return this.connection.connection;
  }

  readerBehindButMoving(): boolean {
    return this.flow.behindButMoving();
  }

  outputPending(): number {
    return this.ws.bufferedAmount;
  }

  armClose(): void {
    this.timers.armClose();
  }

  postponeClose(): void {
    this.timers.postponeClose();
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
    this.flow.releaseInput();
  }
}

/** The event type `send` is about: a broadcast's message type, or the event's. */
const typeOf = (event: WSEvent | PreparedMessage) =>
  event instanceof PreparedMessage ? (event.binary ? 'bytes' : 'text') : event.type;
