/**
 * `WebSocketError` (the WebSockets standard, "The WebSocketError interface"): the
 * `DOMException` that `WebSocketStream` rejects with, carrying a close code and reason;
 * also what a program gives `writer.abort()` or `reader.cancel()` to close with a code.
 * Its checks are the ones `WebSocketStream.close()` makes, with Chromium's messages.
 */

/** A close code and reason, as `WebSocketStream.close()` and `new WebSocketError()` take them. */
export interface WebSocketCloseInfo {
  /** 1000 or 3000–4999 (the codes a script may send). @defaultValue 1000 with a reason, else none (1005) */
  closeCode?: number;
  /** At most 123 bytes of UTF-8. @defaultValue `''` */
  reason?: string;
}

// The WebSockets standard, "close the WebSocket": a script may send 1000 or 3000–4999.
const NORMAL = 1000;
const FIRST_APPLICATION = 3000;
const LAST_APPLICATION = 4999;
// RFC 6455 5.5: a control frame's payload is at most 125 bytes, 2 of them the code.
const MAX_REASON_BYTES = 123;

/**
 * Check a close code and reason as a browser does: a code other than 1000 or 3000–4999
 * is an `InvalidAccessError`, a reason over 123 UTF-8 bytes a `SyntaxError`. A reason
 * without a code means 1000. Returns the code (null: none) and the reason.
 *
 * @param context the start of the message, e.g. `Failed to execute 'close' on 'WebSocketStream'`.
 */
export function checkCloseInfo(
  info: WebSocketCloseInfo,
  context: string,
): { closeCode: number | null; reason: string } {
  const reason = info.reason === undefined ? '' : String(info.reason);
  let closeCode: number | null = null;
  if (info.closeCode !== undefined) {
    closeCode = Number(info.closeCode);
    const valid = closeCode === NORMAL || (closeCode >= FIRST_APPLICATION && closeCode <= LAST_APPLICATION);
    if (!Number.isInteger(closeCode) || !valid) {
      throw new DOMException(
        `${context}: The close code must be either 1000, or between 3000 and 4999. ${closeCode} is neither.`,
        'InvalidAccessError',
      );
    }
  }
  if (Buffer.byteLength(reason, 'utf8') > MAX_REASON_BYTES) {
    throw new DOMException(`${context}: The close reason must not be greater than 123 UTF-8 bytes.`, 'SyntaxError');
  }
  if (closeCode === null && reason !== '') closeCode = NORMAL;
  return { closeCode, reason };
}

let make: (message: string, closeCode: number | null, reason: string, cause: unknown) => WebSocketError;

/**
 * A `DOMException` named `'WebSocketError'` with the close code and reason of a
 * WebSocket that failed or closed uncleanly (`closeCode` 1006 then, or null when the
 * handshake never completed). Give one to `writer.abort()` or `reader.cancel()` of a
 * `WebSocketStream` to close with its code and reason.
 *
 * @example
 * ```ts
 * await writer.abort(new WebSocketError('', { closeCode: 4000, reason: 'shutting down' }));
 * ```
 */
export class WebSocketError extends DOMException {
  #closeCode: number | null;
  #reason: string;

  /**
   * @param message the error's message. @defaultValue `''`
   * @param init the close code and reason, checked as `WebSocketStream.close()` checks them
   *   (`InvalidAccessError`, `SyntaxError`); a reason without a code means 1000.
   */
  constructor(message = '', init: WebSocketCloseInfo = {}) {
    const { closeCode, reason } = checkCloseInfo(init, "Failed to construct 'WebSocketError'");
    super(String(message), 'WebSocketError');
    this.#closeCode = closeCode;
    this.#reason = reason;
  }

  /** The close code, or null when there is none (the handshake did not complete). */
  get closeCode(): number | null {
    return this.#closeCode;
  }

  /** The close reason ('' when none). */
  get reason(): string {
    return this.#reason;
  }

  static {
    make = (message, closeCode, reason, cause) => {
      const error = new WebSocketError(message);
      error.#closeCode = closeCode;
      error.#reason = reason;
      if (cause !== undefined && cause !== null) {
        Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true });
      }
      return error;
    };
  }
}

/**
 * @internal A `WebSocketError` with any close code (1006 too, which the constructor
 * refuses) and the error that caused it as `cause` (a Node addition, for diagnosis).
 */
export function webSocketError(
  message: string,
  closeCode: number | null,
  reason = '',
  cause: unknown = undefined,
): WebSocketError {
  return make(message, closeCode, reason, cause);
}
