import { expect } from 'chai';
import { CloseReason, isLocalOnlyCode, isValidWireCode } from '../lib/close-codes';
import { hex } from './helpers/bytes';

describe('close-codes', () => {
  it('RFC 6455 7.4.1: the named codes have the RFC numbers (1012-1014 from the IANA registry)', () => {
    expect(CloseReason).to.deep.equal({
      NORMAL_CLOSURE: 1000,
      GOING_AWAY: 1001,
      PROTOCOL_ERROR: 1002,
      UNSUPPORTED_DATA: 1003,
      NO_STATUS_RCVD: 1005,
      ABNORMAL_CLOSURE: 1006,
      INVALID_FRAME_PAYLOAD_DATA: 1007,
      POLICY_VIOLATION: 1008,
      MESSAGE_TOO_BIG: 1009,
      MANDATORY_EXT: 1010,
      INTERNAL_ERROR: 1011,
      SERVICE_RESTART: 1012,
      TRY_AGAIN_LATER: 1013,
      BAD_GATEWAY: 1014,
      TLS_HANDSHAKE_FAILED: 1015,
    });
  });

  it('RFC 6455 5.5.1: a close body starts with the code as a 16-bit big-endian integer', () => {
    const body = Buffer.alloc(2);
    body.writeUInt16BE(CloseReason.NORMAL_CLOSURE);
    expect(body.equals(hex('03 e8'))).to.equal(true);
    body.writeUInt16BE(CloseReason.MESSAGE_TOO_BIG);
    expect(body.equals(hex('03 f1'))).to.equal(true);
  });

  it('RFC 6455 7.4.1: 1005, 1006 and 1015 are local only', () => {
    expect([1005, 1006, 1015].every(isLocalOnlyCode)).to.equal(true);
    for (let code = 0; code < 5100; code++) {
      expect(isLocalOnlyCode(code), String(code)).to.equal(code === 1005 || code === 1006 || code === 1015);
    }
  });

  // [title, first, last, valid]
  const ranges: Array<[string, number, number, boolean]> = [
    ['RFC 6455 7.4.2: 0-999 are not used', 0, 999, false],
    ['RFC 6455 7.4.1: 1000-1003 are defined', 1000, 1003, true],
    ['RFC 6455 7.4.1: 1004 is reserved', 1004, 1004, false],
    ['RFC 6455 7.4.1: 1005 and 1006 must not be sent', 1005, 1006, false],
    ['RFC 6455 7.4.1: 1007-1011 are defined', 1007, 1011, true],
    ['RFC 6455 7.4.2 (IANA registry): 1012-1014 are registered', 1012, 1014, true],
    ['RFC 6455 7.4.1: 1015 must not be sent', 1015, 1015, false],
    ['RFC 6455 7.4.2: 1016-2999 are unassigned', 1016, 2999, false],
    ['RFC 6455 7.4.2: 3000-3999 are for libraries and frameworks', 3000, 3999, true],
    ['RFC 6455 7.4.2: 4000-4999 are for private use', 4000, 4999, true],
    ['RFC 6455 7.4.2: 5000-65535 are outside the ranges', 5000, 65535, false],
  ];
  for (const [title, first, last, valid] of ranges) {
    it(`${title}: isValidWireCode is ${valid} for ${first}-${last}`, () => {
      for (let code = first; code <= last; code++) expect(isValidWireCode(code), String(code)).to.equal(valid);
    });
  }

  it('isValidWireCode refuses what is not an integer', () => {
    for (const code of [1000.5, Number.NaN, Number.POSITIVE_INFINITY, -1000]) {
      expect(isValidWireCode(code), String(code)).to.equal(false);
    }
  });
});
