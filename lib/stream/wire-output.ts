/**
 * Where a `WebSocketDuplex`'s wire bytes go: the Duplex's own readable side (a transport
 * the user pipes reads them there), or, once the library wired the transport itself
 * (socket-wiring.ts), the transport directly, with no Readable in between. The output queue
 * switches from the first to the second once (`OutQueue.writeTo`); everything that asks
 * where the output stands (backpressure, `bufferedAmount`, whether it was all taken)
 * asks the current one.
 */
import type { Duplex } from 'readable-stream';
import type { OutQueueSink } from './out-queue';

/** `TransportOutput.state`: the output ended (the transport was told to end). */
export const OUTPUT_ENDED = 1;

/** A transport the output can be written to directly (a socket, an HTTP/2 stream). */
export interface Transport {
  write(chunk: Buffer): boolean;
  cork?(): void;
  uncork?(): void;
  end(): unknown;
  readonly destroyed: boolean;
  readonly writableLength: number;
}

/** The output's end of the wire. */
export interface WireOutput extends OutQueueSink {
  /** No more output: EOF after what was pushed. */
  end(): void;
  /** True once the output ended and the transport took all of it. */
  readonly taken: boolean;
  /** Call back once `taken` (called after `end()`). */
  onceTaken(callback: () => void): void;
  /**
   * The stream closed: called just before its 'close' event (so before any listener of
   * the user's), by the stream itself rather than as a listener of its own.
   */
  closed(): void;
}

/** The Duplex's readable side: a pipe (or any reader) takes the bytes. */
export class ReadableOutput implements WireOutput {
  readonly #stream: Duplex;

  constructor(stream: Duplex) {
    this.#stream = stream;
  }

  push(chunk: Buffer): boolean {
    return this.#stream.push(chunk);
  }

  // One chunk per frame, as a reader of the Duplex has always got them (a pipe would write
  // a lone header as a write of its own).
  pushSplit(header: Buffer, payload: Buffer): boolean {
    return this.#stream.push(Buffer.concat([header, payload], header.length + payload.length));
  }

  get readableLength(): number {
    return this.#stream.readableLength;
  }

  get readableHighWaterMark(): number {
    return this.#stream.readableHighWaterMark;
  }

  end(): void {
    this.#stream.push(null);
  }

  get taken(): boolean {
    return this.#stream.readableEnded;
  }

  onceTaken(callback: () => void): void {
    this.#stream.once('end', callback);
  }

  /** Nothing to do: whoever pipes the stream watches it. */
  closed(): void {}

  /**
   * The output moves to `transport`: what is still on the readable side goes there first.
   * False when this output already ended (a deadline while connecting): it stays, and
   * `transport` only hears of the stream's close.
   */
  handOver(transport: WireOutput): boolean {
    const stream = this.#stream;
    if (stream.readableEnded) {
      stream.once('close', () => transport.closed());
      return false;
    }
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) {
      transport.push(chunk);
    }
    return true;
  }
}

/**
 * The transport itself: bytes are written to it at once; its own write buffer counts as
 * ours (behind at `highWaterMark`), and its 'drain' is the signal to go on. The wiring of
 * a socket (socket-wiring.ts) is one of these: one object per connection for both
 * directions.
 */
export class TransportOutput implements WireOutput {
  protected readonly transport: Transport;
  readonly readableHighWaterMark: number;
  /** State bits: `OUTPUT_ENDED`; a subclass keeps its own in the bits above (one field per connection). */
  protected state = 0;

  constructor(transport: Transport, highWaterMark: number) {
    this.transport = transport;
    this.readableHighWaterMark = highWaterMark;
  }

  push(chunk: Buffer): boolean {
    const transport = this.transport;
    if (!transport.destroyed) transport.write(chunk); // a gone transport: drained into the void
    return transport.writableLength < this.readableHighWaterMark;
  }

  // Corked, so that the header and its payload leave in one writev: no copy of the payload
  // and no segment of its own for the header (the socket has Nagle off).
  pushSplit(header: Buffer, payload: Buffer): boolean {
    const transport = this.transport;
    if (!transport.destroyed) {
      transport.cork?.();
      transport.write(header);
      transport.write(payload);
      transport.uncork?.();
    }
    return transport.writableLength < this.readableHighWaterMark;
  }

  get readableLength(): number {
    return this.transport.writableLength;
  }

  end(): void {
    this.state |= OUTPUT_ENDED;
    if (!this.transport.destroyed) this.transport.end();
  }

  /** Everything was handed to the transport when the output ended. */
  get taken(): boolean {
    return (this.state & OUTPUT_ENDED) !== 0;
  }

  onceTaken(callback: () => void): void {
    if ((this.state & OUTPUT_ENDED) !== 0) process.nextTick(callback);
  }

  /** Nothing to do here; the socket wiring (socket-wiring.ts) lets its socket go. */
  closed(): void {}
}
