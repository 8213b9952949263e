/**
 * The flow state of a `WebSocketDuplex`: the callbacks it holds to make backpressure
 * work. The transport's write callback is held while the object face's reader is behind
 * (so `pipe` stops reading the socket); the callbacks of `send()` and of `ws.app` writers
 * are held while the transport is behind. Nothing here is protocol state.
 */
import { LocalProtocolError } from '../errors';

/** A write callback. */
export type Callback = (error?: Error | null) => void;

/**
 * Who is told that a chunk of input was taken: the Writable's write callback, or the
 * wiring of a transport (socket-wiring.ts), which is told by a method rather than a
 * closure (one object per connection, no function).
 */
export type InputTaken = Callback | { inputTaken(): void };

/** Tell `taken` that its chunk was taken. */
export function inputTaken(taken: InputTaken): void {
  if (typeof taken === 'function') taken();
  else taken.inputTaken();
}

/** What the flow asks of its stream. */
export interface FlowOwner {
  /** True while the reader of incoming events is behind. */
  mustHoldInput(): boolean;
}

/** Held callbacks, released when the reason to hold them is gone. */
export class Flow {
  readonly #owner: FlowOwner;
  #input: InputTaken | null = null;
  #writers: Callback[] | null = null; // made when a writer waits
  #moved = false; // input was taken since the last look (see behindButMoving)

  constructor(owner: FlowOwner) {
    this.#owner = owner;
  }

  /** The transport's write was processed: call back now, or hold it while the reader is behind. */
  input(taken: InputTaken): void {
    this.#moved = true;
    if (this.#owner.mustHoldInput()) this.#input = taken;
    else inputTaken(taken);
  }

  /** Nothing is held: no input, no writer (the engine may drop this part until one waits again). */
  get empty(): boolean {
    return this.#input === null && this.#writers === null;
  }

  /**
   * True when input is held now (the reader is behind) and yet moved since the last
   * call: the reader is slow, not stuck, so a deadline on the peer should wait for it.
   */
  behindButMoving(): boolean {
    const moved = this.#moved;
    this.#moved = false;
    return this.#input !== null && moved;
  }

  /** Hold the transport's write callback unconditionally (stop reading the transport). */
  holdInput(taken: InputTaken): void {
    this.#input = taken;
  }

  /** The reader wants more: release the held input once it is no longer behind. */
  releaseInput(): void {
    if (this.#input === null) return;
    // Readable calls _read before it removes the chunk it hands out: look once it has.
    process.nextTick(() => {
      const held = this.#input;
      if (held === null || this.#owner.mustHoldInput()) return;
      this.#input = null;
      inputTaken(held);
    });
  }

  /** A writer's data was queued while the transport is behind: call back when it drains. */
  holdWriter(callback: Callback): void {
    (this.#writers ??= []).push(callback);
  }

  /**
   * Call a sender back for what `transmit` said: at once when queued (`true`), with
   * `dropped()` when dropped (`null`), once the transport drains when it is behind.
   */

  /** The transport drained: release the writers. */
  releaseWriters(): void {
    const held = this.#writers;
    if (held === null) return;
    this.#writers = null;
    for (const cb of held) cb();
  }

  /** The stream is gone: release the input, fail the writers with `error`. */
  end(error: Error): void {
    const input = this.#input;
    this.#input = null;
    const writers = this.#writers;
    this.#writers = null;
    if (input !== null) inputTaken(input);
    if (writers !== null) for (const cb of writers) cb(error);
  }
}

/** The error of a send that was dropped (the close started, or the stream ended). */
/**
 * Call back a write's `callback` as its result says: `true` (the transport took it) on
 * the next tick, `false` (the transport is behind) once it takes more (`holdWriter`),
 * `null` (dropped) on the next tick with the `dropped()` error.
 */
export function settle(
  ok: boolean | null,
  callback: Callback,
  dropped: () => Error,
  writers: { holdWriter(callback: Callback): void },
): void {
  if (ok === null) process.nextTick(callback, dropped());
  else if (ok) process.nextTick(callback);
  else writers.holdWriter(callback);
}

export const dropped = (message: string) => new LocalProtocolError(message, 'ERR_INVALID_STATE');
