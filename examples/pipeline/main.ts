/**
 * The conversation as a stream pipeline: events in from `ws.app`, through an
 * object-mode transform (uppercase), back out to `ws.app`.
 *
 *     PORT=8082 node dist/examples/pipeline/main.js
 */
import * as net from 'node:net';
import { Transform, pipeline } from 'node:stream';
import { TextMessage, WebSocketDuplex, type WSEvent } from 'wsproto';

const upper = () =>
  new Transform({
    objectMode: true,
    transform(event: WSEvent, _encoding, done) {
      // Text (whole or in pieces) comes back uppercased; everything else is dropped here
      // (pings are answered by the stream itself).
      if (event.type === 'text') {
        done(null, new TextMessage({ data: event.data.toUpperCase(), messageFinished: event.messageFinished }));
      } else done();
    },
  });

const server = net.createServer((socket) => {
  const ws = new WebSocketDuplex('server');
  pipeline(ws.app, upper(), ws.app, () => undefined);
  pipeline(socket, ws, socket, () => undefined);
});

server.listen(Number(process.env.PORT ?? 8082), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`uppercase pipeline server: ws://127.0.0.1:${port}/`);
});
