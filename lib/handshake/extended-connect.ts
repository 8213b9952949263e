/**
 * The opening handshake over HTTP/2 (RFC 8441), for both roles, as pure functions over
 * header lists. HTTP/2 carries no head bytes of ours: the HTTP/2 layer (Node's `http2`,
 * Python's `h2` ...) encodes these lists as HEADERS frames, so each function takes or
 * returns `[name, value]` pairs, pseudo-header fields first.
 *
 * What RFC 8441 changes from RFC 6455 section 4: the request is an extended CONNECT
 * (`:method CONNECT` with `:protocol websocket`, `:scheme`, `:path` and `:authority`,
 * section 4), with no Upgrade, Connection, Sec-WebSocket-Key or Sec-WebSocket-Accept
 * (section 5: they are not processed); success is any 2xx (200 from us) instead of 101;
 * Sec-WebSocket-Version, -Protocol and -Extensions and Origin keep their RFC 6455
 * meaning. Field names are lower case (RFC 9113 8.2.1), connection-specific fields are
 * forbidden (8.2.2).
 *
 * A request that is malformed in the RFC 9113 sense (missing or unknown pseudo-header
 * fields, upper-case names, values with NUL, CR, LF or whitespace at either end,
 * connection-specific fields) is refused with 400, which RFC 9113 8.1.1 allows a server
 * to send before it closes the stream.
 */
import { LocalProtocolError } from '../errors';
import type { Headers } from '../events';
import type { Extension } from '../extensions/extension';
import { offerHeaders, reject, requestOffers, responseChoices, type ClientOffer, type ValidRequest } from './handshake';
import type { HeaderList } from './http/headers';

/** RFC 9113 8.2.2: fields that only mean something to one HTTP/1.1 connection. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** RFC 9113 8.3.1 and RFC 8441 4: the pseudo-header fields a request may carry. */
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);

/** A field name as RFC 9113 8.2.1 allows it: a token without upper-case letters (pseudo-fields aside). */
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/** RFC 9113 8.2.1: a field value with NUL, CR or LF, or with whitespace at either end, is malformed. */
const BAD_VALUE = /[\0\r\n]|^[ \t]|[ \t]$/;

/** RFC 9113 8.2.2: TE is the one connection-specific field allowed, and only as "trailers". */
const isTrailers = (value: string): boolean => value.trim().toLowerCase() === 'trailers';

/** What the server learns from a valid extended CONNECT. */
export type ValidConnect = Omit<ValidRequest, 'key'> & {
  /** `:scheme`: `https` (a `wss:` URI) or `http` (`ws:`). */
  scheme: string;
  /** `:path`: the request target. */
  path: string;
  /** The regular fields (no pseudo-fields), as received. */
  fields: HeaderList;
};

/**
 * Server: validate an extended CONNECT request (RFC 8441 4 and 5). Throws
 * `RemoteProtocolError` whose `eventHint` is the `RejectConnection` to answer with:
 * 405 for another method (with `allow: CONNECT`), 400 for a CONNECT without `:protocol`
 * or a malformed request, 501 for a `:protocol` other than `websocket`, 400 with
 * `sec-websocket-version: 13` for another version (RFC 6455 4.4; 426 would need an
 * Upgrade field, which HTTP/2 forbids).
 */
export function validateConnect(headers: Headers): ValidConnect {
  const pseudo = new Map<string, string>();
  const fields: HeaderList = [];
  for (const [name, value] of headers) {
    if (BAD_VALUE.test(value)) reject(`field ${name} has an invalid value`, 400);
    if (name.startsWith(':')) {
      // RFC 9113 8.3: pseudo-fields come first, once each, and only the defined ones.
      if (fields.length > 0) reject(`pseudo-header field ${name} after a regular field`, 400);
      if (!REQUEST_PSEUDO.has(name)) reject(`unknown pseudo-header field ${name}`, 400);
      if (pseudo.has(name)) reject(`pseudo-header field ${name} appears twice`, 400);
      pseudo.set(name, value);
      continue;
    }
    if (!LOWER_TOKEN.test(name)) reject(`field name ${JSON.stringify(name)} is not a lower-case token`, 400);
    if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && !isTrailers(value))) {
      reject(`connection-specific field ${name} is not allowed in HTTP/2`, 400);
    }
    fields.push([name, value]);
  }
  const method = pseudo.get(':method');
  if (method !== 'CONNECT')
    reject(`the method must be CONNECT, not ${method ?? '(none)'}`, 405, 'ERR_BAD_HANDSHAKE', [['allow', 'CONNECT']]);
  const protocol = pseudo.get(':protocol');
  if (protocol === undefined) reject('a CONNECT without :protocol is not an extended CONNECT', 400);
  if (protocol !== 'websocket') reject(`the protocol ${JSON.stringify(protocol)} is not supported`, 501);
  // RFC 8441 4: an extended CONNECT carries :scheme and :path; RFC 9113 8.5: :authority.
  const scheme = pseudo.get(':scheme');
  const path = pseudo.get(':path');
  const authority = pseudo.get(':authority');
  if (scheme === undefined || path === undefined || authority === undefined) {
    const missing = [':scheme', ':path', ':authority'].filter((n) => !pseudo.has(n));
    reject(`the extended CONNECT lacks ${missing.join(', ')}`, 400);
  }
  if (scheme !== 'https' && scheme !== 'http') reject(`the scheme must be https or http, not ${scheme}`, 400);
  // RFC 9113 8.3.1: "*" is for OPTIONS only; a WebSocket's target is a path.
  if (!path.startsWith('/')) reject(`invalid :path ${JSON.stringify(path)}`, 400);
  if (authority === '') reject('empty :authority', 400);
  // RFC 9113 8.3.1: a Host field, if any, must name the same authority.
  const hosts = fields.filter(([n]) => n === 'host');
  if (hosts.some(([, v]) => v !== authority)) reject('the host field differs from :authority', 400);
  const versions = fields.filter(([n]) => n === 'sec-websocket-version').map(([, v]) => v.trim());
  if (versions.length !== 1 || versions[0] !== '13') {
    reject(
      versions.length === 0
        ? 'the sec-websocket-version field is missing'
        : `unsupported sec-websocket-version ${versions.join(', ')}; this server speaks 13`,
      400,
      'ERR_UNSUPPORTED_VERSION',
      [['sec-websocket-version', '13']],
    );
  }
  return { host: authority, scheme, path, fields, ...requestOffers(fields) };
}

/**
 * Header fields of an HTTP/1.1-style list made fit for HTTP/2 (RFC 9113 8.2): names in
 * lower case, connection-specific fields removed (as 8.2.2 asks of a translation, TE
 * kept only as "trailers"), values trimmed of whitespace at either end (8.2.1), and
 * pseudo-field names refused (only this module writes those).
 */
export function http2Fields(headers: Headers): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (!LOWER_TOKEN.test(lower)) {
      throw new LocalProtocolError(`header name is not a token: ${JSON.stringify(name)}`, 'ERR_INVALID_HEADER');
    }
    if (typeof value !== 'string' || /[\0\r\n]/.test(value)) {
      throw new LocalProtocolError(`header ${name} has an invalid value`, 'ERR_INVALID_HEADER');
    }
    if (CONNECTION_SPECIFIC.has(lower) || (lower === 'te' && !isTrailers(value))) continue;
    // RFC 9113 8.2.1: no whitespace at either end (HTTP/1.1's OWS, not part of the value).
    out.push([lower, value.replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  return out;
}

/** Server: the fields of a successful response (RFC 8441 5: 200, then RFC 6455 4.2.2's choices). */
export function connectAcceptHeaders(
  subprotocol: string | null,
  extensionHeader: string | null,
  extra: Headers,
): HeaderList {
  const headers: HeaderList = [[':status', '200']];
  if (subprotocol !== null) headers.push(['sec-websocket-protocol', subprotocol]);
  if (extensionHeader !== null) headers.push(['sec-websocket-extensions', extensionHeader]);
  const taken = new Set(headers.map(([n]) => n));
  return [...headers, ...http2Fields(extra).filter(([n]) => !taken.has(n))];
}

/** Server: the fields of a refusal. */
export function connectRejectHeaders(statusCode: number, headers: Headers): HeaderList {
  return [[':status', String(statusCode)], ...http2Fields(headers)];
}

/**
 * Client: the fields of an extended CONNECT (RFC 8441 4 and 5): the pseudo-fields, then
 * sec-websocket-version 13 and the offer, then the extra fields (origin ...).
 */
export function connectRequestHeaders(
  scheme: 'http' | 'https',
  authority: string,
  path: string,
  subprotocols: readonly string[],
  extensions: readonly Extension[],
  extra: Headers,
): HeaderList {
  if (authority === '' || /[\0\r\n\s]/.test(authority)) {
    throw new LocalProtocolError(`invalid authority ${JSON.stringify(authority)}`, 'ERR_INVALID_HEADER');
  }
  if (!path.startsWith('/') || /[\0\r\n\s]/.test(path)) {
    throw new LocalProtocolError(`invalid path ${JSON.stringify(path)}`, 'ERR_INVALID_HEADER');
  }
  // :authority stands for Host (RFC 9113 8.3.1).
  const fields = http2Fields(extra).filter(([n]) => n !== 'host');
  return [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', scheme],
    [':path', path],
    [':authority', authority],
    ['sec-websocket-version', '13'],
    ...http2Fields(offerHeaders(subprotocols, extensions)),
    ...fields,
  ];
}

/** The `:status` of a response header list, or null when it is missing or not three digits. */
export function responseStatus(headers: Headers): number | null {
  const statuses = headers.filter(([n]) => n === ':status');
  if (statuses.length !== 1 || !/^[1-9][0-9][0-9]$/.test(statuses[0]![1])) return null;
  return Number(statuses[0]![1]);
}

/**
 * Client: check a 2xx response against the offer (RFC 8441 5: the subprotocol and the
 * extensions as in RFC 6455 4.1; no Sec-WebSocket-Accept). Throws `RemoteProtocolError`.
 */
export function validateConnectResponse(
  headers: Headers,
  offer: Omit<ClientOffer, 'key'>,
): { subprotocol: string | null; extensions: Extension[] } {
  return responseChoices(headers, offer);
}
