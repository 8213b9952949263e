/**
 * `handleUpgrade(req, socket, head, options)`: the WebSocket side of an `http.Server` /
 * `https.Server` 'upgrade' event. Node's HTTP parser has already read the request head,
 * so the handshake starts from it (`initiateUpgradeConnection`), the bytes Node read past
 * the head (`head`) are fed first, and the socket is wired both ways.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex as NodeDuplex } from 'node:stream';
import type { RequestEvent } from '../events';
import type { AcceptDecision, WebSocketDuplexOptions } from './options';
import { wireSocket } from './socket-wiring';
import { WebSocketDuplex } from './websocket-duplex';

/**
 * Options of `handleUpgrade` (and of `handleHttp2Stream`, where `req` is an
 * `Http2UpgradeRequest`): the stream's options and the server's hooks.
 */
export interface UpgradeOptions<Req = IncomingMessage> extends Omit<WebSocketDuplexOptions, 'request' | 'accept'> {
  /**
   * Decide on each request (sync or async), seeing the core's `Request` event and the
   * HTTP request (its socket, cookies ...): `true`, `false` (403), `{ subprotocol,
   * extraHeaders }` or `{ accept: false, statusCode, body, headers }`. A hook that throws
   * answers 500.
   *
   * @defaultValue none: every valid request is accepted (after `verifyOrigin`), with
   *   `selectSubprotocol`'s choice
   */
  accept?(request: RequestEvent, req: Req): AcceptDecision | Promise<AcceptDecision>;
  /** Return false to refuse an Origin (403). @defaultValue none: every origin is allowed */
  verifyOrigin?(origin: string | undefined, req: Req): boolean;
  /**
   * Pick a subprotocol from the client's list (null for none). Not consulted when the
   * `accept` option is given: its answer names the subprotocol.
   *
   * @defaultValue none: no subprotocol is selected
   */
  selectSubprotocol?(offered: readonly string[], req: Req): string | null;
}

/**
 * The stream's options and its `accept` decision from the server's hooks: `verifyOrigin`
 * first, then `accept`, else `selectSubprotocol`'s choice.
 */
export function serverOptions<Req extends { headers: { origin?: string | undefined } }>(
  options: UpgradeOptions<Req>,
  req: Req,
): WebSocketDuplexOptions {
  const { verifyOrigin, selectSubprotocol, accept, ...rest } = options;
  const decide = (request: RequestEvent): AcceptDecision | Promise<AcceptDecision> => {
    if (verifyOrigin !== undefined && !verifyOrigin.call(options, req.headers.origin, req)) {
      return { accept: false, statusCode: 403, body: 'origin not allowed\n' };
    }
    if (accept !== undefined) return accept.call(options, request, req);
    const subprotocol = selectSubprotocol?.call(options, request.subprotocols, req) ?? null;
    return { subprotocol };
  };
  return { ...rest, accept: decide };
}

/**
 * Turn an HTTP upgrade request into a server `WebSocketDuplex` wired to `socket`. The
 * socket is destroyed when the stream closes. Invalid requests are answered with the
 * right HTTP status (400, 426 ...), and the stream's 'close' carries the error as its
 * cause; it never emits 'error' for what a client sends.
 */
export function handleUpgrade(
  req: IncomingMessage,
  socket: NodeDuplex,
  head: Buffer,
  options: UpgradeOptions = {},
): WebSocketDuplex {
  const ws = new WebSocketDuplex('server', serverOptions(options, req));
  const startReading = wireSocket(ws, socket, true);
  // Start on the next tick, so that the caller attaches its listeners ('open',
  // 'message', ws.app) before the first event.
  process.nextTick(() => {
    if (ws.destroyed) return;
    ws.initiateUpgrade(req.rawHeaders, req.url ?? '/', req.method ?? 'GET', req.httpVersion);
    if (head.length > 0 && !ws.destroyed) ws.write(head);
    startReading();
  });
  return ws;
}
