/**
 * Wiring a transport socket to a `WebSocketDuplex`, both ways, for `connect` and
 * `handleUpgrade`: the socket's chunks are written to the stream and the stream's bytes
 * to the socket, each side pausing the other while it is behind (what `pipe` does, in
 * one small object per connection instead of two pipes' closures). A transport error
 * (ECONNRESET ...) or a transport that closes before it ended its input ends the stream
 * with close 1006 and the error as its cause, never an 'error' event; when the stream is
 * done, the socket is destroyed once it has flushed what it was given (bounded).
 */
import type { Duplex as NodeDuplex } from 'node:stream';
import { RemoteProtocolError } from '../errors';
import { kAbort, kInput, type WebSocketDuplex } from './websocket-duplex';

/** How long a socket may take to flush after its stream closed, in milliseconds. */
const FLUSH_GRACE = 5000;

type Socket = NodeDuplex & { setNoDelay?: (on: boolean) => void; setTimeout?: (ms: number) => void };

/** The two directions of one connection; its methods are the listeners (bound once). */
class Link {
  readonly ws: WebSocketDuplex;
  readonly socket: Socket;
  readonly onEof: (() => void) | undefined;
  inputEnded = false;
  #held = false; // the stream holds the last chunk's callback (a reader is behind)
  #paused = false; // ... and so the socket was paused
  #eofWaits = false; // the socket's EOF came while a chunk was held
  #outputWaits = false; // the stream is paused until the socket drains
  readonly #taken: () => void; // the callback of every chunk (one per connection)

  constructor(ws: WebSocketDuplex, socket: Socket, onEof: (() => void) | undefined) {
    this.ws = ws;
    this.socket = socket;
    this.onEof = onEof;
    this.#taken = () => this.#inputTaken();
  }

  /**
   * Bytes from the peer, straight to the stream's engine (not through its Writable: the
   * socket is the only writer). While the stream holds a chunk, the socket is paused.
   */
  input(chunk: Buffer): void {
    const ws = this.ws;
    if (ws.destroyed || ws.writableEnded) return;
    this.#held = true;
    ws[kInput](chunk, this.#taken);
    if (this.#held) {
      this.#paused = true;
      this.socket.pause();
    }
  }

  #inputTaken(): void {
    if (!this.#held) return;
    this.#held = false;
    if (this.#eofWaits) {
      this.#eofWaits = false;
      this.eof();
    } else if (this.#paused) {
      this.#paused = false;
      if (!this.socket.destroyed) this.socket.resume();
    }
  }

  /** Bytes for the peer: onto the socket; the stream waits while the socket is behind. */
  output(chunk: Buffer): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!socket.write(chunk) && !this.#outputWaits) {
      this.#outputWaits = true;
      this.ws.pause();
      socket.once('drain', () => {
        this.#outputWaits = false;
        this.ws.resume();
      });
    }
  }

  /** The peer ended its input: after everything it sent, the stream's input ends too. */
  eof(): void {
    this.inputEnded = true;
    if (this.#held) {
      this.#eofWaits = true; // after the held chunk, as a Writable would order them
      return;
    }
    if (this.onEof !== undefined) this.onEof();
    else if (!this.ws.destroyed && !this.ws.writableEnded) this.ws.end();
  }

  /** Our output ended: end the socket's (after what it was given). */
  outputEnded(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  startReading(): void {
    if (this.ws.destroyed) return;
    this.socket.on('data', onSocketData);
    this.socket.resume();
  }

  socketClosed(): void {
    // Our output has nowhere to go now: let it drain into the void so the stream can end.
    const ws = this.ws;
    ws.off('data', onStreamData);
    ws.resume();
    // After the socket's EOF the stream finishes by itself (everything the peer sent is
    // processed first). Without one, it was cut.
    if (!this.inputEnded) {
      ws[kAbort](
        new RemoteProtocolError('the transport closed without ending its input', {
          code: 'ERR_TRANSPORT',
          closeCode: 1006,
        }),
      );
    }
  }

  streamClosed(): void {
    const { ws, socket } = this;
    if (socket.destroyed) return;
    if (!ws.readableEnded || socket.writableFinished) {
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
function onStreamData(this: Linked, chunk: Buffer): void {
  this[kLink].output(chunk);
}
function onStreamEnd(this: Linked): void {
  this[kLink].outputEnded();
}
function onStreamClose(this: Linked): void {
  this[kLink].streamClosed();
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
  const link = new Link(ws, s, onEof);
  (socket as unknown as Linked)[kLink] = link;
  (ws as unknown as Linked)[kLink] = link;
  socket.on('end', onSocketEnd);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
  ws.on('close', onStreamClose);
  ws.on('end', onStreamEnd);
  ws.on('data', onStreamData);
  if (!readLater) link.startReading();
  return () => link.startReading();
}
