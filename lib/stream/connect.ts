/**
 * `connect(url, options)`: a client `WebSocketDuplex`, resolved once the handshake
 * completed. One attempt is: open the transport (`client/dial.ts`: TCP, TLS, a unix
 * socket, a proxy tunnel, or the caller's `createConnection`), then the opening
 * handshake on it. A redirect, when `followRedirects` allows it (`client/redirect.ts`),
 * starts another attempt at the next URL.
 *
 * Two clocks: `connectTimeout` bounds opening each transport (DNS, TCP, TLS, the proxy's
 * answer, an HTTP/2 server's SETTINGS); `handshakeTimeout` bounds each handshake on it.
 * The `signal` aborts at any stage and destroys whatever was opened.
 *
 * With the `http2` option an attempt opens the WebSocket on an HTTP/2 stream (RFC 8441,
 * `http2/client.ts`): on the caller's session, or on a session over the dialed transport
 * (ALPN `h2` for `wss:`, prior knowledge for `ws:`). `'prefer'` falls back to HTTP/1.1
 * when the server does not agree to HTTP/2 or does not offer extended CONNECT.
 */
import type { EventEmitter } from 'node:events';
import type { ClientHttp2Session } from 'node:http2';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { LocalProtocolError } from '../errors';
import { RequestEvent, type Headers, type RejectConnectionEvent, type RejectDataEvent } from '../events';
import { WSConnection } from '../ws-connection';
import { dial, handOver, type CreateConnection, type DialOptions } from './client/dial';
import { AbortError, ConnectError, HandshakeRejectedError, withoutCredentials } from './client/errors';
import { chooseProxy, type ProxyOption } from './client/proxy';
import { REDIRECT_STATUSES, nextHop } from './client/redirect';
import { parseTarget, type Target } from './client/target';
import { coreOptions, makeExtensions, type WebSocketDuplexOptions } from './options';
import { wireSocket } from './socket-wiring';
import { watch } from './client/watch';
import { kAbort, WebSocketDuplex } from './websocket-duplex';
import { alpnFor, alpnOf, extendedConnectOffered, openSession, requestOn, type Http2Option } from './http2/client';
import { wireHttp2Stream } from './http2/wiring';
import type { Duplex as NodeDuplex } from 'node:stream';

/**
 * Extra request headers for `connect`: `[name, value]` pairs (any iterable of them, a
 * `Map` too), or an object whose values are a string or a list of strings (one header
 * line per string), as `ws` and `http.request` take them.
 */
export type ConnectHeaders = Iterable<readonly [string, string]> | Readonly<Record<string, string | readonly string[]>>;

/** Options of `connect`. */
export interface ConnectOptions extends Omit<WebSocketDuplexOptions, 'request' | 'accept'> {
  /** Subprotocols to offer. @defaultValue `[]` */
  subprotocols?: string[];
  /** Extra request headers (e.g. Origin, Authorization, Cookie): pairs or an object. @defaultValue `[]` */
  headers?: ConnectHeaders;
  /**
   * Abort the attempt at any stage (DNS, TCP, TLS, proxy, handshake, redirects): what was
   * opened is destroyed and the promise rejects with an error named `AbortError` (code
   * `ABORT_ERR`, the signal's reason as its `cause`). Once open, the signal is no longer
   * watched. `AbortSignal.timeout(ms)` gives an overall deadline.
   * @defaultValue none (each stage is bounded by `connectTimeout` and `handshakeTimeout`)
   */
  signal?: AbortSignal;
  /** TLS options for wss:// (ca, rejectUnauthorized, servername ...). @defaultValue `{}` (the host name as servername) */
  tls?: tls.ConnectionOptions;
  /**
   * Milliseconds to open each transport: DNS, TCP, TLS and the proxy's answer (then
   * `ConnectError` `ERR_CONNECT_TIMEOUT`); 0 disables. The handshake after it has
   * `handshakeTimeout`.
   * @defaultValue `30000`
   */
  connectTimeout?: number;
  /**
   * A forward proxy: its URL (`http://` or `https://`, credentials sent as
   * `Proxy-Authorization: Basic`), or `'env'` for `HTTPS_PROXY` / `HTTP_PROXY` /
   * `NO_PROXY`. A refusal rejects with `ProxyRejectedError`.
   * @defaultValue none (a direct connection; the environment is not read)
   */
  proxy?: ProxyOption;
  /** TLS options for an `https://` proxy (ca ...). @defaultValue `{}` */
  proxyTls?: tls.ConnectionOptions;
  /**
   * Extra headers of the CONNECT request (e.g. a `Proxy-Authorization` of another scheme,
   * which then replaces the proxy URL's credentials). @defaultValue `[]`
   */
  proxyHeaders?: ConnectHeaders;
  /**
   * Bring the transport: called for each attempt with where it should lead; returns a
   * connected Duplex (or a promise of one), used as is (TLS is then the caller's).
   * Proxies are not used with it.
   * @defaultValue none (TCP, TLS or a unix socket from the URL)
   */
  createConnection?: CreateConnection;
  /** Follow 301, 302, 303, 307 and 308 redirects of the handshake. @defaultValue `false` */
  followRedirects?: boolean;
  /** The most redirects followed, then `ERR_TOO_MANY_REDIRECTS`. @defaultValue `10` */
  maxRedirects?: number;
  /** DNS lookup function for TCP connections, to a proxy too (as `net.connect` takes it). @defaultValue `dns.lookup` */
  lookup?: net.LookupFunction;
  /** IP family to resolve to: 4, 6, or 0 for both. @defaultValue `0` */
  family?: number;
  /** Local address to connect from. @defaultValue the system's choice */
  localAddress?: string;
  /**
   * WebSocket over HTTP/2 (RFC 8441): `true` opens an HTTP/2 session to the origin (ALPN
   * `h2` for `wss:`, prior knowledge for `ws:`) and fails with `ConnectError`
   * (`ERR_HTTP2_UNAVAILABLE`, `ERR_HTTP2_NO_EXTENDED_CONNECT`) when the server does not
   * agree; `'prefer'` falls back to HTTP/1.1 then; a `ClientHttp2Session` carries the
   * WebSocket as one more stream (many WebSockets on one connection). A session opened
   * here closes with its WebSocket; the caller's stays open.
   * @defaultValue `false` (HTTP/1.1)
   */
  http2?: Http2Option;
}

export { AbortError, ConnectError, HandshakeRejectedError, ProxyRejectedError } from './client/errors';

/** The headers as pairs; an object's list values become one pair each. */
export function headerPairs(headers: ConnectHeaders | undefined): Headers {
  if (headers === undefined) return [];
  if (Symbol.iterator in headers) return Array.from(headers as Iterable<readonly [string, string]>);
  const pairs: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    for (const one of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof one !== 'string') {
        throw new LocalProtocolError(`the value of header ${name} is not a string`, 'ERR_INVALID_HEADER');
      }
      pairs.push([name, one]);
    }
  }
  return pairs;
}

/**
 * Connect to a ws://, wss:// (http:// and https:// too) or ws+unix: URL; resolves with
 * the open stream (`ws.url` is the final URL, `ws.response` the 101). Rejects with
 * `HandshakeRejectedError` when the server answers with another status than 101 (a
 * redirect, unless `followRedirects`), `ProxyRejectedError` when the proxy refuses,
 * `ConnectError` for a connect timeout or a redirect that may not be followed, an
 * `AbortError`, or the cause (ECONNREFUSED, a bad handshake, `ERR_HANDSHAKE_TIMEOUT` ...).
 * After it opened, whatever the server or the network does ends in the stream's
 * 'close' event, never in 'error'.
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketDuplex> {
  const first = parseTarget(url);
  const headers = headerPairs(options.headers);
  checkRequest(first, headers, options); // before any connection is opened
  const maxRedirects = options.maxRedirects ?? 10;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
    throw new LocalProtocolError(
      `maxRedirects must be a non-negative integer, got ${maxRedirects}`,
      'ERR_INVALID_OPTION',
    );
  }
  const session = typeof options.http2 === 'object' ? options.http2 : null;
  if (session !== null && first.socketPath !== null) {
    throw new LocalProtocolError('a ws+unix: URL cannot use an HTTP/2 session', 'ERR_INVALID_OPTION');
  }
  let hop = { target: first, headers, sameOrigin: true };
  for (let count = 0; ; count++) {
    const outcome = await attempt(hop.target, withCredentials(hop, first), options);
    if (outcome instanceof WebSocketDuplex) return outcome;
    if (options.followRedirects !== true || !REDIRECT_STATUSES.has(outcome.statusCode)) throw outcome;
    const next = nextHop(hop.target, outcome.statusCode, outcome.headers, hop.headers, count, maxRedirects, first);
    hop = { ...next, sameOrigin: hop.sameOrigin && next.sameOrigin };
  }
}

/** The URL's credentials as `Authorization: Basic`, unless the caller set one (the first URL's only on its origin). */
function withCredentials(hop: { target: Target; headers: Headers; sameOrigin: boolean }, first: Target): Headers {
  const basic = hop.target.authorization ?? (hop.sameOrigin ? first.authorization : null);
  if (basic === null || hop.headers.some(([name]) => name.toLowerCase() === 'authorization')) return hop.headers;
  return [...hop.headers, ['Authorization', basic]];
}

/** Throws what the stream would throw for this request (bad headers, subprotocols, extensions). */
function checkRequest(target: Target, headers: Headers, options: ConnectOptions): void {
  const core = new WSConnection('client', coreOptions(options));
  core.send(new RequestEvent({ ...requestOf(target, headers, options), extensions: makeExtensions(options) }));
}

function requestOf(target: Target, headers: Headers, options: ConnectOptions) {
  return { host: target.host, target: target.path, subprotocols: options.subprotocols ?? [], extraHeaders: headers };
}

/** One attempt: the transport, then the handshake; a rejection is returned (it may be a redirect). */
async function attempt(
  target: Target,
  headers: Headers,
  options: ConnectOptions,
): Promise<WebSocketDuplex | HandshakeRejectedError> {
  const { signal } = options;
  if (signal?.aborted === true) throw new AbortError(signal.reason);
  let socket: NodeDuplex | null = null;
  if (options.http2 !== undefined && options.http2 !== false) {
    const outcome = await attemptHttp2(target, headers, options, options.http2);
    if (!('fallback' in outcome)) return outcome;
    socket = outcome.fallback;
  }
  socket ??= await openTransport(target, options);
  return attemptHttp1(socket, target, headers, options);
}

/** The HTTP/1.1 handshake on an open transport. */
function attemptHttp1(
  socket: NodeDuplex,
  target: Target,
  headers: Headers,
  options: ConnectOptions,
): Promise<WebSocketDuplex | HandshakeRejectedError> {
  const parked = handOver(socket);
  if (parked !== null) {
    socket.destroy();
    throw parked;
  }
  let ws: WebSocketDuplex;
  try {
    ws = new WebSocketDuplex('client', {
      ...streamOptions(options),
      request: { ...requestOf(target, headers, options), url: withoutCredentials(target.url) },
    });
  } catch (error) {
    socket.destroy();
    throw error;
  }
  return handshake(ws, () => void wireSocket(ws, socket), target, options.signal);
}

/**
 * One attempt over HTTP/2: the session, the server's consent to extended CONNECT, then
 * the handshake on a new stream. `{ fallback }` when `'prefer'` gives up on HTTP/2 (with
 * the TLS transport that agreed on HTTP/1.1, or null to dial anew).
 */
async function attemptHttp2(
  target: Target,
  headers: Headers,
  options: ConnectOptions,
  option: Http2Option,
): Promise<WebSocketDuplex | HandshakeRejectedError | { fallback: NodeDuplex | null }> {
  const prefer = option === 'prefer';
  let session: ClientHttp2Session;
  if (typeof option === 'object') session = option;
  else {
    const socket = await openTransport(target, options, target.secure ? alpnFor() : undefined);
    if (target.secure && alpnOf(socket) !== 'h2') {
      if (prefer) return { fallback: socket };
      socket.destroy();
      const agreed = alpnOf(socket) || 'none';
      throw new ConnectError(
        `the server did not agree to HTTP/2 (ALPN: ${agreed})`,
        'ERR_HTTP2_UNAVAILABLE',
        target.url,
      );
    }
    const parked = handOver(socket);
    if (parked !== null) {
      socket.destroy();
      throw parked;
    }
    session = openSession(target, socket);
  }
  const owned = session !== option;
  let offered: boolean;
  try {
    offered = await underDeadline(target, options, (signal) => extendedConnectOffered(session, signal));
  } catch (error) {
    if (owned) session.destroy();
    const stopped =
      options.signal?.aborted === true || (error instanceof ConnectError && error.code === 'ERR_CONNECT_TIMEOUT');
    if (prefer && !stopped) return { fallback: null };
    // A session of ours that failed before the server's SETTINGS: the server does not speak HTTP/2.
    if (owned && !stopped) {
      const message = `the server did not answer in HTTP/2 (${(error as Error).message})`;
      throw new ConnectError(message, 'ERR_HTTP2_UNAVAILABLE', target.url, { cause: error });
    }
    throw error;
  }
  if (!offered) {
    if (owned) session.destroy();
    if (prefer) return { fallback: null };
    const message = 'the server does not offer WebSockets over HTTP/2 (no SETTINGS_ENABLE_CONNECT_PROTOCOL)';
    throw new ConnectError(message, 'ERR_HTTP2_NO_EXTENDED_CONNECT', target.url);
  }
  const request = requestOn(session, target);
  let ws: WebSocketDuplex;
  try {
    ws = new WebSocketDuplex(
      'client',
      {
        ...streamOptions(options),
        request: { ...requestOf(target, headers, options), url: withoutCredentials(target.url) },
      },
      request.heads,
    );
  } catch (error) {
    if (owned) session.destroy();
    throw error;
  }
  const stream = request.bind(ws);
  // Our session ends after its stream (a GOAWAY before our last END_STREAM upsets strict peers).
  if (owned) ws.once('close', () => (stream.closed ? session.close() : stream.once('close', () => session.close())));
  return handshake(ws, () => void wireHttp2Stream(ws, stream), target, options.signal);
}

/** The options that are the stream's (`WebSocketDuplexOptions`), without those of `connect`. */
function streamOptions(options: ConnectOptions): WebSocketDuplexOptions {
  const { subprotocols, headers, signal, tls, connectTimeout, proxy, proxyTls, proxyHeaders, ...rest } = options;
  const { createConnection, followRedirects, maxRedirects, lookup, family, localAddress, http2, ...stream } = rest;
  void [subprotocols, headers, signal, tls, connectTimeout, proxy, proxyTls, proxyHeaders];
  void [createConnection, followRedirects, maxRedirects, lookup, family, localAddress, http2];
  return stream;
}

/** `dial` under the connect deadline (with `alpn` offered to a TLS origin). */
function openTransport(target: Target, options: ConnectOptions, alpn?: string[]): Promise<NodeDuplex> {
  const dialOptions: DialOptions = {
    tls: options.tls,
    proxy: options.createConnection === undefined ? chooseProxy(target, options.proxy) : null,
    proxyTls: options.proxyTls,
    proxyHeaders: headerPairs(options.proxyHeaders),
    createConnection: options.createConnection,
    socket: {
      ...(options.lookup === undefined ? {} : { lookup: options.lookup }),
      ...(options.family === undefined ? {} : { family: options.family }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    },
    ...(alpn === undefined ? {} : { alpn }),
  };
  return underDeadline(target, options, (signal) => dial(target, dialOptions, signal));
}

/** Run a connect stage under a fresh signal that aborts for the caller's signal or the connect timeout. */
async function underDeadline<T>(
  target: Target,
  options: ConnectOptions,
  stage: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const userSignal = options.signal;
  const onAbort = () => controller.abort(new AbortError(userSignal?.reason));
  userSignal?.addEventListener('abort', onAbort, { once: true });
  const ms = options.connectTimeout ?? 30000;
  const timer =
    ms > 0
      ? setTimeout(() => {
          const message = `no connection to ${target.url.host || target.socketPath} within connectTimeout (${ms} ms)`;
          controller.abort(new ConnectError(message, 'ERR_CONNECT_TIMEOUT', target.url));
        }, ms)
      : null;
  try {
    return await stage(controller.signal);
  } finally {
    if (timer !== null) clearTimeout(timer);
    userSignal?.removeEventListener('abort', onAbort);
  }
}

/** Wire the stream to its transport (`wire`) and wait for the server's answer. */
function handshake(
  ws: WebSocketDuplex,
  wire: () => void,
  target: Target,
  signal: AbortSignal | undefined,
): Promise<WebSocketDuplex | HandshakeRejectedError> {
  return new Promise((resolve, reject) => {
    let rejection: RejectConnectionEvent | null = null;
    const body: Buffer[] = [];
    const unwatch = watch(
      ws as unknown as EventEmitter,
      {
        rejected: (event: RejectConnectionEvent) => void (rejection = event),
        'rejected-data': (event: RejectDataEvent) => void body.push(event.data),
        open: () => (unwatch(), resolve(ws)),
        close: (_code: number, reason: string, _wasClean: boolean, cause: Error | null) => {
          unwatch();
          if (rejection === null) reject(cause ?? new Error(`the WebSocket handshake did not complete: ${reason}`));
          else
            resolve(
              new HandshakeRejectedError(rejection.statusCode, rejection.headers, Buffer.concat(body), target.url),
            );
        },
      },
      signal,
      () => ws[kAbort](new AbortError(signal?.reason)),
    );
    wire();
  });
}
