/** Mirror test for lib/stream/message-assembler: whole messages for 'message' from streamed pieces. */
import { expect } from 'chai';
import { BytesMessageEvent, TextMessageEvent } from '../../lib/events';
import fc from 'fast-check';
import { MessageAssembler, joinPieces } from '../../lib/stream/message-assembler';

const text = (data: string, messageFinished = true) => new TextMessageEvent({ data, messageFinished });
const bytes = (data: string, messageFinished = true) =>
  new BytesMessageEvent({ data: Buffer.from(data), messageFinished });

describe('stream/message-assembler', () => {
  describe('whole messages from pieces', () => {
    it('text pieces are joined into one string, returned with the last piece only', () => {
      const a = new MessageAssembler();
      expect(a.add(text('Hel', false), true)).to.equal(null);
      expect(a.add(text('', false), true)).to.equal(null);
      expect(a.add(text('lo ✓', false), true)).to.equal(null);
      expect(a.add(text('!'), true)).to.equal('Hello ✓!');
    });

    it('binary pieces are concatenated into one Buffer, returned with the last piece only', () => {
      const a = new MessageAssembler();
      expect(a.add(bytes('ab', false), true)).to.equal(null);
      expect(a.add(bytes('cd', false), true)).to.equal(null);
      const whole = a.add(bytes('e'), true);
      expect(Buffer.isBuffer(whole)).to.equal(true);
      expect(whole).to.deep.equal(Buffer.from('abcde'));
    });

    it('consecutive messages (text, then binary, then text) come out separately', () => {
      const a = new MessageAssembler();
      const out: Array<string | Buffer | null> = [];
      out.push(a.add(text('a', false), true), a.add(text('b'), true));
      out.push(a.add(bytes('x', false), true), a.add(bytes('y'), true));
      out.push(a.add(text('c'), true));
      expect(out).to.deep.equal([null, 'ab', null, Buffer.from('xy'), 'c']);
    });

    it('an empty message (a single empty final piece) is an empty string / empty Buffer', () => {
      const a = new MessageAssembler();
      expect(a.add(text(''), true)).to.equal('');
      expect(a.add(bytes(''), true)).to.deep.equal(Buffer.alloc(0));
    });
  });

  describe('single-piece fast paths', () => {
    it('a one-piece binary message returns the piece itself (no copy)', () => {
      const a = new MessageAssembler();
      const piece = bytes('whole');
      expect(a.add(piece, true)).to.equal(piece.data);
    });

    it('a one-piece text message returns the piece itself', () => {
      const a = new MessageAssembler();
      const piece = text('whole');
      expect(a.add(piece, true)).to.equal(piece.data);
    });
  });

  describe('nobody listening at the first piece', () => {
    it('a message whose first piece came while nobody listened is skipped whole, even if a listener comes mid-message', () => {
      const a = new MessageAssembler();
      expect(a.add(text('head-', false), false)).to.equal(null);
      expect(a.held).to.equal(0);
      // A listener arrives in the middle: the tail is not passed off as a message.
      expect(a.add(text('middle-', false), true)).to.equal(null);
      expect(a.held).to.equal(0);
      expect(a.add(text('tail'), true)).to.equal(null);
      // Nothing of it leaks into the next message.
      expect(a.add(text('next-', false), true)).to.equal(null);
      expect(a.add(text('one'), true)).to.equal('next-one');
    });

    it('a skipped binary message leaks nothing into the next binary message', () => {
      const a = new MessageAssembler();
      expect(a.add(bytes('AAA', false), false)).to.equal(null);
      expect(a.add(bytes('BBB'), true)).to.equal(null);
      expect(a.add(bytes('c', false), true)).to.equal(null);
      expect(a.add(bytes('d'), true)).to.deep.equal(Buffer.from('cd'));
    });

    it('a one-piece message while nobody listens is skipped; the next one is assembled', () => {
      const a = new MessageAssembler();
      expect(a.add(text('unheard'), false)).to.equal(null);
      expect(a.add(text('heard'), true)).to.equal('heard');
    });

    it('a listener that goes away mid-message does not cut the message (wanted is looked at on the first piece only)', () => {
      const a = new MessageAssembler();
      expect(a.add(text('a', false), true)).to.equal(null);
      expect(a.add(text('b'), false)).to.equal('ab');
    });
  });

  describe('held', () => {
    it('counts the bytes held for the message in progress, and 0 once it is finished', () => {
      const a = new MessageAssembler();
      expect(a.held).to.equal(0);
      a.add(bytes('abc', false), true);
      expect(a.held).to.equal(3);
      a.add(bytes('de', false), true);
      expect(a.held).to.equal(5);
      a.add(bytes('f'), true);
      expect(a.held).to.equal(0);
    });

    it('counts UTF-16 code units for text', () => {
      const a = new MessageAssembler();
      a.add(text('✓😀', false), true); // 1 + 2 code units
      expect(a.held).to.equal(3);
      a.add(text(''), true);
      expect(a.held).to.equal(0);
    });

    it('is 0 while a message is being skipped', () => {
      const a = new MessageAssembler();
      a.add(bytes('x'.repeat(1000), false), false);
      a.add(bytes('y'.repeat(1000), false), true);
      expect(a.held).to.equal(0);
    });
  });

  describe('joinPieces', () => {
    it('pieces next to each other in one ArrayBuffer become one view of them, not a copy', () => {
      const memory = Buffer.from('0123456789abcdef');
      const pieces = [memory.subarray(2, 5), memory.subarray(5, 6), memory.subarray(6, 12)];
      const whole = joinPieces(pieces);
      expect(String(whole)).to.equal('23456789ab');
      expect(whole.buffer, 'the same memory').to.equal(memory.buffer);
      expect(whole.byteOffset).to.equal(memory.byteOffset + 2);
    });

    it('pieces with a gap, out of order, or in other memory are copied into a new Buffer', () => {
      const memory = Buffer.alloc(10, '0123456789'); // memory of its own (not Node's pool)
      const cases = [
        [memory.subarray(0, 3), memory.subarray(4, 6)], // a gap (a frame header between two frames' payloads)
        [memory.subarray(3, 6), memory.subarray(0, 3)], // adjacent, but the second lies before the first
        [memory.subarray(0, 3), Buffer.from('345')], // other memory
      ];
      for (const pieces of cases) {
        const whole = joinPieces(pieces);
        expect(whole).to.deep.equal(Buffer.concat(pieces));
        expect(whole.buffer).to.not.equal(memory.buffer);
      }
    });

    it('the join is the concatenation of the pieces, whatever lies where (fast-check)', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 1, maxLength: 200 }),
          fc.array(fc.tuple(fc.nat(), fc.boolean()), { minLength: 1, maxLength: 8 }),
          (bytes, cuts) => {
            const memory = Buffer.from(bytes);
            // Pieces in order over the memory; some copied out (no longer adjacent).
            const bounds = [...new Set(cuts.map(([c]) => c % (memory.length + 1)))].sort((a, b) => a - b);
            const pieces: Buffer[] = [];
            let start = 0;
            for (const [i, end] of [...bounds, memory.length].entries()) {
              if (end < start) continue;
              const piece = memory.subarray(start, end);
              pieces.push(cuts[i % cuts.length]![1] ? Buffer.from(piece) : piece);
              start = end;
            }
            expect(joinPieces(pieces)).to.deep.equal(memory);
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
