/**
 * The timers of a `WebSocketDuplex`: the opening handshake deadline, the close deadline
 * (the peer's answer and its end of the transport), and keepalive. All are unref'd, so
 * they never keep a process alive, and all go at once when the stream is destroyed.
 *
 * Keepalive and the close deadline judge liveness by what is received, never by what is
 * sent: a server that sends more often than `pingInterval` still notices a peer that went
 * silent. Receiving only records the time (no timer churn per chunk); the timer looks at
 * it when it fires.
 */
import type { ResolvedTimings } from './options';

// Whole milliseconds since the process started: a small integer for its first 24 days, so
// the field that keeps it is stored in the object, not as a boxed number per connection.
function clock(): number {
  return Math.floor(performance.now());
}

/** What the timers call back into. */
export interface TimerHooks {
  /** The opening handshake took too long. */
  handshakeTimedOut(): void;
  /** The close deadline passed. */
  closeTimedOut(): void;
  /** Nothing arrived for `pingInterval`: send a keepalive ping. */
  sendKeepalivePing(): void;
  /** Nothing arrived within `pongTimeout` of the keepalive ping. */
  pongTimedOut(): void;
}

/** One stream's timers. */
export class LifecycleTimers {
  readonly #timings: ResolvedTimings;
  readonly #hooks: TimerHooks;
  #handshake: NodeJS.Timeout | null = null;
  #close: NodeJS.Timeout | null = null;
  #keepalive: NodeJS.Timeout | null = null;
  #lastReceived = 0;

  constructor(timings: ResolvedTimings, hooks: TimerHooks) {
    this.#timings = timings;
    this.#hooks = hooks;
    this.#lastReceived = clock(); // made when a timer is armed: quiet since then
  }

  /** A deadline or the keepalive is armed (when none is, the engine drops this part). */
  get armed(): boolean {
    return this.#handshake !== null || this.#close !== null || this.#keepalive !== null;
  }

  /** Start the opening handshake deadline (0 disables it). */
  startHandshake(): void {
    const ms = this.#timings.handshakeTimeout;
    if (ms > 0) this.#handshake = this.#set(ms, () => this.#hooks.handshakeTimedOut());
  }

  /** The handshake completed: stop its deadline and start keepalive. */
  opened(): void {
    this.#cancel(this.#handshake);
    this.#handshake = null;
    this.#lastReceived = clock();
    if (this.#timings.pingInterval > 0) this.#idle(this.#timings.pingInterval);
  }

  /** Bytes arrived from the peer. */
  received(): void {
    // Only keepalive and the close deadline look at it (no clock read per chunk otherwise).
    if (this.#keepalive !== null || this.#close !== null) this.#lastReceived = clock();
  }

  /**
   * Arm the close deadline once (later calls keep the first deadline); keepalive stops.
   * Like keepalive, it judges the peer by what arrives: it passes once nothing has come
   * for `closeTimeout`. A peer still sending what it sent before it saw our close is
   * alive (its answer is queued behind that data); a silent one is dropped in time.
   */
  armClose(): void {
    if (this.#close !== null) return;
    this.#cancel(this.#keepalive);
    this.#keepalive = null;
    this.#awaitClose(this.#timings.closeTimeout);
  }

  /** Give the close deadline another `closeTimeout` (the wait is on our side, not the peer's). */
  postponeClose(): void {
    this.#cancel(this.#close);
    this.#close = this.#set(this.#timings.closeTimeout, () => this.#hooks.closeTimedOut());
  }

  /** Cancel every timer. */
  clear(): void {
    // Every live timer is in one of the three fields (each replaces its own).
    this.#cancel(this.#handshake);
    this.#cancel(this.#close);
    this.#cancel(this.#keepalive);
    this.#handshake = this.#close = this.#keepalive = null;
  }

  // Wait until nothing has arrived for closeTimeout, then give up on the peer.
  #awaitClose(ms: number): void {
    this.#close = this.#set(ms, () => {
      const quiet = clock() - this.#lastReceived;
      const limit = this.#timings.closeTimeout;
      if (quiet < limit) this.#awaitClose(Math.max(1, limit - quiet));
      else this.#hooks.closeTimedOut();
    });
  }

  // Wait until nothing has arrived for pingInterval, then ping.
  #idle(ms: number): void {
    this.#keepalive = this.#set(ms, () => {
      const quiet = clock() - this.#lastReceived;
      const interval = this.#timings.pingInterval;
      if (quiet < interval) {
        this.#idle(Math.max(1, interval - quiet));
        return;
      }
      const pingedAt = clock();
      // The deadline first, so that a hook which ends the stream (clear()) cancels it too.
      this.#keepalive = this.#set(this.#timings.pongTimeout, () => {
        if (this.#lastReceived >= pingedAt) this.#idle(interval);
        else this.#hooks.pongTimedOut();
      });
      this.#hooks.sendKeepalivePing();
    });
  }

  #set(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  }

  #cancel(t: NodeJS.Timeout | null): void {
    if (t !== null) clearTimeout(t);
  }
}
