/**
 * One port, one TLS certificate, a page and a WebSocket endpoint, over HTTP/2 and
 * HTTP/1.1 at once: `http2.createSecureServer({ allowHTTP1: true })` serves the page from
 * its ordinary 'request' handler, and a `WebSocketServer` attached to it takes both the
 * RFC 8441 extended CONNECTs of HTTP/2 sessions and the `Upgrade: websocket` requests of
 * HTTP/1.1 connections on `/echo`. The page opens `wss://` to its own origin: a browser
 * that loaded it over h2 opens the WebSocket as one more stream of that connection.
 *
 *     node dist/examples/http2/main.js                        a self-signed certificate, made now
 *     node dist/examples/http2/main.js --cert cert.pem --key key.pem
 *     PORT=8443 HOST=127.0.0.1 node dist/examples/http2/main.js
 *
 * Without `--cert` and `--key` it makes a self-signed certificate (for localhost and
 * HOST) with `openssl` in a temporary directory, prints where, and how to make Chromium or
 * curl trust it; the directory is removed on exit. examples/http2/client.ts opens many
 * WebSockets on one HTTP/2 session to it.
 *
 * The protocol. The server's first message is JSON text,
 *   {"type":"welcome","id":3,"httpVersion":"2.0","session":1}
 * (the HTTP version the WebSocket rode on; `session` numbers the HTTP/2 connections, null
 * over HTTP/1.1); after that, every message comes back as it came, text or binary.
 * Ctrl+C (SIGINT) or SIGTERM closes every WebSocket with 1001 (`wss.close()`), then the
 * connections, and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import { isIP } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { WebSocketServer, type UpgradeRequest } from 'wsproto';

const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? '127.0.0.1';
const SHUTDOWN_MS = 2000; // how long WebSockets, then connections, get to close before they are dropped

const { values } = parseArgs({ options: { cert: { type: 'string' }, key: { type: 'string' } } });
if ((values.cert === undefined) !== (values.key === undefined)) {
  console.error('give both --cert FILE and --key FILE, or neither (a self-signed certificate is made)');
  process.exit(2);
}
const tls = values.cert !== undefined && values.key !== undefined ? given(values.cert, values.key) : selfSigned();

/** The certificate and key the user gave. */
function given(certFile: string, keyFile: string) {
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), certFile, dir: null };
}

/** A self-signed certificate for localhost, 127.0.0.1 and HOST, made with openssl in a fresh temporary directory. */
function selfSigned() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-http2-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const names = new Set(['DNS:localhost', 'IP:127.0.0.1']);
  if (host !== '0.0.0.0' && host !== '::') names.add(`${isIP(host) ? 'IP' : 'DNS'}:${host}`);
  const [certFile, keyFile] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '7', '-subj', '/CN=localhost'].concat([
        '-addext',
        `subjectAltName=${[...names].join(',')}`,
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ]),
      { stdio: 'pipe' }, // its progress dots are noise; its errors are shown below
    );
  } catch (error) {
    const { stderr } = error as { stderr?: Buffer };
    console.error(`openssl could not make a certificate (or give --cert and --key): ${String(error)}\n${stderr ?? ''}`);
    process.exit(1);
  }
  return { cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile), certFile, dir };
}

const page = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'http2', 'index.html'));
const server = http2.createSecureServer({ key: tls.key, cert: tls.cert, allowHTTP1: true }, (req, res) => {
  // One handler for both versions: req.httpVersion is '2.0' or '1.1'.
  if (req.method === 'GET' && (req.url === '/' || req.url === '/index.html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }
});

// Every HTTP/2 session (one TLS connection each) gets a number, and every HTTP/1.1
// connection is remembered: both are closed on shutdown.
const sessions = new Map<http2.Http2Session, number>();
const http1 = new Set<TLSSocket>();
let sessionCount = 0;
server.on('session', (session) => {
  sessions.set(session, ++sessionCount);
  session.on('close', () => sessions.delete(session));
});
server.on('secureConnection', (socket: TLSSocket) => {
  if (socket.alpnProtocol === 'h2') return;
  http1.add(socket);
  socket.on('close', () => http1.delete(socket));
});

/** The host and port the request was sent to: `:authority` over HTTP/2, Host over HTTP/1.1. */
const authorityOf = (req: UpgradeRequest) => ('authority' in req ? req.authority : req.headers.host);

const wss = new WebSocketServer({
  server, // the server of the page: same origin, same port, either HTTP version
  path: '/echo',
  perMessageDeflate: true,
  shutdownTimeout: SHUTDOWN_MS,
  // Browsers always send Origin: refuse pages of other sites (cross-site WebSocket hijacking).
  verifyOrigin: (origin, req) =>
    origin === undefined || (URL.canParse(origin) && new URL(origin).host === authorityOf(req)),
});

let opened = 0;
wss.on('connection', (ws, req) => {
  const id = ++opened;
  // An HTTP/2 WebSocket is a stream of a session; an HTTP/1.1 one has its connection to itself.
  const session = 'session' in req ? (sessions.get(req.session) ?? null) : null;
  const over = session === null ? `HTTP/${req.httpVersion}` : `HTTP/${req.httpVersion} (h2 session ${session})`;
  console.log(`open    #${id} over ${over} from ${req.socket.remoteAddress}; ${wss.clients.size} open`);
  ws.send(JSON.stringify({ type: 'welcome', id, httpVersion: req.httpVersion, session }));
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason, wasClean) => {
    const how = wasClean ? 'clean' : 'not clean';
    console.log(`close   #${id} ${code} ${reason || '-'} (${how}); ${wss.clients.size} open`);
  });
});

server.listen(port, host, () => {
  const { port: actual } = server.address() as { port: number };
  const origin = `https://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  if (tls.dir !== null) {
    const spki = new X509Certificate(tls.cert).publicKey.export({ type: 'spki', format: 'der' });
    const pin = createHash('sha256').update(spki).digest('base64');
    console.log(`self-signed certificate: ${tls.certFile} (removed on exit); to try it:`);
    console.log(`  chromium --ignore-certificate-errors-spki-list=${pin} ${origin}/`);
    console.log(`  curl --cacert ${tls.certFile} ${origin}/      (or curl -k)`);
    console.log(`  node dist/examples/http2/client.js --ca ${tls.certFile} ${origin.replace('https', 'wss')}/echo`);
  } else {
    console.log(`certificate: ${tls.certFile}`);
  }
  console.log(`http2: ${origin}/ (page) and ${origin.replace('https', 'wss')}/echo (WebSocket), HTTP/2 and HTTP/1.1`);
});

// Close every WebSocket with 1001 (wss.close() waits at most SHUTDOWN_MS for their
// answers), then every connection: GOAWAY to each HTTP/2 session, which closes once its
// streams are done; HTTP/1.1 connections (idle keep-alives) are ended. Then exit.
let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1); // a second Ctrl+C: no more waiting
  stopping = true;
  console.log(`${signal}: closing ${wss.clients.size} WebSocket(s) with 1001`);
  await wss.close(); // 1001 'server shutting down' to every WebSocket, either version
  await new Promise((resolve) => {
    server.close(resolve);
    for (const session of sessions.keys()) session.close();
    for (const socket of http1) socket.destroy();
    setTimeout(() => {
      for (const session of sessions.keys()) session.destroy();
    }, SHUTDOWN_MS).unref();
  });
  console.log('closed: exiting');
  process.exit(0);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
