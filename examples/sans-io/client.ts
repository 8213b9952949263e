/**
 * The sans-I/O client over `node:net` (wsproto's synchronous_client.py, translated):
 * handshake, one text message, a ping, and the close handshake.
 *
 *     node dist/examples/sans-io/client.js ws://127.0.0.1:8084/
 */
import * as net from 'node:net';
import { CloseConnection, ConnectionType, Ping, Request, TextMessage, WSConnection } from 'wsproto';

const url = new URL(process.argv[2] ?? 'ws://127.0.0.1:8084/');
const ws = new WSConnection(ConnectionType.CLIENT);
const socket = net.connect(Number(url.port || 80), url.hostname);

socket.on('connect', () => {
  socket.write(ws.send(new Request({ host: url.host, target: url.pathname + url.search })));
});

socket.on('data', (chunk: Buffer) => {
  ws.receiveData(chunk);
  for (const event of ws.events()) {
    switch (event.type) {
      case 'accept':
        console.log('connection established');
        socket.write(ws.send(new TextMessage({ data: 'wsproto is great' })));
        socket.write(ws.send(new Ping({ payload: Buffer.from('hello') })));
        break;
      case 'reject':
        console.log(`rejected with ${event.statusCode}`);
        socket.destroy();
        break;
      case 'text':
        console.log(`received message: ${event.data}`);
        break;
      case 'pong':
        console.log(`received pong: ${event.payload.toString()}`);
        socket.write(ws.send(new CloseConnection({ code: 1000, reason: 'done' })));
        break;
      case 'ping':
        socket.write(ws.send(event.response()));
        break;
      case 'close':
        console.log(`connection closed: ${event.code}`);
        break;
      default:
        break;
    }
  }
});

// The server closes TCP after the close handshake; the client then sees EOF.
socket.on('end', () => {
  if (ws.state !== 'CLOSED') ws.receiveData(null);
  console.log(`final state: ${ws.state}`);
  socket.end();
});
