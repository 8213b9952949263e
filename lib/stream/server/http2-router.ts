/**
 * Routing the extended CONNECT streams (RFC 8441) of one `http2` server to the
 * `WebSocketServer`s attached to it, by path, as router.ts does for HTTP/1.1 upgrades.
 *
 * The streams are taken before anyone else hears of them: Node's compatibility layer (a
 * 'request' handler serving pages) would otherwise answer the CONNECT itself and kill the
 * WebSocket. So the router wraps the server's `emit` and keeps a 'stream' event that it
 * claims from every listener; every other stream (pages, API calls, other protocols) is
 * emitted as before. Attaching also turns on SETTINGS_ENABLE_CONNECT_PROTOCOL for new
 * sessions (`updateSettings`), without which browsers never try.
 *
 * An exact path wins over a server attached without a path. A WebSocket request that no
 * endpoint claims goes on to the application's own 'stream' listeners, or, when it has
 * none (a compatibility 'request' handler does not count), is answered 404.
 */
import type {
  Http2SecureServer,
  Http2Server,
  IncomingHttpHeaders,
  ServerHttp2Stream,
  OutgoingHttpHeaders,
} from 'node:http2';
import { isWebSocketConnect } from '../http2/server';
import { PathTable } from './router';

/** An `http2` server, plain (h2c) or secure (h2 over TLS, HTTP/1.1 too with `allowHTTP1`). */
export type AnyHttp2Server = Http2Server | Http2SecureServer;

/** What the router hands a stream to. */
export interface StreamTarget {
  handleHttp2Stream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: readonly string[]): unknown;
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

// Node's compatibility layer listens to 'stream' with this function once a 'request'
// listener exists; it would answer a WebSocket CONNECT with 405, so it does not count as
// the application's own listener.
const COMPAT_LISTENER = 'bound onServerStream';

/** True for a server of `node:http2` (it has `updateSettings`; `http`/`https` servers do not). */
export function isHttp2Server(server: object): server is AnyHttp2Server {
  return typeof (server as { updateSettings?: unknown }).updateSettings === 'function';
}

class Http2Router {
  readonly #server: AnyHttp2Server;
  readonly #emit: Emit;
  readonly #paths = new PathTable<StreamTarget>();

  constructor(server: AnyHttp2Server) {
    this.#server = server;
    const emitter = server as unknown as { emit: Emit };
    this.#emit = emitter.emit;
    const original = this.#emit;
    emitter.emit = (event, ...args) => {
      if (event === 'stream' && this.#claim(args)) return true;
      return original.call(server, event, ...args);
    };
    server.updateSettings({ enableConnectProtocol: true });
  }

  get empty(): boolean {
    return this.#paths.empty;
  }

  add(path: string | undefined, target: StreamTarget): void {
    this.#paths.add(path, target, 'HTTP/2 server');
  }

  remove(target: StreamTarget): void {
    this.#paths.remove(target);
    if (this.empty) (this.#server as unknown as { emit: Emit }).emit = this.#emit;
  }

  /** Take a WebSocket stream (true), or leave the event to the server's listeners (false). */
  #claim(args: unknown[]): boolean {
    const [stream, headers, , rawHeaders] = args as [ServerHttp2Stream, IncomingHttpHeaders, number, string[]?];
    if (!isWebSocketConnect(headers)) return false;
    const target = this.#paths.lookup(headers[':path']);
    if (target !== null) {
      target.handleHttp2Stream(stream, headers, rawHeaders);
      return true;
    }
    if (this.#server.listeners('stream').some((listener) => listener.name !== COMPAT_LISTENER)) return false;
    refuseStream(stream, 404, 'no WebSocket endpoint at this path\n');
    return true;
  }
}

const routers = new WeakMap<AnyHttp2Server, Http2Router>();

/** Serve `path` (every unclaimed path when undefined) of an http2 `server` with `target`. */
export function addHttp2Route(server: AnyHttp2Server, path: string | undefined, target: StreamTarget): void {
  let router = routers.get(server);
  if (router === undefined) {
    router = new Http2Router(server);
    routers.set(server, router);
  }
  try {
    router.add(path, target);
  } finally {
    if (router.empty) removeHttp2Route(server, target);
  }
}

/** Stop routing to `target`; the last one gives the server its own `emit` back. */
export function removeHttp2Route(server: AnyHttp2Server, target: StreamTarget): void {
  const router = routers.get(server);
  if (router === undefined) return;
  router.remove(target);
  if (router.empty) routers.delete(server);
}

/** Answer an extended CONNECT with an HTTP error and end the stream. */
export function refuseStream(
  stream: ServerHttp2Stream,
  status: number,
  body: string,
  headers: OutgoingHttpHeaders = {},
): void {
  stream.on('error', () => undefined);
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ...headers, ':status': status, 'content-type': 'text/plain; charset=utf-8' });
  stream.end(body);
}
