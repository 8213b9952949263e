/**
 * A deflate bomb (1 GiB of zeros in about 1 MiB) against a 1 MiB message limit: refused
 * with 1009 after inflating little more than the limit, quickly, in bounded memory
 * (design.md: "enforced while inflating, so a deflate bomb is refused at the limit").
 */
import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { CloseConnection, Connection, type ConnectionEvent } from '../../lib/index';
import { PerMessageDeflate, type InflateBackendName } from '../../lib/extensions/permessage-deflate';
import { INFLATE_OVERSHOOT_BOUND } from '../../lib/extensions/zlib-backend';
import { masked } from '../helpers/bytes';
import { requirePeer } from '../helpers/peers';

const MiB = 1 << 20;

/** 1 GiB of zeros as a raw DEFLATE stream, deflated one MiB at a time. */
function gibibyteOfZeros(): Buffer {
  // Each MiB is deflated on its own and sync-flushed (RLE finds the 258-byte runs, about
  // 1011:1); such pieces concatenate into one valid stream, so one piece is repeated.
  const piece = zlib.deflateRawSync(Buffer.alloc(MiB), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    strategy: zlib.constants.Z_RLE,
    level: 9,
    memLevel: 9,
  });
  const bomb = Buffer.concat(Array.from({ length: 1024 }, () => piece));
  return bomb.subarray(0, bomb.length - 4); // RFC 7692 7.2.1: the tail is not sent
}

function server(backend: InflateBackendName): PerMessageDeflate {
  const ext = new PerMessageDeflate({ inflateBackend: backend });
  ext.accept({ name: 'permessage-deflate', params: [] });
  return ext;
}

/** Feed `wire` to a server limited to 1 MiB messages; measure time and memory. */
function attack(backend: InflateBackendName, wire: Buffer[], maxFrameSize: number) {
  const conn = new Connection('server', { extensions: [server(backend)], maxMessageSize: MiB, maxFrameSize });
  const before = process.memoryUsage();
  const start = process.hrtime.bigint();
  const events: ConnectionEvent[] = [];
  let delivered = 0;
  for (const chunk of wire) {
    if (events.some((e) => e instanceof CloseConnection)) break;
    conn.receiveData(chunk);
    for (const event of conn.events()) {
      events.push(event);
      if (event.type === 'bytes') delivered += event.data.length;
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const after = process.memoryUsage();
  return {
    events,
    delivered,
    ms,
    rssGrowth: after.rss - before.rss,
    arrayBuffersGrowth: after.arrayBuffers - before.arrayBuffers,
  };
}

for (const backend of ['node:zlib', 'zlib-sync'] as InflateBackendName[]) {
  describe(`deflate bomb against maxMessageSize 1 MiB, inflating with ${backend}`, function () {
    let bomb: Buffer;
    before(function () {
      if (backend === 'zlib-sync') {
        requirePeer(
          this as unknown as Mocha.Context,
          PerMessageDeflate.zlibSyncAvailable,
          'zlib-sync',
          'npm install zlib-sync',
        );
      }
      bomb = gibibyteOfZeros();
      expect(bomb.length).to.be.below(1.1 * MiB);
    });

    it('one 1 MiB frame that inflates to 1 GiB: close 1009, fast, small memory', () => {
      const wire = masked({ rsv: 0x40, opcode: 0x2, payload: bomb });
      const result = attack(backend, [wire], 2 * MiB);
      const close = result.events.at(-1);
      expect(close).to.be.instanceOf(CloseConnection);
      expect((close as CloseConnection).code).to.equal(1009);
      // The reason says how far inflation went: at most one slice past the limit.
      const match = /\((\d+) bytes inflated, (\d+) allowed\)/.exec((close as CloseConnection).reason);
      expect(match, (close as CloseConnection).reason).to.not.equal(null);
      const [inflated, allowed] = [Number(match![1]), Number(match![2])];
      expect(allowed).to.equal(MiB);
      expect(inflated - allowed).to.be.at.most(INFLATE_OVERSHOOT_BOUND);
      expect(result.delivered).to.equal(0);
      expect(result.ms).to.be.below(2000);
      expect(result.rssGrowth).to.be.below(64 * MiB);
      expect(result.arrayBuffersGrowth).to.be.below(64 * MiB);
    });

    it('the same bomb in 64 KiB fragments, fed 16 KiB at a time: close 1009 at the first piece', () => {
      const frames: Buffer[] = [];
      for (let i = 0; i < bomb.length; i += 64 * 1024) {
        const payload = bomb.subarray(i, i + 64 * 1024);
        frames.push(
          masked({ fin: i + 64 * 1024 >= bomb.length, rsv: i === 0 ? 0x40 : 0, opcode: i === 0 ? 0x2 : 0x0, payload }),
        );
      }
      const stream = Buffer.concat(frames);
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += 16 * 1024) chunks.push(stream.subarray(i, i + 16 * 1024));
      const result = attack(backend, chunks, MiB);
      const close = result.events.at(-1);
      expect(close).to.be.instanceOf(CloseConnection);
      expect((close as CloseConnection).code).to.equal(1009);
      // The first 16 KiB already inflate past 1 MiB, so nothing of the message is delivered.
      expect(result.delivered).to.equal(0);
      expect(result.events).to.have.length(1);
      expect(result.ms).to.be.below(2000);
      expect(result.rssGrowth).to.be.below(64 * MiB);
      expect(result.arrayBuffersGrowth).to.be.below(64 * MiB);
    });

    it('the bomb fed 64 bytes at a time: delivered as it inflates, never past 1 MiB, then 1009', () => {
      const wire = masked({ rsv: 0x40, opcode: 0x2, payload: bomb });
      const chunks: Buffer[] = [];
      for (let i = 0; i < 64 * 1024; i += 64) chunks.push(wire.subarray(i, i + 64));
      const result = attack(backend, chunks, 2 * MiB);
      const close = result.events.at(-1);
      expect(close).to.be.instanceOf(CloseConnection);
      expect((close as CloseConnection).code).to.equal(1009);
      expect(result.delivered).to.be.at.most(MiB);
      expect(result.delivered).to.be.greaterThan(MiB / 2);
      expect(result.events.length).to.be.greaterThan(2); // pieces of the message, then the close
      expect(result.rssGrowth).to.be.below(64 * MiB);
    });
  });
}
