/**
 * `connect(url, options)`: a client `WebSocketDuplex` over `net` (ws://) or `tls`
 * (wss://), resolved once the handshake completes.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { LocalProtocolError } from '../errors';
import type { Headers, RejectConnectionEvent, RejectDataEvent } from '../events';
import type { WebSocketDuplexOptions } from './options';
import { wireSocket } from './socket-wiring';
import { kAbort, WebSocketDuplex } from './websocket-duplex';

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
  /** Extra request headers (e.g. Origin, Authorization): pairs or an object. @defaultValue `[]` */
  headers?: ConnectHeaders;
  /**
   * Abort the attempt: before the handshake completed, the socket is destroyed and the
   * promise rejects with an error named `AbortError` (code `ABORT_ERR`, the signal's
   * reason as its `cause`). Once open, the signal is no longer watched.
   * @defaultValue none (the attempt is bounded by `timeout` only)
   */
  signal?: AbortSignal;
  /** TLS options for wss:// (ca, rejectUnauthorized, servername ...). @defaultValue `{}` (the host name as servername) */
  tls?: tls.ConnectionOptions;
  /** Milliseconds to establish TCP/TLS and finish the handshake. @defaultValue `handshakeTimeout`, else `30000` */
  timeout?: number;
}

/** The error `connect` rejects with when the server answers with another status than 101. */
export class HandshakeRejectedError extends Error {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The response headers. */
  readonly headers: Headers;
  /** The response body (bounded by maxRejectBodySize). */
  readonly body: Buffer;

  /**
   * Make the error (`connect` does; there is little reason to do it yourself).
   *
   * @param statusCode the HTTP status of the response.
   * @param headers the response headers.
   * @param body the response body.
   */
  constructor(statusCode: number, headers: Headers, body: Buffer) {
    super(`the server rejected the WebSocket handshake with status ${statusCode}`);
    this.name = 'HandshakeRejectedError';
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}

/** What `connect` rejects with when its `signal` aborts before the handshake completed. */
class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(reason: unknown) {
    super('the WebSocket connection was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

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
 * Connect to a ws:// or wss:// URL; resolves with the open stream. Rejects with
 * `HandshakeRejectedError` when the server answers with another status than 101, and
 * with the cause (ECONNREFUSED, a bad handshake, `ERR_HANDSHAKE_TIMEOUT` ...) when the
 * connection ends before it opens. After it opened, whatever the server or the network
 * does ends in the stream's 'close' event, never in 'error'.
 */
export function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketDuplex> {
  const target = typeof url === 'string' ? new URL(url) : url;
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
    return Promise.reject(new LocalProtocolError(`unsupported URL scheme ${target.protocol}`, 'ERR_INVALID_OPTION'));
  }
  const secure = target.protocol === 'wss:';
  const port = target.port === '' ? (secure ? 443 : 80) : Number(target.port);
  const hostname = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  const defaultPort = (secure && port === 443) || (!secure && port === 80);
  const host = defaultPort ? target.hostname : `${target.hostname}:${port}`;
  const { subprotocols, headers, tls: tlsOptions, timeout, signal, ...rest } = options;
  if (signal?.aborted === true) return Promise.reject(new AbortError(signal.reason));
  return new Promise<WebSocketDuplex>((resolve, reject) => {
    // The stream first: it validates the request (headers, subprotocols) before any
    // connection is opened, so a refused request leaves no socket behind.
    const ws = new WebSocketDuplex('client', {
      ...rest,
      handshakeTimeout: timeout ?? rest.handshakeTimeout ?? 30000,
      request: {
        host,
        target: `${target.pathname}${target.search}`,
        subprotocols: subprotocols ?? [],
        extraHeaders: headerPairs(headers),
      },
    });
    const socket = secure
      ? tls.connect({
          host: hostname,
          port,
          servername: net.isIP(hostname) ? undefined : hostname,
          ...tlsOptions,
        } as tls.ConnectionOptions)
      : net.connect({ host: hostname, port });
    let rejection: RejectConnectionEvent | null = null;
    const body: Buffer[] = [];
    const onRejected = (event: RejectConnectionEvent) => {
      rejection = event;
    };
    const onRejectedData = (event: RejectDataEvent) => {
      body.push(event.data);
    };
    const onClose = (_code: number, reason: string, _wasClean: boolean, cause: Error | null) => {
      cleanup();
      if (rejection !== null) {
        reject(new HandshakeRejectedError(rejection.statusCode, rejection.headers, Buffer.concat(body)));
      } else reject(cause ?? new Error(`the WebSocket handshake did not complete: ${reason}`));
    };
    const onOpen = () => {
      cleanup();
      resolve(ws);
    };
    const onAbort = () => ws[kAbort](new AbortError(signal?.reason));
    const cleanup = () => {
      signal?.removeEventListener('abort', onAbort);
      ws.off('rejected', onRejected);
      ws.off('rejected-data', onRejectedData);
      ws.off('close', onClose);
      ws.off('open', onOpen);
    };
    ws.on('rejected', onRejected);
    ws.on('rejected-data', onRejectedData);
    ws.once('close', onClose);
    ws.once('open', onOpen);
    signal?.addEventListener('abort', onAbort, { once: true });
    wireSocket(ws, socket);
  });
}
