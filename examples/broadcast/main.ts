/**
 * A chat room: every message goes to every member. A member whose socket falls
 * behind (more than MAX_BUFFERED bytes not yet taken by its transport) is skipped for
 * that message, and dropped with 1008 if it stays behind: one slow client can never
 * make the server's memory grow.
 *
 *     PORT=8083 node dist/examples/broadcast/main.js
 */
import * as http from 'node:http';
import { handleUpgrade, type WebSocketDuplex } from 'wsproto';

const MAX_BUFFERED = 1024 * 1024; // skip a member above this
const DROP_AFTER_SKIPS = 64; // then drop it

const members = new Map<WebSocketDuplex, { skipped: number }>();

function broadcast(data: string | Buffer, isBinary: boolean): void {
  for (const [member, stats] of members) {
    if (member.bufferedAmount > MAX_BUFFERED) {
      if (++stats.skipped >= DROP_AFTER_SKIPS) {
        members.delete(member);
        member.close(1008, 'too slow');
      }
      continue;
    }
    stats.skipped = 0;
    member.send(data, { binary: isBinary });
  }
}

const server = http.createServer((_req, res) => res.end('broadcast room: connect with a WebSocket client\n'));
server.on('upgrade', (req, socket, head) => {
  const ws = handleUpgrade(req, socket, head);
  ws.on('open', () => members.set(ws, { skipped: 0 }));
  ws.on('message', (data: string | Buffer, isBinary: boolean) => broadcast(data, isBinary));
  ws.on('close', () => members.delete(ws));
});

server.listen(Number(process.env.PORT ?? 8083), process.env.HOST ?? '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`broadcast room: ws://127.0.0.1:${port}/`);
});
