/**
 * What `connect()` makes of a URL: where to open the transport, and what to put in the
 * request. Accepted schemes: `ws:` and `wss:`; `http:` and `https:` (taken as `ws:` and
 * `wss:`, as the WHATWG WebSocket and `ws` do); `ws+unix:` for a unix socket, written
 * `ws+unix:/path/to/socket:/request/path` (as `ws` writes it). A fragment is refused
 * (RFC 6455 3: a WebSocket URI has none).
 *
 * IPv6 literals keep their brackets in `Host` and in the CONNECT authority, and lose them
 * for the socket (`ws://[::1]:8080/` connects to `::1` port 8080). A user name and
 * password in the URL become `Authorization: Basic` (as `ws` does; browsers drop them).
 */
import { LocalProtocolError } from '../../errors';
import { withoutCredentials } from './errors';

/** One connection attempt's destination. */
export interface Target {
  /** The URL, scheme normalized (`http:` → `ws:` ...). */
  readonly url: URL;
  /** `wss:`: TLS to the origin. */
  readonly secure: boolean;
  /** The host to resolve and connect to (IPv6 without brackets); '' for a unix socket. */
  readonly hostname: string;
  /** The TCP port (the scheme's default when the URL has none). */
  readonly port: number;
  /** `host:port` for a proxy's CONNECT (IPv6 in brackets). */
  readonly authority: string;
  /** The `Host` header: the port only when it is not the scheme's default. */
  readonly host: string;
  /** The request target: path and query. */
  readonly path: string;
  /** `ws+unix:`: the socket's path; otherwise null. */
  readonly socketPath: string | null;
  /** scheme://host:port, for telling a cross-origin redirect (RFC 6454). */
  readonly origin: string;
  /** `Basic …` from the URL's credentials, or null. */
  readonly authorization: string | null;
}

const SCHEMES: Readonly<Record<string, string>> = {
  'ws:': 'ws:',
  'wss:': 'wss:',
  'http:': 'ws:',
  'https:': 'wss:',
  'ws+unix:': 'ws+unix:',
};

function invalid(message: string): LocalProtocolError {
  return new LocalProtocolError(message, 'ERR_INVALID_URL');
}

/** Parse `input` (relative to `base` if given) into a `Target`; throws `ERR_INVALID_URL`. */
export function parseTarget(input: string | URL, base?: URL): Target {
  let url: URL;
  try {
    url = new URL(input, base);
  } catch {
    throw invalid(`not a valid URL: ${JSON.stringify(withoutCredentials(String(input)))}`);
  }
  const scheme = SCHEMES[url.protocol];
  if (scheme === undefined) throw invalid(`unsupported URL scheme ${url.protocol} (ws:, wss:, ws+unix:)`);
  if (url.hash !== '' || String(input).includes('#')) throw invalid('a WebSocket URL has no fragment (RFC 6455 3)');
  if (scheme !== url.protocol) url = new URL(`${scheme}${url.href.slice(url.protocol.length)}`);
  const authorization = basicCredentials(url);
  if (scheme === 'ws+unix:') return unixTarget(url, authorization);
  if (url.hostname === '') throw invalid(`the URL has no host: ${withoutCredentials(url)}`);
  const secure = scheme === 'wss:';
  const defaultPort = secure ? 443 : 80;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const bracketed = url.hostname; // WHATWG keeps IPv6 literals in brackets
  const hostname = bracketed.startsWith('[') ? bracketed.slice(1, -1) : bracketed;
  return {
    url,
    secure,
    hostname,
    port,
    authority: `${bracketed}:${port}`,
    host: port === defaultPort ? bracketed : `${bracketed}:${port}`,
    path: `${url.pathname || '/'}${url.search}`,
    socketPath: null,
    origin: `${scheme}//${bracketed}:${port}`,
    authorization,
  };
}

/** `ws+unix:/run/app.sock:/chat?x=1`: the socket is before the first ':' of the path. */
function unixTarget(url: URL, authorization: string | null): Target {
  // Split before decoding: a `%3A` belongs to the socket's name; the request path stays
  // percent-encoded, as it goes on the wire.
  const whole = url.pathname;
  const colon = whole.indexOf(':');
  const socketPath = decode(colon === -1 ? whole : whole.slice(0, colon), 'socket path');
  if (socketPath === '') throw invalid(`the ws+unix: URL has no socket path: ${withoutCredentials(url)}`);
  const path = colon === -1 || colon === whole.length - 1 ? '/' : whole.slice(colon + 1);
  return {
    url,
    secure: false,
    hostname: '',
    port: 0,
    authority: 'localhost:80',
    host: 'localhost',
    path: `${path.startsWith('/') ? path : `/${path}`}${url.search}`,
    socketPath,
    origin: `ws+unix://${socketPath}`,
    authorization,
  };
}

function basicCredentials(url: URL): string | null {
  if (url.username === '' && url.password === '') return null;
  const user = decode(url.username, 'credentials');
  const password = decode(url.password, 'credentials');
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

/** Percent-decoded UTF-8 (RFC 3986 2.1); `ERR_INVALID_URL` instead of a URIError. */
function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid(`the URL's ${what}: not valid percent-encoded UTF-8`);
  }
}
