/**
 * The sending side of a `WebSocket` (websocket.ts): messages go out in the order of
 * `send()`, Blobs included (a Blob's bytes are read asynchronously, and what is sent after
 * it, the close frame too, waits for them), and `bufferedAmount` is counted as the
 * standard says.
 *
 * `bufferedAmount`: bytes sent in the current turn count whole (it never drops while the
 * code that sent them runs); bytes of earlier turns count while the transport still holds
 * them (the Duplex's `bufferedAmount`); bytes "sent" after the close started count for
 * good. A turn is one of the WebSocket's tasks (`nextTurn()`), or one scheduled when
 * `bufferedAmount` is read while bytes count, so that a reader polling it sees it drop (at
 * worst a task late); nothing is scheduled per `send()`.
 */
import { Blob } from 'node:buffer';
import type { WebSocketDuplex } from '../stream/websocket-duplex';

/** What `WebSocket.send()` takes (anything else is sent as its string). */
export type WebSocketData = string | ArrayBufferLike | ArrayBufferView | Blob;

type Payload = string | Uint8Array | Blob;

/** One WebSocket's outgoing messages and their count. */
export class Outbox {
  #duplex: WebSocketDuplex | null = null;
  #turn = 0;
  #sentTurn = 0; // the turn of #fresh
  #fresh = 0; // bytes sent in turn #sentTurn
  #older = 0; // bytes sent in earlier turns, perhaps still in the transport
  #turnAhead = false; // a turn is scheduled
  #afterClose = 0; // bytes "sent" after the close started (counted, never sent)
  #chain: Promise<void> | null = null; // sends waiting behind a Blob being read
  #chained = 0;

  /** The stream to send on (once the WebSocket is open). */
  attach(duplex: WebSocketDuplex): void {
    this.#duplex = duplex;
  }

  /** A task of the WebSocket began: what was sent before it counts only while the transport holds it. */
  nextTurn(): void {
    this.#turn++;
  }

  /** Send `data` in order (`open`), or only count it (the close started: it is never sent). */
  send(data: WebSocketData, open: boolean): void {
    const payload = toPayload(data);
    const size =
      typeof payload === 'string'
        ? Buffer.byteLength(payload)
        : payload instanceof Blob
          ? payload.size
          : payload.byteLength;
    if (!open) {
      this.#afterClose += size;
      return;
    }
    this.#roll();
    this.#fresh += size;
    if (this.#chain === null && !(payload instanceof Blob)) this.#write(payload);
    else if (payload instanceof Blob) this.#after(async () => this.#write(new Uint8Array(await payload.arrayBuffer())));
    else {
      const kept = typeof payload === 'string' ? payload : payload.slice(); // the bytes as they are now
      this.#after(() => this.#write(kept));
    }
  }

  /** Send the close frame after what waits for a Blob. */
  close(code: number, reason: string): void {
    if (this.#chain === null) this.#duplex?.close(code, reason);
    else this.#after(() => this.#duplex?.close(code, reason));
  }

  /** See the module comment. */
  get bufferedAmount(): number {
    this.#roll();
    const duplex = this.#duplex;
    if (this.#chain === null) {
      const held = duplex === null || duplex.destroyed ? 0 : duplex.bufferedAmount;
      this.#older = Math.min(this.#older, held);
    }
    if ((this.#fresh > 0 || this.#older > 0) && !this.#turnAhead) {
      this.#turnAhead = true;
      setImmediate(() => {
        this.#turnAhead = false;
        this.#turn++;
      });
    }
    return this.#fresh + this.#older + this.#afterClose;
  }

  #write(payload: string | Uint8Array): void {
    const duplex = this.#duplex;
    if (duplex === null || duplex.destroyed) return;
    duplex.send(payload, { binary: typeof payload !== 'string' });
  }

  /** Run `step` after the sends waiting behind a Blob (order is kept). */
  #after(step: () => void | Promise<void>): void {
    this.#chained++;
    this.#chain = (this.#chain ?? Promise.resolve())
      .then(step)
      .catch(() => this.#duplex?.terminate()) // a Blob that cannot be read: drop the connection
      .finally(() => {
        if (--this.#chained === 0) this.#chain = null;
      });
  }

  /** A new turn began since the last send: what was sent then is older now. */
  #roll(): void {
    if (this.#sentTurn === this.#turn) return;
    this.#older += this.#fresh;
    this.#fresh = 0;
    this.#sentTurn = this.#turn;
  }
}

/** The bytes or text `send()` was given (views of the caller's memory: copied only when they must wait). */
function toPayload(data: WebSocketData): Payload {
  if (typeof data === 'string') return data;
  if (data instanceof Blob) return data;
  if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return String(data);
}
