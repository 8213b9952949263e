/**
 * Line gathering for the HTTP/1.1 readers (the head parser, and the chunk-size and
 * trailer lines of the body reader).
 *
 * Theory of operation: each line is cut out of the input as soon as its LF is seen, so
 * no byte is scanned twice however the input is chunked. A line that lies within one
 * chunk is handed out as a view of it; a line split across chunks is gathered in one
 * scratch buffer that grows by doubling, never beyond the reader's cap. The caller
 * says how many more bytes it will take (`room`) before anything is kept, so a peer can
 * never make a reader hold more than its bound.
 */
import { LF } from './abnf';

const EMPTY = Buffer.alloc(0);

/** @internal What `LineReader.read` found. */
export type LineResult =
  /** A whole line without its LF (the CR, if any, is still there), and the index after the LF. */
  | { line: Buffer; next: number }
  /** The chunk ended inside the line; its bytes are kept. */
  | 'more'
  /** `room` bytes went by without an LF; nothing more was kept. */
  | 'overflow';

/**
 * @internal Gathers LF-terminated lines from a sequence of chunks. A line that lies
 * within one chunk is returned as a view of it; a split line is copied into a scratch
 * buffer that grows by doubling, and is valid until the next `read`.
 */
export class LineReader {
  #buf: Buffer = EMPTY;
  #len = 0;
  readonly #cap: number;

  /** `cap`: the most bytes a line may have (the scratch buffer never grows beyond it). */
  constructor(cap: number) {
    this.#cap = cap;
  }

  /** Bytes of an unfinished line held. */
  get buffered(): number {
    return this.#len;
  }

  /** Reads from `chunk[pos]` on, taking at most `room` more bytes (LF included) for this line. */
  read(chunk: Buffer, pos: number, room: number): LineResult {
    const limit = Math.min(chunk.length, pos + Math.max(0, room));
    const lf = chunk.subarray(pos, limit).indexOf(LF);
    if (lf === -1) {
      if (limit < chunk.length) return 'overflow';
      this.#append(chunk, pos, chunk.length);
      return 'more';
    }
    const end = pos + lf;
    if (this.#len === 0) return { line: chunk.subarray(pos, end), next: end + 1 };
    this.#append(chunk, pos, end);
    const line = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    return { line, next: end + 1 };
  }

  #append(src: Buffer, start: number, end: number): void {
    const need = this.#len + (end - start);
    if (need > this.#buf.length) {
      const size = Math.min(Math.max(need, this.#buf.length * 2, 256), Math.max(need, this.#cap));
      const grown = Buffer.allocUnsafe(size);
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    src.copy(this.#buf, this.#len, start, end);
    this.#len = need;
  }
}
