/**
 * Opening the transport of one connection attempt, ready for the handshake: a TCP or
 * TLS connection to the origin; a unix socket (`ws+unix:`); a tunnel through an HTTP or
 * HTTPS proxy (CONNECT, then TLS to the origin inside it for `wss:`); or whatever the
 * user's `createConnection` returns.
 *
 * Theory of operation. Each stage waits for its event (`connect`, `secureConnect`, the
 * proxy's answer) while watching the attempt's signal; the signal aborts with the error
 * to reject with (the user's abort, the connect timeout). Every socket opened is kept in
 * a list and destroyed when any stage fails, so an abort at any stage leaves nothing
 * behind. The socket handed back carries a parked 'error' listener until the stream is
 * wired to it (`handOver`), so an error in between cannot crash the process.
 */
import * as net from 'node:net';
import type { Duplex as NodeDuplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Headers } from '../../events';
import { TunnelResponse, tunnelRequest } from '../../handshake/http/tunnel';
import { ProxyRejectedError } from './errors';
import { proxyAuthorization, proxyEndpoint } from './proxy';
import { readBuffers } from './read-buffers';
import type { Target } from './target';
import { untilAborted, watch } from './watch';

/** What `createConnection` is given: where the caller's transport should lead. */
export interface TransportTarget {
  /** The URL of this attempt (a redirect's target after a redirect). */
  readonly url: URL;
  /** The host name or address (IPv6 without brackets); '' for a unix socket. */
  readonly host: string;
  /** The port. */
  readonly port: number;
  /** True for `wss:`: the transport must be TLS to the origin. */
  readonly secure: boolean;
  /** The unix socket path of a `ws+unix:` URL, else null. */
  readonly socketPath: string | null;
}

/** A transport the caller brings (a unix socket, an in-memory pair, an agent's socket ...). */
export type CreateConnection = (target: TransportTarget, signal: AbortSignal) => NodeDuplex | Promise<NodeDuplex>;

/** How to open the transport. */
export interface DialOptions {
  readonly tls: tls.ConnectionOptions | undefined;
  readonly proxy: URL | null;
  readonly proxyTls: tls.ConnectionOptions | undefined;
  readonly proxyHeaders: Headers;
  readonly createConnection: CreateConnection | undefined;
  readonly socket: Pick<net.TcpNetConnectOpts, 'lookup' | 'family' | 'localAddress'>;
  /** The ALPN protocols to offer the origin over TLS (HTTP/2: `['h2']`). @defaultValue none */
  readonly alpn?: string[];
}

const parked = new WeakMap<NodeDuplex, Error | null>();

/** Open the transport for `target`; rejects with `signal.reason` when the signal aborts. */
export async function dial(target: Target, options: DialOptions, signal: AbortSignal): Promise<NodeDuplex> {
  const opened: NodeDuplex[] = [];
  const open = <T extends NodeDuplex>(socket: T): T => {
    opened.push(socket);
    park(socket);
    return socket;
  };
  try {
    signal.throwIfAborted();
    const socket = await transport(target, options, signal, open);
    signal.throwIfAborted();
    return socket;
  } catch (error) {
    for (const socket of opened) socket.destroy();
    throw signal.aborted ? signal.reason : error;
  }
}

async function transport(
  target: Target,
  options: DialOptions,
  signal: AbortSignal,
  open: <T extends NodeDuplex>(socket: T) => T,
): Promise<NodeDuplex> {
  if (options.createConnection !== undefined) {
    const { url, hostname: host, port, secure, socketPath } = target;
    const made = options.createConnection({ url, host, port, secure, socketPath }, signal);
    if (!(made instanceof Promise)) return open(made);
    // A transport that arrives after an abort is destroyed at once.
    void made.then(
      (late) => signal.aborted && late.destroy(),
      () => undefined,
    );
    return open(await untilAborted(made, signal));
  }
  if (target.socketPath !== null) {
    return waitFor(open(net.connect({ path: target.socketPath, onread: readBuffers() })), 'connect', signal);
  }
  const servername = net.isIP(target.hostname) === 0 ? target.hostname : undefined;
  if (options.proxy === null) {
    if (!target.secure) {
      return waitFor(
        open(net.connect({ host: target.hostname, port: target.port, onread: readBuffers(), ...options.socket })),
        'connect',
        signal,
      );
    }
    const socket = tls.connect({
      host: target.hostname,
      port: target.port,
      servername,
      ...options.socket,
      ...alpn(options),
      ...options.tls,
    });
    return waitFor(open(socket), 'secureConnect', signal);
  }
  const tunnel = await throughProxy(target, options, signal, open);
  if (!target.secure) return tunnel;
  // TLS to the origin inside the tunnel: SNI and certificate checks for the origin's name.
  const socket = tls.connect({ socket: tunnel, servername, host: target.hostname, ...alpn(options), ...options.tls });
  return waitFor(open(socket), 'secureConnect', signal);
}

function alpn(options: DialOptions): Pick<tls.ConnectionOptions, 'ALPNProtocols'> {
  return options.alpn === undefined ? {} : { ALPNProtocols: options.alpn };
}

/** Connect to the proxy and ask it for a tunnel to the target (RFC 9110 9.3.6). */
async function throughProxy(
  target: Target,
  options: DialOptions,
  signal: AbortSignal,
  open: <T extends NodeDuplex>(socket: T) => T,
): Promise<NodeDuplex> {
  const proxy = options.proxy!;
  const { host, port } = proxyEndpoint(proxy);
  const socket =
    proxy.protocol === 'https:'
      ? await waitFor(
          open(
            tls.connect({
              host,
              port,
              servername: net.isIP(host) === 0 ? host : undefined,
              ...options.socket,
              ...options.proxyTls,
            }),
          ),
          'secureConnect',
          signal,
        )
      : await waitFor(
          // Our reads only for a plain tunnel (TLS to the origin reads the socket itself).
          open(net.connect({ host, port, ...(target.secure ? {} : { onread: readBuffers() }), ...options.socket })),
          'connect',
          signal,
        );
  // The caller's own Proxy-Authorization wins over the URL's credentials: one field line
  // only (RFC 9110 5.3: it is not a list; a proxy would read just one of two).
  const authorization = proxyAuthorization(proxy);
  const headers: Array<readonly [string, string]> = [...options.proxyHeaders];
  const own = headers.some(([name]) => name.toLowerCase() === 'proxy-authorization');
  if (authorization !== null && !own) headers.push(['Proxy-Authorization', authorization]);
  socket.write(tunnelRequest(target.authority, headers));
  const answer = await readAnswer(socket, signal);
  if (!answer.established) {
    throw new ProxyRejectedError(answer.statusCode, answer.headers, answer.body, proxy, target.url);
  }
  if (answer.trailing.length > 0) {
    // Nothing may come from the origin before our first bytes (the request, or TLS's hello).
    throw new ProxyRejectedError(answer.statusCode, answer.headers, answer.trailing, proxy, target.url);
  }
  return socket;
}

/** Read the proxy's answer to the CONNECT, then stop reading (the stream reads the rest). */
function readAnswer(socket: NodeDuplex, signal: AbortSignal): Promise<ReturnType<TunnelResponse['push']> & object> {
  const response = new TunnelResponse();
  return new Promise((resolve, reject) => {
    const settle = (chunk: Buffer | null) => {
      try {
        const answer = response.push(chunk);
        if (answer === null) return;
        finish();
        resolve(answer);
      } catch (error) {
        finish();
        reject(error);
      }
    };
    const fail = (error: unknown) => (finish(), reject(error));
    const unwatch = watch(
      socket,
      { data: settle, end: () => settle(null), close: () => settle(null), error: fail },
      signal,
      () => fail(signal.reason),
    );
    const finish = () => (socket.pause(), unwatch());
  });
}

/** Resolve with `socket` once it emits `event`; reject on its error, its close, or the signal. */
function waitFor<T extends NodeDuplex>(socket: T, event: string, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => (unwatch(), reject(error));
    const closed = () => fail(parked.get(socket) ?? new Error('the transport closed while connecting'));
    const unwatch = watch(
      socket,
      { [event]: () => (unwatch(), resolve(socket)), error: fail, close: closed },
      signal,
      () => fail(signal.reason),
    );
  });
}

/** Keep a socket's first error until the stream is wired to it (an unheard 'error' would crash). */
function park(socket: NodeDuplex): void {
  parked.set(socket, null);
  socket.on('error', onParkedError);
}

function onParkedError(this: NodeDuplex, error: Error): void {
  if (parked.get(this) === null) parked.set(this, error);
}

/**
 * The stream is about to take `socket` over: drop the parked listener. Returns the error
 * the socket met while parked, or null; a destroyed socket without one gets a transport error.
 */
export function handOver(socket: NodeDuplex): Error | null {
  socket.off('error', onParkedError);
  const error = parked.get(socket) ?? null;
  parked.delete(socket);
  if (error === null && socket.destroyed) return new Error('the transport closed before the handshake');
  return error;
}
