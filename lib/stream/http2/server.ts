/**
 * `handleHttp2Stream(stream, headers, options)`: the WebSocket side of an HTTP/2
 * extended CONNECT (RFC 8441), the counterpart of `handleUpgrade` for an `http2` server's
 * 'stream' event. The stream's HEADERS go to the core (`receiveHeaders`), the answer goes
 * out as `stream.respond()`, and then the stream carries the WebSocket's frames, wired
 * like a socket (wiring.ts). Same options and hooks as `handleUpgrade`; the hooks get an
 * `Http2UpgradeRequest` where they would get an `IncomingMessage`.
 */
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HeadSink } from '../opening';
import { serverOptions, type UpgradeOptions } from '../upgrade';
import { WebSocketDuplex, kHeaders } from '../websocket-duplex';
import { fromHttp2Headers, toHttp2Headers } from './fields';
import { wireHttp2Stream } from './wiring';

/**
 * The request of a WebSocket over HTTP/2, as the server's hooks and its 'connection'
 * event see it: the fields an `IncomingMessage` / `Http2ServerRequest` has that upgrade
 * code reads (`headers.origin`, `url`, `socket.remoteAddress` ...), plus the stream.
 */
export interface Http2UpgradeRequest {
  /** `'2.0'`. */
  readonly httpVersion: '2.0';
  /** `'CONNECT'`. */
  readonly method: string;
  /** The `:path` (path and query). */
  readonly url: string;
  /** The `:authority`. */
  readonly authority: string;
  /** The `:scheme` (`https` or `http`). */
  readonly scheme: string;
  /** The header object as Node gives it (names in lower case, pseudo-header fields included). */
  readonly headers: IncomingHttpHeaders;
  /** The headers as a flat `[name, value, ...]` list, in the order they arrived. */
  readonly rawHeaders: readonly string[];
  /** The HTTP/2 stream the WebSocket runs on. */
  readonly stream: ServerHttp2Stream;
  /** The HTTP/2 session (one TCP or TLS connection) the stream belongs to. */
  readonly session: ServerHttp2Session;
  /** The session's socket (`remoteAddress`, TLS details ...). */
  readonly socket: Socket | TLSSocket;
}

/** True when `headers` are an extended CONNECT for a WebSocket (RFC 8441 4). */
export function isWebSocketConnect(headers: IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket';
}

/** The `Http2UpgradeRequest` of a stream. */
export function http2Request(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rawHeaders?: readonly string[],
): Http2UpgradeRequest {
  const text = (name: string) => {
    const value = headers[name];
    return typeof value === 'string' ? value : '';
  };
  return {
    httpVersion: '2.0',
    method: text(':method'),
    url: text(':path'),
    authority: text(':authority'),
    scheme: text(':scheme'),
    headers,
    rawHeaders: rawHeaders ?? fromHttp2Headers(headers).flat(),
    stream,
    session: stream.session as ServerHttp2Session,
    socket: stream.session!.socket as Socket | TLSSocket,
  };
}

/**
 * Serve a WebSocket on an HTTP/2 stream that carries an extended CONNECT (call it from
 * an `http2` server's 'stream' event, with `settings: { enableConnectProtocol: true }`;
 * `WebSocketServer` does this for you, also beside a compatibility 'request' handler).
 * Bad requests are answered with their status (400, 405, 501 ...); the stream's 'close'
 * carries the cause; it never emits 'error' for what a client sends. Closing the
 * WebSocket ends this stream, not the session.
 *
 * @param stream the server stream.
 * @param headers its request headers (the 'stream' event's second argument).
 * @param options the options and hooks of `handleUpgrade`.
 * @param rawHeaders the 'stream' event's fourth argument, to keep the order of fields.
 */
export function handleHttp2Stream(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: UpgradeOptions<Http2UpgradeRequest> = {},
  rawHeaders?: readonly string[],
): WebSocketDuplex {
  return serveHttp2Request(http2Request(stream, headers, rawHeaders), options);
}

/** @internal `handleHttp2Stream` for a request already described (the server object keeps `req`). */
export function serveHttp2Request(
  req: Http2UpgradeRequest,
  options: UpgradeOptions<Http2UpgradeRequest>,
): WebSocketDuplex {
  const { stream } = req;
  const heads: HeadSink = {
    scheme: 'https',
    send: (list, endStream) => {
      if (stream.destroyed || stream.headersSent) return;
      stream.respond(toHttp2Headers(list), { endStream });
    },
  };
  const ws = new WebSocketDuplex('server', serverOptions(options, req), heads);
  const startReading = wireHttp2Stream(ws, stream, true);
  // On the next tick, as handleUpgrade does: the caller attaches its listeners first.
  process.nextTick(() => {
    if (ws.destroyed) return;
    ws[kHeaders](req.rawHeaders, stream.endAfterHeaders);
    startReading();
  });
  return ws;
}
