/**
 * Routing the 'upgrade' requests of one `http.Server` / `https.Server` to the
 * `WebSocketServer`s attached to it, by path: one 'upgrade' listener per HTTP server,
 * however many WebSocket endpoints share it (several `ws` servers on one HTTP server
 * each answer every path, so they need `noServer`; these do not).
 *
 * An exact path (`/chat`, the query ignored) wins over a server attached without a path
 * (it takes every path no other claims). A request no endpoint claims is answered 404,
 * unless the application has 'upgrade' listeners of its own, which then decide.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex as NodeDuplex } from 'node:stream';
import { LocalProtocolError } from '../../errors';

/** What the router hands a request to. */
export interface UpgradeTarget {
  handleUpgrade(req: IncomingMessage, socket: NodeDuplex, head: Buffer): unknown;
}

/**
 * The endpoints of one server by path: an exact path wins over the one endpoint attached
 * without a path, which takes every path no other claims. (Shared with http2-router.ts.)
 */
export class PathTable<T> {
  readonly #exact = new Map<string, T>();
  #fallback: T | null = null;

  get empty(): boolean {
    return this.#exact.size === 0 && this.#fallback === null;
  }

  /** Serve `path` (every unclaimed path when undefined) with `target`; throws when it is taken. */
  add(path: string | undefined, target: T, server: string): void {
    const taken = path === undefined ? this.#fallback !== null : this.#exact.has(path);
    if (taken) {
      const what = `a WebSocketServer already serves ${path ?? 'every path'} on this ${server}`;
      throw new LocalProtocolError(what, 'ERR_INVALID_OPTION');
    }
    if (path === undefined) this.#fallback = target;
    else this.#exact.set(path, target);
  }

  remove(target: T): void {
    if (this.#fallback === target) this.#fallback = null;
    for (const [path, t] of this.#exact) if (t === target) this.#exact.delete(path);
  }

  /** The endpoint of a request target (its query ignored), or null. */
  lookup(url: string | undefined): T | null {
    return this.#exact.get(pathOf(url)) ?? this.#fallback;
  }
}

/** The endpoints of one HTTP server. */
class Router {
  readonly #server: HttpServer;
  readonly #paths = new PathTable<UpgradeTarget>();
  readonly #listener = (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => this.#route(req, socket, head);

  constructor(server: HttpServer) {
    this.#server = server;
    server.on('upgrade', this.#listener);
  }

  get empty(): boolean {
    return this.#paths.empty;
  }

  add(path: string | undefined, target: UpgradeTarget): void {
    this.#paths.add(path, target, 'HTTP server');
  }

  remove(target: UpgradeTarget): void {
    this.#paths.remove(target);
    if (this.empty) this.#server.off('upgrade', this.#listener);
  }

  #route(req: IncomingMessage, socket: NodeDuplex, head: Buffer): void {
    const target = this.#paths.lookup(req.url);
    if (target !== null) {
      target.handleUpgrade(req, socket, head);
      return;
    }
    if (this.#server.listenerCount('upgrade') > 1) return; // the application's own listeners decide
    refuse(socket, 404, 'no WebSocket endpoint at this path\n');
  }
}

const routers = new WeakMap<HttpServer, Router>();

/** Serve `path` (every unclaimed path when undefined) of `server` with `target`. Throws when it is taken. */
export function addRoute(server: HttpServer, path: string | undefined, target: UpgradeTarget): void {
  let router = routers.get(server);
  if (router === undefined) {
    router = new Router(server);
    routers.set(server, router);
  }
  try {
    router.add(path, target);
  } finally {
    if (router.empty) removeRoute(server, target);
  }
}

/** Stop routing to `target`; the last one removes the 'upgrade' listener. */
export function removeRoute(server: HttpServer, target: UpgradeTarget): void {
  const router = routers.get(server);
  if (router === undefined) return;
  router.remove(target);
  if (router.empty) routers.delete(server);
}

/** The pathname of a request target (`/chat?room=1` → `/chat`). */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const end = target.search(/[?#]/);
  return end === -1 ? target : target.slice(0, end);
}

/** Answer an upgrade request with an HTTP error and close the socket. */
export function refuse(socket: NodeDuplex, status: number, body: string, headers: Record<string, string> = {}): void {
  const reason = { 404: 'Not Found', 426: 'Upgrade Required', 503: 'Service Unavailable' }[status] ?? 'Error';
  const lines = Object.entries({ ...headers, 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    ...lines.map(([n, v]) => `${n}: ${v}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  socket.on('error', () => undefined);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}
