/**
 * HAProxy as an HTTP/2 front for WebSockets (RFC 8441): it accepts extended CONNECT
 * (`:method CONNECT`, `:protocol websocket`) on an h2 listener, advertises
 * SETTINGS_ENABLE_CONNECT_PROTOCOL, and forwards each such stream to an HTTP/1.1 origin
 * as an ordinary `Upgrade: websocket` request (its own Sec-WebSocket-Key), answering the
 * client's stream with `:status 200` when the origin says 101. Debian 12's HAProxy 2.6,
 * in the foreground (`haproxy -db`) from a config written to a fresh temp dir.
 *
 *   client ──h2c (prior knowledge)──▶ h2cPort ┐
 *   client ──TLS, ALPN h2,http/1.1──▶ tlsPort ┴─▶ HAProxy ──HTTP/1.1 Upgrade──▶ 127.0.0.1:originPort
 *
 * What HAProxy 2.6 was seen to do (test/interop/http2-haproxy.test.ts pins these):
 * - Sec-WebSocket-Protocol and Sec-WebSocket-Extensions pass both ways untouched; the
 *   origin's Sec-WebSocket-Accept is passed on in the h2 response too.
 * - The origin's refusal (e.g. 403 + body) reaches the client as that status and body;
 *   an origin that is down gives 503 (at once: `retries 0` below); an origin that
 *   ignores the upgrade and answers 200 with a page gives the client a 200 and the page.
 * - The end of a stream, whatever ended it (the origin closing its TCP connection, an
 *   error response, a timeout) is an empty DATA frame with END_STREAM and then
 *   RST_STREAM(CANCEL). A client's RST_STREAM closes the origin's TCP connection.
 * - An idle WebSocket is ended after `timeout tunnel` when set, else after
 *   `timeout client`/`timeout server`; the tunnel timeout replaces both once upgraded.
 *   An h2 connection with no stream gets GOAWAY(NO_ERROR) after `timeout client`.
 * - A soft stop (SIGUSR1) sends GOAWAY(NO_ERROR, last stream 2^31-1); open WebSockets
 *   keep working.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accepts, freePort, startForeground, type Foreground } from './foreground';
import { writeHaproxyPem } from './proxies';

const HAPROXY = '/usr/sbin/haproxy';

/** A running HAProxy h2 front. */
export interface H2Front extends Foreground {
  /** Cleartext HTTP/2 with prior knowledge (`bind ... proto h2`): `ws://127.0.0.1:PORT`. */
  h2cPort: number;
  wsUrl: string;
  /** TLS with ALPN `h2,http/1.1` (HTTP/1.1 upgrades are forwarded too): `wss://127.0.0.1:PORT`. */
  tlsPort: number;
  wssUrl: string;
  /** Send SIGUSR1: a soft stop (GOAWAY to h2 clients, open streams go on). */
  softStop(): void;
}

/** HAProxy timeouts in milliseconds. */
export interface H2FrontTimeouts {
  /** Client inactivity; also how long an h2 connection may stay without a stream. Default 30 s. */
  client?: number;
  /** Origin inactivity. Default 30 s. */
  server?: number;
  /** Inactivity of an upgraded WebSocket, both ways; replaces client/server once upgraded. Unset by default. */
  tunnel?: number;
}

/**
 * Start HAProxy with an h2c listener and a TLS listener (`certificate`, ALPN h2 and
 * http/1.1), both on free 127.0.0.1 ports, forwarding to 127.0.0.1:`originPort` over
 * HTTP/1.1. Resolves once both ports accept TCP connections; `output()` holds the
 * `option httplog` lines (one per stream, written when it ends).
 */
export async function startH2Front(options: {
  originPort: number;
  certificate: { key: Buffer; cert: Buffer };
  timeouts?: H2FrontTimeouts;
}): Promise<H2Front> {
  const { originPort, certificate, timeouts = {} } = options;
  const [h2cPort, tlsPort] = [await freePort(), await freePort()];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-haproxy-h2-'));
  const pem = writeHaproxyPem(dir, certificate);
  const lines = [
    'global',
    '  log stderr format raw local0',
    'defaults',
    '  mode http',
    '  log global',
    '  option httplog',
    // A refused connection to the origin gives 503 at once, not after 3 one-second retries.
    '  retries 0',
    '  timeout connect 5s',
    `  timeout client ${timeouts.client ?? 30000}ms`,
    `  timeout server ${timeouts.server ?? 30000}ms`,
    ...(timeouts.tunnel !== undefined ? [`  timeout tunnel ${timeouts.tunnel}ms`] : []),
    'frontend h2',
    `  bind 127.0.0.1:${h2cPort} proto h2`,
    `  bind 127.0.0.1:${tlsPort} ssl crt ${pem} alpn h2,http/1.1`,
    '  default_backend origin',
    'backend origin',
    `  server origin 127.0.0.1:${originPort}`,
  ];
  const config = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  const service = await startForeground({
    name: 'haproxy',
    command: HAPROXY,
    args: ['-db', '-f', config],
    dir,
    ready: async () => (await accepts(h2cPort)) && (await accepts(tlsPort)),
    what: `accept connections on ports ${h2cPort} and ${tlsPort}`,
  });
  return {
    ...service,
    h2cPort,
    wsUrl: `ws://127.0.0.1:${h2cPort}`,
    tlsPort,
    wssUrl: `wss://127.0.0.1:${tlsPort}`,
    softStop: () => service.signal('SIGUSR1'),
  };
}
