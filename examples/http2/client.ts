/**
 * Many WebSockets on one HTTP/2 connection: opens a `ClientHttp2Session` to the server
 * of examples/http2/main.ts, then `--clients N` WebSockets on it (`connect(url, { http2:
 * session })`, one extended CONNECT stream each, RFC 8441), sends a line on each and
 * prints its welcome and echo; closes them all, shows that the session is still open by
 * fetching the page on it, closes the session and exits 0.
 *
 *     node dist/examples/http2/client.js --ca /tmp/wsproto-http2-XXXXXX/cert.pem --clients 3 wss://127.0.0.1:8443/echo
 *
 * `--ca FILE`: trust this certificate (the server prints where its self-signed one is).
 */
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import { parseArgs } from 'node:util';
import { connect, ConnectError, HandshakeRejectedError, type WebSocketDuplex } from 'wsproto';

/** The next message of `ws`, as text. */
function nextMessage(ws: WebSocketDuplex): Promise<string> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: string | Buffer) => (ws.off('close', onClose), resolve(String(data)));
    const onClose = (code: number) => (ws.off('message', onMessage), reject(new Error(`closed with ${code}`)));
    ws.once('message', onMessage);
    ws.once('close', onClose);
  });
}

/** GET `path` on the session: its status. */
function get(session: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = session.request({ ':path': path });
    request.on('response', (headers) => resolve(Number(headers[':status'])));
    request.on('error', reject);
    request.resume(); // the page itself is not needed
    request.end();
  });
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { ca: { type: 'string' }, clients: { type: 'string', default: '3' } },
  });
  const url = new URL(positionals[0] ?? 'wss://127.0.0.1:8443/echo');
  const count = Number(values.clients);
  const ca = values.ca === undefined ? undefined : fs.readFileSync(values.ca);
  const tls = ca === undefined ? {} : { ca };

  // One TLS connection, ALPN h2: the session every WebSocket below is a stream of.
  const session = http2.connect(`https://${url.host}`, tls);
  session.on('error', (error) => console.error(`session: ${error.message}`));
  try {
    const sockets = await Promise.all(
      Array.from({ length: count }, () => connect(url, { http2: session, tls, perMessageDeflate: true })),
    );
    const welcomes = await Promise.all(sockets.map(nextMessage));
    for (const [i, ws] of sockets.entries()) {
      const welcome = JSON.parse(welcomes[i]!) as { id: number; httpVersion: string; session: number | null };
      const line = `hello from client ${i + 1}`;
      ws.send(line);
      const echo = await nextMessage(ws);
      const on = `HTTP/${welcome.httpVersion}, the server's h2 session ${welcome.session}`;
      console.log(`client ${i + 1}: WebSocket #${welcome.id} over ${on}; echo: ${echo}`);
    }
    await Promise.all(
      sockets.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close(1000, 'done')))),
    );
    const open = !session.closed && !session.destroyed;
    console.log(`closed ${count} WebSocket(s); the session is ${open ? 'still open' : 'closed'}`);
    if (!open) process.exitCode = 1;
    else console.log(`GET / on the same session: ${await get(session, '/')}`);
  } finally {
    session.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof HandshakeRejectedError) console.error(`the server said ${error.statusCode}`);
  else if (error instanceof ConnectError) console.error(`${error.code}: ${error.message}`);
  else console.error(String(error));
  process.exit(1);
});
