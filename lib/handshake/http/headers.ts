/**
 * Header look-up over parsed header fields: single values, list elements (RFC 9110
 * 5.6.1) and tokens in lists, with names and tokens compared ASCII case-insensitively.
 */
import { LocalProtocolError } from '../../errors';
import type { Headers } from '../../events';
import { HTAB, SP, asciiLowerCase, skipOws } from './abnf';

/** Header fields as `[name, value]` pairs, names in their original case, in order. */
export type HeaderList = Array<[string, string]>;

/**
 * The value of header `name` (case-insensitive), or null when absent. Repeated fields
 * are combined with `, ` as RFC 9110 5.3 allows for list-based fields (so do not use
 * this for `Set-Cookie`).
 */
export function getHeader(headers: Headers, name: string): string | null {
  const wanted = asciiLowerCase(name);
  let out: string | null = null;
  for (const [n, v] of headers) {
    if (asciiLowerCase(n) === wanted) out = out === null ? v : `${out}, ${v}`;
  }
  return out;
}

/**
 * The elements of list header `name` (RFC 9110 5.6.1: `#element`), across repeated
 * fields: split at commas outside quoted-strings, OWS trimmed, empty elements dropped.
 * Elements are returned as written (a quoted-string keeps its quotes).
 */
export function getHeaderList(headers: Headers, name: string): string[] {
  const wanted = asciiLowerCase(name);
  const out: string[] = [];
  for (const [n, v] of headers) {
    if (asciiLowerCase(n) === wanted) splitList(v, out);
  }
  return out;
}

function splitList(value: string, out: string[]): void {
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      pushElement(value.slice(start, i), out);
      start = i + 1;
    }
  }
  pushElement(value.slice(start), out);
}

function pushElement(raw: string, out: string[]): void {
  const start = skipOws(raw, 0);
  let end = raw.length;
  while (end > start && (raw.charCodeAt(end - 1) === SP || raw.charCodeAt(end - 1) === HTAB)) end--;
  if (end > start) out.push(raw.slice(start, end));
}

/**
 * True when list header `name` holds `token`, compared ASCII case-insensitively
 * (e.g. `hasToken(headers, 'Connection', 'upgrade')` for `Connection: keep-alive, Upgrade`).
 */
export function hasToken(headers: Headers, name: string, token: string): boolean {
  const wanted = asciiLowerCase(token);
  return getHeaderList(headers, name).some((element) => asciiLowerCase(element) === wanted);
}

/** Headers as pairs, from pairs or from Node's flat `rawHeaders` list. */
export function toHeaderList(headers: Headers | readonly string[]): HeaderList {
  if (headers.length > 0 && typeof headers[0] === 'string') {
    const flat = headers as readonly string[];
    if (flat.length % 2 !== 0)
      throw new LocalProtocolError('rawHeaders must have an even length', 'ERR_INVALID_HEADER');
    const out: HeaderList = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
    return out;
  }
  return (headers as Headers).map(([n, v]) => [n, v]);
}
