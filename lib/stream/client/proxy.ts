/**
 * Which forward proxy, if any, a connection attempt goes through (the `proxy` option).
 *
 * - a URL (`http://proxy:3128`, `https://user:pass@proxy:443`; a bare `host:port` is
 *   taken as `http://`): every TCP attempt goes through it;
 * - `'env'`: the conventional variables, looked up per attempt (a redirect may change
 *   the answer): `https_proxy` / `HTTPS_PROXY` for `wss:`, `http_proxy` / `HTTP_PROXY`
 *   for `ws:` (the lower-case name first, as curl reads them; an empty value means
 *   none), unless `no_proxy` / `NO_PROXY` names the host;
 * - absent or `false`: no proxy (the default: the environment is never read unasked).
 *
 * `NO_PROXY` is a list separated by commas or spaces: `*` (every host), a host name
 * that also covers its subdomains (`example.com`, `.example.com`, `*.example.com`), an
 * IP address, a CIDR block (`10.0.0.0/8`, `fd00::/8`), each optionally with `:port`.
 * Unix-socket URLs never use a proxy.
 */
import * as net from 'node:net';
import { LocalProtocolError } from '../../errors';
import type { Target } from './target';

/** The `proxy` option of `connect`. */
export type ProxyOption = string | URL | 'env' | false;

/** The proxy for `target`, or null for a direct connection. */
export function chooseProxy(
  target: Target,
  option: ProxyOption | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): URL | null {
  if (option === undefined || option === false || target.socketPath !== null) return null;
  if (option !== 'env') return parseProxy(option);
  const value = target.secure ? variable(env, 'https_proxy') : variable(env, 'http_proxy');
  if (value === undefined || value === '') return null;
  if (noProxyMatches(target, variable(env, 'no_proxy') ?? '')) return null;
  return parseProxy(value);
}

/** A variable by its lower-case name first, then its upper-case one. */
function variable(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  return env[name] ?? env[name.toUpperCase()];
}

/** Parse a proxy URL: `http:` or `https:`; a bare `host:port` is `http://host:port`. */
export function parseProxy(value: string | URL): URL {
  let url: URL;
  try {
    const text = String(value).trim();
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new LocalProtocolError('the proxy is not a valid URL', 'ERR_INVALID_OPTION');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LocalProtocolError(`unsupported proxy scheme ${url.protocol} (http:, https:)`, 'ERR_INVALID_OPTION');
  }
  if (url.hostname === '') throw new LocalProtocolError('the proxy URL has no host', 'ERR_INVALID_OPTION');
  proxyAuthorization(url); // bad credentials are refused now, not after connecting to the proxy
  return url;
}

/** The proxy's host and port to connect to (IPv6 without brackets). */
export function proxyEndpoint(proxy: URL): { host: string; port: number } {
  const host = proxy.hostname.startsWith('[') ? proxy.hostname.slice(1, -1) : proxy.hostname;
  const port = proxy.port === '' ? (proxy.protocol === 'https:' ? 443 : 80) : Number(proxy.port);
  return { host, port };
}

/** `Proxy-Authorization: Basic …` from the proxy URL's credentials, or null. */
export function proxyAuthorization(proxy: URL): string | null {
  if (proxy.username === '' && proxy.password === '') return null;
  const pair = `${decode(proxy.username)}:${decode(proxy.password)}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/** Percent-decoded UTF-8 (RFC 3986 2.1); `ERR_INVALID_OPTION` instead of a URIError. */
function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new LocalProtocolError('the proxy URL credentials: not valid percent-encoded UTF-8', 'ERR_INVALID_OPTION');
  }
}

/** True when the `NO_PROXY` list names the target's host (see the top of the file). */
export function noProxyMatches(target: Target, list: string): boolean {
  const host = target.hostname.toLowerCase().replace(/\.$/, '');
  for (const raw of list.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    const { name, port } = splitPort(entry);
    if (port !== null && port !== target.port) continue;
    if (name.includes('/')) {
      if (inBlock(host, name)) return true;
      continue;
    }
    if (net.isIP(name) !== 0 || net.isIP(host) !== 0) {
      // RFC 5952: an IPv6 address has several spellings; the URL parser gave the canonical one.
      if (name === host || (net.isIP(name) === 6 && inBlock(host, `${name}/128`))) return true;
      continue;
    }
    const domain = name.replace(/^\*?\./, '').replace(/\.$/, '');
    if (host === domain || host.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** `name:port`, `[v6]:port`, or a bare name (an IPv6 address without brackets has no port). */
function splitPort(entry: string): { name: string; port: number | null } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null)
    return { name: bracketed[1]!, port: bracketed[2] === undefined ? null : Number(bracketed[2]) };
  const colon = entry.lastIndexOf(':');
  if (colon === -1 || entry.indexOf(':') !== colon) return { name: entry, port: null };
  return { name: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
}

function inBlock(host: string, cidr: string): boolean {
  const [address, bits] = cidr.split('/') as [string, string];
  const family = net.isIP(address);
  if (family === 0 || net.isIP(host) !== family) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(address, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
  } catch {
    return false;
  }
  return list.check(host, family === 6 ? 'ipv6' : 'ipv4');
}
