/**
 * The frame decoder through `Connection`: byte vectors for every RFC 6455 section 5
 * rule, each replayed under every chunking (whole, byte by byte, every split point,
 * random splits) with identical merged events.
 */
import { expect } from 'chai';
import { Connection, ConnectionType } from '../../lib/index';
import { FrameReader } from '../../lib/frame/reader';
import { chunkings, feed, frame, hex, KEY, masked, merge, replayAll, type Merged } from '../helpers/bytes';

const SERVER = ConnectionType.SERVER;
const CLIENT = ConnectionType.CLIENT;

function expectAllChunkings(
  data: Buffer,
  role: 'client' | 'server',
  expected: Merged[],
  options: ConstructorParameters<typeof Connection>[1] = {},
): void {
  const { first, mismatches } = replayAll(data, role, options);
  expect(first).to.deep.equal(expected);
  expect(mismatches, 'chunkings that produced other events').to.equal(0);
}

const close = (code: number): Merged => ({ type: 'close', code, reason: '' });

/** The events, with the failure reason dropped (only the code is specified). */
function codesOf(data: Buffer, role: 'client' | 'server', options = {}): Merged[][] {
  return chunkings(data, 10).map((chunks) => merge(feed(chunks, role, options).events, false));
}

describe('frame decoder (RFC 6455 section 5)', () => {
  describe('RFC 6455 5.7 examples, verbatim', () => {
    it('5.7 a single-frame unmasked text message (client receives)', () => {
      expectAllChunkings(hex('81 05 48 65 6c 6c 6f'), CLIENT, [{ type: 'text', data: 'Hello' }]);
    });

    it('5.7 a single-frame masked text message (server receives)', () => {
      expectAllChunkings(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER, [{ type: 'text', data: 'Hello' }]);
    });

    it('5.7 a fragmented unmasked text message', () => {
      const { events } = feed([hex('01 03 48 65 6c 80 02 6c 6f')], CLIENT);
      expect(
        events.map((e) => [e.type, 'data' in e ? e.data : null, 'messageFinished' in e && e.messageFinished]),
      ).to.deep.equal([
        ['text', 'Hel', false],
        ['text', 'lo', true],
      ]);
      expectAllChunkings(hex('01 03 48 65 6c 80 02 6c 6f'), CLIENT, [{ type: 'text', data: 'Hello' }]);
    });

    it('5.7 unmasked ping, masked pong', () => {
      expectAllChunkings(hex('89 05 48 65 6c 6c 6f'), CLIENT, [{ type: 'ping', payload: '48656c6c6f' }]);
      expectAllChunkings(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER, [{ type: 'pong', payload: '48656c6c6f' }]);
    });

    it('5.7 256 bytes binary message in a single unmasked frame (16-bit length)', () => {
      const payload = Buffer.alloc(256, 0xab);
      const data = Buffer.concat([hex('82 7e 01 00'), payload]);
      expectAllChunkings(data, CLIENT, [{ type: 'bytes', data: payload.toString('hex') }]);
    });

    it('5.7 64 KiB binary message in a single unmasked frame (64-bit length)', () => {
      const payload = Buffer.alloc(65536);
      for (let i = 0; i < payload.length; i++) payload[i] = i * 7;
      const data = Buffer.concat([hex('82 7f 00 00 00 00 00 01 00 00'), payload]);
      const { events } = feed([data], CLIENT);
      expect(merge(events)).to.deep.equal([{ type: 'bytes', data: payload.toString('hex') }]);
      // Split everywhere in the header, and in 64 random places.
      for (const chunks of chunkings(data.subarray(0, 14), 0).map((c) => [...c, data.subarray(14)])) {
        expect(merge(feed(chunks, CLIENT).events)).to.deep.equal([{ type: 'bytes', data: payload.toString('hex') }]);
      }
    });
  });

  describe('payload lengths (RFC 6455 5.2)', () => {
    for (const n of [0, 1, 125, 126, 127, 0xffff, 0x10000, 200000]) {
      it(`server receives a masked ${n}-byte binary frame`, () => {
        const payload = Buffer.alloc(n);
        for (let i = 0; i < n; i++) payload[i] = (i * 31) & 0xff;
        const { events } = feed([masked({ opcode: 0x2, payload })], SERVER);
        expect(merge(events)).to.deep.equal([{ type: 'bytes', data: payload.toString('hex') }]);
      });
    }

    it('5.2 rejects a 16-bit length that 7 bits could carry (1002)', () => {
      const data = masked({ opcode: 0x2, payload: Buffer.alloc(125), lengthForm: 16 });
      for (const events of codesOf(data, SERVER)) expect(events).to.deep.equal([close(1002)]);
    });

    it('5.2 rejects a 64-bit length that 16 bits could carry (1002)', () => {
      const data = masked({ opcode: 0x2, payload: Buffer.alloc(0xffff), lengthForm: 64 });
      expect(merge(feed([data], SERVER).events, false)).to.deep.equal([close(1002)]);
      expect(merge(feed([data.subarray(0, 14)], SERVER).events, false)).to.deep.equal([close(1002)]);
    });

    it('5.2 rejects a 64-bit length with the most significant bit set (1002)', () => {
      const data = hex('82 ff 80 00 00 00 00 00 00 00 37 fa 21 3d');
      for (const events of codesOf(data, SERVER)) expect(events).to.deep.equal([close(1002)]);
    });

    it('rejects a length beyond 2^53 - 1 before any payload arrives (1009)', () => {
      const data = hex('82 ff 00 20 00 00 00 00 00 00 37 fa 21 3d');
      for (const events of codesOf(data, SERVER)) expect(events).to.deep.equal([close(1009)]);
    });

    it('a 2^63 - 1 length is refused from the header alone, nothing allocated', () => {
      const before = process.memoryUsage().arrayBuffers;
      const { events } = feed([hex('82 ff 7f ff ff ff ff ff ff ff 37 fa 21 3d')], SERVER);
      expect(merge(events, false)).to.deep.equal([close(1009)]);
      expect(process.memoryUsage().arrayBuffers - before).to.be.below(1 << 20);
    });
  });

  describe('masking (RFC 6455 5.1, 5.3)', () => {
    it('5.1 server receives an unmasked frame: 1002', () => {
      for (const events of codesOf(hex('81 05 48 65 6c 6c 6f'), SERVER)) expect(events).to.deep.equal([close(1002)]);
    });

    it('5.1 client receives a masked frame: 1002', () => {
      for (const events of codesOf(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), CLIENT)) {
        expect(events).to.deep.equal([close(1002)]);
      }
    });

    it('5.3 whole frames in one chunk unmask with any key: bytes above 0x7f, both sides of the native threshold', () => {
      // The whole-frame path copies the key as bytes; the header path packs it into a signed 32-bit word.
      const keys = ['ff ff ff ff', '80 00 00 01', 'a1 b2 c3 d4', '00 00 00 00', '7f 80 fe 01'].map(hex);
      let wrong = 0;
      for (const mask of keys) {
        for (const n of [1, 3, 47, 48, 49, 125, 126, 1024, 0x10000]) {
          const payload = Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + n) & 0xff));
          // Two frames in one chunk, so the second starts at an odd offset as well.
          const data = Buffer.concat([masked({ opcode: 0x2, payload, mask }), masked({ opcode: 0x2, payload, mask })]);
          const { events } = feed([data], SERVER);
          const want = { type: 'bytes', data: payload.toString('hex') };
          if (JSON.stringify(merge(events)) !== JSON.stringify([want, want])) wrong++;
        }
      }
      expect(wrong, 'key and size pairs that did not unmask').to.equal(0);
    });

    it('5.3 unmasks across chunk boundaries at every key phase', () => {
      const payload = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789'.repeat(5));
      const data = masked({ opcode: 0x1, payload, mask: hex('01 02 03 04') });
      expectAllChunkings(data, SERVER, [{ type: 'text', data: payload.toString() }]);
    });

    for (const [role, build] of [
      [SERVER, masked],
      [CLIENT, frame],
    ] as const) {
      const who = role === SERVER ? 'server receives masked' : 'client receives unmasked';
      it(`5.3 ${who}: a payload spanning buffered chunks is gathered whole, at every pair of cut points`, () => {
        // Both chunks are given before the events are read, so one piece spans them (the
        // gathering copy, which unmasks as it copies); every key phase at every cut.
        const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + (i >> 3)) & 0xff));
        const data = build({ opcode: 0x2, payload, ...(role === SERVER ? { mask: hex('a1 b2 c3 d4') } : {}) });
        let wrong = 0;
        for (let a = 1; a < data.length; a++) {
          for (const b of [a + 1, a + 3, Math.floor((a + data.length) / 2), data.length - 1]) {
            if (b <= a || b >= data.length) continue;
            const conn = new Connection(role);
            // Copies: a server unmasks in place what it is given.
            for (const part of [data.subarray(0, a), data.subarray(a, b), data.subarray(b)]) {
              conn.receiveData(Buffer.from(part));
            }
            const events = [...conn.events()];
            const got = merge(events);
            if (
              got.length !== 1 ||
              JSON.stringify(got[0]) !== JSON.stringify({ type: 'bytes', data: payload.toString('hex') })
            )
              wrong++;
          }
        }
        expect(wrong, 'cuts that did not give the message back whole').to.equal(0);
      });
    }
  });

  describe('opcodes and reserved bits (RFC 6455 5.2)', () => {
    for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      it(`5.2 reserved opcode 0x${opcode.toString(16)}: 1002`, () => {
        const data = masked({ opcode, payload: 'x' });
        for (const events of codesOf(data, SERVER)) expect(events).to.deep.equal([close(1002)]);
      });
    }

    for (const [name, rsv] of [
      ['RSV1', 0x40],
      ['RSV2', 0x20],
      ['RSV3', 0x10],
    ] as const) {
      it(`5.2 ${name} set without a negotiated extension: 1002`, () => {
        const data = masked({ opcode: 0x1, rsv, payload: 'x' });
        for (const events of codesOf(data, SERVER)) expect(events).to.deep.equal([close(1002)]);
      });
    }
  });

  describe('control frames (RFC 6455 5.5)', () => {
    it('5.5 a fragmented ping: 1002', () => {
      for (const events of codesOf(masked({ opcode: 0x9, fin: false, payload: 'x' }), SERVER)) {
        expect(events).to.deep.equal([close(1002)]);
      }
    });

    it('5.5 a ping with a 126-byte payload: 1002', () => {
      for (const events of codesOf(masked({ opcode: 0x9, payload: Buffer.alloc(126) }), SERVER)) {
        expect(events).to.deep.equal([close(1002)]);
      }
    });

    it('5.5 a ping with exactly 125 bytes is accepted', () => {
      const payload = Buffer.alloc(125, 0x61);
      expectAllChunkings(masked({ opcode: 0x9, payload }), SERVER, [
        { type: 'ping', payload: payload.toString('hex') },
      ]);
    });

    it('5.4 control frames may be interleaved with the fragments of a message', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x1, fin: false, payload: 'frag1 ' }),
        masked({ opcode: 0x9, payload: 'p' }),
        masked({ opcode: 0x0, fin: false, payload: 'frag2 ' }),
        masked({ opcode: 0xa, payload: 'q' }),
        masked({ opcode: 0x0, payload: 'end' }),
      ]);
      expectAllChunkings(data, SERVER, [
        { type: 'ping', payload: '70' },
        { type: 'pong', payload: '71' },
        { type: 'text', data: 'frag1 frag2 end' },
      ]);
    });
  });

  describe('fragmentation (RFC 6455 5.4)', () => {
    it('5.4 continuation frame without a message: 1002', () => {
      for (const events of codesOf(masked({ opcode: 0x0, payload: 'x' }), SERVER)) {
        expect(events).to.deep.equal([close(1002)]);
      }
    });

    it('5.4 a new text frame inside a fragmented message: 1002', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x1, fin: false, payload: 'a' }),
        masked({ opcode: 0x1, payload: 'b' }),
      ]);
      const { events } = feed([data], SERVER);
      expect(merge(events, false)).to.deep.equal([{ type: 'text-partial', data: 'a' }, close(1002)]);
    });

    it('5.4 a new binary frame inside a fragmented message: 1002', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x2, fin: false, payload: 'a' }),
        masked({ opcode: 0x2, payload: 'b' }),
      ]);
      expect(merge(feed([data], SERVER).events, false)).to.deep.equal([
        { type: 'bytes-partial', data: '61' },
        close(1002),
      ]);
    });

    it('5.4 many empty fragments make one message', () => {
      const parts = [masked({ opcode: 0x2, fin: false })];
      for (let i = 0; i < 20; i++) parts.push(masked({ opcode: 0x0, fin: false }));
      parts.push(masked({ opcode: 0x0, payload: 'z' }));
      expectAllChunkings(Buffer.concat(parts), SERVER, [{ type: 'bytes', data: '7a' }]);
    });

    it('partial events: payload is delivered as it arrives, frameFinished/messageFinished false', () => {
      const data = masked({ opcode: 0x2, payload: Buffer.alloc(1000, 1) });
      const conn = new Connection(SERVER);
      conn.receiveData(data.subarray(0, 500));
      const first = [...conn.events()];
      expect(first).to.have.length(1);
      expect(first[0]).to.include({ type: 'bytes', frameFinished: false, messageFinished: false });
      expect((first[0] as { data: Buffer }).data.length).to.equal(500 - 8);
      conn.receiveData(data.subarray(500));
      const second = [...conn.events()];
      expect(second[0]).to.include({ type: 'bytes', frameFinished: true, messageFinished: true });
      expect((second[0] as { data: Buffer }).data.length).to.equal(508);
    });
  });

  describe('text and UTF-8 (RFC 6455 5.6, 8.1)', () => {
    it('8.1 invalid UTF-8 in a text message: 1007', () => {
      for (const events of codesOf(
        masked({ opcode: 0x1, payload: hex('ce ba e1 bd b9 cf 83 ed a0 80 65 64') }),
        SERVER,
      )) {
        expect(events.at(-1)).to.deep.equal(close(1007));
      }
    });

    it('8.1 fails on the first invalid byte, before the message (or frame) ends', () => {
      // A 1000-byte frame whose 3rd byte is invalid: the failure comes with the first chunk.
      const payload = Buffer.alloc(1000, 0x61);
      payload[2] = 0xff;
      const data = masked({ opcode: 0x1, payload });
      const conn = new Connection(SERVER);
      conn.receiveData(data.subarray(0, 12));
      expect(merge([...conn.events()], false)).to.deep.equal([close(1007)]);
    });

    it('8.1 a prefix that no valid sequence can complete fails at once (f4 90 is above U+10FFFF)', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x1, fin: false, payload: 'ok' }),
        masked({ opcode: 0x0, fin: false, payload: hex('f4 90') }),
      ]);
      expect(merge(feed([data], SERVER).events, false)).to.deep.equal([
        { type: 'text-partial', data: 'ok' },
        close(1007),
      ]);
    });

    it('a code point split across frames and chunks is delivered whole', () => {
      // U+1F600 (f0 9f 98 80) split 1|3 across two frames
      const data = Buffer.concat([
        masked({ opcode: 0x1, fin: false, payload: hex('41 f0') }),
        masked({ opcode: 0x0, payload: hex('9f 98 80 42') }),
      ]);
      expectAllChunkings(data, SERVER, [{ type: 'text', data: 'A\u{1F600}B' }]);
      for (const chunks of chunkings(data, 5)) {
        for (const e of feed(chunks, SERVER).events) {
          if (e.type === 'text') expect(e.data).to.not.match(/[\uD800-\uDBFF]$/);
        }
      }
    });

    it('a message ending inside a code point: 1007', () => {
      const data = masked({ opcode: 0x1, payload: hex('41 e2 82') });
      for (const events of codesOf(data, SERVER)) expect(events.at(-1)).to.deep.equal(close(1007));
    });

    it('keeps a byte order mark (U+FEFF) as data', () => {
      expectAllChunkings(masked({ opcode: 0x1, payload: hex('ef bb bf 68 69') }), SERVER, [
        { type: 'text', data: '\uFEFFhi' },
      ]);
    });
  });

  describe('close frames (RFC 6455 5.5.1, 7.4)', () => {
    it('7.1.5 an empty close body reads as 1005', () => {
      expectAllChunkings(masked({ opcode: 0x8 }), SERVER, [{ type: 'close', code: 1005, reason: '' }]);
    });

    it('5.5.1 code and UTF-8 reason', () => {
      const payload = Buffer.concat([hex('03 e8'), Buffer.from('bye ✓')]);
      expectAllChunkings(masked({ opcode: 0x8, payload }), SERVER, [{ type: 'close', code: 1000, reason: 'bye ✓' }]);
    });

    it('5.5.1 a 1-byte close body: 1002', () => {
      for (const events of codesOf(masked({ opcode: 0x8, payload: hex('03') }), SERVER)) {
        expect(events).to.deep.equal([close(1002)]);
      }
    });

    const invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
    for (const code of invalid) {
      it(`7.4 close code ${code} on the wire: 1002`, () => {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        expect(merge(feed([masked({ opcode: 0x8, payload })], SERVER).events, false)).to.deep.equal([close(1002)]);
      });
    }

    const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
    for (const code of valid) {
      it(`7.4 close code ${code} is accepted`, () => {
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        expect(merge(feed([masked({ opcode: 0x8, payload })], SERVER).events)).to.deep.equal([close(code)]);
      });
    }

    it('7.4 a close reason of invalid UTF-8: 1007', () => {
      const data = masked({ opcode: 0x8, payload: hex('03 e8 ff fe') });
      expect(merge(feed([data], SERVER).events, false)).to.deep.equal([close(1007)]);
    });

    it('data after a close frame is ignored', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x8, payload: hex('03 e8') }),
        masked({ opcode: 0x1, payload: 'late' }),
      ]);
      expectAllChunkings(data, SERVER, [close(1000)]);
    });
  });

  describe('limits (1009)', () => {
    it('a frame over maxFrameSize fails from its header, before the payload arrives', () => {
      const header = masked({ opcode: 0x2, payload: Buffer.alloc(2000) }).subarray(0, 8);
      const { events } = feed([header], SERVER, { maxFrameSize: 1000 });
      expect(merge(events, false)).to.deep.equal([close(1009)]);
    });

    it('a fragmented message over maxMessageSize fails at the fragment that crosses it', () => {
      const data = Buffer.concat([
        masked({ opcode: 0x2, fin: false, payload: Buffer.alloc(600) }),
        masked({ opcode: 0x0, fin: false, payload: Buffer.alloc(600) }).subarray(0, 8),
      ]);
      const { events } = feed([data], SERVER, { maxMessageSize: 1000 });
      expect(merge(events, false)).to.deep.equal([{ type: 'bytes-partial', data: '00'.repeat(600) }, close(1009)]);
    });

    it('a message of exactly maxMessageSize is accepted', () => {
      const payload = Buffer.alloc(1000, 2);
      expect(merge(feed([masked({ opcode: 0x2, payload })], SERVER, { maxMessageSize: 1000 }).events)).to.deep.equal([
        { type: 'bytes', data: payload.toString('hex') },
      ]);
    });

    it('the limit is per message: many messages under it are fine', () => {
      const one = masked({ opcode: 0x2, payload: Buffer.alloc(600) });
      const { events } = feed([Buffer.concat([one, one, one])], SERVER, { maxMessageSize: 1000 });
      expect(merge(events)).to.have.length(3);
    });

    it('rejects invalid limit options', () => {
      expect(() => new Connection(SERVER, { maxMessageSize: -1 })).to.throw(/maxMessageSize/);
      expect(() => new Connection(SERVER, { maxFrameSize: 1.5 })).to.throw(/maxFrameSize/);
    });
  });

  it('a failure stops reading: later bytes give no events', () => {
    const conn = new Connection(SERVER);
    conn.receiveData(masked({ opcode: 0x3 }));
    expect([...conn.events()].map((e) => e.type)).to.deep.equal(['close']);
    conn.receiveData(masked({ opcode: 0x1, payload: 'after' }));
    expect([...conn.events()]).to.deep.equal([]);
  });

  it('uses the fixed test key', () => {
    expect(KEY.toString('hex')).to.equal('37fa213d');
    expect(frame({ opcode: 1, payload: 'Hello', mask: KEY }).toString('hex')).to.equal('818537fa213d7f9f4d5158');
  });

  it('keeps no received chunk once a payload was handed out (an idle connection holds no buffer)', () => {
    const reader = new FrameReader(true);
    reader.push(masked({ opcode: 0x2, payload: Buffer.alloc(300, 7) }));
    expect(reader.readHeader()).to.equal(true);
    const payload = reader.readPayload();
    expect(payload.length).to.equal(300);
    expect(reader.pieceBuffer.length, 'readPayload').to.equal(0);
    reader.push(masked({ opcode: 0x1, payload: 'hi' }));
    expect(reader.readHeader()).to.equal(true);
    expect(reader.readPiece()).to.equal(true);
    expect(reader.pieceBuffer.length).to.be.greaterThan(0);
    reader.dropPiece();
    expect(reader.pieceBuffer.length, 'dropPiece').to.equal(0);
  });

  describe('the whole-frame fast path (FrameReader.readWholeDataFrame)', () => {
    const reader = (server: boolean, ...chunks: Buffer[]): FrameReader => {
      const r = new FrameReader(server);
      for (const chunk of chunks) r.push(Buffer.from(chunk));
      return r;
    };
    const state = (r: FrameReader, payload: Buffer) => ({
      payload: payload.toString('hex'),
      fin: r.fin,
      rsv: r.rsv,
      opcode: r.opcode,
      payloadLength: r.payloadLength,
      remaining: r.remaining,
      inFrame: r.inFrame,
      buffered: r.buffered,
    });

    it('takes a whole data frame lying in the first chunk, as readHeader() + readPayload() read it', () => {
      const specs = [
        { opcode: 0x1, payload: 'Hello' },
        { opcode: 0x2, payload: Buffer.alloc(20, 0x5a) }, // under the native unmask size
        { opcode: 0x2, payload: Buffer.alloc(125, 0x33) },
        { opcode: 0x1, payload: 'x'.repeat(126) }, // 16-bit length
        { opcode: 0x2, payload: Buffer.alloc(1024, 0xa5) },
        { opcode: 0x2, payload: Buffer.alloc(0xffff, 0x01) }, // the last 16-bit length
        { opcode: 0x1 },
        { opcode: 0x2 },
      ];
      for (const server of [true, false]) {
        for (const spec of specs) {
          const bytes = server ? masked(spec) : frame(spec);
          const next = server ? masked({ opcode: 0x9 }) : frame({ opcode: 0x9 });
          const fast = reader(server, Buffer.concat([bytes, next]));
          expect(fast.readWholeDataFrame(1 << 20)).to.equal(spec.opcode);
          const slow = reader(server, Buffer.concat([bytes, next]));
          expect(slow.readHeader()).to.equal(true);
          const where = `${server ? 'server' : 'client'} ${spec.opcode} ${String(spec.payload?.length ?? 0)}`;
          expect(state(fast, fast.pieceView()), where).to.deep.equal(state(slow, slow.readPayload()));
          expect(fast.buffered, where).to.equal(next.length);
        }
      }
    });

    it('leaves every other frame to readHeader(), consuming nothing', () => {
      const big = Buffer.alloc(70_000, 0x61);
      const cases: Array<[string, boolean, Buffer[], number]> = [
        ['a fragment (FIN clear)', true, [masked({ fin: false, opcode: 0x1, payload: 'a' })], 100],
        ['a continuation', true, [masked({ opcode: 0x0, payload: 'a' })], 100],
        ['RSV1 set', true, [masked({ rsv: 0x40, opcode: 0x1, payload: 'a' })], 100],
        ['a ping', true, [masked({ opcode: 0x9, payload: 'a' })], 100],
        ['a close', true, [masked({ opcode: 0x8, payload: hex('03 e8') })], 100],
        ['a reserved opcode', true, [masked({ opcode: 0x3, payload: 'a' })], 100],
        ['a 64-bit length', true, [masked({ opcode: 0x2, payload: big })], 1 << 20],
        ['a non-minimal 16-bit length', true, [masked({ opcode: 0x2, payload: 'abc', lengthForm: 16 })], 100],
        ['an unmasked frame on a server', true, [frame({ opcode: 0x1, payload: 'a' })], 100],
        ['a masked frame on a client', false, [masked({ opcode: 0x1, payload: 'a' })], 100],
        ['a payload over the limit', true, [masked({ opcode: 0x2, payload: Buffer.alloc(11) })], 10],
        ['a frame whose payload is in the next chunk', false, [hex('82 02 61'), hex('62')], 100],
        ['a header split over two chunks', false, [hex('82'), hex('01 61')], 100],
        ['a 16-bit length split over two chunks', false, [hex('82 7e 00'), hex('7e'), Buffer.alloc(126)], 1000],
      ];
      for (const [what, server, chunks, limit] of cases) {
        const r = reader(server, ...chunks);
        const total = chunks.reduce((n, c) => n + c.length, 0);
        expect(r.readWholeDataFrame(limit), what).to.equal(0);
        expect([r.buffered, r.inFrame], what).to.deep.equal([total, false]);
      }
      // A frame split at any point but its end is never taken.
      const whole = masked({ opcode: 0x2, payload: Buffer.alloc(300, 7) });
      for (let at = 1; at < whole.length; at++) {
        expect(reader(true, whole.subarray(0, at), whole.subarray(at)).readWholeDataFrame(1000), String(at)).to.equal(
          0,
        );
      }
    });
  });
});
