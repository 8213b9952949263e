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
import { WebSocketDuplex } from './websocket-duplex';

/** Options of `connect`. */
export interface ConnectOptions extends Omit<WebSocketDuplexOptions, 'request' | 'accept'> {
  /** Subprotocols to offer. @defaultValue `[]` */
  subprotocols?: string[];
  /** Extra request headers (e.g. Origin, Authorization). @defaultValue `[]` */
  headers?: Headers;
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
  const { subprotocols, headers, tls: tlsOptions, timeout, ...rest } = options;
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
        extraHeaders: headers ?? [],
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
    const cleanup = () => {
      ws.off('rejected', onRejected);
      ws.off('rejected-data', onRejectedData);
      ws.off('close', onClose);
      ws.off('open', onOpen);
    };
    ws.on('rejected', onRejected);
    ws.on('rejected-data', onRejectedData);
    ws.once('close', onClose);
    ws.once('open', onOpen);
    wireSocket(ws, socket);
  });
}
