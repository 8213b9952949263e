/**
 * Wiring an HTTP/2 stream to a `WebSocketDuplex` (RFC 8441): the stream is the
 * transport, so `socket-wiring.ts` does the piping, its backpressure (HTTP/2 flow
 * control follows from it: Node stops granting window while the stream's reader is
 * behind) and the end. This adds what only HTTP/2 has: a reset stream (RST_STREAM) and a
 * session going away (GOAWAY) end the WebSocket with 1006 and a cause that names them,
 * and closing the WebSocket ends this stream, never the session (other streams go on).
 */
import { constants, type ClientHttp2Session, type Http2Stream, type ServerHttp2Session } from 'node:http2';
import { RemoteProtocolError } from '../../errors';
import { wireSocket } from '../socket-wiring';
import { kAbort, type WebSocketDuplex } from '../websocket-duplex';

type Session = ClientHttp2Session | ServerHttp2Session;

/** The GOAWAY a session received (its error code), kept for the streams that end after it. */
const goaways = new WeakMap<Session, number>();

/** RFC 9113 7: the names of the HTTP/2 error codes. */
const ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** The name of an HTTP/2 error code (RFC 9113 7), e.g. `CANCEL`; unknown codes in hex. */
export function http2ErrorName(code: number): string {
  return ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** Remember the GOAWAY a session receives (one listener per session). */
export function watchGoaway(session: Session): void {
  if (watched.has(session)) return;
  watched.add(session);
  session.on('goaway', (errorCode: number) => void goaways.set(session, errorCode));
}
const watched = new WeakSet<Session>();

/** Why an HTTP/2 stream ended under the WebSocket, when HTTP/2 can say it; else null. */
function http2Cause(stream: Http2Stream, session: Session, error?: Error): RemoteProtocolError | null {
  const goaway = goaways.get(session);
  if (goaway !== undefined) {
    return new RemoteProtocolError(`the HTTP/2 session went away (GOAWAY ${http2ErrorName(goaway)})`, {
      code: 'ERR_HTTP2_GOAWAY',
      closeCode: 1006,
    });
  }
  const rst = stream.rstCode;
  return rst !== undefined && rst !== constants.NGHTTP2_NO_ERROR ? resetCause(rst, error) : null;
}

/** The cause of a stream reset with `code` (RST_STREAM). */
function resetCause(code: number, error?: Error): RemoteProtocolError {
  const cause = new RemoteProtocolError(`the HTTP/2 stream was reset (RST_STREAM ${http2ErrorName(code)})`, {
    code: 'ERR_HTTP2_STREAM_RESET',
    closeCode: 1006,
  });
  if (error !== undefined) Object.defineProperty(cause, 'cause', { value: error, enumerable: false });
  return cause;
}

/**
 * Pipe `stream` into `ws` and `ws` into `stream`, with HTTP/2's causes on an abnormal
 * end (the input side now, unless `readLater`).
 */
export function wireHttp2Stream(ws: WebSocketDuplex, stream: Http2Stream, readLater = false): () => void {
  const session = stream.session as Session;
  watchGoaway(session);
  let ended = false;
  stream.on('end', () => void (ended = true));
  // Registered before wireSocket's listeners: the first cause the stream records wins.
  stream.on('error', (error: Error) => {
    const cause = http2Cause(stream, session, error);
    if (cause !== null) ws[kAbort](cause);
  });
  // The stream was reset before our side ended it: by the peer (RST_STREAM; CANCEL, as a
  // browser drops a WebSocket, and NO_ERROR bring no 'error', and an EOF comes after it)
  // or by a local close(). It carries nothing more, and Node keeps it closed but not
  // destroyed until our output finished, which it never will: end the WebSocket now.
  stream.on('aborted', () => {
    ws[kAbort](http2Cause(stream, session) ?? resetCause(stream.rstCode ?? constants.NGHTTP2_NO_ERROR));
  });
  stream.on('close', () => {
    if (ended) return;
    const cause = http2Cause(stream, session);
    if (cause !== null) ws[kAbort](cause);
  });
  return wireSocket(ws, stream, readLater);
}
