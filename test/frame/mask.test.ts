import { expect } from 'chai';
import {
  maskBackend,
  maskInto,
  randomMaskKey,
  unmaskInPlace,
  unmaskInto,
  unmaskViewNative,
  usesNativeMask,
} from '../../lib/frame/mask';
import { hex, rng } from '../helpers/bytes';

// RFC 6455 5.7: "A single-frame masked text message ... 0x81 0x85 0x37 0xfa 0x21 0x3d
// 0x7f 0x9f 0x4d 0x51 0x58 (contains "Hello")".
const KEY = hex('37 fa 21 3d');
const HELLO = Buffer.from('Hello', 'latin1');
const HELLO_MASKED = hex('7f 9f 4d 51 58');

/** RFC 6455 5.3, written out: octet i XOR key octet ((phase + i) mod 4). */
function reference(data: Uint8Array, key: Uint8Array, phase = 0): Buffer {
  return Buffer.from(data.map((b, i) => b ^ key[(phase + i) % 4]!));
}

function randomBytes(n: number, rand: () => number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));
}

// Lengths around every path boundary: byte loop, native helper (48), 32-bit words (512).
const LENGTHS = [0, 1, 3, 4, 5, 47, 48, 49, 127, 511, 512, 513, 1021, 4096 + 3];

describe('frame/mask', () => {
  it(`reports its backend (${maskBackend}) consistently with usesNativeMask`, () => {
    expect(['bufferutil', 'js']).to.include(maskBackend);
    expect(usesNativeMask(1 << 20)).to.equal(maskBackend === 'bufferutil');
    expect(usesNativeMask(1)).to.equal(false);
  });

  it('RFC 6455 5.7: maskInto masks "Hello" with 37 fa 21 3d into 7f 9f 4d 51 58', () => {
    const out = Buffer.alloc(2 + 4 + 5);
    hex('81 85').copy(out, 0);
    KEY.copy(out, 2);
    maskInto(HELLO, out, 6, KEY);
    expect(out.equals(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'))).to.equal(true);
  });

  it('RFC 6455 5.7: unmaskInPlace recovers "Hello" and returns the next key phase', () => {
    const buf = Buffer.from(HELLO_MASKED);
    expect(unmaskInPlace(buf, 0, buf.length, KEY, 0)).to.equal(1);
    expect(buf.toString('latin1')).to.equal('Hello');
  });

  it('RFC 6455 5.3: unmasking in pieces, carrying the phase, equals unmasking whole', () => {
    const masked = Buffer.concat([HELLO_MASKED, HELLO_MASKED]);
    const rand = rng(3);
    for (let run = 0; run < 50; run++) {
      const buf = Buffer.from(masked);
      let phase = 0;
      let pos = 0;
      while (pos < buf.length) {
        const n = Math.min(buf.length - pos, 1 + Math.floor(rand() * 4));
        phase = unmaskInPlace(buf, pos, n, KEY, phase);
        pos += n;
      }
      expect(phase).to.equal(2);
      expect(buf.toString('latin1')).to.equal(reference(masked, KEY).toString('latin1'));
    }
  });

  it('RFC 6455 5.3: every path (byte loop, words, native) agrees with the definition', () => {
    const rand = rng(7);
    const key = randomBytes(4, rand);
    for (const length of LENGTHS) {
      const data = randomBytes(length, rand);
      // maskInto at aligned and unaligned destination offsets
      for (const dstOffset of [0, 1, 2, 3]) {
        const dst = Buffer.alloc(dstOffset + length + 2, 0xee);
        maskInto(data, dst, dstOffset, key);
        expect(dst.subarray(dstOffset, dstOffset + length).equals(reference(data, key)), `len ${length}`).to.equal(
          true,
        );
        expect(dst[dstOffset + length]).to.equal(0xee); // nothing written past the end
      }
      // unmaskInPlace at every phase and at unaligned offsets of an unaligned view
      for (const phase of [0, 1, 2, 3]) {
        const backing = Buffer.alloc(length + 8);
        const view = backing.subarray(1 + phase); // byteOffset not a multiple of 4
        data.copy(view, 2);
        const next = unmaskInPlace(view, 2, length, key, phase);
        expect(next).to.equal((phase + length) % 4);
        expect(view.subarray(2, 2 + length).equals(reference(data, key, phase)), `len ${length}`).to.equal(true);
        expect(view[0]).to.equal(0);
        expect(view[2 + length] ?? 0).to.equal(0);
      }
    }
  });

  it('unmaskViewNative unmasks only when the native helper is worth it for the size', () => {
    const rand = rng(11);
    for (const length of [5, 47, 48, 4096]) {
      const data = randomBytes(length, rand);
      const view = Buffer.from(data);
      const used = unmaskViewNative(view, KEY, 1);
      expect(used).to.equal(usesNativeMask(length));
      expect(view.equals(used ? reference(data, KEY, 1) : data)).to.equal(true);
    }
  });

  it('RFC 6455 5.3: randomMaskKey gives 4 unpredictable bytes per call, across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const key = randomMaskKey();
      expect(key.length).to.equal(4);
      seen.add(Buffer.from(key).toString('hex'));
    }
    // 5000 draws from 2^32 values: a repeat is possible but under 0.3% likely; allow one.
    expect(seen.size).to.be.at.least(4999);
  });

  it('RFC 6455 5.3: unmaskInto copies and unmasks in one pass, as a copy then unmaskInPlace would, at every phase and size path', () => {
    const rand = rng(17);
    for (const length of [0, 1, 3, 47, 48, 49, 511, 512, 513, 4099]) {
      for (let phase = 0; phase < 4; phase++) {
        const src = randomBytes(length + 7, rand);
        const before = Buffer.from(src);
        const key = randomBytes(4, rand);
        const dst = Buffer.alloc(length + 5, 0xee);
        const next = unmaskInto(src, 3, length, dst, 2, key, phase);
        expect(next, `len ${length} phase ${phase}`).to.equal((phase + length) & 3);
        expect(dst.subarray(2, 2 + length).equals(reference(src.subarray(3, 3 + length), key, phase))).to.equal(true);
        expect(dst.subarray(0, 2).equals(Buffer.alloc(2, 0xee)), 'bytes before left alone').to.equal(true);
        expect(dst.subarray(2 + length).equals(Buffer.alloc(3, 0xee)), 'bytes after left alone').to.equal(true);
        expect(src.equals(before), 'the source is not changed').to.equal(true);
      }
    }
  });
});
