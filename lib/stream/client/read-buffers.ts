/**
 * Where a client's plain TCP socket reads land (`net.connect`'s `onread`), so that a
 * large message arriving over several reads is one run of memory that the stream hands
 * out as a view, not a join (a copy) of its reads.
 *
 * Theory of operation. A socket starts reading into one buffer that every such socket
 * in the process shares; each read is copied out at once into a Buffer of its exact
 * size, which is what Node does with its own reads. An idle socket or one with small
 * messages holds nothing of its own. A large read (`KEEP_MIN` or more) switches the
 * socket to a read slab of its own: from then on each read lands right after the
 * previous one in the slab and is pushed as a view of it, so the pieces of one message
 * lie next to each other and the message assembler joins them without a copy
 * (`joinPieces` in message-assembler.ts). A small read copies out and returns the
 * socket to the shared buffer; a slab whose free tail is smaller than `MIN_ROOM` is
 * replaced by a new one (the old one lives while views of it do).
 *
 * What this keeps alive: a Buffer handed out of a slab (a message, or a piece of one)
 * holds its slab, `SLAB_SIZE` bytes, as a Buffer of Node's own reads holds its read (up
 * to 64 KiB). Only reads of `KEEP_MIN` bytes or more stay in a slab, and a socket holds
 * a slab only while its last read was large. Data goes through `socket.push()`, as in
 * Node's own read path, so pausing, buffering and 'data' work as for any socket (and
 * once the socket is wired, its push hands chunks straight to the stream: see
 * socket-wiring.ts).
 *
 * Slabs are not zero-filled (as Node's `Buffer.allocUnsafe` pool is not; zeroing cost
 * about 8% of the one-way 64 KiB rate): a view's `.buffer` is the whole slab, of which
 * only the view's own bytes are its data.
 */
import type { OnReadOpts, Socket } from 'node:net';

/** The read buffer that sockets reading little share (copied out after each read). */
export const SHARED_SIZE = 64 * 1024;
/** A socket's own slab, while its reads are large. */
export const SLAB_SIZE = 256 * 1024;
/** The least room a read is offered: a slab with less free is replaced. */
export const MIN_ROOM = 64 * 1024;
/** Reads of this many bytes or more stay where they landed (in a slab); smaller ones are copied out. */
export const KEEP_MIN = 16 * 1024;

let shared: Buffer | null = null;

/** The `onread` option for one socket: `net.connect({ ..., onread: readBuffers() })`. */
export function readBuffers(): OnReadOpts {
  let slab: Buffer | null = null; // this socket's, while its reads are large
  let used = 0; // bytes of the slab that reads filled
  return {
    buffer(): Buffer {
      if (slab === null) return (shared ??= Buffer.allocUnsafeSlow(SHARED_SIZE));
      if (SLAB_SIZE - used < MIN_ROOM) {
        slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
        used = 0;
      }
      return slab.subarray(used);
    },
    callback(this: Socket, n: number, buf: Uint8Array): boolean {
      let chunk: Buffer;
      if (slab !== null && n >= KEEP_MIN) {
        chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        used += n;
      } else {
        chunk = Buffer.allocUnsafe(n);
        chunk.set(buf.subarray(0, n));
        if (n < KEEP_MIN) slab = null;
        else {
          // A large read in the shared buffer: the reads after it land in a slab.
          slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
          used = 0;
        }
      }
      return this.push(chunk);
    },
  };
}
