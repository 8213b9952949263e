/**
 * The wire output of a `WebSocketDuplex`: frames on their way to the transport, and where
 * they go (the current `WireOutput`: the Duplex's readable side, then, once the library
 * wired the transport, the transport itself; see wire-output.ts).
 *
 * Small frames produced in one tick are coalesced into one chunk, so a burst of small
 * sends costs one transport write instead of one per frame. Pongs the core makes while
 * the transport is behind wait in a single slot, where a newer one replaces an older one
 * (RFC 6455 5.5.3: an endpoint MAY answer only the most recent ping), so a peer that
 * floods pings and never reads cannot grow our memory.
 */

import type { SplitFrame } from '../frame/encoder';
import { ReadableOutput, TransportOutput, type WireOutput } from './wire-output';

// Frames smaller than this are coalesced within a tick.
const COALESCE_MAX = 16 * 1024;

// Flags of one field (see OutQueue.#flags).
const FLUSH_SCHEDULED = 1;
const CLOSED = 2;
const BATCH = 4; // one level of beginBatch(): the depth is #flags / BATCH

/** What the queue needs of its Duplex. */
export interface OutQueueSink {
  /** Push a chunk onto the readable side; false when it is at its high-water mark. */
  push(chunk: Buffer): boolean;
  /** Push a frame's header and then its payload (a `SplitFrame`), like `push`. */
  pushSplit(header: Buffer, payload: Buffer): boolean;
  /** Bytes in the readable side's buffer. */
  readonly readableLength: number;
  /** The readable side's high-water mark. */
  readonly readableHighWaterMark: number;
}

/** Coalescing output queue with a one-pong slot. */
export class OutQueue {
  #sink: WireOutput;
  #small: Buffer[] | null = null; // made when a small frame waits (an idle connection has none)
  #smallBytes = 0;
  #flags = 0; // FLUSH_SCHEDULED, CLOSED, and the batch depth in the bits above (BATCH)
  #pong: Buffer | null = null;

  /** `sink`: where the output goes first. */
  constructor(sink: WireOutput) {
    this.#sink = sink;
  }

  /** Where the output goes now (see wire-output.ts): whether it ended, was taken, closed. */
  get output(): WireOutput {
    return this.#sink;
  }

  /** Bytes produced and not yet taken by the transport: the output's, and those waiting here. */
  get bufferedAmount(): number {
    return this.#sink.readableLength + this.pending;
  }

  /**
   * Write straight to `transport` from now on (what waits here and on the readable side
   * goes first): the library wired the transport itself, so no one else reads the
   * Duplex's readable side. Once only; an output that already ended stays where it is.
   */
  writeTo(transport: TransportOutput): void {
    const current = this.#sink;
    if (!(current instanceof ReadableOutput)) return;
    this.flush(); // nothing when the output ended: the queue closed with it
    if (current.handOver(transport)) this.#sink = transport;
  }

  /** Bytes produced and not yet pushed to the readable side. */
  get pending(): number {
    return this.#smallBytes + (this.#pong?.length ?? 0);
  }

  /** True when the transport is behind: the readable side holds a high-water mark or more. */
  get full(): boolean {
    return this.#sink.readableLength + this.#smallBytes >= this.#sink.readableHighWaterMark;
  }

  /** Queue a frame; false when the transport is behind. */
  write(bytes: Buffer): boolean {
    if ((this.#flags & CLOSED) !== 0) return false;
    if (bytes.length >= COALESCE_MAX) {
      this.flush();
      return this.#sink.push(bytes);
    }
    (this.#small ??= []).push(bytes);
    this.#smallBytes += bytes.length;
    if (this.#smallBytes >= COALESCE_MAX) return this.flush();
    // Inside a batch, small frames wait for its end rather than the tick's.
    if ((this.#flags & FLUSH_SCHEDULED) === 0 && this.#flags < BATCH) {
      this.#flags |= FLUSH_SCHEDULED;
      scheduleFlush(this);
    }
    return !this.full;
  }

  /** Queue a frame that may come as its header and payload apart (`Connection.sendSplit`). */
  writeFrame(frame: Buffer | SplitFrame): boolean {
    if (Buffer.isBuffer(frame)) return this.write(frame);
    if ((this.#flags & CLOSED) !== 0) return false;
    this.flush();
    return this.#sink.pushSplit(frame[0], frame[1]);
  }

  /**
   * Frames written until `endBatch()` go out together at its end (the stream batches what
   * it writes while it hands out the events of one input chunk: an echo's reply leaves at
   * once, without waiting for the end of the tick).
   */
  beginBatch(): void {
    this.#flags += BATCH;
  }

  /** End a batch: flush what it queued. */
  endBatch(): void {
    this.#flags -= BATCH;
    if (this.#flags < BATCH && this.#smallBytes > 0) this.flush();
  }

  /** @internal The scheduled flush of this tick (see `scheduleFlush`). */
  flushScheduled(): void {
    this.#flags &= ~FLUSH_SCHEDULED;
    this.flush();
  }

  /** Queue an automatic pong: at once when the transport keeps up, else in the one slot. */
  writePong(bytes: Buffer): void {
    if ((this.#flags & CLOSED) !== 0) return;
    if (this.full) this.#pong = bytes;
    else this.write(bytes);
  }

  /** Push what is queued (the waiting pong first: it answers a ping that came earlier). */
  flush(): boolean {
    if ((this.#flags & CLOSED) !== 0) return false;
    if (this.#pong !== null) {
      const pong = this.#pong;
      this.#pong = null;
      (this.#small ??= []).unshift(pong);
      this.#smallBytes += pong.length;
    }
    const small = this.#small;
    if (small === null || small.length === 0) return !this.full;
    const chunk = small.length === 1 ? small[0]! : Buffer.concat(small, this.#smallBytes);
    this.#small = null;
    this.#smallBytes = 0;
    return this.#sink.push(chunk);
  }

  /** Flush, then refuse anything more (the wire output is ending or gone). */
  close(flush: boolean): void {
    if (flush) this.flush();
    this.#flags |= CLOSED;
    this.#small = null;
    this.#smallBytes = 0;
    this.#pong = null;
  }
}

// One tick-end flush for every queue that has small frames waiting: a broadcast to many
// connections schedules one callback, not one per connection.
let waiting: OutQueue[] = [];
let spare: OutQueue[] = []; // the other list, reused (no allocation per tick)

function scheduleFlush(queue: OutQueue): void {
  if (waiting.push(queue) === 1) process.nextTick(flushWaiting);
}

function flushWaiting(): void {
  // Queues scheduled while these flush (a flush can make a stream emit) wait for the next turn.
  const queues = waiting;
  waiting = spare;
  for (let i = 0; i < queues.length; i++) queues[i]!.flushScheduled();
  queues.length = 0;
  spare = queues;
}
