/** The close frame body (lib/frame/close-frame.ts, RFC 6455 5.5.1 and 7.4), on its own. */
import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/index';
import { closeBody, parseClose } from '../../lib/frame/close-frame';
import { hex } from '../helpers/bytes';

describe('close frame body (RFC 6455 5.5.1)', () => {
  describe('parseClose', () => {
    it('7.1.5 an empty body is 1005 with no reason', () => {
      const close = parseClose(Buffer.alloc(0));
      expect([close.code, close.reason, close.errorCode]).to.deep.equal([1005, '', null]);
    });

    it('5.5.1 a big-endian code, then the UTF-8 reason', () => {
      const close = parseClose(hex('03 e8 62 79 c3 a9'));
      expect([close.code, close.reason]).to.deep.equal([1000, 'byé']);
    });

    const failures: Array<[string, string, string, number]> = [
      ['a 1-byte body', '03', 'ERR_BAD_CLOSE_FRAME', 1002],
      ['7.4 code 1005 on the wire', '03 ed', 'ERR_BAD_CLOSE_CODE', 1002],
      ['7.4 code 999', '03 e7', 'ERR_BAD_CLOSE_CODE', 1002],
      ['8.1 a reason that is not UTF-8', '03 e8 c3 28', 'ERR_INVALID_UTF8', 1007],
      ['8.1 a reason cut inside a code point', '03 e8 e2 82', 'ERR_INVALID_UTF8', 1007],
    ];
    for (const [what, body, code, closeCode] of failures) {
      it(`${what}: RemoteProtocolError ${code} (${closeCode})`, () => {
        expect(() => parseClose(hex(body)))
          .to.throw(RemoteProtocolError)
          .that.includes({ code, closeCode });
      });
    }
  });

  describe('closeBody', () => {
    it('1005 is an empty body', () => {
      expect(closeBody(1005, '')).to.deep.equal(Buffer.alloc(0));
    });

    it('a reason without a code is a LocalProtocolError', () => {
      expect(() => closeBody(1005, 'x'))
        .to.throw(LocalProtocolError)
        .with.property('code', 'ERR_INVALID_CLOSE_CODE');
    });

    it('7.4 local-only and invalid codes are LocalProtocolErrors', () => {
      for (const code of [1006, 1015, 999, 5000]) {
        expect(() => closeBody(code, ''), String(code))
          .to.throw(LocalProtocolError)
          .with.property('code', 'ERR_INVALID_CLOSE_CODE');
      }
    });

    it('code then reason; the reason cut to 123 bytes on a code point boundary', () => {
      expect(closeBody(1000, 'bye')).to.deep.equal(hex('03 e8 62 79 65'));
      expect(closeBody(4000, '')).to.deep.equal(hex('0f a0'));
      const body = closeBody(1000, '€'.repeat(50)); // 150 bytes of 3-byte code points
      expect(body.length).to.equal(2 + 123);
      expect(body.subarray(2).toString('utf8')).to.equal('€'.repeat(41));
    });
  });
});
