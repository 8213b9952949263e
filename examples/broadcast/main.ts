/**
 * A chat room on `WebSocketServer`: every message goes to every member, framed once
 * (`broadcast`). A member whose socket falls behind (more than 1 MiB not yet taken by its
 * transport) is closed with 1013 (try again later) by the server's slow-client policy:
 * one slow client can never make the server's memory grow. SIGINT or SIGTERM closes
 * every member with 1001 and exits.
 *
 *     PORT=8083 node dist/examples/broadcast/main.js
 */
import { WebSocketServer } from 'wsproto';

const room = new WebSocketServer({
  port: Number(process.env.PORT ?? 8083),
  host: process.env.HOST ?? '127.0.0.1',
  slowClient: { policy: 'close', closeCode: 1013, limit: 1024 * 1024 },
});

room.on('connection', (ws) => {
  ws.on('message', (data: string | Buffer, isBinary: boolean) => room.broadcast(data, { binary: isBinary }));
});

room.on('listening', () => {
  const { port } = room.address() as { port: number };
  console.log(`broadcast room: ws://127.0.0.1:${port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void room.close().then(() => process.exit(0));
  });
}
