/**
 * Attacks: floods over real loopback sockets against a `WebSocketDuplex` server. The
 * server may answer or not, but what it holds stays bounded; a message made of 100,000
 * one-byte fragments is accepted under `maxMessageSize` and refused with 1009 over it.
 */
import { expect } from 'chai';
import type * as net from 'node:net';
import type { WebSocketDuplex } from '../../lib/index';
import { masked } from '../helpers/bytes';
import { until } from '../helpers/net';
import { Attacker, KiB, MiB, memory, netServer } from './helpers';

/** Server-side bytes waiting to go out to one peer: the stream's buffer and the socket's. */
function outbound(ws: WebSocketDuplex, socket: net.Socket): number {
  return ws.bufferedAmount + socket.writableLength;
}

describe('attack: floods', function () {
  this.timeout(30_000);

  // 10,000 pings are the brief's figure, but their 1.2 MiB of pongs fit in loopback's
  // kernel buffers; 100,000 (13 MiB in) show whether the server itself holds them.
  for (const count of [10_000, 100_000]) {
    it(`${count.toLocaleString('en')} pings from a peer that never reads: the server holds a bounded amount of pongs`, async () => {
      const server = await netServer();
      try {
        const attacker = await Attacker.connect(server.port);
        await attacker.handshake();
        attacker.socket.pause(); // never read again: the pongs pile up somewhere
        const ws = server.streams[0]!;
        const socket = server.sockets[0]!;
        let peak = 0;
        const sample = setInterval(() => (peak = Math.max(peak, outbound(ws, socket))), 2);
        const ping = masked({ opcode: 0x9, payload: Buffer.alloc(125, 0x70) });
        const flood = Buffer.concat(Array.from({ length: count }, () => ping));
        // Written in 64 KiB pieces, as fast as the server takes them.
        const written = (async () => {
          for (let at = 0; at < flood.length; at += 64 * KiB) await attacker.write(flood.subarray(at, at + 64 * KiB));
        })();
        // Either the whole flood was taken, or the server stopped reading (backpressure).
        let lastRead = -1;
        let still = 0;
        await until(
          () => {
            const read = socket.bytesRead;
            still = read === lastRead ? still + 1 : 0;
            lastRead = read;
            return read >= flood.length || still > 30;
          },
          20_000,
          'the flood to be read or the server to stop reading',
        );
        clearInterval(sample);
        peak = Math.max(peak, outbound(ws, socket));
        const pongBytes = 127 * count;
        console.log(
          `      server read ${socket.bytesRead} of ${flood.length} bytes; peak outbound buffer ${peak} bytes ` +
            `(all pongs: ${pongBytes})`,
        );
        // The bound: the wire face's high-water mark (64 KiB), one socket read worth of
        // pongs (64 KiB) and the socket's own buffer: well under the pongs' total.
        expect(peak, 'server-side outbound bytes for a peer that never reads').to.be.below(256 * KiB);
        attacker.destroy();
        void written;
      } finally {
        await server.close();
      }
    });
  }

  for (const [limit, expectAccept] of [
    [200_000, true],
    [50_000, false],
  ] as const) {
    it(`100,000 one-byte fragments, maxMessageSize ${limit}: ${expectAccept ? 'accepted' : 'close 1009'}`, async () => {
      const server = await netServer({ maxMessageSize: limit });
      try {
        const attacker = await Attacker.connect(server.port);
        await attacker.handshake();
        const n = 100_000;
        const parts: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          parts.push(masked({ fin: i === n - 1, opcode: i === 0 ? 0x2 : 0x0, payload: Buffer.from([i & 0xff]) }));
        }
        const before = memory();
        const messages: Buffer[] = [];
        server.streams[0]!.on('message', (data) => messages.push(Buffer.from(data)));
        const flood = Buffer.concat(parts);
        parts.length = 0;
        void attacker.write(flood);
        if (expectAccept) {
          // The echo comes back as one binary frame of 100,000 bytes.
          await until(() => attacker.frames.some((f) => f.opcode === 0x2), 20_000, 'the echo');
          const echo = attacker.frames.find((f) => f.opcode === 0x2)!;
          expect(echo.payload.length).to.equal(n);
          expect(echo.payload.every((b, i) => b === (i & 0xff))).to.equal(true);
          expect(messages).to.have.length(1);
        } else {
          expect(await attacker.closeCode(20_000)).to.equal(1009);
          expect(messages).to.have.length(0);
        }
        const after = memory();
        console.log(
          `      heap +${((after.heapUsed - before.heapUsed) / MiB).toFixed(1)} MiB, ` +
            `arrayBuffers +${((after.arrayBuffers - before.arrayBuffers) / MiB).toFixed(1)} MiB`,
        );
        attacker.destroy();
      } finally {
        await server.close();
      }
    });
  }
});
