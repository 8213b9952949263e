/** The synchronous zlib contexts behind permessage-deflate, for each inflate backend. */
import { expect } from 'chai';
import * as zlib from 'node:zlib';
import {
  DEFLATE_TAIL,
  Deflater,
  INFLATE_OVERSHOOT_BOUND,
  InflateDataError,
  InflateLimitError,
  createInflater,
  drainPool,
  inflateBounded,
  loadZlibSync,
  pooledContexts,
  type InflateBackendName,
} from '../../lib/extensions/zlib-backend';
import { PerMessageDeflate } from '../../lib/extensions/permessage-deflate';
import { hex, rng } from '../helpers/bytes';
import { requirePeer } from '../helpers/peers';

const { Z_SYNC_FLUSH, Z_RLE } = zlib.constants;

/** `count` MiB of zeros as a raw DEFLATE stream, built one sync-flushed MiB at a time. */
function zeroBomb(count: number): Buffer {
  // Every MiB compresses alike on its own (ratio about 1011:1), and sync-flushed pieces
  // concatenate into one valid stream, so the piece is made once and repeated.
  const piece = zlib.deflateRawSync(Buffer.alloc(1 << 20), {
    finishFlush: Z_SYNC_FLUSH,
    strategy: Z_RLE,
    level: 9,
    memLevel: 9,
  });
  return Buffer.concat(Array.from({ length: count }, () => piece));
}

/** Text with matches at many distances: compressible but not trivially. */
function sample(size: number, seed: number): Buffer {
  const rand = rng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', '{"id":', '"name":', ', ', '\n', '0123456789'];
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const word =
      rand() < 0.1 ? String.fromCharCode(33 + Math.floor(rand() * 90)) : words[Math.floor(rand() * words.length)]!;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('').slice(0, size));
}

/**
 * Inflate with one byte of output room per call, so every back-reference is checked
 * against the window (a single call can reach into its own output, beyond the window).
 */
function strictInflate(data: Buffer, windowBits: number): Buffer {
  const stream = new zlib.InflateRaw({ windowBits }) as unknown as {
    _handle: { writeSync: (...args: unknown[]) => void; onerror: (m: string) => void; close(): void };
    _writeState: Uint32Array;
  };
  let error: string | null = null;
  stream._handle.onerror = (message) => {
    error = message;
  };
  const out = Buffer.alloc(1);
  const bytes: number[] = [];
  let offset = 0;
  let left = data.length;
  for (;;) {
    stream._handle.writeSync(Z_SYNC_FLUSH, data, offset, left, out, 0, 1);
    if (error !== null) {
      stream._handle.close();
      throw new Error(error);
    }
    const [availOut, availIn] = stream._writeState;
    if (availOut === 0) bytes.push(out[0]!);
    offset += left - availIn!;
    left = availIn!;
    if (availOut !== 0) break;
  }
  stream._handle.close();
  return Buffer.from(bytes);
}

for (const backend of ['node:zlib', 'zlib-sync'] as InflateBackendName[]) {
  describe(`inflateBounded with ${backend}`, function () {
    before(function () {
      if (backend === 'zlib-sync')
        requirePeer(this as unknown as Mocha.Context, loadZlibSync() !== null, 'zlib-sync', 'npm install zlib-sync');
    });

    it('inflates what Node deflated, whole and in random pieces', () => {
      const input = sample(300_000, 1);
      const compressed = zlib.deflateRawSync(input, { finishFlush: Z_SYNC_FLUSH });
      const whole = createInflater(backend, 15);
      expect(inflateBounded(whole, compressed, input.length)).to.deep.equal(input);
      const rand = rng(2);
      const pieced = createInflater(backend, 15);
      const out: Buffer[] = [];
      for (let i = 0; i < compressed.length;) {
        const n = 1 + Math.floor(rand() * 3000);
        out.push(inflateBounded(pieced, compressed.subarray(i, i + n), input.length));
        i += n;
      }
      expect(Buffer.concat(out)).to.deep.equal(input);
    });

    it('allows exactly the budget and refuses one byte less', () => {
      const input = sample(70_000, 3);
      const compressed = zlib.deflateRawSync(input, { finishFlush: Z_SYNC_FLUSH });
      expect(inflateBounded(createInflater(backend, 15), compressed, input.length).length).to.equal(input.length);
      expect(() => inflateBounded(createInflater(backend, 15), compressed, input.length - 1)).to.throw(
        InflateLimitError,
      );
    });

    for (const budget of [0, 1, 1000, 64 * 1024, 1 << 20, 8 << 20]) {
      it(`refuses a 16 MiB bomb within the overshoot bound of a ${budget}-byte budget`, () => {
        const bomb = zeroBomb(16);
        let error: unknown;
        try {
          inflateBounded(createInflater(backend, 15), bomb, budget);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(InflateLimitError);
        const produced = (error as InflateLimitError).produced;
        expect(produced).to.be.greaterThan(budget);
        expect(produced - budget).to.be.at.most(INFLATE_OVERSHOOT_BOUND);
      });
    }

    it('reports corrupt data', () => {
      expect(() => inflateBounded(createInflater(backend, 15), hex('ff'), 100)).to.throw(InflateDataError);
      // 7.2.3.2's second message refers back to data this fresh context never saw.
      expect(() => inflateBounded(createInflater(backend, 15), hex('f2 00 11 00 00 00 00 ff ff'), 100)).to.throw(
        InflateDataError,
      );
    });

    it('notices the end of a DEFLATE stream (BFINAL, RFC 7692 7.2.3.4) and ignores what follows', () => {
      const inflater = createInflater(backend, 15);
      expect(inflateBounded(inflater, hex('f3 48 cd c9 c9 07 00 00'), 100).toString()).to.equal('Hello');
      expect(inflateBounded(inflater, DEFLATE_TAIL, 100).length).to.equal(0);
      expect(inflater.ended).to.equal(true);
      inflater.release();
    });

    it('does not report an end for a sync-flushed stream', () => {
      const inflater = createInflater(backend, 15);
      expect(inflateBounded(inflater, hex('f2 48 cd c9 c9 07 00 00 00 ff ff'), 100).toString()).to.equal('Hello');
      expect(inflater.ended).to.equal(false);
      inflater.release();
    });

    it('inflates with an 8-bit window', () => {
      const input = sample(5000, 4);
      const compressed = zlib.deflateRawSync(input, { windowBits: 9, finishFlush: Z_SYNC_FLUSH });
      expect(inflateBounded(createInflater(backend, 8), compressed, input.length)).to.deep.equal(input);
    });
  });
}

describe('Deflater', () => {
  it('sync-flushes: the output ends with 00 00 ff ff, and an empty second flush is empty', () => {
    const deflater = new Deflater({ windowBits: 15, level: -1, memLevel: 8 });
    expect(deflater.deflate(Buffer.from('Hello'))).to.deep.equal(hex('f2 48 cd c9 c9 07 00 00 00 ff ff'));
    expect(deflater.deflate(Buffer.alloc(0)).length).to.equal(0);
    expect(deflater.deflate(Buffer.from('Hello'))).to.deep.equal(hex('f2 00 11 00 00 00 00 ff ff'));
    deflater.release();
  });

  it('compresses large input (several scratch buffers of output)', () => {
    const input = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24));
    const deflater = new Deflater({ windowBits: 15, level: 1, memLevel: 8 });
    const out = deflater.deflate(input);
    expect(out.length).to.be.greaterThan(64 * 1024);
    expect(zlib.inflateRawSync(out, { finishFlush: Z_SYNC_FLUSH })).to.deep.equal(input);
    deflater.release();
  });

  it('window 8 (RFC 7692 7.1.2): zlib at 9 bits never reaches back more than 256 bytes', () => {
    // Repeats at every distance from 1 to 600 bytes, some within 8 bits, some beyond.
    const rand = rng(5);
    const parts: Buffer[] = [];
    for (let distance = 1; distance <= 600; distance += 7) {
      const block = Buffer.from(Array.from({ length: distance }, () => Math.floor(rand() * 256)));
      parts.push(block, block.subarray(0, Math.min(distance, 40)));
    }
    const input = Buffer.concat(parts);
    const deflater = new Deflater({ windowBits: 9, level: 9, memLevel: 9 });
    const compressed = deflater.deflate(input);
    deflater.release();
    expect(compressed.length).to.be.below(input.length); // it does find matches
    expect(strictInflate(compressed, 8)).to.deep.equal(input);
    // The check is real: a 10-bit window refers further back than 8 bits allow.
    const wide = zlib.deflateRawSync(input, { windowBits: 10, level: 9, finishFlush: Z_SYNC_FLUSH });
    expect(() => strictInflate(wide, 8)).to.throw(/too far back/);
    expect(strictInflate(wide, 10)).to.deep.equal(input);
  });
});

describe('server_max_window_bits=8 end to end (RFC 7692 7.1.2.1)', () => {
  it('a server that accepted 8 bits sends messages an 8-bit inflater decodes, across messages', () => {
    const ext = new PerMessageDeflate({ threshold: 0 });
    expect(ext.accept({ name: 'permessage-deflate', params: [['server_max_window_bits', '8']] })).to.equal(
      'server_max_window_bits=8',
    );
    const rand = rng(6);
    const inputs = Array.from({ length: 6 }, (_, m) => {
      const block = Buffer.from(Array.from({ length: 150 + 40 * m }, () => Math.floor(rand() * 256)));
      return Buffer.concat([block, block, block.subarray(0, 100)]);
    });
    // Context takeover: one stream, each message followed by the tail the receiver adds.
    const stream = Buffer.concat(
      inputs.flatMap((input) => [ext.outbound(0x2, 0, input, true, undefined).data, DEFLATE_TAIL]),
    );
    expect(strictInflate(stream, 8)).to.deep.equal(Buffer.concat(inputs));
    ext.close();
  });
});

describe('the shared pool of reset zlib contexts', () => {
  beforeEach(drainPool);
  afterEach(drainPool);

  it('is bounded: 16 inflaters and 4 deflaters at most', () => {
    for (let i = 0; i < 20; i++) createInflater('node:zlib', 15).release();
    expect(pooledContexts().inflate).to.equal(1); // each release parks, the next create takes it back
    const inflaters = Array.from({ length: 20 }, () => createInflater('node:zlib', 15));
    for (const inflater of inflaters) inflater.release();
    const deflaters = Array.from({ length: 10 }, () => new Deflater({ windowBits: 15, level: -1, memLevel: 8 }));
    for (const deflater of deflaters) deflater.release();
    expect(pooledContexts()).to.deep.equal({ deflate: 4, inflate: 16 });
  });

  it('hands out reset contexts: nothing of the previous stream can be reached', () => {
    const first = createInflater('node:zlib', 15);
    expect(inflateBounded(first, hex('f2 48 cd c9 c9 07 00 00 00 ff ff'), 100).toString()).to.equal('Hello');
    first.release();
    expect(pooledContexts().inflate).to.equal(1);
    const second = createInflater('node:zlib', 15);
    expect(pooledContexts().inflate).to.equal(0);
    // 7.2.3.2's second message would copy "Hello" out of the previous window.
    expect(() => inflateBounded(second, hex('f2 00 11 00 00 00 00 ff ff'), 100)).to.throw(InflateDataError);
  });

  it('never parks a context that failed', () => {
    const inflater = createInflater('node:zlib', 15);
    expect(() => inflateBounded(inflater, hex('ff'), 100)).to.throw(InflateDataError);
    inflater.release();
    expect(pooledContexts().inflate).to.equal(0);
  });

  it('keys contexts by their parameters', () => {
    createInflater('node:zlib', 9).release();
    new Deflater({ windowBits: 9, level: 1, memLevel: 1 }).release();
    const other = createInflater('node:zlib', 15);
    expect(pooledContexts()).to.deep.equal({ deflate: 1, inflate: 1 });
    other.release();
    expect(pooledContexts()).to.deep.equal({ deflate: 1, inflate: 2 });
  });
});
