/**
 * Close status codes and the rules for which of them may appear on the wire.
 *
 * RFC 6455 section 7.4.1 defines the codes; section 7.4.2 the ranges.
 */

/**
 * Close status codes (RFC 6455 section 7.4.1, plus the IANA-registered 1012-1014).
 */
export const CloseReason = {
  /** The purpose for which the connection was established has been fulfilled. */
  NORMAL_CLOSURE: 1000,
  /** An endpoint is going away (server shutdown, page navigation). */
  GOING_AWAY: 1001,
  /** An endpoint is terminating the connection due to a protocol error. */
  PROTOCOL_ERROR: 1002,
  /** An endpoint received a type of data it cannot accept. */
  UNSUPPORTED_DATA: 1003,
  /** Local only: the close frame carried no status code. Never sent on the wire. */
  NO_STATUS_RCVD: 1005,
  /** Local only: the connection was closed without a close frame. Never sent on the wire. */
  ABNORMAL_CLOSURE: 1006,
  /** A message's data was not consistent with its type (e.g. invalid UTF-8 in text). */
  INVALID_FRAME_PAYLOAD_DATA: 1007,
  /** A message violated the endpoint's policy. */
  POLICY_VIOLATION: 1008,
  /** A message was too big to process. */
  MESSAGE_TOO_BIG: 1009,
  /** The client expected the server to negotiate an extension it did not. */
  MANDATORY_EXT: 1010,
  /** The server hit an unexpected condition. */
  INTERNAL_ERROR: 1011,
  /** The service is restarting (IANA registry). */
  SERVICE_RESTART: 1012,
  /** Try again later (IANA registry). */
  TRY_AGAIN_LATER: 1013,
  /** A gateway received an invalid response (IANA registry). */
  BAD_GATEWAY: 1014,
  /** Local only: the TLS handshake failed. Never sent on the wire. */
  TLS_HANDSHAKE_FAILED: 1015,
} as const;

/** One of the named close codes. */
export type CloseReasonCode = (typeof CloseReason)[keyof typeof CloseReason];

// RFC 6455 7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close
// control frame by an endpoint".
const LOCAL_ONLY: ReadonlySet<number> = new Set([
  CloseReason.NO_STATUS_RCVD,
  CloseReason.ABNORMAL_CLOSURE,
  CloseReason.TLS_HANDSHAKE_FAILED,
]);

/** True for the codes that exist only locally (1005, 1006, 1015) and never go on the wire. */
export function isLocalOnlyCode(code: number): boolean {
  return LOCAL_ONLY.has(code);
}

/**
 * True when `code` may be carried by a close frame (RFC 6455 7.4.1 and 7.4.2):
 * 1000-1003, 1007-1014 (the defined and IANA-registered codes), and 3000-4999
 * (registered libraries and private use). Everything else, 0-999, 1004, the
 * local-only 1005/1006/1015, the unassigned 1016-2999, and 5000 and up, is refused.
 */
export function isValidWireCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && !LOCAL_ONLY.has(code);
}
