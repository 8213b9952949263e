/**
 * The character classes and scanners of the HTTP grammar that the handshake needs:
 * token (RFC 9110 5.6.2), field-value octets (RFC 9110 5.5), OWS (RFC 9110 5.6.3),
 * quoted-string (RFC 9110 5.6.4) and the field line (RFC 9112 5). Shared by the head
 * parser, the body reader, the serializers and the `Sec-WebSocket-Extensions` parser,
 * so they all agree on where a token, a value or a line ends.
 *
 * Strings here are latin1, one character per byte: header names and values are decoded
 * that way, and a character above U+00FF is never part of a token or a value.
 */

/** @internal SP (RFC 5234 B.1). */
export const SP = 0x20;
/** @internal HTAB (RFC 5234 B.1). */
export const HTAB = 0x09;
/** @internal CR (RFC 5234 B.1). */
export const CR = 0x0d;
/** @internal LF (RFC 5234 B.1). */
export const LF = 0x0a;

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//   "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
/** @internal `TCHAR[c] === 1` when byte `c` is a tchar. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = TCHAR[c + 0x20] = 1;

// RFC 9110 5.5: field-value octets are VCHAR, obs-text, SP and HTAB; everything else
// (CR, LF, NUL, the other CTLs and DEL) is refused.
/** @internal `FIELD_CHAR[c] === 1` when byte `c` may appear in a field value or reason phrase. */
export const FIELD_CHAR = new Uint8Array(256);
for (let c = 0x20; c <= 0xff; c++) FIELD_CHAR[c] = c === 0x7f ? 0 : 1;
FIELD_CHAR[HTAB] = 1;

/** True when `s` is an RFC 9110 5.6.2 token: one or more tchar. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/**
 * Lower-cases ASCII letters only. Header names and tokens are case-insensitive in
 * ASCII; `String.prototype.toLowerCase` would also fold e.g. U+212A KELVIN SIGN to `k`.
 */
export function asciiLowerCase(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** @internal Index of the first non-tchar at or after `i` in `s` (`s.length` if none). */
export function scanToken(s: string, i: number): number {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) break;
    i++;
  }
  return i;
}

/** @internal Index of the first character at or after `i` that is not SP or HTAB. */
export function skipOws(s: string, i: number): number {
  while (i < s.length && (s.charCodeAt(i) === SP || s.charCodeAt(i) === HTAB)) i++;
  return i;
}

/**
 * @internal Reads the RFC 9110 5.6.4 quoted-string that starts at `s[i]` (a DQUOTE).
 * Returns its unescaped value and the index after the closing DQUOTE, or null when it
 * is unterminated or holds a character that qdtext / quoted-pair do not allow.
 */
export function scanQuotedString(s: string, i: number): { value: string; end: number } | null {
  if (s.charCodeAt(i) !== 0x22) return null;
  let value = '';
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { value, end: j + 1 };
    if (c === 0x5c) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const next = s.charCodeAt(j + 1);
      if (!(next === HTAB || (next >= 0x20 && next <= 0xff && next !== 0x7f))) return null;
      value += s[j + 1];
      j += 2;
      continue;
    }
    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
    if (!(c === HTAB || (c >= 0x20 && c <= 0xff && c !== 0x7f))) return null;
    value += s[j];
    j++;
  }
  return null;
}

/** @internal A short printable excerpt of untrusted bytes for error messages. */
export function excerpt(bytes: Buffer, max = 64): string {
  const text = JSON.stringify(bytes.toString('latin1', 0, Math.min(bytes.length, max)));
  return bytes.length > max ? `${text}...` : text;
}

/** @internal A byte as `0x..` for error messages. */
export function hexByte(c: number): string {
  return `0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * @internal Parses one field line (RFC 9112 5: `field-name ":" OWS field-value OWS`,
 * line ending already removed). Returns the `[name, value]` pair, or a string saying
 * what is wrong. Shared by the head parser and the chunked trailer reader.
 */
export function parseFieldLine(line: Buffer): [string, string] | string {
  const first = line[0];
  // RFC 9112 5.2: obs-fold (a line starting with whitespace) is rejected; RFC 9112 2.2
  // has the same rule for whitespace between the start-line and the first field.
  if (first === SP || first === HTAB) return `obsolete line folding (obs-fold) is not accepted: ${excerpt(line)}`;
  const colon = line.indexOf(0x3a);
  if (colon === -1) return `header line has no colon: ${excerpt(line)}`;
  if (colon === 0) return `header name is empty: ${excerpt(line)}`;
  for (let i = 0; i < colon; i++) {
    const c = line[i]!;
    if (TCHAR[c] === 1) continue;
    // RFC 9112 5.1: no whitespace is allowed between the field name and the colon.
    if (c === SP || c === HTAB) return `whitespace between header name and colon: ${excerpt(line)}`;
    return `header name contains an invalid character: ${hexByte(c)} in ${excerpt(line.subarray(0, colon))}`;
  }
  let start = colon + 1;
  let end = line.length;
  while (start < end && (line[start] === SP || line[start] === HTAB)) start++;
  while (end > start && (line[end - 1] === SP || line[end - 1] === HTAB)) end--;
  const name = line.toString('latin1', 0, colon);
  for (let i = start; i < end; i++) {
    const c = line[i]!;
    if (FIELD_CHAR[c] !== 1) {
      return `header ${name} value contains an invalid character: ${hexByte(c)}${c === CR ? ' (bare CR)' : ''}`;
    }
  }
  return [name, line.toString('latin1', start, end)];
}
