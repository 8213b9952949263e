/**
 * The errors `connect()` rejects with before a WebSocket opens, each with a stable
 * `code`: the origin refused the handshake (`HandshakeRejectedError`), a proxy refused
 * the tunnel (`ProxyRejectedError`), or the attempt failed on the way (`ConnectError`:
 * a connect timeout, a redirect that may not be followed). An aborted attempt rejects
 * with an error named `AbortError`.
 */
import type { Headers } from '../../events';

/** Stable codes of the errors `connect()` makes itself. */
export type ConnectErrorCode =
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_HANDSHAKE_REJECTED'
  | 'ERR_PROXY_REJECTED'
  | 'ERR_TOO_MANY_REDIRECTS'
  | 'ERR_INSECURE_REDIRECT'
  | 'ERR_BAD_REDIRECT'
  | 'ERR_HTTP2_UNAVAILABLE'
  | 'ERR_HTTP2_NO_EXTENDED_CONNECT';

/** A connection attempt failed before the WebSocket opened (see `code`). */
export class ConnectError extends Error {
  /** A stable code for programs to test (see the README's error list). */
  readonly code: ConnectErrorCode;
  /** The URL of the attempt that failed (without credentials). */
  readonly url: string;

  /**
   * Make the error (`connect` does).
   *
   * @param message what went wrong, for people.
   * @param code the stable code.
   * @param url the URL of the attempt (credentials are removed).
   * @param options the underlying cause, if any.
   */
  constructor(message: string, code: ConnectErrorCode, url: string | URL, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectError';
    this.code = code;
    this.url = withoutCredentials(url);
  }
}

/** The server answered the handshake with another status than 101 (code `ERR_HANDSHAKE_REJECTED`). */
export class HandshakeRejectedError extends ConnectError {
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
   * @param url the URL whose server answered (credentials are removed).
   */
  constructor(statusCode: number, headers: Headers, body: Buffer, url: string | URL = '') {
    super(`the server rejected the WebSocket handshake with status ${statusCode}`, 'ERR_HANDSHAKE_REJECTED', url);
    this.name = 'HandshakeRejectedError';
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}

/** The proxy refused to open the tunnel (403, 407 ...; code `ERR_PROXY_REJECTED`). */
export class ProxyRejectedError extends ConnectError {
  /** The proxy's HTTP status (407: it wants credentials, or other ones). */
  readonly statusCode: number;
  /** The proxy's response headers (e.g. `Proxy-Authenticate`). */
  readonly headers: Headers;
  /** The start of the proxy's response body (at most 16 KiB). */
  readonly body: Buffer;
  /** The proxy (without credentials). */
  readonly proxy: string;

  /**
   * Make the error (`connect` does).
   *
   * @param statusCode the proxy's status.
   * @param headers the proxy's response headers.
   * @param body the start of its body.
   * @param proxy the proxy URL (credentials are removed).
   * @param url the WebSocket URL the tunnel was for.
   */
  constructor(statusCode: number, headers: Headers, body: Buffer, proxy: string | URL, url: string | URL) {
    const where = withoutCredentials(proxy);
    super(`the proxy ${where} refused the tunnel with status ${statusCode}`, 'ERR_PROXY_REJECTED', url);
    this.name = 'ProxyRejectedError';
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
    this.proxy = where;
  }
}

/** What `connect` rejects with when its `signal` aborts before the handshake completed. */
export class AbortError extends Error {
  /** As Node's own abort errors. */
  readonly code = 'ABORT_ERR';

  /**
   * Make the error (`connect` does).
   *
   * @param reason the signal's reason, kept as the `cause`.
   */
  constructor(reason: unknown) {
    super('the WebSocket connection was aborted', { cause: reason });
    this.name = 'AbortError';
  }
}

/**
 * `url` as text, without its user name and password. Text that is not a URL loses
 * what looks like user info (`scheme://…@`), so an error message never shows a password.
 */
export function withoutCredentials(url: string | URL): string {
  if (url === '') return '';
  try {
    const copy = new URL(url);
    copy.username = '';
    copy.password = '';
    return copy.href;
  } catch {
    return String(url).replace(/^([a-z][a-z0-9+.-]*:)?([/\\]*)[^/\\?#]*@/i, '$1$2');
  }
}
