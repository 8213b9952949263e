/**
 * Fuzz: the permessage-deflate receive path (RFC 7692) on a negotiated connection, both
 * roles, both inflate backends. Compressed messages built from real deflate output,
 * corrupted output, random bytes and small bombs, fragmented, with RSV1 sometimes where
 * it must not be, in any chunking: only events, failures are 1002 / 1007 / 1009, no
 * message is delivered beyond `maxMessageSize`, buffering stays bounded; and when nothing
 * was corrupted, the messages arrive intact.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import * as zlib from 'node:zlib';
import { frame, merge } from '../helpers/bytes';
import { chunking } from './arbitraries';
import { fuzzParams } from './config';
import { FAILURE_CODES, cut, drive } from './invariants';
import { connectionOf, deflateSetup, handshakePair } from './pair';

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Raw deflate with a sync flush, the 00 00 ff ff tail removed (RFC 7692 7.2.1). */
function deflate(data: Uint8Array, level = 6): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH, level });
  return out.subarray(-4).equals(TAIL) ? out.subarray(0, -4) : out;
}

/** The content of one message: what was compressed (if intact) and the compressed bytes. */
interface Body {
  plain: Buffer | null;
  compressed: Buffer;
}

const plainData = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s.repeat(3))),
  fc.integer({ min: 0, max: 200_000 }).map((n) => Buffer.alloc(n, 0x61)),
);

/** Intact deflate output, corrupted output, deflate of a bomb, random bytes, odd tails. */
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 4, arbitrary: plainData.map((p) => ({ plain: p, compressed: deflate(p) })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(plainData, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([p, flips]) => {
        const c = Buffer.from(deflate(p));
        for (const [at, x] of flips) if (c.length > 0) c[at % c.length]! ^= x;
        return { plain: null, compressed: c };
      }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(plainData, fc.nat()).map(([p, n]) => {
      const c = deflate(p);
      return { plain: null, compressed: c.subarray(0, n % (c.length + 1)) };
    }),
  },
  {
    weight: 1,
    arbitrary: plainData.map((p) => ({
      plain: p,
      // A sender that left the 00 00 ff ff tail on.
      compressed: zlib.deflateRawSync(p, { finishFlush: zlib.constants.Z_SYNC_FLUSH }),
    })),
  },
  {
    weight: 1,
    // A sender that ended the DEFLATE stream (BFINAL) and padded with 00 (RFC 7692 7.2.3.4).
    arbitrary: plainData.map((p) => ({
      plain: p,
      compressed: Buffer.concat([zlib.deflateRawSync(p), Buffer.from([0])]),
    })),
  },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ plain: null, compressed: Buffer.from(b) })) },
);

/** A message on the wire: its body cut into frames, RSV1 where RFC 7692 puts it (mostly). */
const message = fc.record({
  body,
  text: fc.boolean(),
  compressed: fc.oneof({ weight: 8, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  cuts: fc.array(fc.nat(), { maxLength: 3 }),
  rsv1OnContinuation: fc.oneof(
    { weight: 15, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
  ping: fc.option(fc.tuple(fc.nat(), fc.boolean()), { freq: 3 }),
});

type Message = typeof message extends fc.Arbitrary<infer T> ? T : never;

/** The frames of `messages`, masked when the receiver is a server. */
function wire(messages: readonly Message[], toServer: boolean): Buffer {
  const mask = toServer ? { mask: Buffer.from([0x12, 0x34, 0x56, 0x78]) } : {};
  const out: Buffer[] = [];
  for (const m of messages) {
    const data = m.compressed ? m.body.compressed : (m.body.plain ?? m.body.compressed);
    const pieces = cut(data, m.cuts);
    pieces.forEach((p, i) => {
      const first = i === 0;
      const rsv = (first && m.compressed) || (!first && m.rsv1OnContinuation) ? 0x40 : 0;
      out.push(
        frame({ fin: i === pieces.length - 1, rsv, opcode: first ? (m.text ? 0x1 : 0x2) : 0x0, payload: p, ...mask }),
      );
      if (m.ping !== null && m.ping[0] % pieces.length === i) {
        out.push(frame({ opcode: 0x9, rsv: m.ping[1] ? 0 : 0x40, payload: Buffer.from('p'), ...mask }));
      }
    });
  }
  return Buffer.concat(out);
}

describe('fuzz: permessage-deflate receive path', () => {
  for (const role of ['server', 'client'] as const) {
    it(`${role} receives hostile compressed messages: events, or close 1002 / 1007 / 1009 only`, () => {
      fc.assert(
        fc.property(
          deflateSetup,
          fc.array(message, { minLength: 1, maxLength: 4 }),
          chunking,
          fc.constantFrom(undefined, 0, 100, 5000, 150_000),
          (setup, messages, c, maxMessageSize) => {
            const limits = maxMessageSize === undefined ? {} : { maxMessageSize };
            const pair = handshakePair(setup, limits);
            const receiver = connectionOf(role === 'server' ? pair.server : pair.client);
            const bytes = wire(messages, role === 'server');
            const chunks =
              c.byteByByte && bytes.length < 3000 ? Array.from(bytes, (b) => Buffer.from([b])) : cut(bytes, c.cuts);
            const outcome = drive(receiver, chunks, { eof: true, maxMessageSize: maxMessageSize ?? 64 * 1024 * 1024 });
            if (outcome.close?.origin === 'failure') expect(FAILURE_CODES).to.include(outcome.close.code);

            // Messages before the first corrupted one arrive intact.
            const got = merge(outcome.events).filter((m) => m.type === 'text' || m.type === 'bytes');
            const limit = maxMessageSize ?? Infinity;
            for (const [i, m] of messages.entries()) {
              const intact =
                m.body.plain !== null &&
                !m.rsv1OnContinuation &&
                m.body.plain.length <= limit &&
                // maxFrameSize (= maxMessageSize) bounds the frames as on the wire.
                (m.compressed ? m.body.compressed : m.body.plain).length <= limit &&
                (m.ping === null || m.ping[1]) &&
                (!m.text || Buffer.from(m.body.plain.toString('utf8')).equals(m.body.plain));
              if (!intact) break;
              const expected = m.text
                ? { type: 'text', data: m.body.plain!.toString('utf8') }
                : { type: 'bytes', data: m.body.plain!.toString('hex') };
              expect(got[i], `message ${i}`).to.deep.equal(expected);
            }
          },
        ),
        fuzzParams(`deflate ${role}`, 200, 0.5),
      );
    });
  }
});
