/**
 * Header lists (the core's `[name, value]` pairs) to and from Node's `http2` header
 * objects: Node takes and gives objects (`{ ':status': 200, 'x': ['a', 'b'] }`); its
 * flat `rawHeaders` keep the order and are preferred when Node gives them.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { Headers } from '../../events';

/** A header list as Node's header object: repeated names become arrays, in order. */
export function toHttp2Headers(headers: Headers): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of headers) {
    const had = out[name];
    if (had === undefined) out[name] = value;
    else out[name] = Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

/**
 * Node's header object (or its flat `rawHeaders`) as a header list, pseudo-header fields
 * first. Values that are numbers (`:status`) become strings.
 */
export function fromHttp2Headers(headers: IncomingHttpHeaders | readonly string[]): Array<[string, string]> {
  if (Array.isArray(headers)) {
    const flat = headers as readonly string[];
    const out: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
    return out;
  }
  const pseudo: Array<[string, string]> = [];
  const regular: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const into = name.startsWith(':') ? pseudo : regular;
    for (const one of Array.isArray(value) ? value : [value]) into.push([name, String(one)]);
  }
  return [...pseudo, ...regular];
}
