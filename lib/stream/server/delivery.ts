/**
 * Delivering broadcast messages to many clients without letting a slow one grow the
 * server's memory. A client is behind when its `bufferedAmount` (bytes its transport has
 * not taken) is over `limit`; then the policy decides:
 *
 * - `'skip'` (the default): the message is not sent to it; it gets the next ones once it
 *   caught up. Right for state that the next message replaces (positions, prices).
 * - `'drop-oldest'`: the message waits in a queue of at most `queue` messages for that
 *   client, sent in order once its transport drains; when the queue is full its oldest
 *   message is dropped. Right for feeds where the latest matter most.
 * - `'close'`: the client is closed with `closeCode` (1013 Try Again Later, or 1008
 *   Policy Violation); it can reconnect and resynchronize. Right when every message
 *   matters and a gap is worse than a reconnect.
 *
 * Memory per client stays under about `limit` plus one message (plus `queue` messages
 * for 'drop-oldest'), whatever the client does.
 */
import { LocalProtocolError } from '../../errors';
import type { PreparedMessage } from '../../prepared-message';
import { kWhenDrained, type WebSocketDuplex } from '../websocket-duplex';

/** The slow-client policy of a `WebSocketServer` (see the top of delivery.ts). */
export interface SlowClientPolicy {
  /** A client with more than this many bytes not taken by its transport is behind. @defaultValue `1048576` (1 MiB) */
  limit?: number;
  /** What to do with a message for a client that is behind. @defaultValue `'skip'` */
  policy?: 'skip' | 'drop-oldest' | 'close';
  /** `'drop-oldest'`: how many messages may wait per client. @defaultValue `64` */
  queue?: number;
  /** `'close'`: the close code. @defaultValue `1013` */
  closeCode?: 1008 | 1013;
}

/** What happened to one message, counted over the clients it was for. */
export interface DeliveryCounts {
  /** Sent to the client's transport (or queued behind it, under the limit). */
  sent: number;
  /** Not sent: the client was behind (`'skip'`). */
  skipped: number;
  /** Waiting in the client's queue (`'drop-oldest'`). */
  queued: number;
  /** Older messages dropped from a full queue to make room (`'drop-oldest'`). */
  dropped: number;
  /** Clients closed for being behind (`'close'`). */
  closed: number;
}

/** Per-client delivery under one policy. */
export class Delivery {
  readonly #limit: number;
  readonly #policy: 'skip' | 'drop-oldest' | 'close';
  readonly #queueSize: number;
  readonly #closeCode: 1008 | 1013;
  readonly #queues = new Map<WebSocketDuplex, PreparedMessage[]>();
  readonly #waking = new Set<WebSocketDuplex>(); // a drain callback is registered (one at most)

  constructor(options: SlowClientPolicy = {}) {
    this.#limit = options.limit ?? 1024 * 1024;
    this.#policy = options.policy ?? 'skip';
    this.#queueSize = options.queue ?? 64;
    this.#closeCode = options.closeCode ?? 1013;
    if (!Number.isSafeInteger(this.#limit) || this.#limit < 0)
      invalid(`limit must be a byte count, got ${this.#limit}`);
    if (!['skip', 'drop-oldest', 'close'].includes(this.#policy)) invalid(`unknown policy ${String(this.#policy)}`);
    if (!Number.isSafeInteger(this.#queueSize) || this.#queueSize < 1)
      invalid(`queue must be at least 1, got ${this.#queueSize}`);
    if (this.#closeCode !== 1008 && this.#closeCode !== 1013)
      invalid(`closeCode must be 1008 or 1013, got ${String(this.#closeCode)}`);
  }

  /** Fresh counts. */
  static counts(): DeliveryCounts {
    return { sent: 0, skipped: 0, queued: 0, dropped: 0, closed: 0 };
  }

  /** Give `message` to `ws` under the policy; `counts` records what happened. */
  deliver(ws: WebSocketDuplex, message: PreparedMessage, counts: DeliveryCounts): void {
    if (!open(ws)) return;
    // What waits goes first (also when the transport drained under a send of the application's own).
    if (this.#queues.has(ws)) this.#drain(ws);
    const queue = this.#queues.get(ws);
    if (queue === undefined && ws.bufferedAmount <= this.#limit) {
      this.#send(ws, message);
      counts.sent++;
      return;
    }
    switch (this.#policy) {
      case 'skip':
        counts.skipped++;
        return;
      case 'close':
        ws.close(this.#closeCode, 'too slow to keep up with the messages for it');
        counts.closed++;
        return;
      case 'drop-oldest': {
        const waiting = queue ?? this.#startQueue(ws);
        if (waiting.length >= this.#queueSize) {
          waiting.shift();
          counts.dropped++;
        }
        waiting.push(message);
        counts.queued++;
      }
    }
  }

  /** Messages waiting for `ws` (`'drop-oldest'`). */
  waiting(ws: WebSocketDuplex): number {
    return this.#queues.get(ws)?.length ?? 0;
  }

  /** Forget `ws` (it closed): its queue goes. */
  forget(ws: WebSocketDuplex): void {
    this.#queues.delete(ws);
  }

  #send(ws: WebSocketDuplex, message: PreparedMessage): void {
    ws.send(message);
  }

  #startQueue(ws: WebSocketDuplex): PreparedMessage[] {
    const queue: PreparedMessage[] = [];
    this.#queues.set(ws, queue);
    this.#wake(ws);
    return queue;
  }

  /** Drain the queue of `ws` the next time its transport takes more (a turn later: the chunk it took is gone then). */
  #wake(ws: WebSocketDuplex): void {
    if (this.#waking.has(ws)) return;
    this.#waking.add(ws);
    ws[kWhenDrained]((error) => {
      this.#waking.delete(ws);
      if (error !== null && error !== undefined) this.forget(ws);
      else process.nextTick(() => this.#drain(ws));
    });
  }

  /** Send what waits for `ws` while it is under the limit; wait for the transport again if some is left. */
  #drain(ws: WebSocketDuplex): void {
    const queue = this.#queues.get(ws);
    if (queue === undefined) return;
    while (queue.length > 0 && open(ws) && ws.bufferedAmount <= this.#limit) this.#send(ws, queue.shift()!);
    if (queue.length === 0 || !open(ws)) this.#queues.delete(ws);
    else this.#wake(ws);
  }
}

/** True while `ws` may be sent messages. */
function open(ws: WebSocketDuplex): boolean {
  return ws.readyState === 1;
}

function invalid(message: string): never {
  throw new LocalProtocolError(`slowClient: ${message}`, 'ERR_INVALID_OPTION');
}
