/**
 * The error classes (lib/errors.ts): names, defaults, the stable codes, and that both
 * are real `Error`s.
 */
import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import { LocalProtocolError, RemoteProtocolError, type LocalErrorCode, type RemoteErrorCode } from '../lib/errors';
import { RejectConnectionEvent } from '../lib/events';

// Every code, as a record so that the compiler fails this file when the union changes.
const LOCAL_CODES: Record<LocalErrorCode, true> = {
  ERR_INVALID_STATE: true,
  ERR_INVALID_EVENT: true,
  ERR_CONTROL_PAYLOAD_TOO_BIG: true,
  ERR_INVALID_CLOSE_CODE: true,
  ERR_MESSAGE_TYPE_MISMATCH: true,
  ERR_INVALID_HEADER: true,
  ERR_INVALID_SUBPROTOCOL: true,
  ERR_INVALID_EXTENSION: true,
  ERR_INVALID_OPTION: true,
  ERR_INVALID_URL: true,
};

const REMOTE_CODES: Record<RemoteErrorCode, true> = {
  ERR_PROTOCOL: true,
  ERR_HEAD_TOO_LARGE: true,
  ERR_TOO_MANY_HEADERS: true,
  ERR_BAD_HTTP: true,
  ERR_BAD_HANDSHAKE: true,
  ERR_UNSUPPORTED_VERSION: true,
  ERR_BAD_EXTENSION: true,
  ERR_BODY_TOO_LARGE: true,
  ERR_RESERVED_OPCODE: true,
  ERR_RESERVED_BITS: true,
  ERR_MASK_EXPECTED: true,
  ERR_UNEXPECTED_MASK: true,
  ERR_NON_MINIMAL_LENGTH: true,
  ERR_LENGTH_TOP_BIT: true,
  ERR_CONTROL_FRAGMENTED: true,
  ERR_CONTROL_TOO_LONG: true,
  ERR_UNEXPECTED_CONTINUATION: true,
  ERR_EXPECTED_CONTINUATION: true,
  ERR_BAD_CLOSE_FRAME: true,
  ERR_BAD_CLOSE_CODE: true,
  ERR_INVALID_UTF8: true,
  ERR_BAD_COMPRESSED_DATA: true,
  ERR_FRAME_TOO_BIG: true,
  ERR_MESSAGE_TOO_BIG: true,
  ERR_ABNORMAL_CLOSURE: true,
  ERR_CLOSE_TIMEOUT: true,
  ERR_PONG_TIMEOUT: true,
  ERR_HANDSHAKE_TIMEOUT: true,
  ERR_TRANSPORT: true,
  ERR_HTTP2_STREAM_RESET: true,
  ERR_HTTP2_GOAWAY: true,
};

describe('errors', () => {
  describe('LocalProtocolError', () => {
    it('is an Error named LocalProtocolError, with code ERR_INVALID_STATE by default', () => {
      const error = new LocalProtocolError('cannot send text in state CLOSED');
      expect(error).to.be.instanceOf(Error);
      expect(error).to.be.instanceOf(LocalProtocolError);
      expect(error).to.not.be.instanceOf(RemoteProtocolError);
      expect(error.name).to.equal('LocalProtocolError');
      expect(error.message).to.equal('cannot send text in state CLOSED');
      expect(error.code).to.equal('ERR_INVALID_STATE');
      expect(String(error)).to.equal('LocalProtocolError: cannot send text in state CLOSED');
      expect(error.stack).to.be.a('string').and.contain('LocalProtocolError');
    });

    for (const code of Object.keys(LOCAL_CODES) as LocalErrorCode[]) {
      it(`carries the code ${code}`, () => {
        expect(new LocalProtocolError('x', code).code).to.equal(code);
      });
    }
  });

  describe('RemoteProtocolError', () => {
    it('defaults: code ERR_PROTOCOL, closeCode 1002, no eventHint', () => {
      const error = new RemoteProtocolError('peer broke it');
      expect(error).to.be.instanceOf(Error);
      expect(error).to.be.instanceOf(RemoteProtocolError);
      expect(error).to.not.be.instanceOf(LocalProtocolError);
      expect(error.name).to.equal('RemoteProtocolError');
      expect(error.message).to.equal('peer broke it');
      expect([error.code, error.closeCode, error.eventHint]).to.deep.equal(['ERR_PROTOCOL', 1002, undefined]);
      expect(String(error)).to.equal('RemoteProtocolError: peer broke it');
    });

    it('keeps the options it is given', () => {
      const hint = new RejectConnectionEvent({ statusCode: 426 });
      const error = new RemoteProtocolError('old version', {
        code: 'ERR_UNSUPPORTED_VERSION',
        eventHint: hint,
        closeCode: 1009,
      });
      expect(error.code).to.equal('ERR_UNSUPPORTED_VERSION');
      expect(error.eventHint).to.equal(hint);
      expect(error.closeCode).to.equal(1009);
      expect(new RemoteProtocolError('x', { eventHint: undefined }).eventHint).to.equal(undefined);
    });

    for (const code of Object.keys(REMOTE_CODES) as RemoteErrorCode[]) {
      it(`carries the code ${code}`, () => {
        expect(new RemoteProtocolError('x', { code }).code).to.equal(code);
      });
    }
  });

  it('the codes are string literal unions, disjoint between the two classes', () => {
    expectTypeOf<LocalProtocolError['code']>().toEqualTypeOf<LocalErrorCode>();
    expectTypeOf<RemoteProtocolError['code']>().toEqualTypeOf<RemoteErrorCode>();
    expectTypeOf<Extract<LocalErrorCode, RemoteErrorCode>>().toEqualTypeOf<never>();
    for (const code of [...Object.keys(LOCAL_CODES), ...Object.keys(REMOTE_CODES)]) {
      expect(code).to.match(/^ERR_[A-Z0-9_]+$/);
    }
  });
});
