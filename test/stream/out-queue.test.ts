/** Mirror test for lib/stream/out-queue: coalescing within a tick, big frames alone, the one-pong slot, the switch to the transport. */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { Duplex } from 'readable-stream';
import { OutQueue } from '../../lib/stream/out-queue';
import { ReadableOutput, TransportOutput, type WireOutput } from '../../lib/stream/wire-output';

/** A readable side that only records: `readableLength` grows with each push until `drain()`. */
class FakeSink implements WireOutput {
  readonly pushed: Buffer[] = [];
  readableLength = 0;
  constructor(readonly readableHighWaterMark = 64 * 1024) {}
  push(chunk: Buffer): boolean {
    this.pushed.push(chunk);
    this.readableLength += chunk.length;
    return this.readableLength < this.readableHighWaterMark;
  }
  /** Records the pair, counted as one push of both. */
  pushSplit(header: Buffer, payload: Buffer): boolean {
    this.split.push([header, payload]);
    return this.push(Buffer.concat([header, payload]));
  }
  readonly split: Array<[Buffer, Buffer]> = [];
  /** The transport took everything. */
  drain(): void {
    this.readableLength = 0;
  }
  taken = false;
  end(): void {
    this.taken = true;
  }
  onceTaken(): void {}
  closed(): void {}
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve));
const fill = (n: number, byte: number) => Buffer.alloc(n, byte);
const KiB16 = 16 * 1024;

describe('stream/out-queue', () => {
  describe('coalescing', () => {
    it('small frames written in one tick are pushed as one chunk, after process.nextTick', async () => {
      const sink = new FakeSink();
      const q = new OutQueue(sink);
      q.write(Buffer.from('aa'));
      q.write(Buffer.from('bbb'));
      q.write(Buffer.from('c'));
      expect(sink.pushed).to.have.length(0);
      expect(q.pending).to.equal(6);
      await nextTick();
      expect(sink.pushed).to.deep.equal([Buffer.from('aabbbc')]);
      expect(q.pending).to.equal(0);
    });

    it('frames of the next tick make the next chunk', async () => {
      const sink = new FakeSink();
      const q = new OutQueue(sink);
      q.write(Buffer.from('1'));
      await nextTick();
      q.write(Buffer.from('2'));
      q.write(Buffer.from('3'));
      await nextTick();
      expect(sink.pushed).to.deep.equal([Buffer.from('1'), Buffer.from('23')]);
    });

    it('a frame of 16 KiB or more flushes the small ones first, then is pushed alone (order kept)', async () => {
      const sink = new FakeSink(1024 * 1024);
      const q = new OutQueue(sink);
      const big = fill(KiB16, 0x42);
      q.write(Buffer.from('s1'));
      q.write(Buffer.from('s2'));
      q.write(big);
      q.write(Buffer.from('s3'));
      // The flush and the big push happen at once, not a tick later.
      expect(sink.pushed).to.have.length(2);
      expect(sink.pushed[0]).to.deep.equal(Buffer.from('s1s2'));
      expect(sink.pushed[1]).to.equal(big); // pushed as is, not copied
      await nextTick();
      expect(sink.pushed).to.have.length(3);
      expect(sink.pushed[2]).to.deep.equal(Buffer.from('s3'));
    });

    it('a frame of 16 KiB - 1 bytes is still coalesced', async () => {
      const sink = new FakeSink(1024 * 1024);
      const q = new OutQueue(sink);
      q.write(Buffer.from('s'));
      q.write(fill(KiB16 - 1, 0x41));
      expect(sink.pushed).to.have.length(1); // together they reached 16 KiB: flushed at once
      expect(sink.pushed[0]).to.have.length(KiB16);
      expect(sink.pushed[0]![0]).to.equal(0x73);
    });

    it('small frames adding up to 16 KiB are flushed at once as one chunk', () => {
      const sink = new FakeSink(1024 * 1024);
      const q = new OutQueue(sink);
      for (let i = 0; i < 16; i++) q.write(fill(1024, i));
      expect(sink.pushed).to.have.length(1);
      expect(sink.pushed[0]).to.have.length(KiB16);
      expect(q.pending).to.equal(0);
    });

    it('a big frame with nothing small queued is pushed alone (no empty chunk first)', () => {
      const sink = new FakeSink(1024 * 1024);
      const q = new OutQueue(sink);
      q.write(fill(KiB16 * 2, 1));
      expect(sink.pushed).to.have.length(1);
      expect(sink.pushed[0]).to.have.length(KiB16 * 2);
    });
  });

  describe('backpressure', () => {
    it('write returns true below the high-water mark and false once at or over it (queued bytes count)', () => {
      const sink = new FakeSink(100);
      const q = new OutQueue(sink);
      expect(q.write(fill(60, 1))).to.equal(true);
      expect(q.full).to.equal(false);
      expect(q.write(fill(40, 2))).to.equal(false); // 100 queued: at the mark
      expect(q.full).to.equal(true);
      expect(q.write(fill(1, 3))).to.equal(false);
    });

    it('write returns false while the readable side itself is at its high-water mark', () => {
      const sink = new FakeSink(100);
      sink.readableLength = 100;
      const q = new OutQueue(sink);
      expect(q.write(Buffer.from('x'))).to.equal(false);
      sink.drain();
      expect(q.full).to.equal(false);
    });

    it("a big frame returns the sink's answer", () => {
      const sink = new FakeSink(KiB16 + 1);
      const q = new OutQueue(sink);
      expect(q.write(fill(KiB16, 0))).to.equal(true);
      expect(q.write(fill(KiB16, 0))).to.equal(false);
    });

    it('flush() reports whether the transport keeps up', () => {
      const sink = new FakeSink(10);
      const q = new OutQueue(sink);
      expect(q.flush()).to.equal(true); // nothing queued, not full
      q.write(fill(12, 0));
      expect(q.flush()).to.equal(false);
      sink.drain();
      expect(q.flush()).to.equal(true);
    });
  });

  describe('the one-pong slot (RFC 6455 5.5.3)', () => {
    it('a pong while the transport keeps up is written like any frame (coalesced)', async () => {
      const sink = new FakeSink();
      const q = new OutQueue(sink);
      q.write(Buffer.from('m'));
      q.writePong(Buffer.from('P'));
      await nextTick();
      expect(sink.pushed).to.deep.equal([Buffer.from('mP')]);
    });

    it('pongs while the transport is behind: only the newest is kept, and flush() pushes it first', async () => {
      const sink = new FakeSink(100);
      sink.readableLength = 100; // behind
      const q = new OutQueue(sink);
      q.writePong(Buffer.from('pong-1'));
      q.writePong(Buffer.from('pong-2'));
      q.writePong(Buffer.from('pong-3'));
      expect(q.pending).to.equal(6); // one slot
      q.write(Buffer.from('data'));
      expect(q.pending).to.equal(10);
      sink.drain();
      q.flush();
      expect(sink.pushed).to.deep.equal([Buffer.from('pong-3data')]);
      await nextTick();
      expect(sink.pushed).to.have.length(1);
      expect(Buffer.concat(sink.pushed).includes('pong-1')).to.equal(false);
      expect(Buffer.concat(sink.pushed).includes('pong-2')).to.equal(false);
    });

    it('a flood of pings never grows the queue while the transport is behind', () => {
      const sink = new FakeSink(100);
      sink.readableLength = 1000;
      const q = new OutQueue(sink);
      for (let i = 0; i < 10000; i++) q.writePong(fill(125, i & 0xff));
      expect(q.pending).to.equal(125);
      expect(sink.pushed).to.have.length(0);
    });
  });

  describe('close', () => {
    it('close(true) pushes what is queued (the pong first), then refuses everything', async () => {
      const sink = new FakeSink(100);
      const q = new OutQueue(sink);
      q.write(Buffer.from('a'));
      sink.readableLength = 100;
      q.writePong(Buffer.from('P'));
      q.close(true);
      expect(sink.pushed).to.deep.equal([Buffer.from('Pa')]);
      sink.drain();
      expect(q.write(Buffer.from('late'))).to.equal(false);
      expect(q.write(fill(KiB16, 0))).to.equal(false);
      q.writePong(Buffer.from('late pong'));
      expect(q.flush()).to.equal(false);
      expect(q.pending).to.equal(0);
      await nextTick();
      expect(sink.pushed).to.have.length(1);
    });

    it('close(false) drops what is queued, the waiting pong included, and the scheduled flush pushes nothing', async () => {
      const sink = new FakeSink(100);
      const q = new OutQueue(sink);
      q.write(Buffer.from('queued'));
      sink.readableLength = 100;
      q.writePong(Buffer.from('P'));
      q.close(false);
      expect(q.pending).to.equal(0);
      await nextTick();
      expect(sink.pushed).to.have.length(0);
      expect(q.write(Buffer.from('late'))).to.equal(false);
    });
  });

  describe('writeFrame (a frame whole, or its header and payload apart)', () => {
    it('a whole frame is queued as write() queues it (small ones coalesce)', async () => {
      const sink = new FakeSink();
      const q = new OutQueue(sink);
      q.writeFrame(Buffer.from('a'));
      q.writeFrame(Buffer.from('b'));
      await nextTick();
      expect(sink.pushed).to.deep.equal([Buffer.from('ab')]);
      expect(sink.split).to.deep.equal([]);
    });

    it('a split frame flushes the small frames first, then goes to the sink as its pair, at once (order kept)', () => {
      const sink = new FakeSink(1024 * 1024);
      const q = new OutQueue(sink);
      const header = Buffer.from([0x82, 0x7e, 0x40, 0x00]);
      const payload = fill(KiB16, 0x43);
      q.write(Buffer.from('s1'));
      expect(q.writeFrame([header, payload])).to.equal(true);
      expect(sink.pushed[0]).to.deep.equal(Buffer.from('s1'));
      expect(sink.split).to.have.length(1);
      expect(sink.split[0]![0]).to.equal(header);
      expect(sink.split[0]![1]).to.equal(payload); // the payload itself, not a copy
      expect(q.pending).to.equal(0);
    });

    it('says the transport is behind as the sink does, and refuses once closed', () => {
      const sink = new FakeSink(KiB16);
      const q = new OutQueue(sink);
      expect(q.writeFrame([Buffer.from([0x82, 0x7e, 0x40, 0x00]), fill(KiB16, 1)])).to.equal(false);
      q.close(false);
      expect(q.writeFrame([Buffer.from([0x82, 0x7e, 0x40, 0x00]), fill(KiB16, 1)])).to.equal(false);
      expect(sink.split).to.have.length(1);
    });
  });

  describe('writeTo (the library wired the transport)', () => {
    /** A Duplex whose readable side is the first output, and a transport that records. */
    function wired() {
      const stream = new Duplex({ read() {}, write: (_c, _e, cb: () => void) => cb() });
      const written: string[] = [];
      const sink = new Writable({
        write: (chunk: Buffer, _e, cb: () => void) => (written.push(chunk.toString()), cb()),
      });
      let closed = 0;
      const transport = new (class extends TransportOutput {
        override closed(): void {
          closed++;
        }
      })(sink, 64 * 1024);
      return { stream, transport, written, closed: () => closed, q: new OutQueue(new ReadableOutput(stream)) };
    }

    it('what is on the readable side and what waits here go to the transport first, in order; then writes go straight there', () => {
      const { stream, transport, written, q } = wired();
      q.write(Buffer.from('a'));
      q.flush(); // on the readable side, unread
      q.write(Buffer.from('b')); // waiting in the queue
      expect(q.bufferedAmount).to.equal(2);
      q.writeTo(transport);
      expect(written.join('')).to.equal('ab');
      expect(q.output).to.equal(transport);
      expect(stream.readableLength).to.equal(0);
      const before = written.length;
      q.write(fill(KiB16, 0x63));
      expect(written).to.have.length(before + 1);
      q.writeTo(transport); // once only: nothing moves again
      expect(written).to.have.length(before + 1);
    });

    it('an output that already ended (and was read to its end) stays where it is; the transport hears of the close only', async () => {
      const { stream, transport, written, closed, q } = wired();
      q.write(Buffer.from('last'));
      q.close(true);
      q.output.end();
      stream.resume();
      await new Promise((resolve) => stream.once('end', resolve));
      q.writeTo(transport);
      expect(q.output).to.be.instanceOf(ReadableOutput);
      expect(written).to.deep.equal([]);
      expect(closed()).to.equal(0);
      stream.destroy();
      await new Promise((resolve) => stream.once('close', resolve));
      expect(closed()).to.equal(1);
    });
  });
});
