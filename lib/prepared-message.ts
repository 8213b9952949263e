/**
 * `PreparedMessage`: one message encoded once and sent on many connections (a broadcast).
 *
 * Theory of operation. A server's frames are not masked (RFC 6455 5.1), so the frame of a
 * message is the same bytes on every connection that sends it the same way. The message
 * keeps each encoding it has made: the plain frame, and one compressed frame per set of
 * compressor parameters (window bits, level, memLevel) for connections that negotiated
 * permessage-deflate without context takeover on the server's side (RFC 7692 7.1.1.1:
 * then every message is compressed alone, and the same parameters give the same bytes).
 * A connection that must compress with its own context (context takeover), a client
 * (its frames are masked, RFC 6455 5.3), or one with another extension encodes the
 * message itself, as `send()` would: the result on the wire is the same either way.
 * `Connection.sendPrepared()` picks; the encodings are made on first use.
 */
import { LocalProtocolError } from './errors';
import { deflateAlone, type SharedDeflate } from './extensions/deflate-message';
import { encodeFrame } from './frame/encoder';
import { Opcode } from './frame/opcode';

const FIN = true;
const RSV1 = 0x40;

/** Options of a `PreparedMessage`. */
export interface PreparedMessageOptions {
  /** Send a string as a binary message (its UTF-8 bytes). @defaultValue `false` */
  binary?: boolean;
  /**
   * Compress it where permessage-deflate was negotiated: `true` always, `false` never.
   * @defaultValue the connection's threshold decides
   */
  compress?: boolean;
}

/** A message framed once for many connections (see the top of the file). */
export class PreparedMessage {
  /** True for a binary message, false for text. */
  readonly binary: boolean;
  /** The message as given: a string (text, unless `binary`) or bytes. */
  readonly data: string | Buffer;
  /** The payload: the UTF-8 of a string, or the bytes. */
  readonly payload: Buffer;
  /** The `compress` preference. */
  readonly compress: boolean | undefined;
  #plain: Buffer | null = null;
  readonly #deflated = new Map<string, Buffer>();

  /**
   * Prepare `data`: text for a string (unless `options.binary`), binary for bytes.
   *
   * @param data the message.
   * @param options binary and compress.
   */
  constructor(data: string | Uint8Array, options: PreparedMessageOptions = {}) {
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new LocalProtocolError('a prepared message is a string or bytes', 'ERR_INVALID_EVENT');
    }
    this.binary = typeof data !== 'string' || options.binary === true;
    this.payload =
      typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.data = typeof data === 'string' && !this.binary ? data : this.payload;
    this.compress = options.compress;
  }

  /** How many encodings were made so far (the plain frame and each compressed one): what encoding once saves. */
  get encodings(): number {
    return (this.#plain === null ? 0 : 1) + this.#deflated.size;
  }

  /** @internal An unmasked frame: plain (`null`), or compressed alone with `params`. */
  frame(params: SharedDeflate | null): Buffer {
    const opcode = this.binary ? Opcode.BINARY : Opcode.TEXT;
    if (params === null) return (this.#plain ??= encodeFrame(FIN, 0, opcode, this.payload, null));
    let frame = this.#deflated.get(params.key);
    if (frame === undefined) {
      frame = encodeFrame(FIN, RSV1, opcode, deflateAlone(this.payload, params), null);
      this.#deflated.set(params.key, frame);
    }
    return frame;
  }
}
