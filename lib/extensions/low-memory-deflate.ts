/**
 * The compressor of `memory: 'low'` (RFC 7692 7.2.1): no zlib context per connection.
 *
 * A whole message is compressed by the process-wide context of its setting (one for
 * every connection), reset first. A message sent in several frames needs a context
 * across calls, so it gets one of its own from the pool for its duration.
 *
 * Context takeover without a context: unless no_context_takeover was agreed in our
 * direction, the peer's decompressor keeps the last 2^windowBits bytes it inflated
 * (RFC 7692 7.2.3.3 shows a message referring back into the previous one). We keep the
 * last `HISTORY_SIZE` bytes of what we compressed for this peer and run them through the
 * fresh context before the message, dropping that output: the message's matches may
 * then reach into those bytes, which the peer's window holds at the same distances. Our
 * window is no larger than the negotiated one (zlib keeps every distance under it), so
 * the peer can follow every match. Uncompressed messages never reach the peer's
 * decompressor, so they stay out of the history.
 */
import { endOfMessage } from './deflate-message';
import { Deflater, type DeflaterConfig } from './zlib-backend';

/**
 * Bytes of history kept per connection. On the bench's JSON corpus (bench/workloads/
 * deflate.ts) 1 KiB keeps the output within 7% of a 12-bit context with takeover; 512 B
 * gives 12%, 2 KiB 2% (at twice the CPU of priming 1 KiB).
 */
export const HISTORY_SIZE = 1024;

/** One connection's side of the shared compressor. */
export class LowMemoryDeflate {
  readonly #config: DeflaterConfig;
  readonly #takeover: boolean;
  #history: Buffer | null = null; // allocated at the first compressed message
  #historyLength = 0;
  #own: Deflater | null = null; // a context held across the frames of one message

  /** `takeover`: the peer keeps its window between messages (history is replayed). */
  constructor(config: DeflaterConfig, takeover: boolean) {
    this.#config = config;
    this.#takeover = takeover;
  }

  /**
   * Compress one frame of a message (`first`: its first frame, `fin`: its last). The
   * last frame's output is ended as RFC 7692 7.2.1 says; the others are sync-flushed.
   */
  deflate(data: Buffer, first: boolean, fin: boolean): Buffer {
    let deflater = this.#own;
    if (first || deflater === null) {
      this.#own?.release();
      deflater = new Deflater(this.#config, fin);
      deflater.restart(this.#recent());
      this.#own = fin ? null : deflater;
    }
    const out = deflater.deflate(data);
    this.#remember(data);
    if (!fin) return out;
    this.#own?.release();
    this.#own = null;
    return endOfMessage(out);
  }

  #recent(): Buffer | null {
    return this.#history === null ? null : this.#history.subarray(0, this.#historyLength);
  }

  #remember(data: Buffer): void {
    if (!this.#takeover || data.length === 0) return;
    const history = (this.#history ??= Buffer.allocUnsafeSlow(HISTORY_SIZE));
    if (data.length >= HISTORY_SIZE) {
      data.copy(history, 0, data.length - HISTORY_SIZE);
      this.#historyLength = HISTORY_SIZE;
      return;
    }
    // Keep the newest bytes: drop from the front what no longer fits.
    const keep = Math.min(this.#historyLength, HISTORY_SIZE - data.length);
    history.copy(history, 0, this.#historyLength - keep, this.#historyLength);
    data.copy(history, keep);
    this.#historyLength = keep + data.length;
  }

  /** Free what this connection holds (the shared context stays for the others). */
  release(): void {
    this.#own?.release();
    this.#own = null;
    this.#history = null;
    this.#historyLength = 0;
  }
}
