/**
 * The sans-I/O core driven by hand over `node:net` (wsproto's synchronous_server.py,
 * translated): every received chunk goes to `receiveData`, every event is handled, and
 * whatever `send` returns is written to the socket.
 *
 *     PORT=8084 node dist/examples/sans-io/server.js
 */
import * as net from 'node:net';
import { AcceptConnection, ConnectionType, RemoteProtocolError, TextMessage, WSConnection } from 'wsproto';
import type { RejectConnection } from 'wsproto';

const server = net.createServer((socket) => {
  const ws = new WSConnection(ConnectionType.SERVER);
  socket.on('data', (chunk: Buffer) => {
    try {
      ws.receiveData(chunk);
    } catch (error) {
      // A broken handshake: send the rejection the library suggests, then hang up.
      if (error instanceof RemoteProtocolError && error.eventHint)
        socket.end(ws.send(error.eventHint as RejectConnection));
      else socket.destroy();
      return;
    }
    for (const event of ws.events()) {
      switch (event.type) {
        case 'request':
          console.log(`request for ${event.target}`);
          socket.write(ws.send(new AcceptConnection()));
          break;
        case 'text':
          // Echo pieces as they come: frameFinished/messageFinished carry over.
          socket.write(ws.send(new TextMessage({ data: event.data, messageFinished: event.messageFinished })));
          break;
        case 'bytes':
          socket.write(ws.send(event));
          break;
        case 'ping':
          socket.write(ws.send(event.response()));
          break;
        case 'close':
          console.log(`close ${event.code} ${event.reason}`);
          if (ws.state === 'REMOTE_CLOSING') socket.write(ws.send(event.response()));
          socket.end(); // RFC 6455 7.1.1: the server closes the TCP connection first
          break;
        default:
          break;
      }
    }
  });
  socket.on('end', () => {
    // EOF before the handshake completed needs no answer; after it, a 1006 close follows.
    if (ws.state !== 'CLOSED' && ws.state !== 'CONNECTING') ws.receiveData(null);
  });
  socket.on('error', () => socket.destroy());
});

server.listen(Number(process.env.PORT ?? 8084), '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`sans-I/O echo server: ws://127.0.0.1:${port}/`);
});
