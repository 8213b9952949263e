/**
 * `CloseRecord`: what a `Connection` knows of its close (the close frames sent and
 * received, why it failed, the 1006 event waiting to be handed out), and the code and
 * reason to report from them (RFC 6455 7.1.5 and 7.1.6). A connection makes its record
 * at the first step towards the close: an open connection holds none (a server holds
 * many idle connections).
 */
import type { RemoteProtocolError } from './errors';
import type { CloseConnectionEvent } from './events';

/** The close state of one connection; `Connection` writes it, its getters read it. */
export class CloseRecord {
  /** The close frame we sent, or null. */
  sent: CloseConnectionEvent | null = null;
  /** The close frame the peer sent, or null (a failure the core reported is not one). */
  received: CloseConnectionEvent | null = null;
  /** Why the connection failed (the first reason only), or null. */
  failure: RemoteProtocolError | null = null;
  /** The `CloseConnection` of a transport EOF (1006), until `nextEvent()` hands it out. */
  pending: CloseConnectionEvent | null = null;

  /**
   * The close code to report: the code we failed with (1002, 1007, 1009), 1006 when the
   * transport ended without the peer's close, else the peer's (1005 when it had none);
   * null before any of these.
   */
  get code(): number | null {
    if (this.#failureReported()) return this.failure!.closeCode;
    return this.received?.code ?? null;
  }

  /** The reason that goes with `code` ('' when none). */
  get reason(): string {
    if (this.#failureReported()) return this.failure!.message;
    return this.received?.reason ?? '';
  }

  /** True when both close frames passed and nothing failed. */
  get clean(): boolean {
    return this.sent !== null && this.received !== null && this.failure === null;
  }

  // An EOF after the peer's close frame does not replace that close as the one reported.
  #failureReported(): boolean {
    const failure = this.failure;
    return failure !== null && (failure.code !== 'ERR_ABNORMAL_CLOSURE' || this.received === null);
  }
}
