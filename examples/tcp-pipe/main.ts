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
  ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  ws.on('error', (error: Error) => console.error(`rejected: ${error.message}`));
  ws.on('close', () => socket.destroy());
});

server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`tcp-pipe echo server: ws://127.0.0.1:${port}/`);
});
