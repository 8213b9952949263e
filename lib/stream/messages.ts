/**
 * `ws.messages()`: whole messages as an async iterator, with backpressure.
 *
 * The stream owns one queue, made by the first `messages()` call. While an iterator is
 * attached, each whole message (from the message assembler, as for 'message'
 * listeners) goes to the queue; once it holds `highWaterMark` messages the stream stops
 * taking events from the core and holds the transport's write callback, so `pipe` stops
 * reading the socket and TCP pushes back on the peer. A pull below the mark resumes it.
 *
 * The iterator finishes after the last message once the WebSocket closes, cleanly or
 * not: it never throws for what the peer did ('close' says why). Leaving the loop early
 * (`break`, `return`, a throw in its body) starts the close handshake (1000), as
 * cancelling a WHATWG stream does, unless `closeOnReturn: false`: then messages already
 * queued stay for the next `messages()` call, and nothing new is queued until then.
 */
import { LocalProtocolError } from '../errors';
import type { BytesMessageEvent, TextMessageEvent } from '../events';
import { MessageAssembler } from './message-assembler';

/** A whole message from `ws.messages()`. */
export interface Message {
  /** A string for a text message, a Buffer for a binary one. */
  readonly data: string | Buffer;
  /** True for a binary message. */
  readonly isBinary: boolean;
}

/** Options of `ws.messages()`. */
export interface MessagesOptions {
  /**
   * How many whole messages may wait for the loop before the stream stops reading the
   * transport. Default: `appHighWaterMark` (16).
   */
  highWaterMark?: number;
  /** Leaving the loop early starts the close handshake (1000). Default true. */
  closeOnReturn?: boolean;
}

/** What the queue needs of its stream. */
export interface MessageQueueOwner {
  /** The loop took a message and the queue is below its mark (or detached): read on. */
  resume(): void;
  /** The loop was left early: close with 1000. */
  close(): void;
}

type Result = IteratorResult<Message, undefined>;
const DONE: Result = { done: true, value: undefined };

/** The stream's queue of whole messages and the iterator over it. */
export class MessageQueue {
  readonly #owner: MessageQueueOwner;
  readonly #defaultHighWaterMark: number;
  #highWaterMark = 0;
  // Made by iterate(): 'message' listeners alone need no queue.
  #queued: Message[] | null = null;
  #waiting: Array<(result: Result) => void> | null = null;
  #attached = false;
  #ended = false;
  readonly #assembler: MessageAssembler; // for the loop and for 'message' listeners

  /**
   * @internal Made by `WebSocketDuplex.messages()`. `assembler`: the one the 'message'
   * listeners used until now, with the message in progress (if any) in it.
   */
  constructor(owner: MessageQueueOwner, defaultHighWaterMark: number, assembler = new MessageAssembler()) {
    this.#owner = owner;
    this.#defaultHighWaterMark = defaultHighWaterMark;
    this.#assembler = assembler;
  }

  /** True while an iterator wants messages (the assembler then assembles them). */
  get wanted(): boolean {
    return this.#attached && !this.#ended;
  }

  /** True while the loop is behind: the stream holds its input. */
  get full(): boolean {
    return this.wanted && this.#queued!.length >= this.#highWaterMark;
  }

  /** Messages waiting for the loop. */
  get length(): number {
    return this.#queued?.length ?? 0;
  }

  /**
   * A piece of a message arrived. `listening`: a 'message' listener exists. Returns the
   * whole message (for the listeners) when this piece finished one that was assembled;
   * the loop, when attached, gets it too.
   */
  add(event: TextMessageEvent | BytesMessageEvent, listening: boolean): string | Buffer | null {
    const whole = this.#assembler.add(event, listening || this.wanted);
    if (whole !== null && this.wanted) this.#push({ data: whole, isBinary: event.type === 'bytes' });
    return whole;
  }

  #push(message: Message): void {
    const waiter = this.#waiting!.shift();
    if (waiter !== undefined) waiter({ done: false, value: message });
    else this.#queued!.push(message);
  }

  /** No more messages will come: the iterator finishes once the queued ones are taken. */
  end(): void {
    this.#ended = true;
    this.#finishWaiting();
  }

  #finishWaiting(): void {
    const waiting = this.#waiting;
    if (waiting === null || waiting.length === 0) return;
    this.#waiting = [];
    for (const waiter of waiting) waiter(DONE);
  }

  /** Attach an iterator (one at a time). */
  iterate(options: MessagesOptions = {}): AsyncIterableIterator<Message> {
    if (this.#attached) {
      throw new LocalProtocolError('another messages() iterator is still reading', 'ERR_INVALID_STATE');
    }
    const highWaterMark = options.highWaterMark ?? this.#defaultHighWaterMark;
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
      throw new LocalProtocolError('messages() highWaterMark must be a positive integer', 'ERR_INVALID_OPTION');
    }
    this.#attached = true;
    this.#highWaterMark = highWaterMark;
    const queued = (this.#queued ??= []);
    this.#waiting ??= [];
    let finished = false;
    const iterator: AsyncIterableIterator<Message> = {
      next: (): Promise<Result> => {
        if (finished) return Promise.resolve(DONE);
        const message = queued.shift();
        if (message !== undefined) {
          if (queued.length < this.#highWaterMark) this.#owner.resume();
          return Promise.resolve({ done: false, value: message });
        }
        if (this.#ended) {
          finished = true;
          this.#attached = false;
          return Promise.resolve(DONE);
        }
        this.#owner.resume();
        return new Promise<Result>((resolve) => this.#waiting!.push(resolve));
      },
      return: (): Promise<Result> => {
        if (!finished) {
          finished = true;
          this.#attached = false;
          this.#finishWaiting();
          if (options.closeOnReturn !== false) this.#owner.close();
          this.#owner.resume();
        }
        return Promise.resolve(DONE);
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}

/**
 * Where an engine's incoming message pieces go, made only when there is something to
 * keep: a message in pieces, a `messages()` loop, or the end of the messages. Pieces are
 * assembled for the 'message' listeners until `messages()` makes the queue, which then
 * takes over, with any message in progress. (Messages whole in one piece, for listeners
 * only, need no route: the engine hands them over itself.)
 */
export class MessageRoute {
  readonly #owner: MessageQueueOwner;
  readonly #highWaterMark: number;
  #queue: MessageQueue | null = null;
  #assembler: MessageAssembler | null = null; // until the queue takes it over
  #ended = false;

  /** `highWaterMark`: the queue's default, in messages. */
  constructor(owner: MessageQueueOwner, highWaterMark: number) {
    this.#owner = owner;
    this.#highWaterMark = highWaterMark;
  }

  /** The queue of whole messages for `messages()`, made on first use. */
  get queue(): MessageQueue {
    if (this.#queue === null) {
      this.#queue = new MessageQueue(this.#owner, this.#highWaterMark, this.#assembler ?? undefined);
      this.#assembler = null;
      if (this.#ended) this.#queue.end();
    }
    return this.#queue;
  }

  /** The `messages()` loop is behind (see `MessageQueue.full`). */
  get full(): boolean {
    return this.#queue !== null && this.#queue.full;
  }

  /** A piece of a message; the whole message for the listeners when it finished one (see `MessageQueue.add`). */
  add(event: TextMessageEvent | BytesMessageEvent, listening: boolean): string | Buffer | null {
    if (this.#queue !== null) return this.#queue.add(event, listening);
    return (this.#assembler ??= new MessageAssembler()).add(event, listening);
  }

  /** No more messages (a queue made later starts ended). */
  end(): void {
    this.#ended = true;
    this.#queue?.end();
  }
}
