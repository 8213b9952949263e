/**
 * Whole messages for the 'message' event, from the core's streamed pieces.
 *
 * A message is assembled only when a 'message' listener existed at its first piece; a
 * listener added in the middle of a message first sees the next whole message, never a
 * tail passed off as a message, and nothing of one message leaks into the next. The
 * core bounds each message by `maxMessageSize`, so the pieces kept here are bounded too.
 */
import type { BytesMessageEvent, TextMessageEvent } from '../events';

/** A piece of a message, as the core hands them out. */
export type MessagePiece = TextMessageEvent | BytesMessageEvent;

/** Collects the pieces of one message at a time. */
export class MessageAssembler {
  // null: no message in progress; 'skip': the current message is not being assembled.
  #current: string[] | Buffer[] | 'skip' | null = null;

  /**
   * Take one piece. `wanted` says whether anyone listens now (only looked at on the first
   * piece of a message). Returns the whole message when this piece finishes it and it
   * was assembled, else null.
   */
  add(event: TextMessageEvent | BytesMessageEvent, wanted: boolean): string | Buffer | null {
    if (this.#current === null) {
      // A whole message in one piece (the common case): nothing to keep.
      if (event.messageFinished) return wanted ? event.data : null;
      this.#current = wanted ? [] : 'skip';
    }
    const current = this.#current;
    if (event.messageFinished) this.#current = null;
    if (current === 'skip') return null;
    if (event.type === 'text') {
      const pieces = current as string[];
      if (!event.messageFinished) {
        pieces.push(event.data);
        return null;
      }
      return pieces.length === 0 ? event.data : pieces.join('') + event.data;
    }
    const pieces = current as Buffer[];
    if (!event.messageFinished) {
      pieces.push(event.data);
      return null;
    }
    if (pieces.length === 0) return event.data;
    pieces.push(event.data);
    return joinPieces(pieces);
  }

  /** Bytes or UTF-16 units held for the message in progress (for tests and bounds). */
  get held(): number {
    const current = this.#current;
    if (current === null || current === 'skip') return 0;
    let n = 0;
    for (const piece of current) n += piece.length;
    return n;
  }
}

/**
 * The pieces of a message as one Buffer: a view over them when they lie next to each
 * other in one ArrayBuffer (reads into a slab: see client/read-buffers.ts), else a copy.
 */
export function joinPieces(pieces: readonly Buffer[]): Buffer {
  const first = pieces[0]!;
  const memory = first.buffer;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (piece.buffer !== memory || piece.byteOffset !== end) return Buffer.concat(pieces);
    end += piece.length;
  }
  return Buffer.from(memory, first.byteOffset, end - first.byteOffset);
}
