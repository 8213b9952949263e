/**
 * Real forward proxies for tests of the client through HTTP CONNECT proxies: tinyproxy
 * (the proxy) and HAProxy (a TLS terminator in front of it, for an `https://` proxy),
 * both Debian packages, run in the foreground from a config file written to a fresh
 * temp dir, bound to 127.0.0.1 only. A child never outlives the test process.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { accepts, freePort, startForeground } from './foreground';

const TINYPROXY = '/usr/bin/tinyproxy';
const HAPROXY = '/usr/sbin/haproxy';

/** A proxy child process listening on 127.0.0.1. */
export interface RunningProxy {
  port: number;
  /** `http://127.0.0.1:PORT` (`https://` for the TLS front) */
  url: string;
  /** SIGTERM (SIGKILL after 2 s), wait for the exit, remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** The captured stdout+stderr, for debugging. */
  output(): string;
}

/** True when tinyproxy is installed (`apt-get install tinyproxy`). */
export function tinyproxyAvailable(): boolean {
  return fs.existsSync(TINYPROXY);
}

/** True when HAProxy is installed (`apt-get install haproxy`). */
export function haproxyAvailable(): boolean {
  return fs.existsSync(HAPROXY);
}

/**
 * Spawn `command args` (it owns `dir`), wait until `port` accepts TCP connections, and
 * return its handle (`url` is `scheme://127.0.0.1:port`); on failure kill it, remove
 * `dir` and reject with its output.
 */
async function run(
  name: string,
  command: string,
  args: string[],
  port: number,
  dir: string,
  scheme = 'http',
): Promise<RunningProxy> {
  const service = await startForeground({
    name,
    command,
    args,
    dir,
    ready: () => accepts(port),
    what: `accept connections on port ${port}`,
  });
  return { port, url: `${scheme}://127.0.0.1:${port}`, ...service };
}

/** tinyproxy's config grammar allows only these characters in BasicAuth credentials. */
const TINYPROXY_WORD = /^[-A-Za-z0-9._]+$/;

/**
 * Start tinyproxy on a free 127.0.0.1 port. With `basicAuth` (letters, digits and `-._`
 * only), a missing Proxy-Authorization gets 407; a wrong one gets 401 with
 * WWW-Authenticate from tinyproxy 1.11.1 (Debian 12), 407 from later releases. With
 * `connectPorts`, CONNECT to any other port gets 403 (`[]`: to every port); without
 * it, every port is allowed.
 */
export async function startTinyproxy(
  options: { basicAuth?: { user: string; password: string }; connectPorts?: number[] } = {},
): Promise<RunningProxy> {
  const { basicAuth, connectPorts } = options;
  if (basicAuth !== undefined && !(TINYPROXY_WORD.test(basicAuth.user) && TINYPROXY_WORD.test(basicAuth.password)))
    throw new RangeError('tinyproxy BasicAuth credentials may hold only letters, digits and -._');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-tinyproxy-'));
  // No LogFile/PidFile: in the foreground (-d) tinyproxy logs to stdout. As root it only
  // warns that no User is set and keeps running as root.
  const lines = [
    `Port ${port}`,
    'Listen 127.0.0.1',
    'Allow 127.0.0.1',
    'Timeout 15', // idle seconds before tinyproxy drops a connection, tunnels included
    'LogLevel Info',
    'MaxClients 50',
    // No ConnectPort line allows every port; a single `ConnectPort 0` refuses CONNECT.
    ...(connectPorts === undefined ? [] : connectPorts.length === 0 ? [0] : connectPorts).map(
      (p) => `ConnectPort ${p}`,
    ),
    ...(basicAuth !== undefined ? [`BasicAuth ${basicAuth.user} ${basicAuth.password}`] : []),
  ];
  const config = path.join(dir, 'tinyproxy.conf');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  return run('tinyproxy', TINYPROXY, ['-d', '-c', config], port, dir);
}

/** A self-signed certificate for `localhost` and 127.0.0.1, valid for one day. */
export function makeCertificate(): { key: Buffer; cert: Buffer; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-cert-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return {
      key: fs.readFileSync(path.join(dir, 'key.pem')),
      cert: fs.readFileSync(path.join(dir, 'cert.pem')),
      cleanup,
    };
  } catch (e) {
    cleanup();
    throw e;
  }
}

/** HAProxy wants the certificate and its key in one PEM file: write it to `dir`, return its path. */
export function writeHaproxyPem(dir: string, certificate: { key: Buffer; cert: Buffer }): string {
  const pem = path.join(dir, 'combined.pem');
  fs.writeFileSync(pem, Buffer.concat([certificate.cert, Buffer.from('\n'), certificate.key]), { mode: 0o600 });
  return pem;
}

/**
 * Start HAProxy as a TLS terminator on a free 127.0.0.1 port: it accepts TLS with
 * `certificate` and forwards the plain bytes to 127.0.0.1:`targetPort` (put it in front
 * of tinyproxy for an `https://` proxy); `url` is `https://127.0.0.1:PORT`.
 */
export async function startTlsFront(
  targetPort: number,
  certificate: { key: Buffer; cert: Buffer },
): Promise<RunningProxy> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-haproxy-'));
  const pem = writeHaproxyPem(dir, certificate);
  const lines = [
    'global',
    '  log stderr format raw local0',
    'defaults',
    '  mode tcp',
    '  log global',
    '  option tcplog',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    'frontend tls',
    `  bind 127.0.0.1:${port} ssl crt ${pem}`,
    '  default_backend target',
    'backend target',
    `  server target 127.0.0.1:${targetPort}`,
  ];
  const config = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(config, lines.join('\n') + '\n');
  return run('haproxy', HAPROXY, ['-db', '-f', config], port, dir, 'https');
}
