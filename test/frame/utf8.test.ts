/** Incremental UTF-8 validation (RFC 3629 4; RFC 6455 8.1 fail-fast). */
import { expect } from 'chai';
import fc from 'fast-check';
import { Utf8Decoder, decodeComplete } from '../../lib/frame/utf8';
import { hex } from '../helpers/bytes';

function decodeAll(pieces: Buffer[]): string | null {
  const d = new Utf8Decoder();
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const s = d.decode(pieces[i]!, i === pieces.length - 1);
    if (s === null) return null;
    out += s;
  }
  return out;
}

describe('UTF-8 decoder (RFC 3629)', () => {
  const invalid: Array<[string, string]> = [
    ['lone continuation byte', '80'],
    ['overlong 2-byte (c0 af)', 'c0 af'],
    ['overlong 3-byte (e0 80 af)', 'e0 80 af'],
    ['overlong 4-byte (f0 80 80 af)', 'f0 80 80 af'],
    ['surrogate U+D800 (ed a0 80)', 'ed a0 80'],
    ['above U+10FFFF (f4 90 80 80)', 'f4 90 80 80'],
    ['f5 lead byte', 'f5 80 80 80'],
    ['ff byte', 'ff'],
    ['truncated sequence then ASCII', 'e2 82 41'],
  ];
  for (const [name, bytes] of invalid) {
    it(`rejects ${name}, whole and split at every point`, () => {
      const data = hex(bytes);
      expect(decodeAll([data])).to.equal(null);
      for (let i = 1; i < data.length; i++) expect(decodeAll([data.subarray(0, i), data.subarray(i)])).to.equal(null);
    });
  }

  it('fails at the first invalid prefix, without waiting for more bytes', () => {
    for (const prefix of ['e0 80', 'ed a0', 'f0 80', 'f4 90', 'c0', 'c1', 'f5', 'e2 41']) {
      expect(new Utf8Decoder().decode(hex(prefix), false), prefix).to.equal(null);
    }
  });

  it('accepts valid prefixes and completes them later', () => {
    for (const prefix of ['e0 a0', 'ed 9f', 'f0 90', 'f4 8f', 'c2', 'f0 9f 98']) {
      expect(new Utf8Decoder().decode(hex(prefix), false), prefix).to.equal('');
    }
  });

  it('a message cannot end mid-sequence', () => {
    const d = new Utf8Decoder();
    expect(d.decode(hex('e2 82'), false)).to.equal('');
    expect(d.decode(Buffer.alloc(0), true)).to.equal(null);
  });

  it('decodes any string identically under any split (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), (text, cuts) => {
        const bytes = Buffer.from(text, 'utf8');
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let last = 0;
        for (const p of points) {
          pieces.push(bytes.subarray(last, p));
          last = p;
        }
        pieces.push(bytes.subarray(last));
        expect(decodeAll(pieces)).to.equal(text);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  it('agrees with the WHATWG fatal decoder on random bytes (property)', () => {
    const reference = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.nat(24), (raw, cut) => {
        const bytes = Buffer.from(raw);
        let expected: string | null;
        try {
          expected = reference.decode(bytes);
        } catch {
          expected = null;
        }
        const at = cut % (bytes.length + 1);
        expect(decodeAll([bytes.subarray(0, at), bytes.subarray(at)])).to.equal(expected);
      }),
      { seed: 7, numRuns: 3000 },
    );
  });

  it('decodeComplete (a message whole in one piece, no decoder) agrees with a fatal TextDecoder on any range', () => {
    const oracle = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    const expected = (bytes: Uint8Array): string | null => {
      try {
        return oracle.decode(bytes);
      } catch {
        return null;
      }
    };
    const piece = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }).map((t) => Buffer.from(t)),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
      fc.constantFrom(
        ...['efbbbf', 'e282', 'f09f98', 'eda080', 'c0af', '80', 'f4908080'].map((h) => Buffer.from(h, 'hex')),
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.nat(), fc.nat(), (pieces, a, b) => {
        const bytes = Buffer.concat(pieces);
        const from = bytes.length === 0 ? 0 : a % (bytes.length + 1);
        const to = from + (bytes.length === 0 ? 0 : b % (bytes.length - from + 1));
        expect(decodeComplete(bytes, from, to)).to.equal(expected(bytes.subarray(from, to)));
      }),
      { numRuns: 2000 },
    );
  });
});
