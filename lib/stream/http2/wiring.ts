/**
 * Wiring an HTTP/2 stream to a `WebSocketDuplex` (RFC 8441): the stream is the
 * transport, so `socket-wiring.ts` does the piping, its backpressure (HTTP/2 flow
 * control follows from it: Node stops granting window while the stream's reader is
 * behind) and the end. This adds what only HTTP/2 has: a reset stream (RST_STREAM) and a
 * session going away (GOAWAY) end the WebSocket with 1006 and a cause that names them,
 * and closing the WebSocket ends this stream, never the session (other streams go on).
 */
import { constants, type ClientHttp2Session, type Http2Stream, type ServerHttp2Session } from 'node:http2';
import { ConnectionState } from '../../connection';
import { RemoteProtocolError } from '../../errors';
import { wireSocket } from '../socket-wiring';
import { kAbort, kEndCause, type WebSocketDuplex } from '../websocket-duplex';

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

/** How long an EOF without a close frame waits to learn whether it was a reset, in ms. */
const RESET_WAIT = 100;

/**
 * Pipe `stream` into `ws` and `ws` into `stream`, with HTTP/2's causes on an abnormal
 * end (the input side now, unless `readLater`).
 *
 * Node ends a stream's input the same way for END_STREAM and for RST_STREAM, and says
 * which only afterwards ('aborted', `rstCode`). An EOF after the peer's close frame (or
 * after a failure of ours) is the normal end and passes at once; any other waits up to
 * `RESET_WAIT` for a reset to show, and passes with it noted as the cause, which the
 * close reports only if what was received before the EOF does not explain the end.
 */
export function wireHttp2Stream(ws: WebSocketDuplex, stream: Http2Stream, readLater = false): () => void {
  const session = stream.session as Session;
  watchGoaway(session);
  let ended = false; // the stream's input ended ('end')
  let inputDone = false; // the WebSocket's input was ended (once)
  const endInput = (cause: RemoteProtocolError | null) => {
    if (cause !== null) ws[kEndCause](cause);
    if (inputDone) return;
    inputDone = true;
    ws.end();
  };
  stream.on('end', () => void (ended = true));
  // Registered before wireSocket's listeners: the first cause the stream records wins.
  stream.on('error', (error: Error) => {
    const cause = http2Cause(stream, session, error);
    if (cause !== null) ws[kAbort](cause);
  });
  // A reset stream (RST_STREAM: CANCEL, as a browser drops a WebSocket; NO_ERROR, as a
  // peer's terminate() does; neither brings an 'error') is dead both ways, and Node keeps
  // it until our output is done, which it never will be. What arrived before the reset is
  // still read (it may explain the end: a close frame, a protocol error), then the
  // WebSocket ends with the reset as the cause (RFC 9113 6.4).
  const reset = (cause: RemoteProtocolError) => {
    endInput(cause);
    if (ws.writableFinished) ws[kAbort](cause);
    else ws.once('finish', () => ws[kAbort](cause));
  };
  stream.on('aborted', () => {
    if (!ended) reset(http2Cause(stream, session) ?? resetCause(stream.rstCode ?? constants.NGHTTP2_NO_ERROR));
  });
  stream.on('close', () => {
    if (ended || inputDone) return;
    const cause = http2Cause(stream, session);
    if (cause !== null) ws[kAbort](cause);
  });
  const onEof = () => {
    if (inputDone) return;
    const core = ws.connection.connection;
    const state = ws.connection.state;
    const open = state === ConnectionState.OPEN || state === ConnectionState.LOCAL_CLOSING;
    if (!open || core === null || core.failure !== null) return endInput(null);
    const settle = () => {
      clearTimeout(timer);
      stream.off('aborted', settle);
      stream.off('close', settle);
      const cause = http2Cause(stream, session);
      if (cause === null && !stream.aborted) endInput(null);
      else reset(cause ?? resetCause(stream.rstCode ?? constants.NGHTTP2_NO_ERROR));
    };
    const timer = setTimeout(settle, RESET_WAIT);
    stream.once('aborted', settle);
    stream.once('close', settle);
  };
  return wireSocket(ws, stream, readLater, onEof);
}
