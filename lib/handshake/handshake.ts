/**
 * The opening handshake rules (RFC 6455 section 4), for both roles, as pure functions
 * over parsed HTTP heads. `WSConnection` drives them; `lib/handshake/http/` parses and
 * serializes the heads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LocalProtocolError, RemoteProtocolError, type RemoteErrorCode } from '../errors';
import { RejectConnectionEvent, type Headers } from '../events';
import type { Extension, ExtensionParams } from '../extensions/extension';
import { formatExtensionParams, parseExtensionHeader } from './extension-header';
import type { RequestHead, ResponseHead } from './http/head-parser';
import { getHeaderList, hasToken, type HeaderList } from './http/headers';

// RFC 6455 1.3: the GUID concatenated with the key before hashing.
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** RFC 6455 4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** RFC 6455 4.1: a nonce of 16 random bytes, base64-encoded. */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

/** RFC 6455 4.2.1: the key must be base64 that decodes to exactly 16 bytes. */
export function isValidKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{22}==$/.test(key) && Buffer.from(key, 'base64').length === 16;
}

/** RFC 6455 4.1 and 4.3: subprotocol names are tokens. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Refuse a request: throws `RemoteProtocolError` whose `eventHint` is the `RejectConnection` to answer with. */
export function reject(
  message: string,
  statusCode: number,
  code: RemoteErrorCode = 'ERR_BAD_HANDSHAKE',
  headers: Headers = [],
): never {
  throw new RemoteProtocolError(message, {
    code,
    eventHint: new RejectConnectionEvent({ statusCode, headers }),
  });
}

/** What the server learns from a valid upgrade request. */
export interface ValidRequest {
  host: string;
  key: string;
  subprotocols: string[];
  extensions: ExtensionParams[];
}

/**
 * RFC 6455 4.2.1: validate a client's opening handshake. Throws `RemoteProtocolError`
 * with an `eventHint` (the `RejectConnection` to answer with) naming the problem.
 */
export function validateRequest(head: RequestHead): ValidRequest {
  const { headers } = head;
  // RFC 6455 4.1: "The method of the request MUST be GET".
  if (head.method !== 'GET') {
    reject(`the method must be GET, not ${head.method}`, 405, 'ERR_BAD_HANDSHAKE', [['Allow', 'GET']]);
  }
  // RFC 6455 4.1: "the HTTP version MUST be at least 1.1".
  const [major = 0, minor = 0] = head.version.split('.').map(Number);
  if (major < 1 || (major === 1 && minor < 1)) reject(`HTTP/${head.version} cannot upgrade; 1.1 is needed`, 505);
  const hosts = getHeaderList(headers, 'host');
  if (hosts.length !== 1) reject(hosts.length === 0 ? 'the Host header is missing' : 'more than one Host header', 400);
  // RFC 6455 4.2.1 item 3: Upgrade contains "websocket", case-insensitively.
  if (!hasToken(headers, 'upgrade', 'websocket')) {
    reject('the Upgrade header must contain "websocket"', 426, 'ERR_BAD_HANDSHAKE', [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
    ]);
  }
  // RFC 6455 4.2.1 item 4: Connection contains the token "Upgrade".
  if (!hasToken(headers, 'connection', 'upgrade')) reject('the Connection header must contain "Upgrade"', 400);
  // RFC 6455 4.2.1 item 6: version 13; otherwise 4.4: 426 with the versions we speak.
  const versions = getHeaderList(headers, 'sec-websocket-version');
  if (versions.length !== 1 || versions[0] !== '13') {
    reject(
      versions.length === 0
        ? 'the Sec-WebSocket-Version header is missing'
        : `unsupported Sec-WebSocket-Version ${versions.join(', ')}; this server speaks 13`,
      426,
      'ERR_UNSUPPORTED_VERSION',
      [['Sec-WebSocket-Version', '13']],
    );
  }
  // RFC 6455 4.2.1 item 5: a base64 key that decodes to 16 bytes.
  const keys = getHeaderList(headers, 'sec-websocket-key');
  if (keys.length !== 1) {
    reject(keys.length === 0 ? 'the Sec-WebSocket-Key header is missing' : 'more than one Sec-WebSocket-Key', 400);
  }
  const key = keys[0]!;
  if (!isValidKey(key)) reject('Sec-WebSocket-Key must be base64 of exactly 16 bytes', 400);
  return { host: hosts[0]!, key, ...requestOffers(headers) };
}

/**
 * RFC 6455 4.2.1 items 8 and 9 (and RFC 8441 5, which keeps them): the subprotocols and
 * extensions a client offers. Throws `RemoteProtocolError` (400) for a bad one.
 */
export function requestOffers(headers: Headers): { subprotocols: string[]; extensions: ExtensionParams[] } {
  const subprotocols = getHeaderList(headers, 'sec-websocket-protocol');
  for (const name of subprotocols) {
    if (!TOKEN.test(name)) reject(`invalid subprotocol name ${JSON.stringify(name)}`, 400);
  }
  const extensionValues = headers.filter(([n]) => n.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v);
  const extensions = extensionValues.length > 0 ? parseExtensionHeader(extensionValues) : [];
  return { subprotocols, extensions };
}

/**
 * Server: negotiate `supported` extensions against the client's `offers` (RFC 6455 9.1:
 * offers are in the client's order of preference; each extension object accepts at most
 * one of its offers). Returns the enabled extensions and the response header value.
 */
export function negotiateExtensions(
  supported: readonly Extension[],
  offers: readonly ExtensionParams[],
): { enabled: Extension[]; header: string | null } {
  const enabled: Extension[] = [];
  const accepted: string[] = [];
  for (const extension of supported) {
    for (const offer of offers) {
      if (offer.name.toLowerCase() !== extension.name.toLowerCase()) continue;
      const params = extension.accept(offer);
      if (params === null) continue;
      enabled.push(extension);
      accepted.push(params === true ? extension.name : `${extension.name}; ${params}`);
      break;
    }
  }
  return { enabled, header: accepted.length > 0 ? accepted.join(', ') : null };
}

/**
 * Server: the choices of an `AcceptConnection` checked against the request (the
 * subprotocol must be one the client offered) and the extensions negotiated (RFC 6455
 * 9.1: each takes the first of the client's offers it accepts). Both handshakes, HTTP/1.1
 * and HTTP/2, accept through this.
 */
export function acceptChoices(
  request: { subprotocols: readonly string[]; extensions: readonly ExtensionParams[] },
  subprotocol: string | null,
  extensions: readonly Extension[],
): { enabled: Extension[]; header: string | null } {
  if (subprotocol !== null && !request.subprotocols.includes(subprotocol)) {
    throw new LocalProtocolError(
      `subprotocol ${JSON.stringify(subprotocol)} was not offered by the client`,
      'ERR_INVALID_SUBPROTOCOL',
    );
  }
  return negotiateExtensions(extensions, request.extensions);
}

/** What the client remembers of its request, to check the response against. */
export interface ClientOffer {
  key: string;
  subprotocols: readonly string[];
  extensions: readonly Extension[];
}

function fail(message: string, code: RemoteErrorCode = 'ERR_BAD_HANDSHAKE'): never {
  throw new RemoteProtocolError(message, { code });
}

/**
 * RFC 6455 4.1 (the client's checks of the server's 101): Upgrade, Connection,
 * Sec-WebSocket-Accept, subprotocol and extensions. Returns the chosen subprotocol and
 * the enabled extensions; throws `RemoteProtocolError` on any failure.
 */
export function validateResponse(
  head: ResponseHead,
  offer: ClientOffer,
): { subprotocol: string | null; extensions: Extension[] } {
  const { headers } = head;
  if (!hasToken(headers, 'upgrade', 'websocket')) fail('the response Upgrade header is not "websocket"');
  if (!hasToken(headers, 'connection', 'upgrade')) fail('the response Connection header lacks "Upgrade"');
  const accepts = getHeaderList(headers, 'sec-websocket-accept');
  if (accepts.length !== 1 || accepts[0] !== acceptKey(offer.key)) {
    fail('Sec-WebSocket-Accept does not match the key we sent');
  }
  return responseChoices(headers, offer);
}

/**
 * RFC 6455 4.1 (and RFC 8441 5): the subprotocol and extensions a server chose, checked
 * against what was offered. Throws `RemoteProtocolError` on any failure.
 */
export function responseChoices(
  headers: Headers,
  offer: Omit<ClientOffer, 'key'>,
): { subprotocol: string | null; extensions: Extension[] } {
  let subprotocol: string | null = null;
  const protocols = getHeaderList(headers, 'sec-websocket-protocol');
  if (protocols.length > 1) fail('the server chose more than one subprotocol');
  if (protocols.length === 1) {
    subprotocol = protocols[0]!;
    if (!offer.subprotocols.includes(subprotocol))
      fail(`the server chose subprotocol ${subprotocol}, which we did not offer`);
  }
  const values = headers.filter(([n]) => n.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v);
  const responses = values.length > 0 ? parseExtensionHeader(values) : [];
  const enabled: Extension[] = [];
  for (const response of responses) {
    const extension = offer.extensions.find((e) => e.name.toLowerCase() === response.name.toLowerCase());
    // RFC 6455 9.1: the server may only accept extensions the client offered.
    if (extension === undefined)
      fail(`the server accepted extension ${response.name}, which we did not offer`, 'ERR_BAD_EXTENSION');
    if (enabled.includes(extension)) fail(`the server accepted extension ${response.name} twice`, 'ERR_BAD_EXTENSION');
    extension.finalize(response);
    enabled.push(extension);
  }
  return { subprotocol, extensions: enabled };
}

/** Client: the header list of an opening handshake request (RFC 6455 4.1). */
export function requestHeaders(
  host: string,
  key: string,
  subprotocols: readonly string[],
  extensions: readonly Extension[],
  extra: Headers,
): HeaderList {
  const headers: HeaderList = [
    ['Host', host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
    ...offerHeaders(subprotocols, extensions),
  ];
  for (const [name, value] of extra) headers.push([name, value]);
  return headers;
}

/** Client: the Sec-WebSocket-Protocol and Sec-WebSocket-Extensions fields of an offer (RFC 6455 4.1). */
export function offerHeaders(subprotocols: readonly string[], extensions: readonly Extension[]): HeaderList {
  const headers: HeaderList = [];
  if (subprotocols.length > 0) {
    for (const name of subprotocols) {
      if (!TOKEN.test(name))
        throw new LocalProtocolError(`invalid subprotocol name ${JSON.stringify(name)}`, 'ERR_INVALID_SUBPROTOCOL');
    }
    headers.push(['Sec-WebSocket-Protocol', subprotocols.join(', ')]);
  }
  const offers: string[] = [];
  for (const extension of extensions) {
    const params = extension.offer();
    if (params === false) continue;
    offers.push(
      params === true ? extension.name : formatExtensionParams({ name: extension.name, params: parseParams(params) }),
    );
  }
  if (offers.length > 0) headers.push(['Sec-WebSocket-Extensions', offers.join(', ')]);
  return headers;
}

// An extension's offer string is "a; b=1": check it through the same grammar as the wire.
function parseParams(params: string): ReadonlyArray<readonly [string, string | null]> {
  try {
    return parseExtensionHeader([`x; ${params}`])[0]!.params;
  } catch (error) {
    throw new LocalProtocolError(
      `invalid extension offer "${params}": ${(error as Error).message}`,
      'ERR_INVALID_EXTENSION',
    );
  }
}

/** Server: the header list of a 101 response (RFC 6455 4.2.2). */
export function acceptHeaders(
  key: string,
  subprotocol: string | null,
  extensionHeader: string | null,
  extra: Headers,
): HeaderList {
  const headers: HeaderList = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKey(key)],
  ];
  if (subprotocol !== null) headers.push(['Sec-WebSocket-Protocol', subprotocol]);
  if (extensionHeader !== null) headers.push(['Sec-WebSocket-Extensions', extensionHeader]);
  for (const [name, value] of extra) headers.push([name, value]);
  return headers;
}
