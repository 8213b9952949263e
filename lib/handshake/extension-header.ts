/**
 * The `Sec-WebSocket-Extensions` header (RFC 6455 9.1):
 *
 * ```
 * Sec-WebSocket-Extensions = extension-list
 * extension-list = 1#extension
 * extension = extension-token *( ";" extension-param )
 * extension-token = registered-token
 * registered-token = token
 * extension-param = token [ "=" (token | quoted-string) ]
 *     ;When using the quoted-string syntax variant, the value
 *     ;after quoted-string unescaping MUST conform to the
 *     ;'token' ABNF.
 * ```
 *
 * The parser walks each value character by character, so a comma or semicolon inside
 * a quoted-string never splits it (wsproto splits on commas naively). Whitespace (OWS)
 * is allowed around every separator, and empty list elements are ignored as RFC 9110
 * 5.6.1.2 asks of recipients; a header that holds only empty elements yields no
 * extension. Names keep their case; comparing them is the extension's business.
 */
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import { RejectConnectionEvent } from '../events';
import type { ExtensionParams } from '../extensions/extension';
import { isToken, scanQuotedString, scanToken, skipOws } from './http/abnf';

function malformed(value: string, what: string): RemoteProtocolError {
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  return new RemoteProtocolError(`malformed Sec-WebSocket-Extensions (${what}): ${shown}`, {
    code: 'ERR_BAD_EXTENSION',
    eventHint: new RejectConnectionEvent({ statusCode: 400 }),
  });
}

/**
 * Parses the values of every `Sec-WebSocket-Extensions` field, in order (repeated
 * fields are one list, RFC 6455 9.1). Throws `RemoteProtocolError` (`ERR_BAD_EXTENSION`,
 * `eventHint` a 400 `RejectConnectionEvent`) on anything the grammar does not allow.
 */
export function parseExtensionHeader(values: readonly string[]): ExtensionParams[] {
  const out: ExtensionParams[] = [];
  for (const value of values) parseValue(value, out);
  return out;
}

function parseValue(v: string, out: ExtensionParams[]): void {
  let i = 0;
  for (;;) {
    i = skipOws(v, i);
    if (i === v.length) return;
    if (v[i] === ',') {
      i++; // RFC 9110 5.6.1.2: an empty list element is ignored
      continue;
    }
    const nameEnd = scanToken(v, i);
    if (nameEnd === i) throw malformed(v, `expected an extension name at offset ${i}`);
    const name = v.slice(i, nameEnd);
    i = nameEnd;
    const params: Array<readonly [string, string | null]> = [];
    for (;;) {
      i = skipOws(v, i);
      if (i === v.length || v[i] === ',') break;
      if (v[i] !== ';') throw malformed(v, `unexpected ${JSON.stringify(v[i])} at offset ${i}`);
      i = skipOws(v, i + 1);
      const paramEnd = scanToken(v, i);
      if (paramEnd === i) throw malformed(v, `expected a parameter name at offset ${i}`);
      const param = v.slice(i, paramEnd);
      i = skipOws(v, paramEnd);
      let value: string | null = null;
      if (v[i] === '=') {
        i = skipOws(v, i + 1);
        if (v[i] === '"') {
          const quoted = scanQuotedString(v, i);
          if (quoted === null) throw malformed(v, `unterminated or invalid quoted-string at offset ${i}`);
          // RFC 9.1: the unescaped value of a quoted-string must be a token.
          if (!isToken(quoted.value)) {
            throw malformed(v, `quoted value of ${param} is not a token: ${JSON.stringify(quoted.value)}`);
          }
          value = quoted.value;
          i = quoted.end;
        } else {
          const valueEnd = scanToken(v, i);
          if (valueEnd === i) throw malformed(v, `expected a token or quoted-string value for ${param}`);
          value = v.slice(i, valueEnd);
          i = valueEnd;
        }
      }
      params.push([param, value]);
    }
    out.push({ name, params });
  }
}

function invalid(message: string): LocalProtocolError {
  return new LocalProtocolError(message, 'ERR_INVALID_EXTENSION');
}

/**
 * One extension as it goes on the wire: `name; a; b=1`. Every name and value must be
 * a token (RFC 6455 9.1, which makes quoting unnecessary); otherwise throws
 * `LocalProtocolError` (`ERR_INVALID_EXTENSION`).
 */
export function formatExtensionParams(ext: ExtensionParams): string {
  if (!isToken(ext.name)) throw invalid(`extension name is not a token: ${JSON.stringify(ext.name)}`);
  let out = ext.name;
  for (const [name, value] of ext.params) {
    if (!isToken(name)) throw invalid(`parameter name of ${ext.name} is not a token: ${JSON.stringify(name)}`);
    if (value === null) {
      out += `; ${name}`;
    } else {
      if (!isToken(value))
        throw invalid(`value of ${ext.name} parameter ${name} is not a token: ${JSON.stringify(value)}`);
      out += `; ${name}=${value}`;
    }
  }
  return out;
}

/**
 * An extension from the form `Extension.offer()` / `accept()` return: `true` for the
 * bare name, or the parameter list after the name (`client_max_window_bits; a=1`,
 * quoted values allowed; an empty string is the bare name). The result is normalized:
 * `name; a; b=1`. Throws `LocalProtocolError` (`ERR_INVALID_EXTENSION`) when the name
 * or the parameters are not valid RFC 6455 9.1 syntax.
 */
export function serializeExtension(name: string, params: string | true): string {
  if (!isToken(name)) throw invalid(`extension name is not a token: ${JSON.stringify(name)}`);
  if (params === true || skipOws(params, 0) === params.length) return name;
  // A comma can never be valid here: values are tokens even when quoted.
  if (params.includes(',')) throw invalid(`parameters of ${name} contain a comma: ${JSON.stringify(params)}`);
  let parsed: ExtensionParams[];
  try {
    parsed = parseExtensionHeader([`${name}; ${params}`]);
  } catch (err) {
    if (err instanceof RemoteProtocolError) {
      throw invalid(`invalid parameters for extension ${name}: ${err.message}`);
    }
    throw err;
  }
  return formatExtensionParams(parsed[0]!);
}

/** A whole `Sec-WebSocket-Extensions` value: the extensions joined with `, `. */
export function formatExtensionHeader(extensions: readonly ExtensionParams[]): string {
  return extensions.map(formatExtensionParams).join(', ');
}
