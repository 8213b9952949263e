/**
 * Autobahn|Testsuite testee: an echo server built on the public API (`handleUpgrade`),
 * every extension parameter accepted. Run the suite's `wstest -m fuzzingclient` against it
 * (compliance/fuzzingclient.json points at ws://127.0.0.1:9001).
 *
 *     node dist/compliance/server-agent.js [port]
 */
import * as http from 'node:http';
import { handleUpgrade } from 'wsproto';

const port = Number(process.argv[2] ?? process.env.PORT ?? 9001);

const server = http.createServer((_req, res) => {
  res.writeHead(426, { 'Content-Type': 'text/plain' });
  res.end('WebSocket only\n');
});

server.on('upgrade', (req, socket, head) => {
  const ws = handleUpgrade(req, socket, head, {
    // Case 9.* sends messages up to 16 MiB; 12.* and 13.* need every deflate parameter.
    maxMessageSize: 64 * 1024 * 1024,
    perMessageDeflate: { threshold: 0 },
    handshakeTimeout: 60_000,
  });
  // Echo text as text and binary as binary, whole messages.
  ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => undefined);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`wsproto autobahn server agent: ws://127.0.0.1:${port}/`);
});
