import { expect } from 'chai';
import {
  FIN,
  LENGTH_16,
  LENGTH_64,
  LENGTH_MASK,
  MASK_BIT,
  MAX_CONTROL_PAYLOAD,
  OPCODE_MASK,
  Opcode,
  RSV1,
  RSV2,
  RSV3,
  RSV_MASK,
  isControl,
  isKnownOpcode,
} from '../../lib/frame/opcode';
import { hex } from '../helpers/bytes';

describe('frame/opcode', () => {
  it('RFC 6455 5.2: the opcodes have the RFC values', () => {
    expect(Opcode).to.deep.equal({ CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa });
  });

  it('RFC 6455 5.2: isKnownOpcode is true for 0x0-0x2 and 0x8-0xA, false for the reserved 0x3-0x7 and 0xB-0xF', () => {
    const known = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];
    for (let op = 0; op <= 0xf; op++) expect(isKnownOpcode(op), `0x${op.toString(16)}`).to.equal(known.includes(op));
  });

  it('RFC 6455 5.5: control frames are the opcodes with the high bit set (0x8-0xF)', () => {
    for (let op = 0; op <= 0xf; op++) expect(isControl(op), `0x${op.toString(16)}`).to.equal(op >= 0x8);
    expect(isControl(Opcode.CLOSE) && isControl(Opcode.PING) && isControl(Opcode.PONG)).to.equal(true);
    expect(isControl(Opcode.TEXT) || isControl(Opcode.BINARY) || isControl(Opcode.CONTINUATION)).to.equal(false);
  });

  it('RFC 6455 5.2: the header bits of the first byte: FIN, RSV1-3, opcode', () => {
    expect([FIN, RSV1, RSV2, RSV3, RSV_MASK, OPCODE_MASK]).to.deep.equal([0x80, 0x40, 0x20, 0x10, 0x70, 0x0f]);
    expect(FIN | RSV_MASK | OPCODE_MASK).to.equal(0xff);
    expect(RSV1 | RSV2 | RSV3).to.equal(RSV_MASK);
  });

  it('RFC 6455 5.2: the header bits of the second byte: MASK and the 7-bit length', () => {
    expect([MASK_BIT, LENGTH_MASK]).to.deep.equal([0x80, 0x7f]);
    expect([LENGTH_16, LENGTH_64]).to.deep.equal([126, 127]);
  });

  it('RFC 6455 5.7: the header bytes of the examples decompose into these constants', () => {
    // A single-frame unmasked text message, and the masked one.
    const [b0, b1] = hex('81 05');
    expect(b0! & FIN).to.equal(FIN);
    expect(b0! & RSV_MASK).to.equal(0);
    expect(b0! & OPCODE_MASK).to.equal(Opcode.TEXT);
    expect(b1! & MASK_BIT).to.equal(0);
    expect(b1! & LENGTH_MASK).to.equal(5);
    expect(hex('81 85')[1]! & MASK_BIT).to.equal(MASK_BIT);
    // The first fragment of a text message, and its continuation.
    expect(hex('01')[0]! & FIN).to.equal(0);
    expect(hex('80')[0]! & OPCODE_MASK).to.equal(Opcode.CONTINUATION);
    // An unmasked ping, 256 bytes of binary (16-bit length), 64 KiB of binary (64-bit length).
    expect(hex('89 05')[0]! & OPCODE_MASK).to.equal(Opcode.PING);
    expect(hex('82 7e 01 00')[1]! & LENGTH_MASK).to.equal(LENGTH_16);
    expect(hex('82 7f 00 00 00 00 00 01 00 00')[1]! & LENGTH_MASK).to.equal(LENGTH_64);
  });

  it('RFC 6455 5.5: control frames carry at most 125 bytes, the largest 7-bit length', () => {
    expect(MAX_CONTROL_PAYLOAD).to.equal(125);
    expect(MAX_CONTROL_PAYLOAD).to.equal(LENGTH_16 - 1);
  });
});
