/**
 * The `socket.pipe(ws).pipe(socket)` form on a bare `net.Server`: no HTTP server, the
 * WebSocket stream reads the handshake itself.
 *
 *     PORT=8081 node dist/examples/tcp-pipe/main.js
 */
import * as net from 'node:net';
import { WebSocketDuplex } from 'wsproto';

const server = net.createServer((socket) => {
  const ws = new WebSocketDuplex('server');
  socket.pipe(ws).pipe(socket);
  // pipe() forwards no errors: the socket's own (ECONNRESET ...) end the stream (1006).
  socket.on('error', () => ws.destroy());
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason, _wasClean, cause) => {
    if (cause !== null) console.error(`closed ${code}: ${reason} (${(cause as { code?: string }).code ?? cause.name})`);
    socket.destroySoon(); // once our last bytes (the close frame, a 400) are out
  });
});

server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`tcp-pipe echo server: ws://127.0.0.1:${port}/`);
});
