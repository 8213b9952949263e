/**
 * The two error types of the library (h11's split):
 *
 * - `LocalProtocolError`: the caller misused the API (sent an event the state does not
 *   allow, a ping payload over 125 bytes, a header with CR/LF ...). Thrown by `send()`
 *   and by constructors; never caused by the peer.
 * - `RemoteProtocolError`: the peer broke the protocol. Thrown by `receiveData()` only
 *   during the opening handshake (with `eventHint`, the rejection to send back); after
 *   the handshake a framing violation becomes a `CloseConnection` event instead.
 */

import type { RejectConnectionEvent } from './events';

/** Stable machine-readable codes carried by `LocalProtocolError.code`. */
export type LocalErrorCode =
  | 'ERR_INVALID_STATE'
  | 'ERR_INVALID_EVENT'
  | 'ERR_CONTROL_PAYLOAD_TOO_BIG'
  | 'ERR_INVALID_CLOSE_CODE'
  | 'ERR_MESSAGE_TYPE_MISMATCH'
  | 'ERR_INVALID_HEADER'
  | 'ERR_INVALID_SUBPROTOCOL'
  | 'ERR_INVALID_EXTENSION'
  | 'ERR_INVALID_OPTION'
  | 'ERR_INVALID_URL';

/** Stable machine-readable codes carried by `RemoteProtocolError.code`. */
export type RemoteErrorCode =
  | 'ERR_PROTOCOL'
  | 'ERR_HEAD_TOO_LARGE'
  | 'ERR_TOO_MANY_HEADERS'
  | 'ERR_BAD_HTTP'
  | 'ERR_BAD_HANDSHAKE'
  | 'ERR_UNSUPPORTED_VERSION'
  | 'ERR_BAD_EXTENSION'
  | 'ERR_BODY_TOO_LARGE'
  // After the handshake: framing violations (RFC 6455 5 and 7, RFC 7692 6), on the
  // failure's `CloseConnection` as `errorCode` and on `Connection.failure`.
  | 'ERR_RESERVED_OPCODE'
  | 'ERR_RESERVED_BITS'
  | 'ERR_MASK_EXPECTED'
  | 'ERR_UNEXPECTED_MASK'
  | 'ERR_NON_MINIMAL_LENGTH'
  | 'ERR_LENGTH_TOP_BIT'
  | 'ERR_CONTROL_FRAGMENTED'
  | 'ERR_CONTROL_TOO_LONG'
  | 'ERR_UNEXPECTED_CONTINUATION'
  | 'ERR_EXPECTED_CONTINUATION'
  | 'ERR_BAD_CLOSE_FRAME'
  | 'ERR_BAD_CLOSE_CODE'
  | 'ERR_INVALID_UTF8'
  | 'ERR_BAD_COMPRESSED_DATA'
  | 'ERR_FRAME_TOO_BIG'
  | 'ERR_MESSAGE_TOO_BIG'
  // The transport, as the core and the stream see it.
  | 'ERR_ABNORMAL_CLOSURE'
  | 'ERR_CLOSE_TIMEOUT'
  | 'ERR_PONG_TIMEOUT'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_TRANSPORT'
  // HTTP/2 (RFC 8441): the stream was reset, or the session went away.
  | 'ERR_HTTP2_STREAM_RESET'
  | 'ERR_HTTP2_GOAWAY';

/** The caller used the API in a way the protocol or the current state does not allow. */
export class LocalProtocolError extends Error {
  /** A stable code for programs to test (see the README's error list). */
  readonly code: LocalErrorCode;

  /**
   * Make the error.
   *
   * @param message what was wrong, for people.
   * @param code the stable code for programs (default `ERR_INVALID_STATE`).
   */
  constructor(message: string, code: LocalErrorCode = 'ERR_INVALID_STATE') {
    super(message);
    this.name = 'LocalProtocolError';
    this.code = code;
  }
}

/** Options of a `RemoteProtocolError`. */
export interface RemoteProtocolErrorOptions {
  /** The event to send back to the peer: a `RejectConnection` with the fitting status. */
  eventHint?: RejectConnectionEvent | undefined;
  /** The close code to answer with when the failure happens after the handshake. */
  closeCode?: number;
  /** A stable code for programs to test. */
  code?: RemoteErrorCode;
}

/** The peer broke the protocol. */
export class RemoteProtocolError extends Error {
  /** A stable code for programs to test (see the README's error list). */
  readonly code: RemoteErrorCode;
  /**
   * What to send back: during the handshake a `RejectConnection` (server) with the
   * HTTP status that fits the failure. Undefined when there is nothing to send.
   */
  readonly eventHint: RejectConnectionEvent | undefined;
  /** The close code that fits the failure (1002 protocol error, 1007, 1009 ...). */
  readonly closeCode: number;

  /**
   * Make the error.
   *
   * @param message what was wrong, for people.
   * @param options the stable code (default `ERR_PROTOCOL`), the event to send back, and
   *   the close code (default 1002).
   */
  constructor(message: string, options: RemoteProtocolErrorOptions = {}) {
    super(message);
    this.name = 'RemoteProtocolError';
    this.code = options.code ?? 'ERR_PROTOCOL';
    this.eventHint = options.eventHint;
    this.closeCode = options.closeCode ?? 1002;
  }
}
