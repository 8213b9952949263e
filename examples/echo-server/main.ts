/**
 * `npm start`: a WebSocket echo server on localhost that also serves a small page to
 * chat with it from a browser.
 *
 *     PORT=8080 HOST=127.0.0.1 npm start      then open http://127.0.0.1:8080/
 *
 * Ctrl+C (SIGINT) or SIGTERM closes every WebSocket with 1001 (going away) and exits once
 * they are closed, or after SHUTDOWN_MS: an open browser tab cannot keep it running.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { handleUpgrade, type WebSocketDuplex } from 'wsproto';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const SHUTDOWN_MS = 2000; // how long close handshakes may take on shutdown
const sockets = new Set<WebSocketDuplex>();
const page = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'echo-server', 'index.html'));

const server = http.createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
});

server.on('upgrade', (req, socket, head) => {
  const ws = handleUpgrade(req, socket, head, { pingInterval: 30_000, perMessageDeflate: true });
  sockets.add(ws);
  ws.on('open', () =>
    console.log(
      `open    ${req.socket.remoteAddress} ${req.url} (extensions: ${ws.extensions.map((e) => e.name).join(', ') || 'none'})`,
    ),
  );
  ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code: number, reason: string, wasClean: boolean) => {
    sockets.delete(ws);
    console.log(`close   ${code} ${reason || '-'} (${wasClean ? 'clean' : 'not clean'})`);
  });
});

server.listen(port, host, () => {
  const { port: actual } = server.address() as { port: number };
  console.log(`echo server: http://${host}:${actual}/ (page) and ws://${host}:${actual}/ (WebSocket)`);
});

// server.close() alone waits for every upgraded socket, and a browser tab keeps its
// WebSocket open for as long as the tab lives: close them ourselves, within a bound.
let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) process.exit(1); // a second Ctrl+C: no more waiting
  stopping = true;
  console.log(`${signal}: closing ${sockets.size} WebSocket(s) with 1001`);
  setTimeout(() => process.exit(0), SHUTDOWN_MS).unref();
  server.close(() => process.exit(0)); // once every connection is gone
  server.closeIdleConnections(); // idle keep-alive HTTP connections (the page's)
  for (const ws of sockets) ws.close(1001, 'server shutting down');
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
