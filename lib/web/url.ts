/**
 * What the WHATWG WebSocket constructors check before they connect (the WebSockets
 * standard, "new WebSocket(url, protocols)"), shared by `WebSocket` and `WebSocketStream`:
 * the URL (http/https become ws/wss; another scheme, a fragment or a relative URL without
 * a base is a SyntaxError) and the subprotocols (tokens, each once).
 */

/** The `DOMException` a browser throws for a bad URL or subprotocol list. */
export function syntaxError(message: string): DOMException {
  return new DOMException(message, 'SyntaxError');
}

/** Parse a WebSocket URL as a browser does; `base` resolves a relative one. Throws SyntaxError. */
export function parseWebSocketUrl(url: string | URL, base?: string | URL): URL {
  let parsed: URL;
  try {
    parsed = base === undefined ? new URL(String(url)) : new URL(String(url), base);
  } catch {
    throw syntaxError(`Failed to construct 'WebSocket': The URL '${String(url)}' is invalid.`);
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  else if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw syntaxError(
      `Failed to construct 'WebSocket': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${parsed.protocol.slice(0, -1)}' is not allowed.`,
    );
  }
  if (parsed.hash !== '' || String(url).includes('#')) {
    throw syntaxError(
      `Failed to construct 'WebSocket': The URL contains a fragment identifier ('${parsed.hash.slice(1)}'). Fragment identifiers are not allowed in WebSocket URLs.`,
    );
  }
  return parsed;
}

// RFC 9110 5.6.2 token: visible ASCII except the delimiters "(),/:;<=>?@[\]{}.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The subprotocols argument as a list: each a token, none twice. Throws SyntaxError. */
export function parseProtocols(protocols: string | readonly string[] | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols].map(String);
  const seen = new Set<string>();
  for (const protocol of list) {
    if (!TOKEN.test(protocol)) {
      throw syntaxError(`Failed to construct 'WebSocket': The subprotocol '${protocol}' is invalid.`);
    }
    if (seen.has(protocol)) {
      throw syntaxError(`Failed to construct 'WebSocket': The subprotocol '${protocol}' is duplicated.`);
    }
    seen.add(protocol);
  }
  return list;
}
