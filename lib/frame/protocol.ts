/**
 * The frame protocol (RFC 6455 sections 5 to 7 after the handshake): turns frames into
 * events (fragmentation rules, UTF-8, close frames, extensions, size limits) and
 * events into frames.
 *
 * It never throws on peer input: a violation is returned as a `CloseConnectionEvent`
 * carrying the code to answer with, and the protocol stops reading (RFC 6455 7.1.7:
 * after failing the connection an endpoint processes no more data).
 */
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  BytesMessageEvent,
  CloseConnectionEvent,
  PingEvent,
  PongEvent,
  TextMessageEvent,
  type ConnectionEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { PerMessageDeflate } from '../extensions/permessage-deflate';
import type { PreparedMessage } from '../prepared-message';
import { closeBody, parseClose } from './close-frame';
import { SPLIT_MIN, encodeFrame, encodeHeader, encodeTextFrame, type SplitFrame } from './encoder';
import type { MaskKeyGenerator } from './mask';
import { sizeLimits, type FrameLimits, type SizeLimits } from './limits';
import { MAX_CONTROL_PAYLOAD, Opcode, isControl } from './opcode';
import { FrameReader, protocolError } from './reader';
import { Utf8Decoder, decodeComplete } from './utf8';

const NO_EXTENSIONS: readonly Extension[] = Object.freeze([]);

/** Options of a `FrameProtocol`. */
export interface FrameProtocolOptions extends FrameLimits {
  /** Negotiated extensions (only enabled ones take part). */
  extensions?: readonly Extension[];
  /** Client only: produces masking keys (default: CSPRNG pool). */
  maskKey?: MaskKeyGenerator;
}

// Flags of one field (see FrameProtocol.#flags): a server holds many idle connections.
const STOPPED = 1; // a close frame was read, or the peer broke the protocol
const EXTENSIONS_OWN_MESSAGE = 2; // an extension claimed the first frame of this message
const OUTBOUND_PREFERENCE = 4; // the outbound message has a compress preference ...
const OUTBOUND_COMPRESS = 8; // ... and it is true
const CLAIMABLE = 0x70; // the RSV bits the extensions use, as in the first header byte
// The opcode (TEXT or BINARY) of the inbound message in progress, else 0 ...
const MESSAGE_OPCODE = 8; // (its shift)
const MESSAGE_OPCODE_BITS = 0xf << MESSAGE_OPCODE;
// ... and of the outbound one (its compress preference: OUTBOUND_PREFERENCE, OUTBOUND_COMPRESS).
const OUTBOUND_OPCODE = 12;
const OUTBOUND_OPCODE_BITS = 0xf << OUTBOUND_OPCODE;

/** Frames in, events out; events in, frames out. */
export class FrameProtocol {
  readonly #reader: FrameReader;
  readonly #extensions: readonly Extension[];
  readonly #maskKey: MaskKeyGenerator | null;
  readonly #limits: SizeLimits; // shared by connections with the same limits

  // Inbound message state.
  #messageBytes = 0;
  // Made at the first text piece that is not a whole message (decodeComplete needs none).
  #utf8: Utf8Decoder | null = null;
  // STOPPED ... OUTBOUND_COMPRESS, the CLAIMABLE bits, and the two message opcodes
  // (MESSAGE_OPCODE_BITS, OUTBOUND_OPCODE_BITS).
  #flags: number;

  constructor(client: boolean, options: FrameProtocolOptions, randomKey: MaskKeyGenerator) {
    this.#reader = new FrameReader(!client);
    const enabled = options.extensions?.filter((e) => e.enabled()) ?? NO_EXTENSIONS;
    this.#extensions = enabled.length === 0 ? NO_EXTENSIONS : enabled;
    this.#flags = this.#extensions.reduce((bits, e) => bits | e.rsvBits, 0) & CLAIMABLE;
    this.#maskKey = client ? (options.maskKey ?? randomKey) : null;
    this.#limits = sizeLimits(options);
  }

  /** The negotiated extensions that are enabled. */
  get extensions(): readonly Extension[] {
    return this.#extensions;
  }

  /** Bytes received and not yet turned into events. */
  get bufferedAmount(): number {
    return this.#reader.buffered;
  }

  /** Feed received bytes. Ignored once a close frame or a failure ended reading. */
  receiveBytes(data: Buffer): void {
    if ((this.#flags & STOPPED) === 0) this.#reader.push(data);
  }

  /** True once a close frame was read or the peer broke the protocol. */
  get stopped(): boolean {
    return (this.#flags & STOPPED) !== 0;
  }

  /**
   * The next event the buffered bytes make, or null when more bytes are needed. A
   * protocol violation comes back as a `CloseConnectionEvent` with the code to answer;
   * `failure` then holds the error, and says it was ours, not the peer's.
   */
  next(): ConnectionEvent | null {
    if ((this.#flags & STOPPED) !== 0) return null;
    try {
      return this.#next();
    } catch (error) {
      if (!(error instanceof RemoteProtocolError)) throw error;
      this.#stop();
      this.failure = error;
      return new CloseConnectionEvent({ code: error.closeCode, reason: error.message, errorCode: error.code });
    }
  }

  /** Why reading stopped, when the peer broke the protocol (null otherwise). */
  failure: RemoteProtocolError | null = null;

  #stop(): void {
    this.#flags |= STOPPED;
    this.#reader.discard();
  }

  #next(): ConnectionEvent | null {
    const reader = this.#reader;
    for (;;) {
      if (!reader.inFrame) {
        if ((this.#flags & MESSAGE_OPCODE_BITS) === 0 && this.#extensions.length === 0) {
          // Fast path: a whole one-frame message in one chunk (the checks it skips cannot fail for it).
          const opcode = reader.readWholeDataFrame(this.#limits.whole);
          if (opcode !== 0) return this.#wholeMessage(opcode);
        }
        if (!reader.readHeader()) return null;
        this.#startFrame();
        if (isControl(reader.opcode)) {
          const control = this.#control();
          if (control !== null) return control;
          continue;
        }
      } else if (isControl(reader.opcode)) {
        const control = this.#control();
        if (control !== null) return control;
        return null;
      }
      const event = this.#data();
      if (event !== null) return event;
      if (reader.inFrame || reader.buffered === 0) return null;
    }
  }

  // Checks that need the whole header: RSV bits, fragmentation order, size limits.
  #startFrame(): void {
    const reader = this.#reader;
    const opcode = reader.opcode;
    let claimed = 0;
    if (reader.rsv !== 0 || (this.#flags & CLAIMABLE) !== 0) {
      for (const extension of this.#extensions) {
        claimed |= extension.inboundHeader(opcode, reader.rsv, reader.payloadLength);
      }
    }
    // RFC 6455 5.2: RSV bits "MUST be 0 unless an extension is negotiated that defines
    // meanings for non-zero values".
    if ((reader.rsv & ~claimed) !== 0) protocolError('ERR_RESERVED_BITS', 'reserved bits set without an extension');
    if (isControl(opcode)) return;
    // RFC 6455 5.4: fragments of one message arrive in order, control frames may be
    // interleaved, but data frames of another message may not.
    if (opcode === Opcode.CONTINUATION) {
      if ((this.#flags & MESSAGE_OPCODE_BITS) === 0)
        protocolError('ERR_UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue');
    } else {
      if ((this.#flags & MESSAGE_OPCODE_BITS) !== 0)
        protocolError('ERR_EXPECTED_CONTINUATION', 'new data frame inside a fragmented message');
      this.#flags = (this.#flags & ~MESSAGE_OPCODE_BITS) | (opcode << MESSAGE_OPCODE);
      this.#messageBytes = 0;
      this.#utf8?.reset();
    }
    // An extension that claimed the first frame of a message (RFC 7692: RSV1 on the
    // first frame only) transforms all of it, so wire lengths say nothing about the
    // delivered size; the budget passed to its hooks bounds that instead.
    if (opcode !== Opcode.CONTINUATION) {
      this.#flags = claimed !== 0 ? this.#flags | EXTENSIONS_OWN_MESSAGE : this.#flags & ~EXTENSIONS_OWN_MESSAGE;
    }
    if (reader.payloadLength > this.#limits.frame) {
      protocolError('ERR_FRAME_TOO_BIG', `frame payload of ${reader.payloadLength} bytes exceeds the limit`, 1009);
    }
    if (
      (this.#flags & EXTENSIONS_OWN_MESSAGE) === 0 &&
      this.#messageBytes + reader.payloadLength > this.#limits.message
    ) {
      protocolError('ERR_MESSAGE_TOO_BIG', 'message exceeds the size limit', 1009);
    }
  }

  #control(): ConnectionEvent | null {
    const reader = this.#reader;
    if (!reader.hasWholePayload()) return null;
    const payload = reader.readPayload();
    switch (reader.opcode) {
      case Opcode.PING:
        return new PingEvent({ payload });
      case Opcode.PONG:
        return new PongEvent({ payload });
      default: {
        const close = parseClose(payload);
        this.#stop();
        return close;
      }
    }
  }

  #data(): TextMessageEvent | BytesMessageEvent | null {
    const reader = this.#reader;
    const fin = reader.fin;
    const isText = (this.#flags & MESSAGE_OPCODE_BITS) === Opcode.TEXT << MESSAGE_OPCODE;
    if (isText && this.#extensions.length === 0) {
      // Hot path: text decoded straight from the received chunk, no intermediate view.
      const got = reader.readPiece();
      const frameFinished = !reader.inFrame;
      if (!got && !frameFinished) return null;
      const messageFinished = frameFinished && fin;
      if (messageFinished) this.#flags &= ~MESSAGE_OPCODE_BITS;
      let text: string | null = '';
      if (got) {
        this.#count(reader.pieceEnd - reader.pieceStart);
        text = this.#decoder().decodeRange(reader.pieceBuffer, reader.pieceStart, reader.pieceEnd, messageFinished);
        reader.dropPiece();
      } else if (messageFinished && this.#utf8?.hasPending === true) {
        text = null;
      }
      return this.#textEvent(text, frameFinished, messageFinished);
    }
    let data = reader.readPayload();
    const frameFinished = !reader.inFrame;
    if (data.length === 0 && !frameFinished) return null;
    if (this.#extensions.length !== 0) data = this.#inbound(data, frameFinished, fin);
    else this.#count(data.length);
    const messageFinished = frameFinished && fin;
    if (messageFinished) this.#flags &= ~MESSAGE_OPCODE_BITS;
    if (isText) return this.#textEvent(this.#decoder().decode(data, messageFinished), frameFinished, messageFinished);
    return new BytesMessageEvent({ data, frameFinished, messageFinished });
  }

  // The event of a message that `readWholeDataFrame()` read: what #startFrame and #data make of it.
  #wholeMessage(opcode: number): TextMessageEvent | BytesMessageEvent {
    const reader = this.#reader;
    this.#messageBytes = reader.payloadLength;
    if (opcode === Opcode.BINARY) {
      return new BytesMessageEvent({ data: reader.pieceView(), frameFinished: true, messageFinished: true });
    }
    const text = decodeComplete(reader.pieceBuffer, reader.pieceStart, reader.pieceEnd);
    reader.dropPiece();
    return this.#textEvent(text, true, true)!;
  }

  #decoder(): Utf8Decoder {
    return (this.#utf8 ??= new Utf8Decoder());
  }

  #textEvent(text: string | null, frameFinished: boolean, messageFinished: boolean): TextMessageEvent | null {
    if (text === null) protocolError('ERR_INVALID_UTF8', 'invalid UTF-8 in a text message', 1007);
    if (text === '' && !frameFinished) return null;
    return new TextMessageEvent({ data: text, frameFinished, messageFinished });
  }

  #count(n: number): void {
    this.#messageBytes += n;
    if (this.#messageBytes > this.#limits.message)
      protocolError('ERR_MESSAGE_TOO_BIG', 'message exceeds the size limit', 1009);
  }

  #inbound(data: Buffer, frameFinished: boolean, fin: boolean): Buffer {
    for (const extension of this.#extensions) {
      data = extension.inboundPayload(data, this.#limits.message - this.#messageBytes);
    }
    this.#count(data.length);
    if (frameFinished) {
      for (const extension of this.#extensions) {
        const extra = extension.inboundComplete(fin, this.#limits.message - this.#messageBytes);
        if (extra !== null && extra.length > 0) {
          this.#count(extra.length);
          data = data.length === 0 ? extra : Buffer.concat([data, extra]);
        }
      }
    }
    return data;
  }

  // ---- outbound ----

  /**
   * Serialize a message piece. Text and bytes may not be mixed within one message. With
   * `split`, a large unmasked payload that no extension transforms comes back as its
   * header and itself (`SplitFrame`), not copied into a frame buffer.
   */
  sendData(data: string | Uint8Array, messageFinished: boolean, compress: boolean | undefined): Buffer;
  sendData(
    data: string | Uint8Array,
    messageFinished: boolean,
    compress: boolean | undefined,
    split: boolean,
  ): Buffer | SplitFrame;
  sendData(
    data: string | Uint8Array,
    messageFinished: boolean,
    compress: boolean | undefined,
    split = false,
  ): Buffer | SplitFrame {
    const isText = typeof data === 'string';
    let opcode: number = isText ? Opcode.TEXT : Opcode.BINARY;
    let flags = this.#flags;
    const current = (flags & OUTBOUND_OPCODE_BITS) >> OUTBOUND_OPCODE;
    if (current === 0) {
      const preference =
        compress === undefined ? 0 : compress ? OUTBOUND_PREFERENCE | OUTBOUND_COMPRESS : OUTBOUND_PREFERENCE;
      flags = (flags & ~(OUTBOUND_PREFERENCE | OUTBOUND_COMPRESS)) | preference | (opcode << OUTBOUND_OPCODE);
    } else if (current !== opcode) {
      throw new LocalProtocolError(
        `cannot send ${isText ? 'text' : 'bytes'} inside a ${isText ? 'binary' : 'text'} message`,
        'ERR_MESSAGE_TYPE_MISMATCH',
      );
    } else {
      opcode = Opcode.CONTINUATION;
    }
    const preference = (flags & OUTBOUND_PREFERENCE) === 0 ? undefined : (flags & OUTBOUND_COMPRESS) !== 0;
    // (A finished message's preference is set afresh by the next message.)
    this.#flags = messageFinished ? flags & ~OUTBOUND_OPCODE_BITS : flags;
    if (isText && this.#extensions.length === 0) {
      return encodeTextFrame(messageFinished, opcode, data, this.#maskKey);
    }
    const payload = isText ? Buffer.from(data) : data;
    if (split && this.#maskKey === null && this.#extensions.length === 0 && payload.length >= SPLIT_MIN) {
      const view = Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      return [encodeHeader(messageFinished, 0, opcode, payload.length), view];
    }
    return this.#frame(opcode, payload, messageFinished, preference);
  }

  /**
   * Serialize a whole prepared message: the frame it already made for connections like
   * this one when there is one (a server without extensions, or whose permessage-deflate
   * compresses every message alone), else encoded here as `sendData` would.
   */
  sendPrepared(message: PreparedMessage): Buffer {
    if ((this.#flags & OUTBOUND_OPCODE_BITS) !== 0) {
      throw new LocalProtocolError('cannot send a prepared message inside another message', 'ERR_INVALID_STATE');
    }
    if (this.#maskKey === null) {
      if (this.#extensions.length === 0) return message.frame(null);
      const only = this.#extensions.length === 1 ? this.#extensions[0] : undefined;
      const encoding =
        only instanceof PerMessageDeflate ? only.sharedEncoding(message.payload.length, message.compress) : null;
      if (encoding !== null) return message.frame(encoding === 'plain' ? null : encoding);
    }
    return this.sendData(message.data, true, message.compress);
  }

  /** Serialize a ping. */
  ping(payload: Uint8Array): Buffer {
    return this.#frame(Opcode.PING, payload, true, undefined);
  }

  /** Serialize a pong. */
  pong(payload: Uint8Array): Buffer {
    return this.#frame(Opcode.PONG, payload, true, undefined);
  }

  /**
   * Serialize a close frame. 1005 (no status) sends an empty body; a reason is
   * truncated to fit 125 bytes on a code point boundary.
   */
  close(code: number, reason: string): Buffer {
    return this.#frame(Opcode.CLOSE, closeBody(code, reason), true, undefined);
  }

  #frame(opcode: number, payload: Uint8Array, fin: boolean, compress: boolean | undefined): Buffer {
    if (isControl(opcode) && payload.length > MAX_CONTROL_PAYLOAD) {
      throw new LocalProtocolError(
        `control frame payload is ${payload.length} bytes; RFC 6455 5.5 allows at most 125`,
        'ERR_CONTROL_PAYLOAD_TOO_BIG',
      );
    }
    let rsv = 0;
    if (this.#extensions.length !== 0) {
      let data = Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
      for (let i = this.#extensions.length - 1; i >= 0; i--) {
        const result = this.#extensions[i]!.outbound(opcode, rsv, data, fin, compress);
        rsv = result.rsv;
        data = result.data;
      }
      payload = data;
    }
    return encodeFrame(fin, rsv, opcode, payload, this.#maskKey);
  }

  /** Release extension resources. */
  dispose(): void {
    for (const extension of this.#extensions) extension.close?.();
  }
}
