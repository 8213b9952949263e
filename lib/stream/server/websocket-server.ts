/**
 * `WebSocketServer`: the server object. It listens itself, or attaches to an `http` /
 * `https` / `http2` server of the application (several on one, by path: router.ts, and
 * http2-router.ts for RFC 8441 extended CONNECT streams, so one port serves HTTP/1.1
 * upgrades and WebSockets over HTTP/2), accepts them with the options and hooks of
 * `handleUpgrade`, keeps the live set of clients,
 * publishes to topics and broadcasts with each message framed once (`PreparedMessage`)
 * under a slow-client policy (delivery.ts), and shuts down gracefully.
 *
 *   upgrade request ──router──▶ handleUpgrade ──'open'──▶ clients, 'connection' (ws, req)
 *   extended CONNECT ──http2-router──▶ handleHttp2Stream ──┘
 *                                                         └─'close'──▶ out of clients, topics, queues
 *   publish(topic, data) ──PreparedMessage (framed once)──▶ Delivery.deliver(ws) for each subscriber
 *   close() ──▶ 503 to new upgrades, 1001 to every client, wait ≤ timeout, terminate the rest
 */
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Duplex as NodeDuplex } from 'node:stream';
import { LocalProtocolError } from '../../errors';
import { PreparedMessage, type PreparedMessageOptions } from '../../prepared-message';
import { http2Request, serveHttp2Request, type Http2UpgradeRequest } from '../http2/server';
import { handleUpgrade, type UpgradeOptions } from '../upgrade';
import type { WebSocketDuplex } from '../websocket-duplex';
import { Delivery, type DeliveryCounts, type SlowClientPolicy } from './delivery';
import { addHttp2Route, isHttp2Server, refuseStream, removeHttp2Route, type AnyHttp2Server } from './http2-router';
import { addRoute, refuse, removeRoute } from './router';
import { Topics } from './topics';

/** The request that opened a WebSocket: an HTTP/1.1 upgrade, or an extended CONNECT over HTTP/2. */
export type UpgradeRequest = http.IncomingMessage | Http2UpgradeRequest;

/** Options of a `WebSocketServer`: where it listens, and `handleUpgrade`'s options for each connection. */
export interface WebSocketServerOptions extends UpgradeOptions<UpgradeRequest> {
  /**
   * Attach to this server (it listens and serves pages; upgrades come here): `http`,
   * `https`, or `http2` (extended CONNECT streams, RFC 8441; with `allowHTTP1` on a
   * secure one, HTTP/1.1 upgrades too, on the same port). @defaultValue none
   */
  server?: http.Server | https.Server | AnyHttp2Server;
  /** Listen on this port with an HTTP server of its own (0: any free port). @defaultValue none */
  port?: number;
  /** With `port`: the address to listen on. @defaultValue all interfaces (Node's default) */
  host?: string;
  /** Neither: the application routes upgrades to `handleUpgrade()` itself. @defaultValue `false` */
  noServer?: boolean;
  /** Serve only this path (`/chat`; the query is ignored). @defaultValue every path no other WebSocketServer on the same HTTP server serves */
  path?: string;
  /** What happens to broadcast messages for a client that falls behind. @defaultValue `{ policy: 'skip', limit: 1048576 }` */
  slowClient?: SlowClientPolicy;
  /** `close()`: how long clients get to finish the close handshake before they are dropped, in ms. @defaultValue `5000` */
  shutdownTimeout?: number;
}

/** Options of `WebSocketServer.close()`. */
export interface ServerCloseOptions {
  /** The close code sent to every client. @defaultValue `1001` (going away) */
  code?: number;
  /** The close reason. @defaultValue `'server shutting down'` */
  reason?: string;
  /** How long to wait for the clients' close handshakes, then drop the rest (ms). @defaultValue `shutdownTimeout` */
  timeout?: number;
}

/** The events of a `WebSocketServer` and their listener arguments. */
export interface WebSocketServerEvents {
  /** A client completed the handshake; `req` is its upgrade request (`req.httpVersion` '2.0' over HTTP/2). */
  connection: [ws: WebSocketDuplex, req: UpgradeRequest];
  /** The server's own HTTP server is listening (`port` mode). */
  listening: [];
  /** `close()` finished: every client is gone. */
  close: [];
  /** The server's own HTTP server failed to listen (EADDRINUSE ...). Never for what a client does. */
  error: [error: Error];
}

/** The server object (see the top of the file). */
export class WebSocketServer extends EventEmitter<WebSocketServerEvents> {
  /** The HTTP server the upgrades come from: the one given, or its own (`port`); null with `noServer`. */
  readonly server: http.Server | https.Server | AnyHttp2Server | null;
  readonly #options: UpgradeOptions<UpgradeRequest>;
  readonly #ownServer: boolean;
  readonly #shutdownTimeout: number;
  readonly #clients = new Set<WebSocketDuplex>();
  readonly #opening = new Set<WebSocketDuplex>();
  readonly #topics = new Topics<WebSocketDuplex>();
  readonly #delivery: Delivery;
  #closing: Promise<void> | null = null;
  #listened: Promise<unknown> = Promise.resolve(); // own server: listening, or failed to

  /**
   * Make the server: give `port` (listen), `server` (attach) or `noServer: true`.
   *
   * @param options where to listen and how to handle each connection.
   */
  constructor(options: WebSocketServerOptions) {
    super();
    const { server, port, host, noServer, path, slowClient, shutdownTimeout, ...upgrade } = options;
    const modes = [server !== undefined, port !== undefined, noServer === true].filter(Boolean).length;
    if (modes !== 1) invalid('give exactly one of port, server and noServer');
    if (path !== undefined && !path.startsWith('/')) invalid(`path must start with '/', got ${JSON.stringify(path)}`);
    this.#options = upgrade;
    this.#shutdownTimeout = shutdownTimeout ?? 5000;
    this.#delivery = new Delivery(slowClient);
    this.#ownServer = port !== undefined;
    this.server = server ?? (this.#ownServer ? http.createServer(upgradeRequired) : null);
    if (this.server !== null) this.#route(path);
    if (this.#ownServer) {
      const own = this.server!;
      own.on('error', (error: Error) => this.emit('error', error));
      this.#listened = new Promise((resolve) => {
        own.once('listening', resolve);
        own.once('error', resolve);
      });
      own.listen(port, host, () => this.emit('listening'));
    }
  }

  /** The clients whose handshake completed and that have not closed yet. */
  get clients(): ReadonlySet<WebSocketDuplex> {
    return this.#clients;
  }

  /** The address the HTTP server listens on (null before it listens, or with `noServer`). */
  address(): AddressInfo | string | null {
    return this.server?.address() ?? null;
  }

  /**
   * Take an upgrade request (the router calls this; with `noServer` the application
   * does). Returns the stream, or null when the server is shutting down (answered 503).
   */
  handleUpgrade(req: http.IncomingMessage, socket: NodeDuplex, head: Buffer): WebSocketDuplex | null {
    if (this.#closing !== null) {
      refuse(socket, 503, 'the server is shutting down\n', { 'Retry-After': '5' });
      return null;
    }
    return this.#track(handleUpgrade(req, socket, head, this.#options), req);
  }

  /**
   * Take an extended CONNECT stream of an `http2` server (the router calls this; with
   * `noServer` the application does, from its 'stream' listener). Returns the stream, or
   * null when the server is shutting down (answered 503).
   */
  handleHttp2Stream(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders?: readonly string[],
  ): WebSocketDuplex | null {
    if (this.#closing !== null) {
      refuseStream(stream, 503, 'the server is shutting down\n', { 'retry-after': '5' });
      return null;
    }
    const req = http2Request(stream, headers, rawHeaders);
    return this.#track(serveHttp2Request(req, this.#options), req);
  }

  #route(path: string | undefined): void {
    const server = this.server!;
    if (isHttp2Server(server)) {
      addHttp2Route(server, path, this);
      // A secure one with allowHTTP1 also emits 'upgrade' for HTTP/1.1 clients.
      addRoute(server as unknown as http.Server, path, this);
    } else addRoute(server, path, this);
  }

  #unroute(): void {
    const server = this.server!;
    if (isHttp2Server(server)) removeHttp2Route(server, this);
    removeRoute(server as http.Server, this);
  }

  #track(ws: WebSocketDuplex, req: UpgradeRequest): WebSocketDuplex {
    this.#opening.add(ws);
    ws.once('open', () => {
      this.#opening.delete(ws);
      this.#clients.add(ws);
      this.emit('connection', ws, req);
    });
    this.#untrackOnClose(ws);
    return ws;
  }

  // A scope of its own: the listener lives as long as the connection and must not hold the request.
  #untrackOnClose(ws: WebSocketDuplex): void {
    ws.once('close', () => {
      this.#opening.delete(ws);
      this.#clients.delete(ws);
      this.#topics.leaveAll(ws);
      this.#delivery.forget(ws);
    });
  }

  // ---- topics and broadcast ----

  /** Subscribe a client to `topic`; false when it already was. Throws for a stream that is not an open client of this server. */
  subscribe(ws: WebSocketDuplex, topic: string): boolean {
    if (!this.#clients.has(ws)) throw new LocalProtocolError('not an open client of this server', 'ERR_INVALID_STATE');
    return this.#topics.subscribe(ws, topic);
  }

  /** Unsubscribe a client from `topic`; false when it was not subscribed. */
  unsubscribe(ws: WebSocketDuplex, topic: string): boolean {
    return this.#topics.unsubscribe(ws, topic);
  }

  /** The topics a client is subscribed to. */
  subscriptions(ws: WebSocketDuplex): ReadonlySet<string> {
    return this.#topics.topicsOf(ws);
  }

  /** The subscribers of `topic`. */
  subscribers(topic: string): ReadonlySet<WebSocketDuplex> {
    return this.#topics.members(topic);
  }

  /**
   * Send a message to every subscriber of `topic`, framed once (and compressed once per
   * compression setting where no context takeover allows it), under the slow-client
   * policy. Returns what happened, counted over the subscribers.
   */
  publish(
    topic: string,
    data: string | Uint8Array | PreparedMessage,
    options?: PreparedMessageOptions,
  ): DeliveryCounts {
    return this.#deliver(this.#topics.members(topic), data, options);
  }

  /** Send a message to every client (or those `filter` keeps), like `publish`. */
  broadcast(
    data: string | Uint8Array | PreparedMessage,
    options?: PreparedMessageOptions,
    filter?: (ws: WebSocketDuplex) => boolean,
  ): DeliveryCounts {
    return this.#deliver(this.#clients, data, options, filter);
  }

  /** Messages waiting for a client that is behind (slow-client policy `'drop-oldest'`). */
  waiting(ws: WebSocketDuplex): number {
    return this.#delivery.waiting(ws);
  }

  #deliver(
    to: Iterable<WebSocketDuplex>,
    data: string | Uint8Array | PreparedMessage,
    options: PreparedMessageOptions | undefined,
    filter?: (ws: WebSocketDuplex) => boolean,
  ): DeliveryCounts {
    const message = data instanceof PreparedMessage ? data : new PreparedMessage(data, options);
    const counts = Delivery.counts();
    for (const ws of to) if (filter === undefined || filter(ws)) this.#delivery.deliver(ws, message, counts);
    return counts;
  }

  // ---- shutdown ----

  /**
   * Shut down gracefully: new upgrades get 503, handshakes in progress are dropped,
   * every client is closed with `code` (1001), and those that have not finished the
   * close handshake after `timeout` are dropped. Then the server's own HTTP server (if
   * it made one) closes. Resolves when all of that is done; calling it again returns the
   * same promise.
   */
  close(options: ServerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#shutdown(options);
    return this.#closing;
  }

  async #shutdown(options: ServerCloseOptions): Promise<void> {
    const { code = 1001, reason = 'server shutting down', timeout = this.#shutdownTimeout } = options;
    const gone = [...this.#opening, ...this.#clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    for (const ws of this.#opening) ws.terminate();
    for (const ws of this.#clients) ws.close(code, reason);
    const deadline = setTimeout(() => {
      for (const ws of this.#clients) ws.terminate();
    }, timeout);
    await Promise.all(gone);
    clearTimeout(deadline);
    if (this.server !== null) this.#unroute();
    // A listen still under way (a host name to look up) would start after close(): wait for it.
    if (this.#ownServer) await this.#listened;
    if (this.#ownServer && this.server!.listening) {
      const closed = new Promise((resolve) => this.server!.close(resolve));
      (this.server as http.Server).closeAllConnections();
      await closed;
    }
    this.emit('close');
  }
}

/** The answer of a server's own HTTP server to a request that is not an upgrade. */
function upgradeRequired(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade', 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('this endpoint speaks WebSocket\n');
}

function invalid(message: string): never {
  throw new LocalProtocolError(`WebSocketServer: ${message}`, 'ERR_INVALID_OPTION');
}
