/**
 * Following a redirect during the opening handshake (opt-in: `followRedirects`). A
 * 301, 302, 303, 307 or 308 with a `Location` names the next URL, resolved against the
 * current one; the request is the same GET upgrade each time (RFC 9110 15.4: a 303
 * means GET, which it already is). The rules, each with its `ConnectError` code:
 *
 * - no, or an unparsable, `Location`, or one that is not a WebSocket URL: `ERR_BAD_REDIRECT`;
 * - from `wss:` to `ws:`, or from the network to a unix socket (`ws+unix:`):
 *   `ERR_INSECURE_REDIRECT`, never followed;
 * - more than `maxRedirects` hops: `ERR_TOO_MANY_REDIRECTS`.
 *
 * On a hop to another origin (scheme, host or port), `Authorization` and `Cookie` are
 * dropped from the request headers, and the first URL's credentials are not sent: they
 * were meant for the first origin only. Credentials in the `Location` itself are used.
 */
import type { Headers } from '../../events';
import { asciiLowerCase } from '../../handshake/http/abnf';
import { ConnectError } from './errors';
import { parseTarget, type Target } from './target';

/** The statuses followed. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers meant for one origin only. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie']);

/** The next hop: where to, and the request headers to send there. */
export interface RedirectHop {
  readonly target: Target;
  readonly headers: Headers;
  /** False once a hop left the first URL's origin: its credentials no longer apply. */
  readonly sameOrigin: boolean;
}

/**
 * The hop a redirect response asks for. `count` is the number of redirects followed so
 * far (this one excluded); `first` is the URL the caller asked for.
 */
export function nextHop(
  from: Target,
  statusCode: number,
  responseHeaders: Headers,
  requestHeaders: Headers,
  count: number,
  maxRedirects: number,
  first: Target,
): RedirectHop {
  const url = from.url;
  if (count >= maxRedirects) {
    throw new ConnectError(`more than ${maxRedirects} redirects (maxRedirects)`, 'ERR_TOO_MANY_REDIRECTS', url);
  }
  const locations = responseHeaders.filter(([name]) => asciiLowerCase(name) === 'location');
  const location = locations.length === 1 ? locations[0]![1].trim() : '';
  if (location === '') {
    const what = locations.length > 1 ? 'with several Location headers' : 'without a Location';
    throw new ConnectError(`a ${statusCode} redirect ${what}`, 'ERR_BAD_REDIRECT', url);
  }
  let target: Target;
  try {
    target = parseTarget(location, url);
  } catch (error) {
    throw new ConnectError(`a redirect to an unusable URL: ${location}`, 'ERR_BAD_REDIRECT', url, { cause: error });
  }
  if (from.secure && !target.secure) {
    throw new ConnectError(
      `a redirect from wss: to ${target.url.protocol} is never followed`,
      'ERR_INSECURE_REDIRECT',
      url,
    );
  }
  if (target.socketPath !== null && from.socketPath === null) {
    // A server on the network may not point the client at a local socket (docker.sock ...).
    throw new ConnectError(
      'a redirect from the network to a unix socket is never followed',
      'ERR_INSECURE_REDIRECT',
      url,
    );
  }
  const sameOrigin = target.origin === first.origin;
  const headers = sameOrigin
    ? requestHeaders
    : requestHeaders.filter(([name]) => !CREDENTIAL_HEADERS.has(asciiLowerCase(name)));
  return { target, headers, sameOrigin };
}
