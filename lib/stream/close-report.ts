/**
 * What a `WebSocketDuplex` reports in its one 'close' event, read from the core's closing
 * state plus what only the stream can see (a timeout, the transport's own error, why the
 * opening handshake did not complete). No state of its own.
 */
import { CloseReason } from '../close-codes';
import type { Connection } from '../connection';
import { RemoteProtocolError } from '../errors';

/** The arguments of the 'close' event. */
export type CloseReport = [code: number, reason: string, wasClean: boolean, cause: Error | null];

/**
 * The close code, reason, cleanness and cause.
 *
 * @param core the connection after the handshake, or null when it never completed.
 * @param cause what ended the stream outside the protocol, if anything.
 * @param handshakeEnd why the handshake did not complete ('' when unknown).
 */
export function closeReport(core: Connection | null, cause: Error | null, handshakeEnd: string): CloseReport {
  if (core === null) {
    const reason = handshakeEnd || cause?.message || 'the transport closed before the handshake completed';
    return [CloseReason.ABNORMAL_CLOSURE, reason, false, cause];
  }
  const failure = core.failure;
  // The peer broke the protocol: the code we failed the connection with, and why.
  if (failure !== null && failure.code !== 'ERR_ABNORMAL_CLOSURE')
    return [failure.closeCode, failure.message, false, failure];
  // RFC 6455 7.1.5: the close code is the one in the close frame received.
  const received = core.closeReceived;
  if (received !== null) return [received.code, received.reason, core.wasClean, core.wasClean ? null : cause];
  const lost =
    cause ??
    failure ??
    new RemoteProtocolError('the transport ended without a close frame', {
      code: 'ERR_ABNORMAL_CLOSURE',
      closeCode: CloseReason.ABNORMAL_CLOSURE,
    });
  return [CloseReason.ABNORMAL_CLOSURE, lost.message, false, lost];
}
