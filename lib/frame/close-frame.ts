/**
 * The close frame body (RFC 6455 5.5.1 and 7.4): an optional 2-byte status code, then an
 * optional UTF-8 reason, 125 bytes in all.
 */
import { CloseReason, isLocalOnlyCode, isValidWireCode } from '../close-codes';
import { LocalProtocolError } from '../errors';
import { CloseConnectionEvent } from '../events';
import { MAX_CONTROL_PAYLOAD } from './opcode';
import { protocolError } from './reader';
import { Utf8Decoder } from './utf8';

const EMPTY = Buffer.alloc(0);
const textEncoder = new TextEncoder();

/**
 * RFC 6455 5.5.1 and 7.4: parse a close frame body. Empty means 1005; one byte, an
 * invalid code or an invalid UTF-8 reason fail the connection (`RemoteProtocolError`).
 */
export function parseClose(payload: Buffer): CloseConnectionEvent {
  if (payload.length === 0) {
    // RFC 6455 7.1.5: "If this Close control frame contains no status code, _The
    // WebSocket Connection Close Code_ is considered to be 1005."
    return new CloseConnectionEvent({ code: CloseReason.NO_STATUS_RCVD });
  }
  if (payload.length === 1) protocolError('ERR_BAD_CLOSE_FRAME', 'close frame with a 1-byte body');
  const code = payload.readUInt16BE(0);
  if (!isValidWireCode(code)) protocolError('ERR_BAD_CLOSE_CODE', `close frame with invalid code ${code}`);
  const reasonBytes = payload.subarray(2);
  const reason = new Utf8Decoder().decode(reasonBytes, true);
  if (reason === null) protocolError('ERR_INVALID_UTF8', 'close reason is not valid UTF-8', 1007);
  return new CloseConnectionEvent({ code, reason });
}

/**
 * The body of a close frame to send. 1005 (no status) is an empty body; a reason is
 * truncated to fit 125 bytes on a code point boundary. Throws `LocalProtocolError` for
 * a code that may not go on the wire, or a reason without a code.
 */
export function closeBody(code: number, reason: string): Buffer {
  if (code === CloseReason.NO_STATUS_RCVD) {
    if (reason !== '') {
      throw new LocalProtocolError('a close reason needs a status code', 'ERR_INVALID_CLOSE_CODE');
    }
    return EMPTY;
  }
  if (isLocalOnlyCode(code) || !isValidWireCode(code)) {
    throw new LocalProtocolError(`close code ${code} may not be sent (RFC 6455 7.4)`, 'ERR_INVALID_CLOSE_CODE');
  }
  const body = Buffer.allocUnsafe(MAX_CONTROL_PAYLOAD);
  body.writeUInt16BE(code, 0);
  // encodeInto writes whole code points only, so truncation never splits one.
  const length = reason === '' ? 2 : 2 + textEncoder.encodeInto(reason, body.subarray(2)).written;
  return body.subarray(0, length);
}
