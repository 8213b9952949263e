/**
 * Attack: a deflate bomb over a real loopback socket. permessage-deflate is negotiated
 * in a raw handshake, then one masked RSV1 frame of about 1 MiB that inflates to 1 GiB
 * of zeros is sent to a server whose `maxMessageSize` is 1 MiB: it must answer close
 * 1009 having inflated no more than about the limit (memory is measured, not time), and
 * never deliver a message.
 */
import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { PerMessageDeflate } from '../../lib/index';
import { masked } from '../helpers/bytes';
import { until } from '../helpers/net';
import { Attacker, MiB, httpServer, memory, netServer } from './helpers';

/**
 * Raw DEFLATE data that inflates to `total` zero bytes, built without holding them: one
 * 1 MiB block of zeros is compressed with a full flush (no back-reference crosses it,
 * no BFINAL, byte-aligned), and that segment is repeated. The 00 00 ff ff tail of the
 * last flush is removed, as RFC 7692 7.2.1 says.
 */
function bomb(total: number): Buffer {
  const segment = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const all = Buffer.concat(Array.from({ length: Math.ceil(total / MiB) }, () => segment));
  return all.subarray(0, all.length - 4);
}

describe('attack: deflate bomb', function () {
  this.timeout(30_000);

  it('the bomb really inflates to 1 GiB (checked on 16 MiB of it)', () => {
    const small = bomb(16 * MiB);
    const out = zlib.inflateRawSync(Buffer.concat([small, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    expect(out.length).to.equal(16 * MiB);
    expect(out.every((b) => b === 0)).to.equal(true);
  });

  const backends = PerMessageDeflate.zlibSyncAvailable
    ? (['node:zlib', 'zlib-sync'] as const)
    : (['node:zlib'] as const);
  for (const backend of backends) {
    for (const kind of ['net', 'http'] as const) {
      it(`${kind === 'net' ? 'WebSocketDuplex' : 'handleUpgrade'} server (${backend}): ~1 MiB -> 1 GiB is refused with 1009, memory bounded`, async () => {
        const options = { maxMessageSize: MiB, perMessageDeflate: { inflateBackend: backend } };
        const server = kind === 'net' ? await netServer(options) : await httpServer(options);
        try {
          const attacker = await Attacker.connect(server.port);
          const head = await attacker.handshake(['Sec-WebSocket-Extensions: permessage-deflate']);
          expect(head.status).to.equal(101);
          expect(head.headers).to.match(/\r\nSec-WebSocket-Extensions: permessage-deflate/i);
          const payload = bomb(1024 * MiB);
          const frame = masked({ opcode: 0x2, rsv: 0x40, payload });
          let delivered = 0;
          server.streams[0]!.on('message', (data) => (delivered += data.length));

          const before = memory();
          const peakBefore = process.resourceUsage().maxRSS * 1024;
          await attacker.write(frame);
          expect(await attacker.closeCode(10_000)).to.equal(1009);
          const after = memory();
          // The process's peak RSS: inflating happens inside one synchronous write, where
          // sampling cannot look, but a peak would stay recorded here.
          const peak = (process.resourceUsage().maxRSS * 1024 - peakBefore) / MiB;
          const rss = (after.rss - before.rss) / MiB;
          const buffers = (after.arrayBuffers - before.arrayBuffers) / MiB;
          console.log(
            `      ${(payload.length / MiB).toFixed(2)} MiB compressed; peak RSS +${peak.toFixed(1)} MiB; after the close: rss ${rss >= 0 ? '+' : ''}${rss.toFixed(1)} MiB, arrayBuffers ${buffers >= 0 ? '+' : ''}${buffers.toFixed(1)} MiB`,
          );
          expect(delivered, 'bytes delivered to the application').to.equal(0);
          // Against 1 GiB: the limit (1 MiB), a bounded overshoot, zlib's window and the
          // 1 MiB frame the attacker sent (in this same process).
          expect(after.rss - before.rss, 'RSS growth').to.be.below(64 * MiB);
          expect(peak, 'peak RSS growth, MiB').to.be.below(64);
          expect(after.arrayBuffers - before.arrayBuffers, 'arrayBuffers growth').to.be.below(16 * MiB);
          await until(() => attacker.closed, 5000, 'the server to drop the connection');
        } finally {
          await server.close();
        }
      });
    }
  }
});
