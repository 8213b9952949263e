/**
 * Wiring a transport socket to a `WebSocketDuplex`, both ways, for `connect` and
 * `handleUpgrade`: bytes flow through `pipe` with its backpressure; a transport error
 * (ECONNRESET ...) or a transport that closes before it ended its input ends the stream
 * with close 1006 and the error as its cause, never an 'error' event; when the stream is
 * done, the socket is destroyed once it has flushed what it was given (bounded).
 */
import type { Duplex as NodeDuplex } from 'node:stream';
import { RemoteProtocolError } from '../errors';
import { kAbort, type WebSocketDuplex } from './websocket-duplex';

/** How long a socket may take to flush after its stream closed, in milliseconds. */
const FLUSH_GRACE = 5000;

/**
 * Pipe `socket` into `ws` and `ws` into `socket` (the input side now, unless `readLater`).
 * `onEof`, when given, takes the socket's EOF and ends the stream's input itself
 * (`ws.end()`) when it is ready; by default the EOF ends it at once.
 */
export function wireSocket(ws: WebSocketDuplex, socket: NodeDuplex, readLater = false, onEof?: () => void): () => void {
  const s = socket as NodeDuplex & { setNoDelay?: (on: boolean) => void; setTimeout?: (ms: number) => void };
  s.setNoDelay?.(true);
  s.setTimeout?.(0);
  let inputEnded = false;
  socket.on('end', () => {
    inputEnded = true;
    onEof?.();
  });
  socket.on('error', (error: Error) => ws[kAbort](error));
  socket.on('close', () => {
    // After the socket's EOF, pipe ends the stream's input and the stream finishes by
    // itself (everything the peer sent is processed first). Without one, it was cut.
    // Our output has nowhere to go now: let it drain into the void so the stream can end.
    ws.resume();
    if (!inputEnded) {
      ws[kAbort](
        new RemoteProtocolError('the transport closed without ending its input', {
          code: 'ERR_TRANSPORT',
          closeCode: 1006,
        }),
      );
    }
  });
  ws.on('close', () => {
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
  });
  ws.pipe(socket as unknown as NodeJS.WritableStream);
  const startReading = () => {
    if (!ws.destroyed) socket.pipe(ws as unknown as NodeJS.WritableStream, { end: onEof === undefined });
  };
  if (!readLater) startReading();
  return startReading;
}
