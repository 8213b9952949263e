/**
 * How a `WebSocketDuplex` ends (see websocket-duplex.ts for the data-flow picture), the
 * counterpart of opening.ts: our output ends when the core says so (or a handshake
 * fails), the stream is destroyed once both sides of the transport ended, and a deadline
 * that passes, or a transport that fails, drops it at once. It keeps the end state the
 * stream consults: whether each side ended, and what ended the stream outside the
 * protocol (the cause the 'close' event reports). The core (`WSConnection`) owns the
 * close handshake itself; this only applies what it says.
 */
import { CloseReason } from '../close-codes';
import type { Connection } from '../connection';
import { RemoteProtocolError } from '../errors';

/** What the ending needs of its stream. */
export interface EndingOwner {
  /** End the output: EOF after the queued bytes, the readers' faces end, held input is released. */
  endOutput(): void;
  /** Call back once the transport took all of our output (the stream's 'end'). */
  onceOutputTaken(callback: () => void): void;
  /** True once the transport took all of our output. */
  outputTaken(): boolean;
  /** The core's connection: null until the opening handshake completed. */
  core(): Pick<Connection, 'closeExpected' | 'shouldEndTransport' | 'closeReceived' | 'failure'> | null;
  /** True while our own reader is behind but still taking events (see `Flow.behindButMoving`). */
  readerBehindButMoving(): boolean;
  /** Bytes of our output the transport has not taken yet (`bufferedAmount`). */
  outputPending(): number;
  /**
   * The close deadline (`LifecycleTimers`): `armClose` arms it once (later calls keep the
   * first deadline), `postponeClose` gives it another `closeTimeout`.
   */
  readonly timers: { armClose(): void; postponeClose(): void };
  /** True once the stream is destroyed. */
  isDestroyed(): boolean;
  /** Destroy the stream. */
  destroy(): void;
}

/** The stream's end: both sides of the transport, the deadlines, and the cause. */
export class Ending {
  readonly #owner: EndingOwner;
  #wireEnded = false; // our output ended
  #peerEnded = false; // the transport's input ended
  #cause: Error | null = null; // what ended the stream outside the protocol: timeouts, the transport
  #pendingAtLastLook = -1; // outputPending() when the close deadline last looked (-1: not yet)

  constructor(owner: EndingOwner) {
    this.#owner = owner;
  }

  // The deadlines (TimerHooks): each drops the transport (close 1006, the timeout as the cause).

  /** The opening handshake took too long. */
  handshakeTimedOut(): void {
    this.#expire('ERR_HANDSHAKE_TIMEOUT', 'the opening handshake timed out');
  }

  /** The close deadline passed (unless the peer or our reader is still moving). */
  closeTimedOut(): void {
    this.#expire('ERR_CLOSE_TIMEOUT', 'the peer did not answer the close within closeTimeout');
  }

  /** Nothing arrived within `pongTimeout` of a keepalive ping. */
  pongTimedOut(): void {
    this.#expire('ERR_PONG_TIMEOUT', 'nothing arrived within pongTimeout of a keepalive ping');
  }

  /** True once our output ended. */
  get wireEnded(): boolean {
    return this.#wireEnded;
  }

  /** True once the stream sends nothing more: our output ended, or the stream was destroyed. */
  get outputOver(): boolean {
    return this.#owner.isDestroyed() || this.#wireEnded;
  }

  /** True once the transport's input ended. */
  get peerEnded(): boolean {
    return this.#peerEnded;
  }

  /** What ended the stream outside the protocol, or null. */
  get cause(): Error | null {
    return this.#cause;
  }

  /** Record what ended the stream (the first cause wins). */
  noteCause(error: Error): void {
    this.#cause ??= error;
  }

  /**
   * The transport's input ended: `takeEof` gives the core its EOF (with `peerEnded` already
   * true); then our output ends too if the handshake never completed, and the stream is
   * destroyed once both sides are done.
   */
  peerEnd(takeEof: () => void): void {
    this.#peerEnded = true;
    takeEof();
    if (this.#owner.core() === null) this.endWire(); // EOF during the handshake
    this.#destroyWhenDone();
  }

  /** The transport failed or closed under us: drop it (the failure, if any, as the cause). */
  abort(cause: Error | null): void {
    if (this.#owner.isDestroyed()) return;
    if (cause !== null) this.#cause ??= cause;
    this.#owner.destroy();
  }

  /** Apply what the core says about closing. */
  followCore(): void {
    const core = this.#owner.core();
    if (core === null || this.#owner.isDestroyed()) return;
    if (core.closeExpected()) this.#owner.timers.armClose();
    if (core.shouldEndTransport()) this.endWire();
  }

  /** End our output (the transport gets EOF once it took every byte); destroy when both sides ended. */
  endWire(): void {
    if (this.#wireEnded) return;
    this.#wireEnded = true;
    this.#owner.endOutput();
    this.#owner.timers.armClose();
    // Destroying before the peer's EOF would make a socket with unread input send RST,
    // which can discard our close frame at the peer: linger until its EOF (bounded).
    this.#owner.onceOutputTaken(() => this.#destroyWhenDone());
    this.#destroyWhenDone();
  }

  /** True when some of our output still waits for the transport, and less than at the last look. */
  #outputMoving(): boolean {
    const pending = this.#owner.outputPending();
    const moving = pending > 0 && (this.#pendingAtLastLook < 0 || pending < this.#pendingAtLastLook);
    this.#pendingAtLastLook = pending;
    return moving;
  }

  /** Destroy the stream if both sides ended and the transport took all of our output. */
  #destroyWhenDone(): void {
    // A refused handshake is done once the response is out (what the client sends more
    // is not read); a WebSocket once the peer ended its side too.
    const peerDone = this.#peerEnded || this.#owner.core() === null;
    if (this.#wireEnded && peerDone && this.#owner.outputTaken()) this.#owner.destroy();
  }

  /** A deadline passed: drop the transport (close 1006, the timeout as the cause). */
  #expire(code: 'ERR_HANDSHAKE_TIMEOUT' | 'ERR_CLOSE_TIMEOUT' | 'ERR_PONG_TIMEOUT', message: string): void {
    // Our own slow reader, still taking what the peer sent before its close, is not the
    // peer's lateness; nor is a peer still reading (slowly) the output queued before our
    // close. A peer that takes nothing at all is dropped.
    if (code === 'ERR_CLOSE_TIMEOUT' && (this.#owner.readerBehindButMoving() || this.#outputMoving())) {
      return this.#owner.timers.postponeClose();
    }
    const core = this.#owner.core();
    // After a completed close handshake the peer was only slow to end the transport.
    const settled = code === 'ERR_CLOSE_TIMEOUT' && core !== null && (core.closeReceived ?? core.failure) !== null;
    if (!settled) this.#cause ??= new RemoteProtocolError(message, { code, closeCode: CloseReason.ABNORMAL_CLOSURE });
    this.#owner.destroy();
  }
}
