/**
 * `npm start`: a WebSocket echo server on localhost that also serves a small page to
 * chat with it from a browser.
 *
 *     PORT=8080 HOST=127.0.0.1 npm start      then open http://127.0.0.1:8080/
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { handleUpgrade } from 'wsproto';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
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
  ws.on('open', () =>
    console.log(
      `open    ${req.socket.remoteAddress} ${req.url} (extensions: ${ws.extensions.map((e) => e.name).join(', ') || 'none'})`,
    ),
  );
  ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code: number, reason: string, wasClean: boolean) =>
    console.log(`close   ${code} ${reason || '-'} (${wasClean ? 'clean' : 'not clean'})`),
  );
});

server.listen(port, host, () => {
  const { port: actual } = server.address() as { port: number };
  console.log(`echo server: http://${host}:${actual}/ (page) and ws://${host}:${actual}/ (WebSocket)`);
});

process.on('SIGINT', () => server.close(() => process.exit(0)));
