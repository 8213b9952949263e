/**
 * `ws.app`, the object-mode face of a `WebSocketDuplex` (see websocket-duplex.ts for the
 * data-flow picture). It only relays: events in, events out; the owner does the work.
 * Internal: the public type of `ws.app` is a plain Duplex.
 */
import { Duplex, type DuplexOptions } from 'readable-stream';
import { LocalProtocolError } from '../errors';
import { BytesMessageEvent, TextMessageEvent, type WSEvent } from '../events';

import type { Callback } from './flow';

/** What the face needs of its `WebSocketDuplex`. */
export interface AppFaceOwner {
  /** False before the handshake completed: writes wait in the face until `opened()`. */
  ready(): boolean;
  /**
   * Serialize and queue an event: true, false when the transport is behind, null when it
   * is dropped (the close handshake started, as a browser drops it). Throws for a
   * malformed event.
   */
  transmit(event: WSEvent): boolean | null;
  /** Call back once the transport drained. */
  holdWriter(callback: Callback): void;
  /** The face's reader wants more: release held input. */
  resumeFromApp(): void;
  /** Start the close handshake (the face's writable side ended). */
  close(): void;
}

/**
 * `ws.app`: the object-mode face. Its readable side yields the `WebSocketDuplex`'s
 * events; its writable side takes events to send, or strings (text) and Buffers
 * (binary) as shorthand. Ending it starts the close handshake (1000).
 */
export class AppFace extends Duplex {
  readonly #owner: AppFaceOwner;
  #ended = false;
  #early: Array<[WSEvent, Callback]> = []; // written before the handshake completed

  /** @internal Made by `WebSocketDuplex.app`. */
  constructor(owner: AppFaceOwner, highWaterMark: number) {
    super({ objectMode: true, highWaterMark, allowHalfOpen: true, emitClose: true } as DuplexOptions);
    this.#owner = owner;
  }

  // Set when the reader asked for more (Readable calls _read before it takes what is
  // buffered), cleared by the next push.
  #wanting = false;

  /** True when the reader is behind (the wire face holds its write callback). */
  get full(): boolean {
    return !this.#wanting && this.readableLength >= this.readableHighWaterMark;
  }

  /** @internal */
  deliver(event: WSEvent): void {
    this.#wanting = false;
    if (!this.#ended) this.push(event);
  }

  /** @internal */
  endReadable(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.push(null);
  }

  /** @internal */
  finish(error: Error | null): void {
    this.endReadable();
    const early = this.#early;
    this.#early = [];
    for (const [, callback] of early) callback(); // never sent: the handshake did not complete
    if (error !== null) this.destroy(error);
  }

  /**
   * @internal Call `done` once the reader has taken every event (at once when nobody
   * reads), or when it took nothing for `ms`: the stream's 'close' comes after the events
   * before it. A slow reader that still takes events is waited for (what is buffered here
   * is bounded: the high-water mark and one chunk's events), a stuck one is not.
   */
  afterDrained(done: () => void, ms: number): void {
    const reading = this.readableFlowing !== null || this.listenerCount('readable') > 0;
    if (this.readableEnded || this.readableLength === 0 || !reading) {
      process.nextTick(done);
      return;
    }
    let left = this.readableLength;
    const once = () => {
      clearTimeout(timer);
      this.off('end', once).off('close', once);
      done();
    };
    const look = () => {
      const now = this.readableLength;
      if (now === 0 || now >= left) return once();
      left = now; // the reader moved: give it another `ms`
      timer = setTimeout(look, ms);
      timer.unref();
    };
    let timer = setTimeout(look, ms);
    timer.unref();
    this.once('end', once).once('close', once);
  }

  /** @internal Duplex implementation: the reader wants more events. */
  override _read(): void {
    this.#wanting = true;
    this.#owner.resumeFromApp();
  }

  /** @internal Duplex implementation: an event, string or Buffer to send. */
  override _write(chunk: unknown, _encoding: string, callback: Callback): void {
    let event: WSEvent;
    if (typeof chunk === 'string') event = new TextMessageEvent({ data: chunk });
    else if (chunk instanceof Uint8Array) event = new BytesMessageEvent({ data: chunk });
    else if (chunk !== null && typeof chunk === 'object' && typeof (chunk as { type?: unknown }).type === 'string') {
      event = chunk as WSEvent;
    } else {
      callback(new LocalProtocolError('ws.app takes events, strings or Buffers', 'ERR_INVALID_EVENT'));
      return;
    }
    if (this.#early.length > 0 || !this.#owner.ready()) this.#early.push([event, callback]);
    else this.#send(event, callback);
  }

  /** @internal The handshake completed: send what was written before. */
  opened(): void {
    const early = this.#early;
    this.#early = [];
    for (const [event, callback] of early) this.#send(event, callback);
  }

  #send(event: WSEvent, callback: Callback): void {
    let ok: boolean | null;
    try {
      ok = this.#owner.transmit(event);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (ok === false) this.#owner.holdWriter(callback);
    else callback();
  }

  /** @internal Duplex implementation: the writer ended; close with 1000. */
  override _final(callback: Callback): void {
    this.#owner.close();
    callback();
  }
}
