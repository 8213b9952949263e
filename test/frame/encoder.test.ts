/** Frame serialization (RFC 6455 5.2, 5.3, 5.5): byte-exact output for both roles. */
import { expect } from 'chai';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionType,
  LocalProtocolError,
  Ping,
  Pong,
  TextMessage,
} from '../../lib/index';
import fc from 'fast-check';
import { SPLIT_MIN, encodeFrame, encodeHeader, encodeTextFrame } from '../../lib/frame/encoder';
import { hex, KEY } from '../helpers/bytes';

const fixedKey = () => KEY;
const server = () => new Connection(ConnectionType.SERVER);
const client = () => new Connection(ConnectionType.CLIENT, { maskKey: fixedKey });

describe('frame encoder (RFC 6455 5.2)', () => {
  it('5.7 server sends an unmasked text frame: 81 05 "Hello"', () => {
    expect(server().send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex('81 05 48 65 6c 6c 6f'));
  });

  it('5.7 client sends a masked text frame with key 37 fa 21 3d', () => {
    expect(client().send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'));
  });

  it('5.7 fragmented text: 01 03 "Hel", 80 02 "lo"', () => {
    const s = server();
    expect(s.send(new TextMessage({ data: 'Hel', messageFinished: false }))).to.deep.equal(hex('01 03 48 65 6c'));
    expect(s.send(new TextMessage({ data: 'lo' }))).to.deep.equal(hex('80 02 6c 6f'));
  });

  it('5.7 unmasked ping and masked pong', () => {
    expect(server().send(new Ping({ payload: Buffer.from('Hello') }))).to.deep.equal(hex('89 05 48 65 6c 6c 6f'));
    expect(client().send(new Pong({ payload: Buffer.from('Hello') }))).to.deep.equal(
      hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'),
    );
  });

  it('5.7 256-byte binary uses the 16-bit length form: 82 7e 01 00', () => {
    const out = server().send(new BytesMessage({ data: Buffer.alloc(256, 9) }));
    expect(out.subarray(0, 4)).to.deep.equal(hex('82 7e 01 00'));
    expect(out.length).to.equal(260);
  });

  it('5.7 64 KiB binary uses the 64-bit length form: 82 7f 00 00 00 00 00 01 00 00', () => {
    const out = server().send(new BytesMessage({ data: Buffer.alloc(65536) }));
    expect(out.subarray(0, 10)).to.deep.equal(hex('82 7f 00 00 00 00 00 01 00 00'));
    expect(out.length).to.equal(65546);
  });

  it('5.2 the minimal length form at each boundary', () => {
    const sizes: Array<[number, string]> = [
      [125, '827d'],
      [126, '827e007e'],
      [65535, '827effff'],
      [65536, '827f0000000000010000'],
    ];
    for (const [n, head] of sizes) {
      const out = server().send(new BytesMessage({ data: Buffer.alloc(n) }));
      expect(out.subarray(0, head.length / 2).toString('hex'), `${n} bytes`).to.equal(head);
    }
  });

  it('5.3 a client masks every frame with a fresh key from a CSPRNG', () => {
    const c = new Connection(ConnectionType.CLIENT);
    const keys = new Set<string>();
    for (let i = 0; i < 200; i++)
      keys.add(
        c
          .send(new BytesMessage({ data: Buffer.alloc(4) }))
          .subarray(2, 6)
          .toString('hex'),
      );
    expect(keys.size).to.be.greaterThan(195);
  });

  it('5.3 masks large payloads correctly at every alignment', () => {
    const data = Buffer.alloc(1000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    for (let offset = 0; offset < 5; offset++) {
      const view = data.subarray(offset, offset + 900);
      const out = client().send(new BytesMessage({ data: view }));
      const body = out.subarray(8);
      for (let i = 0; i < view.length; i++) expect(body[i]! ^ KEY[i % 4]!).to.equal(view[i]);
    }
  });

  it('5.5 a ping payload over 125 bytes is a LocalProtocolError', () => {
    expect(() => server().send(new Ping({ payload: Buffer.alloc(126) })))
      .to.throw(LocalProtocolError)
      .with.property('code', 'ERR_CONTROL_PAYLOAD_TOO_BIG');
  });

  it('text and bytes cannot be mixed within one message', () => {
    const s = server();
    s.send(new TextMessage({ data: 'a', messageFinished: false }));
    expect(() => s.send(new BytesMessage({ data: Buffer.from('b') })))
      .to.throw(LocalProtocolError)
      .with.property('code', 'ERR_MESSAGE_TYPE_MISMATCH');
  });

  describe('close frames (RFC 6455 5.5.1, 7.4)', () => {
    it('5.5.1 code then UTF-8 reason', () => {
      expect(server().send(new CloseConnection({ code: 1000, reason: 'bye' }))).to.deep.equal(
        hex('88 05 03 e8 62 79 65'),
      );
    });

    it('1005 sends an empty close body', () => {
      expect(server().send(new CloseConnection({ code: 1005 }))).to.deep.equal(hex('88 00'));
    });

    for (const code of [1006, 1015, 999, 1004, 1016, 2999, 5000]) {
      it(`7.4 code ${code} cannot go on the wire: LocalProtocolError`, () => {
        expect(() => server().send(new CloseConnection({ code })))
          .to.throw(LocalProtocolError)
          .with.property('code', 'ERR_INVALID_CLOSE_CODE');
      });
    }

    it('5.5 a long reason is truncated to 123 bytes on a code point boundary', () => {
      const reason = 'é'.repeat(100); // 200 bytes of 2-byte code points
      const out = server().send(new CloseConnection({ code: 1000, reason }));
      expect(out[1]).to.equal(2 + 122);
      expect(out.subarray(4).toString('utf8')).to.equal('é'.repeat(61));
    });

    it('a reason of 4-byte code points is cut before a split', () => {
      const out = server().send(new CloseConnection({ code: 4000, reason: '😀'.repeat(40) }));
      expect(out[1]).to.equal(2 + 120);
      expect(Buffer.from(out.subarray(4)).toString('utf8')).to.equal('😀'.repeat(30));
    });
  });

  describe('text frames straight from a string: the same bytes as the general encoder', () => {
    /** A key generator that hands out 0a0b0c0d, 0b0c0d0e, ...: a different key per frame. */
    const keys = () => {
      let n = 0;
      return () => {
        n++;
        return Uint8Array.of(n & 0xff, (n + 1) & 0xff, (n + 2) & 0xff, (n + 3) & 0xff);
      };
    };
    /** encodeTextFrame against encodeFrame of `Buffer.from(text)` (utf8; lone surrogates as EF BF BD). */
    const same = (text: string, fin: boolean, opcode: number, masked: boolean): void => {
      const [a, b] = masked ? [keys(), keys()] : [null, null];
      const fast = encodeTextFrame(fin, opcode, text, a);
      const general = encodeFrame(fin, 0, opcode, Buffer.from(text, 'utf8'), b);
      expect(fast.toString('hex'), JSON.stringify(text)).to.equal(general.toString('hex'));
      // One key per frame, whichever path made it.
      if (a !== null && b !== null) expect(a()).to.deep.equal(b());
    };

    const cases: Array<[string, string]> = [
      ['empty', ''],
      ['16 B ASCII', 'alpha 12 bravo 3'],
      ['125 ASCII units (the last 7-bit length)', 'a'.repeat(125)],
      ['126 ASCII units (16-bit length)', 'b'.repeat(126)],
      ['ASCII then one 2-byte character at the end', `${'c'.repeat(124)}é`],
      ['a 2-byte character first', `é${'d'.repeat(30)}`],
      ['41 units of 3 bytes (123 B: the worst case fits 7 bits)', '€'.repeat(41)],
      ['42 units of 3 bytes (126 B)', '€'.repeat(42)],
      ['over 41 units, non-ASCII first', `é${'e'.repeat(60)}`],
      ['over 41 units, non-ASCII last', `${'f'.repeat(60)}é`],
      ['over 41 units, non-ASCII only inside', `${'g'.repeat(50)}é${'g'.repeat(50)}`],
      ['a surrogate pair (4 bytes)', 'x😀y'],
      ['a lone high surrogate', 'a\ud800b'],
      ['a lone low surrogate at the end', 'ab\udc00'],
      ['DEL and NUL (still ASCII)', '\u007f\u0000'],
      ['U+0080 (the first non-ASCII unit)', '\u0080'],
    ];
    for (const [what, text] of cases) {
      it(`${what}: server and client, whole and fragment`, () => {
        for (const masked of [false, true]) {
          same(text, true, 0x1, masked);
          same(text, false, 0x1, masked);
          same(text, true, 0x0, masked);
        }
      });
    }

    it('random strings (any code point, lone surrogates included) of 0 to 300 units (fast-check)', () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string({ unit: 'binary-ascii', maxLength: 140 }),
            fc.string({ unit: 'binary', maxLength: 140 }),
            fc.string({ unit: 'grapheme', maxLength: 50 }),
            fc.string({ unit: 'binary', minLength: 100, maxLength: 300 }),
          ),
          fc.boolean(),
          fc.boolean(),
          fc.constantFrom(0x0, 0x1),
          (text, fin, masked, opcode) => same(text, fin, opcode, masked),
        ),
        { seed: 17, numRuns: 1000 },
      );
    });

    it('Connection.send of random text is the general frame, for both roles (fast-check)', () => {
      fc.assert(
        fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 60 }), { maxLength: 8 }), (texts) => {
          const s = server();
          const c = new Connection(ConnectionType.CLIENT, { maskKey: keys() });
          const key = keys();
          for (const text of texts) {
            const payload = Buffer.from(text, 'utf8');
            expect(s.send(new TextMessage({ data: text }))).to.deep.equal(encodeFrame(true, 0, 0x1, payload, null));
            expect(c.send(new TextMessage({ data: text }))).to.deep.equal(encodeFrame(true, 0, 0x1, payload, key));
          }
        }),
        { seed: 18, numRuns: 300 },
      );
    });
  });

  it('5.2 encodeHeader writes the header encodeFrame puts before an unmasked payload, at every length class', () => {
    for (const length of [0, 1, 125, 126, 0xffff, 0x10000, SPLIT_MIN, 100_000]) {
      for (const [fin, rsv, opcode] of [
        [true, 0, 0x2],
        [false, 0x40, 0x0],
      ] as const) {
        const payload = Buffer.alloc(length, 0x5a);
        const whole = encodeFrame(fin, rsv, opcode, payload, null);
        const header = encodeHeader(fin, rsv, opcode, length);
        expect(Buffer.concat([header, payload]).equals(whole), `length ${length}`).to.equal(true);
      }
    }
  });
});
