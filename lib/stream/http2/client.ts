/**
 * The client side of WebSocket over HTTP/2 (RFC 8441) for `connect()`: the HTTP/2
 * session of an attempt (the caller's, or one opened on a dialed transport with ALPN
 * `h2`), the check that the server offers extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL,
 * RFC 8441 3), and the stream the extended CONNECT opens.
 *
 * Theory of operation. A server's SETTINGS are its first frame (RFC 9113 3.4), so once a
 * PING of ours is answered its settings have been read: that is how a session whose
 * SETTINGS may or may not have arrived is asked, without a timer. A session opened here
 * belongs to its WebSocket and is closed (gracefully, GOAWAY) when the WebSocket closes;
 * the caller's session is left open for its other streams.
 */
import * as http2 from 'node:http2';
import type { Duplex as NodeDuplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { HeadSink } from '../opening';
import { kHeaders, type WebSocketDuplex } from '../websocket-duplex';
import { untilAborted, watch } from '../client/watch';
import type { Target } from '../client/target';
import { fromHttp2Headers, toHttp2Headers } from './fields';
import { watchGoaway } from './wiring';

/**
 * `connect()`'s `http2` option: `true` (HTTP/2 or fail), `'prefer'` (HTTP/2 when the
 * server agrees, else HTTP/1.1), or a `ClientHttp2Session` to open the WebSocket on.
 */
export type Http2Option = boolean | 'prefer' | http2.ClientHttp2Session;

/**
 * The ALPN protocols to offer: both, even when HTTP/2 is required. A server without h2
 * then agrees on http/1.1 and the attempt fails with ERR_HTTP2_UNAVAILABLE; offered h2
 * alone, an ALPN-aware server aborts the TLS handshake (RFC 7301 3.2, no_application_protocol).
 */
export function alpnFor(): string[] {
  return ['h2', 'http/1.1'];
}

/** The protocol TLS agreed on a dialed transport ('' when it is not TLS or none was agreed). */
export function alpnOf(socket: NodeDuplex): string {
  const agreed = (socket as Partial<TLSSocket>).alpnProtocol;
  return typeof agreed === 'string' ? agreed : '';
}

/** An HTTP/2 session on a transport we dialed; it belongs to the WebSocket that will use it. */
export function openSession(target: Target, socket: NodeDuplex): http2.ClientHttp2Session {
  const origin = `${target.secure ? 'https' : 'http'}://${target.authority}`;
  const session = http2.connect(origin, { createConnection: () => socket, settings: { enablePush: false } });
  // A failing session fails its streams, and the WebSocket on them reports it.
  session.on('error', () => undefined);
  watchGoaway(session);
  return session;
}

/**
 * The wait for a session's SETTINGS, one per session and shared by every attempt on it:
 * Node refuses (cancels) PINGs beyond 10 unanswered, so 100 connects at once on a new
 * session must not send one each.
 */
const settingsWaits = new WeakMap<http2.ClientHttp2Session, Promise<void>>();

/** True when the server's SETTINGS allow extended CONNECT; waits for them when they may not have arrived. */
export async function extendedConnectOffered(session: http2.ClientHttp2Session, signal: AbortSignal): Promise<boolean> {
  if (session.destroyed || session.closed) throw new Error('the HTTP/2 session is closed');
  if (offers(session)) return true;
  let wait = settingsWaits.get(session);
  if (wait === undefined) {
    wait = settingsArrived(session);
    settingsWaits.set(session, wait);
    // A failed wait is not kept: a later attempt asks again.
    wait.catch(() => settingsWaits.delete(session));
  }
  await untilAborted(wait, signal);
  return offers(session);
}

/** Resolves once the server's SETTINGS have been read (their event, or a PING answered after them). */
function settingsArrived(session: http2.ClientHttp2Session): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = () => (unwatch(), resolve());
    const fail = (error: unknown) => (unwatch(), reject(error));
    // A session still connecting cancels PINGs: ask once it is connected.
    const ping = () => {
      try {
        session.ping((error) => (error === null ? done() : fail(error)));
      } catch (error) {
        fail(error);
      }
    };
    const unwatch = watch(session, {
      remoteSettings: done,
      connect: ping,
      error: fail,
      close: () => fail(new Error('the HTTP/2 session closed before its SETTINGS arrived')),
    });
    if (!session.connecting) ping();
  });
}

// (@types/node types the setting as `false | undefined`; it is a boolean.)
function offers(session: http2.ClientHttp2Session): boolean {
  return (session.remoteSettings as { enableConnectProtocol?: unknown }).enableConnectProtocol === true;
}

/**
 * Where a client WebSocket's extended CONNECT goes: `session.request()` with its
 * headers; the response's HEADERS go back to the stream. `stream()` is the request's
 * HTTP/2 stream once the WebSocket made it.
 */
export function requestOn(
  session: http2.ClientHttp2Session,
  target: Target,
): { heads: HeadSink; bind(ws: WebSocketDuplex): http2.ClientHttp2Stream } {
  let stream: http2.ClientHttp2Stream | null = null;
  return {
    heads: {
      scheme: target.secure ? 'https' : 'http',
      send: (headers) => void (stream = session.request(toHttp2Headers(headers), { endStream: false })),
    },
    bind(ws) {
      const made = stream!;
      made.on('response', (headers: http2.IncomingHttpHeaders) => {
        ws[kHeaders](fromHttp2Headers(headers), made.endAfterHeaders);
      });
      return made;
    },
  };
}
