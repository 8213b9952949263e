/**
 * Attack: a peer that never reads, over real loopback sockets. The server keeps sending
 * to it, each `send()` waiting for the callback of the previous one (the backpressure
 * contract of the README). What the server holds for that peer stays within the
 * high-water marks, and other clients are served meanwhile.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { connect, type WebSocketDuplex } from '../../lib/index';
import { masked } from '../helpers/bytes';
import { once, until } from '../helpers/net';
import { Attacker, KiB, netServer } from './helpers';

describe('attack: a peer that never reads', function () {
  this.timeout(30_000);

  for (const compress of [false, true]) {
    it(`server sends 64 KiB messages${compress ? ' (compressed)' : ''} respecting callbacks: buffered output stays bounded; others are served`, async () => {
      const chunk = randomBytes(64 * KiB); // incompressible
      let sent = 0;
      let pending = false;
      let stopped = false;
      let sender: WebSocketDuplex | null = null;
      const pump = (ws: WebSocketDuplex): void => {
        if (stopped || pending) return;
        pending = true;
        ws.send(chunk, { binary: true }, (error) => {
          pending = false;
          if (error) return;
          sent += chunk.length;
          if (sent < 256 * 1024 * 1024) pump(ws);
        });
      };
      const server = await netServer({ perMessageDeflate: compress, highWaterMark: 64 * KiB }, (ws) => {
        ws.on('message', (data: string | Buffer) => {
          if (data === 'flood me') {
            sender = ws;
            pump(ws);
          }
        });
      });
      try {
        const attacker = await Attacker.connect(server.port);
        await attacker.handshake(compress ? ['Sec-WebSocket-Extensions: permessage-deflate'] : []);
        attacker.socket.pause(); // and never reads again
        const socket = server.sockets[0]!;
        await attacker.write(masked({ opcode: 0x1, payload: 'flood me' }));
        await until(() => sender !== null, 5000, 'the flood to start');
        // Sample the server's buffered output until the sender has been stalled (its
        // callback pending, nothing more sent) for a while.
        let peak = 0;
        let lastSent = -1;
        let stalled = 0;
        await until(
          () => {
            peak = Math.max(peak, sender!.bufferedAmount + socket.writableLength);
            stalled = pending && sent === lastSent ? stalled + 1 : 0;
            lastSent = sent;
            return stalled >= 30;
          },
          20_000,
          'the sender to be held by backpressure',
        );
        console.log(
          `      sent ${(sent / KiB).toFixed(0)} KiB before backpressure held the sender; ` +
            `peak server-side buffered ${(peak / KiB).toFixed(0)} KiB`,
        );
        expect(sent, 'the kernel buffers took something').to.be.above(0);
        // Wire high-water mark (64 KiB) + one message in flight (64 KiB) + the socket's
        // buffer (16 KiB high-water mark plus what pipe wrote past it).
        expect(peak, 'server-side buffered bytes for the non-reading peer').to.be.below(512 * KiB);

        // Meanwhile another client is served.
        const other = await connect(`ws://127.0.0.1:${server.port}/`);
        const echoes: string[] = [];
        other.on('message', (m) => echoes.push(String(m)));
        for (let i = 0; i < 20; i++) other.send(`echo ${i}`);
        await until(() => echoes.length === 20, 5000, 'echoes for the other client');
        expect(echoes[19]).to.equal('echo 19');
        other.close();
        await once(other, 'close');
        expect(sender!.bufferedAmount + socket.writableLength).to.be.below(512 * KiB);
        stopped = true;
        attacker.destroy();
      } finally {
        stopped = true;
        await server.close();
      }
    });
  }
});
