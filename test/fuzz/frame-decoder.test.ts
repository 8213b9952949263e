/**
 * Fuzz: the frame decoder (`Connection`, both roles) against hostile bytes in any
 * chunking. Only events come out, with valid close codes, nothing after the close,
 * bounded buffering and work (test/fuzz/invariants.ts), and the outcome does not depend
 * on how the bytes were cut.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { chunking, hostileStream, limits } from './arbitraries';
import { fuzzParams } from './config';
import { cut, driveNew, summary } from './invariants';

const roles = ['server', 'client'] as const;

function chunksOf(data: Uint8Array, c: { cuts: number[]; byteByByte: boolean }): Buffer[] {
  if (c.byteByByte) return Array.from(data, (_, i) => Buffer.from(data.subarray(i, i + 1)));
  return cut(data, c.cuts);
}

describe('fuzz: frame decoder (Connection)', () => {
  for (const role of roles) {
    const expectMasked = role === 'server';

    it(`${role}: random bytes give events or a failure close, never an exception`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), chunking, fc.boolean(), (data, c, eof) => {
          driveNew(role, chunksOf(data, c), {}, { eof });
        }),
        fuzzParams(`${role} random bytes`, 1000),
      );
    });

    it(`${role}: hostile frame streams, any chunking, any limits: the same outcome as whole`, () => {
      fc.assert(
        fc.property(
          hostileStream(expectMasked),
          chunking,
          limits,
          fc.boolean(),
          fc.boolean(),
          (data, c, lim, eof, answerClose) => {
            const whole = driveNew(role, [data], lim, { eof, answerClose });
            const chunked = driveNew(role, chunksOf(data, c), lim, { eof, answerClose });
            expect(summary(chunked)).to.deep.equal(summary(whole));
            expect(chunked.close?.origin ?? null).to.equal(whole.close?.origin ?? null);
          },
        ),
        fuzzParams(`${role} hostile stream`, 500),
      );
    });

    it(`${role}: the stream given as trailingData decodes as when fed`, () => {
      fc.assert(
        fc.property(hostileStream(expectMasked, 4), fc.nat(), (data, at) => {
          const split = at % (data.length + 1);
          const fed = driveNew(role, [data], {});
          const trailing = driveNew(role, [data.subarray(split)], {
            trailingData: Buffer.from(data.subarray(0, split)),
          });
          expect(summary(trailing)).to.deep.equal(summary(fed));
        }),
        fuzzParams(`${role} trailing`, 200, 0.3),
      );
    });
  }
});
