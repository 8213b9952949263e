/**
 * The incremental frame reader (RFC 6455 5.2): buffers what the transport delivers,
 * parses frame headers, and hands out payload bytes, unmasked, as they arrive.
 *
 * Chunks are kept as a list (never concatenated while they wait); a header split across
 * chunks is gathered into a 14-byte scratch area. A payload piece that lies within one
 * chunk is handed out as a view of that chunk (unmasked in place), with no copy; one that
 * spans buffered chunks is gathered into one buffer, unmasked on the way (one pass).
 */
// The module's binding: the global `Buffer` is an accessor on globalThis (a getter call per use).
import { Buffer } from 'node:buffer';
import { RemoteProtocolError, type RemoteErrorCode } from '../errors';
import { unmaskInPlace, unmaskInto, unmaskViewNative, usesNativeMask } from './mask';
import {
  FIN,
  LENGTH_16,
  LENGTH_64,
  LENGTH_MASK,
  MASK_BIT,
  MAX_CONTROL_PAYLOAD,
  OPCODE_MASK,
  RSV_MASK,
  isControl,
  isKnownOpcode,
} from './opcode';

const EMPTY = Buffer.alloc(0);

// Flags of FrameReader.#bits above its low byte (the header's first byte).
const IN_FRAME = 0x100;
const MASKED = 0x200;
const EXPECT_MASKED = 0x400;
const NO_CHUNKS: Buffer[] = Object.freeze([]) as unknown as Buffer[];

// The current frame's masking key as bytes, for the unmasking functions (used at once).
const KEY = Buffer.alloc(4);
function keyBytes(word: number): Buffer {
  // Byte stores: Buffer's writeInt32BE validates its arguments on every call.
  KEY[0] = word >>> 24;
  KEY[1] = word >>> 16;
  KEY[2] = word >>> 8;
  KEY[3] = word;
  return KEY;
}

// Where a header split across chunks is gathered; parsed at once, so one serves every reader.
const SCRATCH = Buffer.alloc(14);

/** Throws the failure for a framing violation: its stable code, a message, the close code to answer. */
export function protocolError(code: RemoteErrorCode, message: string, closeCode = 1002): never {
  throw new RemoteProtocolError(message, { code, closeCode });
}

/** Parses frames from bytes. One instance per connection direction. */
export class FrameReader {
  // Buffered input: chunks[head..] with the first `offset` bytes of chunks[head] used.
  // NO_CHUNKS while nothing is buffered (most of an idle connection's life): no array
  // per connection, and a fresh one of one chunk is what a push mostly needs anyway.
  #chunks: Buffer[] = NO_CHUNKS;
  #head = 0;
  #offset = 0;
  #buffered = 0;
  // The current frame's first header byte (FIN, RSV, opcode) and the IN_FRAME, MASKED and
  // EXPECT_MASKED flags, in one field (a server holds many idle connections).
  #bits: number;

  /** Payload length of the current frame. */
  payloadLength = 0;
  /** Payload bytes of the current frame not yet handed out. */
  remaining = 0;
  // The masking key as a signed 32-bit word: no buffer per connection (see keyBytes), and
  // a small integer V8 stores in the object itself (an unsigned one would be boxed).
  #key = 0;
  #phase = 0;

  /** `expectMasked`: true on a server (clients mask), false on a client. */
  constructor(expectMasked: boolean) {
    this.#bits = expectMasked ? EXPECT_MASKED : 0;
  }

  /** True between a parsed header and the last byte of its payload. */
  get inFrame(): boolean {
    return (this.#bits & IN_FRAME) !== 0;
  }

  /** FIN bit of the current frame. */
  get fin(): boolean {
    return (this.#bits & FIN) !== 0;
  }

  /** RSV bits of the current frame (as in the first header byte). */
  get rsv(): number {
    return this.#bits & RSV_MASK;
  }

  /** Opcode of the current frame. */
  get opcode(): number {
    return this.#bits & OPCODE_MASK;
  }

  get #masked(): boolean {
    return (this.#bits & MASKED) !== 0;
  }

  get #expectMasked(): boolean {
    return (this.#bits & EXPECT_MASKED) !== 0;
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Add received bytes. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#chunks === NO_CHUNKS) this.#chunks = [chunk];
    else this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Drop everything buffered (after a failure or a close frame). */
  discard(): void {
    this.#chunks = NO_CHUNKS;
    this.#head = 0;
    this.#offset = 0;
    this.#buffered = 0;
  }

  /**
   * Parse the next frame header. Returns false when more bytes are needed; throws a
   * `RemoteProtocolError` (close code 1002) on a header that breaks RFC 6455 5.2.
   */
  readHeader(): boolean {
    if (this.#buffered < 2) return false;
    let buf = this.#chunks[this.#head]!;
    let at = this.#offset;
    const b1 = buf.length - at >= 2 ? buf[at + 1]! : this.#peekByte(1);
    const short = b1 & LENGTH_MASK;
    const masked = (b1 & MASK_BIT) !== 0;
    const size = 2 + (short === LENGTH_16 ? 2 : short === LENGTH_64 ? 8 : 0) + (masked ? 4 : 0);
    if (this.#buffered < size) {
      // Still check what the first two bytes already tell, so that a bad frame fails
      // at once rather than after its extended length arrives.
      this.#checkStart(buf.length - at >= 1 ? buf[at]! : this.#peekByte(0), b1);
      return false;
    }
    if (buf.length - at < size) {
      buf = this.#gather(size);
      at = 0;
    }
    const b0 = buf[at]!;
    this.#checkStart(b0, b1);
    let length = short;
    let pos = at + 2;
    if (short === LENGTH_16) {
      length = (buf[pos]! << 8) | buf[pos + 1]!;
      pos += 2;
      // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length"
      if (length <= 125) protocolError('ERR_NON_MINIMAL_LENGTH', 'payload length used 2 bytes where 1 suffices');
    } else if (short === LENGTH_64) {
      const high = buf.readUInt32BE(pos);
      const low = buf.readUInt32BE(pos + 4);
      pos += 8;
      // RFC 6455 5.2: "the most significant bit MUST be 0"
      if (high >= 0x80000000) protocolError('ERR_LENGTH_TOP_BIT', '64-bit payload length has its top bit set');
      // Lengths beyond 2^53 - 1 cannot be counted exactly; no real peer sends them.
      if (high > 0x1fffff) protocolError('ERR_FRAME_TOO_BIG', 'payload length exceeds 2^53 - 1', 1009);
      length = high * 0x100000000 + low;
      if (length <= 0xffff) protocolError('ERR_NON_MINIMAL_LENGTH', 'payload length used 8 bytes where 2 suffice');
    }
    if (masked) {
      this.#key = (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
    }
    this.#consume(size);
    this.#bits = (this.#bits & EXPECT_MASKED) | (b0 & 0xff) | IN_FRAME | (masked ? MASKED : 0);
    this.payloadLength = length;
    this.remaining = length;
    this.#phase = 0;
    return true;
  }

  // The checks that the first two header bytes allow.
  #checkStart(b0: number, b1: number): void {
    const opcode = b0 & OPCODE_MASK;
    // RFC 6455 5.2: "If an unknown opcode is received, the receiving endpoint MUST
    // _Fail the WebSocket Connection_."
    if (!isKnownOpcode(opcode)) protocolError('ERR_RESERVED_OPCODE', `reserved opcode 0x${opcode.toString(16)}`);
    if (isControl(opcode)) {
      // RFC 6455 5.5: "Control frames themselves MUST NOT be fragmented."
      if ((b0 & FIN) === 0) protocolError('ERR_CONTROL_FRAGMENTED', 'fragmented control frame');
      // RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes or less"
      if ((b1 & LENGTH_MASK) > MAX_CONTROL_PAYLOAD) {
        protocolError('ERR_CONTROL_TOO_LONG', 'control frame payload longer than 125 bytes');
      }
    }
    // RFC 6455 5.1: a server MUST close on an unmasked frame; a client on a masked one.
    const masked = (b1 & MASK_BIT) !== 0;
    if (masked !== this.#expectMasked) {
      if (this.#expectMasked) protocolError('ERR_MASK_EXPECTED', 'server received an unmasked frame');
      protocolError('ERR_UNEXPECTED_MASK', 'client received a masked frame');
    }
  }

  /**
   * Hand out up to `remaining` payload bytes of the current frame that are buffered,
   * unmasked. Returns an empty buffer when none are. Ends the frame when the last byte
   * is handed out.
   */
  readPayload(): Buffer {
    if (!this.readPiece()) return EMPTY;
    return this.pieceView();
  }

  /** The last piece as a Buffer: `pieceBuffer` itself when the piece is all of it, else a view. */
  pieceView(): Buffer {
    const buf = this.pieceBuffer;
    this.pieceBuffer = EMPTY; // the view is the caller's; the reader must not keep the chunk alive
    return this.pieceStart === 0 && this.pieceEnd === buf.length ? buf : buf.subarray(this.pieceStart, this.pieceEnd);
  }

  /**
   * The fast path for the usual frame: a whole unfragmented data frame (FIN set, no RSV
   * bits, TEXT or BINARY, a 7- or 16-bit length of at most `maxLength`, masked as this
   * side expects) lying entirely in the first buffered chunk. Consumes it, unmasks its
   * payload into `pieceBuffer[pieceStart, pieceEnd)` as `readPiece()` would, and returns
   * its opcode. Any other frame returns 0 with nothing consumed; `readHeader()` then
   * reads it with every check. Call only between frames.
   */
  readWholeDataFrame(maxLength: number): number {
    if (this.#buffered < 2) return 0;
    const chunk = this.#chunks[this.#head]!;
    const at = this.#offset;
    const available = chunk.length - at;
    if (available < 2) return 0;
    const b0 = chunk[at]!;
    if (b0 !== (FIN | 0x1) && b0 !== (FIN | 0x2)) return 0;
    const b1 = chunk[at + 1]!;
    const masked = b1 >= MASK_BIT;
    if (masked !== this.#expectMasked) return 0;
    let length = b1 & LENGTH_MASK;
    let start = at + 2;
    if (length === LENGTH_16) {
      if (available < 4) return 0;
      length = (chunk[at + 2]! << 8) | chunk[at + 3]!;
      if (length <= 125) return 0; // non-minimal: readHeader() fails it
      start += 2;
    } else if (length === LENGTH_64) {
      return 0;
    }
    if (masked) start += 4;
    const end = start + length;
    if (end - at > available || length > maxLength) return 0;
    if (length === 0) {
      this.pieceBuffer = EMPTY;
      this.pieceStart = 0;
      this.pieceEnd = 0;
    } else if (masked) {
      // The frame ends here, so its key is needed only now: copied as bytes, not kept.
      const key = KEY;
      key[0] = chunk[start - 4]!;
      key[1] = chunk[start - 3]!;
      key[2] = chunk[start - 2]!;
      key[3] = chunk[start - 1]!;
      if (usesNativeMask(length)) {
        const view = chunk.subarray(start, end);
        unmaskViewNative(view, key, 0);
        this.pieceBuffer = view;
        this.pieceStart = 0;
        this.pieceEnd = length;
      } else {
        unmaskInPlace(chunk, start, length, key, 0);
        this.pieceBuffer = chunk;
        this.pieceStart = start;
        this.pieceEnd = end;
      }
    } else {
      this.pieceBuffer = chunk;
      this.pieceStart = start;
      this.pieceEnd = end;
    }
    this.#consume(end - at);
    // FIN, no RSV bits, TEXT or BINARY (b0 is one of the two), and not in a frame any more.
    this.#bits = (this.#bits & EXPECT_MASKED) | b0 | (masked ? MASKED : 0);
    this.payloadLength = length;
    this.remaining = 0;
    this.#phase = length & 3;
    return b0 & OPCODE_MASK;
  }

  /** The bytes of the last `readPiece()`: pieceBuffer[pieceStart, pieceEnd). */
  pieceBuffer: Buffer = EMPTY;
  /** Start of the last piece in `pieceBuffer`. */
  pieceStart = 0;
  /** End of the last piece in `pieceBuffer`. */
  pieceEnd = 0;

  /**
   * Like `readPayload()` without making a view: the piece is left in `pieceBuffer`
   * between `pieceStart` and `pieceEnd` (valid until the next call). Returns false when
   * no payload bytes are buffered (the frame may still have ended, if it was empty).
   */
  readPiece(): boolean {
    const want = Math.min(this.remaining, this.#buffered);
    if (want === 0) {
      if (this.remaining === 0) this.#bits &= ~IN_FRAME;
      return false;
    }
    const chunk = this.#chunks[this.#head]!;
    const at = this.#offset;
    if (chunk.length - at >= want) {
      // Zero-copy: the received chunk itself, unmasked in place (receiveData takes
      // ownership of the bytes it is given). The native helper needs a view of the
      // payload; that view then is the piece.
      if (this.#masked && usesNativeMask(want)) {
        const view = chunk.subarray(at, at + want);
        unmaskViewNative(view, keyBytes(this.#key), this.#phase);
        this.#phase = (this.#phase + want) & 3;
        this.pieceBuffer = view;
        this.pieceStart = 0;
        this.pieceEnd = want;
      } else {
        if (this.#masked) this.#phase = unmaskInPlace(chunk, at, want, keyBytes(this.#key), this.#phase);
        this.pieceBuffer = chunk;
        this.pieceStart = at;
        this.pieceEnd = at + want;
      }
      this.#consume(want);
    } else {
      const out = this.#take(want);
      this.pieceBuffer = out;
      this.pieceStart = 0;
      this.pieceEnd = want;
    }
    this.remaining -= want;
    if (this.remaining === 0) this.#bits &= ~IN_FRAME;
    return true;
  }

  /** The caller is done with the last piece: do not keep its chunk alive (an idle connection would hold it). */
  dropPiece(): void {
    this.pieceBuffer = EMPTY;
  }

  /** True when the whole remaining payload of the current frame is buffered. */
  hasWholePayload(): boolean {
    return this.#buffered >= this.remaining;
  }

  // Copy `n` buffered bytes (n <= 14) into the scratch area without consuming them.
  #gather(n: number): Buffer {
    let copied = 0;
    let index = this.#head;
    let at = this.#offset;
    while (copied < n) {
      const chunk = this.#chunks[index]!;
      const k = Math.min(chunk.length - at, n - copied);
      chunk.copy(SCRATCH, copied, at, at + k);
      copied += k;
      index++;
      at = 0;
    }
    return SCRATCH;
  }

  #peekByte(i: number): number {
    return this.#gather(i + 1)[i]!;
  }

  // Consume `n` payload bytes into a new Buffer, unmasked on the way (one pass).
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.#chunks[this.#head]!;
      const k = Math.min(chunk.length - this.#offset, n - copied);
      if (this.#masked) this.#phase = unmaskInto(chunk, this.#offset, k, out, copied, keyBytes(this.#key), this.#phase);
      else chunk.copy(out, copied, this.#offset, this.#offset + k);
      copied += k;
      this.#consume(k);
    }
    return out;
  }

  #consume(n: number): void {
    this.#buffered -= n;
    this.#offset += n;
    const chunks = this.#chunks;
    while (this.#head < chunks.length && this.#offset >= chunks[this.#head]!.length) {
      this.#offset -= chunks[this.#head]!.length;
      this.#head++;
    }
    if (this.#head === chunks.length) {
      this.#chunks = NO_CHUNKS;
      this.#head = 0;
      this.#offset = 0;
    } else if (this.#head > 64) {
      chunks.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
