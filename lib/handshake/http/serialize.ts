/**
 * The HTTP/1.1 request and response head serializers (RFC 9112 3 and 4), which refuse
 * header injection, and the standard reason phrases (RFC 9110 15).
 *
 * Heads are encoded as latin1, byte for byte, like the parser decodes them; characters
 * above U+00FF are refused rather than truncated (latin1 encoding of U+010A would
 * otherwise produce a raw LF).
 */
import { LocalProtocolError } from '../../errors';
import type { Headers } from '../../events';
import { FIELD_CHAR, hexByte, isToken } from './abnf';

function invalidHeader(message: string): LocalProtocolError {
  return new LocalProtocolError(message, 'ERR_INVALID_HEADER');
}

/** Checks a field value or reason phrase: no CTL but HTAB, nothing above U+00FF. */
function badFieldChar(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff || FIELD_CHAR[c] !== 1) return c;
  }
  return -1;
}

function describeChar(c: number): string {
  return c > 0xff ? `U+${c.toString(16).toUpperCase().padStart(4, '0')} (not latin1)` : hexByte(c);
}

function serializeFields(headers: Headers): string {
  let out = '';
  for (const [name, value] of headers) {
    if (!isToken(name)) throw invalidHeader(`header name is not a token: ${JSON.stringify(name)}`);
    if (typeof value !== 'string') throw invalidHeader(`header ${name} value is not a string`);
    const bad = badFieldChar(value);
    if (bad !== -1) throw invalidHeader(`header ${name} value contains an invalid character: ${describeChar(bad)}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

/**
 * An HTTP/1.1 request head (RFC 9112 3), ending with the empty line. Throws
 * `LocalProtocolError` (`ERR_INVALID_HEADER`) for a method that is not a token, a
 * target with whitespace, CTLs or non-ASCII, or a header that could break the framing.
 */
export function serializeRequest(method: string, target: string, headers: Headers): Buffer {
  if (!isToken(method)) throw invalidHeader(`method is not a token: ${JSON.stringify(method)}`);
  if (target.length === 0) throw invalidHeader('request-target is empty');
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      throw invalidHeader(`request-target contains an invalid character: ${describeChar(c)}`);
    }
  }
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${serializeFields(headers)}\r\n`, 'latin1');
}

/**
 * An HTTP/1.1 response head (RFC 9112 4), ending with the empty line. Throws
 * `LocalProtocolError` (`ERR_INVALID_HEADER`) for a status outside 100-999, a reason
 * with CR, LF or other CTLs, or a header that could break the framing.
 */
export function serializeResponse(statusCode: number, reason: string, headers: Headers): Buffer {
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 999) {
    throw invalidHeader(`status code must be an integer from 100 to 999, got ${String(statusCode)}`);
  }
  const bad = badFieldChar(reason);
  if (bad !== -1) throw invalidHeader(`reason phrase contains an invalid character: ${describeChar(bad)}`);
  return Buffer.from(`HTTP/1.1 ${statusCode} ${reason}\r\n${serializeFields(headers)}\r\n`, 'latin1');
}

// RFC 9110 15 (and RFC 6585 for 428, 429, 431).
const REASONS: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The standard reason phrase of `status` (RFC 9110 15), or `''` for an unknown one. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? '';
}
