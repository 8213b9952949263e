/**
 * Wiring a transport socket to a `WebSocketDuplex`, both ways, for `connect` and
 * `handleUpgrade`: the socket's chunks go straight to the stream's engine and its output
 * straight to the socket (neither through the Duplex's Writable or Readable: the library
 * owns both ends here), each side waiting while the other is behind, as `pipe` would,
 * with one small object and shared listener functions per connection. A Node socket's
 * chunks do not even pass through its own Readable once the stream reads it: its `push()`,
 * which Node's read path calls, hands them over (`linkedPush`). A transport error
 * (ECONNRESET ...) or a transport that closes before it ended its input ends the stream
 * with close 1006 and the error as its cause, never an 'error' event; when the stream is
 * done, the socket is destroyed once it has flushed what it was given (bounded).
 */
import { Socket as NetSocket } from 'node:net';
import { Readable, type Duplex as NodeDuplex } from 'node:stream';
import { RemoteProtocolError } from '../errors';
import { kAbort, kDrained, kInput, kOutputTo, type WebSocketDuplex } from './websocket-duplex';
import { TransportOutput } from './wire-output';

/** How long a socket may take to flush after its stream closed, in milliseconds. */
const FLUSH_GRACE = 5000;

type Socket = NodeDuplex & { setNoDelay?: (on: boolean) => void; setTimeout?: (ms: number) => void };

// The states of a Link's input side: bits of the state field it shares with its output
// side (TransportOutput's OUTPUT_ENDED is bit 1), as a connection is one small object.
const INPUT_ENDED = 2; // the socket's EOF came
const HELD = 4; // the stream holds the last chunk (a reader is behind)
const PAUSED = 8; // ... and so the socket was paused
const EOF_WAITS = 16; // the socket's EOF came while a chunk was held
const READING = 32; // startReading() came: the stream takes the socket's input

/**
 * The two directions of one connection (the shared listener functions below call its
 * methods): the output side is the `TransportOutput` it extends.
 */
class Link extends TransportOutput {
  readonly ws: WebSocketDuplex;

  constructor(ws: WebSocketDuplex, socket: Socket) {
    super(socket, ws.readableHighWaterMark);
    this.ws = ws;
  }

  get socket(): Socket {
    return this.transport as Socket;
  }

  /**
   * Bytes from the peer, straight to the stream's engine (not through its Writable: the
   * socket is the only writer). While the stream holds a chunk, the socket is paused.
   */
  input(chunk: Buffer): void {
    const ws = this.ws;
    if (ws.destroyed || ws.writableEnded) return;
    this.state |= HELD;
    ws[kInput](chunk, this);
    if ((this.state & HELD) !== 0) {
      this.state |= PAUSED;
      this.socket.pause();
    }
  }

  /** The stream took the last chunk (see `kInput`). */
  inputTaken(): void {
    const state = this.state;
    if ((state & HELD) === 0) return;
    this.state = state & ~(HELD | EOF_WAITS | PAUSED);
    if ((state & EOF_WAITS) !== 0) {
      this.state |= state & PAUSED;
      this.eof();
    } else if ((state & PAUSED) !== 0) {
      if (!this.socket.destroyed) this.socket.resume();
    }
  }

  /** The peer ended its input: after everything it sent, the stream's input ends too. */
  eof(): void {
    this.state |= INPUT_ENDED;
    if ((this.state & HELD) !== 0) {
      this.state |= EOF_WAITS; // after the held chunk, as a Writable would order them
      return;
    }
    this.endInput();
  }

  /** The stream's input ends (by default at once; see `EofLink`). */
  protected endInput(): void {
    if (!this.ws.destroyed && !this.ws.writableEnded) this.ws.end();
  }

  /** True once the stream reads the socket (`startReading`). */
  get reading(): boolean {
    return (this.state & READING) !== 0;
  }

  startReading(): void {
    if (this.ws.destroyed) return;
    this.state |= READING;
    this.socket.on('data', onSocketData);
    this.socket.resume();
  }

  socketClosed(): void {
    // Our output has nowhere to go now: it drains into the void (see Engine.push).
    const ws = this.ws;
    // After the socket's EOF the stream finishes by itself (everything the peer sent is
    // processed first). Without one, it was cut.
    if ((this.state & INPUT_ENDED) === 0) {
      ws[kAbort](
        new RemoteProtocolError('the transport closed without ending its input', {
          code: 'ERR_TRANSPORT',
          closeCode: 1006,
        }),
      );
    }
  }

  /** The stream closed (just before its 'close' event): the socket goes once it flushed. */
  override closed(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    // We end the socket only when our output ended normally (Engine.endOutput).
    if (!socket.writableEnded || socket.writableFinished) {
      socket.destroy();
      return;
    }
    // The stream ended its output normally: let the socket flush it (the close frame).
    const timer = setTimeout(() => socket.destroy(), FLUSH_GRACE);
    timer.unref();
    socket.once('finish', () => {
      clearTimeout(timer);
      socket.destroy();
    });
    socket.once('close', () => clearTimeout(timer));
  }
}

/** A Link whose socket's EOF goes to `onEof`, which ends the stream's input itself when it is ready. */
class EofLink extends Link {
  readonly #onEof: () => void;

  constructor(ws: WebSocketDuplex, socket: Socket, onEof: () => void) {
    super(ws, socket);
    this.#onEof = onEof;
  }

  protected override endInput(): void {
    this.#onEof();
  }
}

// The listeners are the same functions for every connection (no closures per socket):
// each finds its Link on the emitter it is called on.
const kLink = Symbol('wsproto.link');
type Linked = { [kLink]: Link };

function onSocketData(this: Linked, chunk: Buffer): void {
  this[kLink].input(chunk);
}
function onSocketEnd(this: Linked): void {
  this[kLink].eof();
}
function onSocketError(this: Linked, error: Error): void {
  this[kLink].ws[kAbort](error);
}
function onSocketClose(this: Linked): void {
  this[kLink].socketClosed();
}
function onSocketDrain(this: Linked): void {
  this[kLink].ws[kDrained]();
}

const readablePush = Readable.prototype.push;

/**
 * A TCP or TLS socket's `push()`, which Node's read path calls with each chunk read: the
 * chunk goes straight to the stream when the stream reads the socket, is its only 'data'
 * listener, and nothing waits in the socket's own buffer (no pass through the socket's
 * Readable, its 'data' event and the tick it schedules); otherwise, and for the EOF, it is
 * Readable's `push()`, which keeps the order. Returns false when the socket is to stop
 * reading (paused: the stream resumes it).
 */
function linkedPush(this: NetSocket & Linked, chunk: unknown, encoding?: BufferEncoding): boolean {
  if (Buffer.isBuffer(chunk)) {
    const link = this[kLink];
    if (link.reading && this.readableLength === 0 && !this.isPaused() && this.listenerCount('data') === 1) {
      // What Readable's push() records for a chunk: the read it asked for came, so a later
      // resume() asks for more (else a socket paused here would never read again).
      (this as unknown as { _readableState: { reading: boolean } })._readableState.reading = false;
      link.input(chunk);
      return !this.isPaused();
    }
  }
  return readablePush.call(this, chunk, encoding);
}

/**
 * Wire `socket` into `ws` and `ws` into `socket` (the input side now, unless `readLater`).
 * `onEof`, when given, takes the socket's EOF and ends the stream's input itself
 * (`ws.end()`) when it is ready; by default the EOF ends it at once.
 */
export function wireSocket(ws: WebSocketDuplex, socket: NodeDuplex, readLater = false, onEof?: () => void): () => void {
  const s = socket as Socket;
  s.setNoDelay?.(true);
  s.setTimeout?.(0);
  const link = onEof === undefined ? new Link(ws, s) : new EofLink(ws, s, onEof);
  (socket as unknown as Linked)[kLink] = link;
  // Node's sockets only: their chunks come from the event loop, never from inside _read().
  if (socket instanceof NetSocket && socket.push === readablePush) socket.push = linkedPush;
  socket.on('end', onSocketEnd);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
  socket.on('drain', onSocketDrain);
  ws[kOutputTo](link);
  if (!readLater) link.startReading();
  return () => link.startReading();
}
