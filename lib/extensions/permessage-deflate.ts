/**
 * permessage-deflate (RFC 7692), synchronous, for both roles.
 *
 * Negotiation (section 7.1): a client offers `offer()` and checks the server's answer
 * in `finalize()`, failing the connection on anything it did not ask for or cannot
 * honour; a server answers one offer at a time in `accept()` and declines (returns
 * null) any offer it cannot accept, so that the handshake can try the next one.
 *
 * Data (sections 6 and 7.2): RSV1 on the first frame marks a compressed message. The
 * payload is inflated as it arrives (bounded by the message size limit, so a deflate
 * bomb is refused at the limit, not after inflating it) and the 00 00 ff ff tail is
 * appended at the end of the message. Outgoing messages are deflated with a sync flush
 * per frame, the tail removed from the last one.
 *
 * Window size 8 (RFC 7692 7.1.2): zlib's raw deflate cannot be opened with an 8-bit
 * window and uses 9 instead. That still honours a limit of 8: zlib never emits a match
 * further back than the window minus its 262-byte lookahead, i.e. 250 bytes with 9 bits,
 * which fits a 256-byte window. So `server_max_window_bits=8` is accepted (server) and
 * `client_max_window_bits=8` is honoured (client); our own options stay 9 to 15.
 *
 * Where we differ from wsproto: invalid offers are declined instead of raising, the
 * response is checked against the offer, inflated output is bounded, and when the peer
 * resets its context the inflater is released between messages.
 *
 * One instance serves one connection.
 */
import { RemoteProtocolError } from '../errors';
import type { Extension, ExtensionParams } from './extension';
import {
  formatParams,
  parseParams,
  resolveInflateBackend,
  resolveOptions,
  type NegotiatedDeflate,
  type PerMessageDeflateOptions,
  type ResolvedOptions,
} from './deflate-params';
import { endOfMessage, sharedDeflate, type SharedDeflate } from './deflate-message';
import { LowMemoryDeflate } from './low-memory-deflate';
import {
  DEFLATE_TAIL,
  Deflater,
  InflateDataError,
  InflateLimitError,
  createInflater,
  defaultInflateBackend,
  inflateBounded,
  loadZlibSync,
  type InflateBackendName,
  type Inflater,
} from './zlib-backend';

export {
  DEFAULT_THRESHOLD,
  type DeflateMemoryMode,
  type NegotiatedDeflate,
  type PerMessageDeflateOptions,
} from './deflate-params';
export type { InflateBackendName } from './zlib-backend';

/** RFC 7692 6: the "Per-Message Compressed" bit is RSV1. */
const RSV1 = 0x40;
const CONTINUATION = 0x0;
const FIRST_CONTROL = 0x8;

/** The permessage-deflate extension (RFC 7692). */
export class PerMessageDeflate implements Extension {
  /** The extension token. */
  readonly name = 'permessage-deflate';
  /** RFC 7692 6: RSV1 marks a compressed message. */
  readonly rsvBits = RSV1;

  /**
   * The inflate backend that instances use unless told otherwise: `'node:zlib'` (see
   * `DEFAULT_INFLATE_BACKEND` in zlib-backend.ts for why not zlib-sync).
   */
  static get inflateBackend(): InflateBackendName {
    return defaultInflateBackend();
  }

  /** True when the optional `zlib-sync` addon can be loaded. */
  static get zlibSyncAvailable(): boolean {
    return loadZlibSync() !== null;
  }

  readonly #options: ResolvedOptions;
  readonly #backend: InflateBackendName;
  #negotiated: NegotiatedDeflate | null = null;
  // Our compressor and the peer's, as negotiated.
  #deflateBits = 15;
  #deflateNoContext = false;
  #inflateBits = 15;
  #inflateNoContext = false;

  #inflater: Inflater | null = null;
  #inboundCompressed = false; // the message being received is compressed
  #inboundLength = 0; // compressed bytes of that message so far
  #inboundLastFour = 0; // and its last four, big-endian
  #deflater: Deflater | null = null;
  #lowMemory: LowMemoryDeflate | null = null; // with `memory: 'low'`, in place of #deflater
  #outboundCompressed = false; // the message being sent is compressed
  #shared: SharedDeflate | null = null; // our compressor's setting when each message is compressed alone

  /**
   * Make the extension for one connection: pass it in a client's `Request` extensions
   * or a server's `AcceptConnection` extensions.
   *
   * @param options negotiation and compression options; invalid values throw
   *   `LocalProtocolError` with code `ERR_INVALID_OPTION`.
   */
  constructor(options: PerMessageDeflateOptions = {}) {
    this.#options = resolveOptions(options);
    this.#backend = resolveInflateBackend(options.inflateBackend);
  }

  /** The inflate backend this instance uses. */
  get inflateBackend(): InflateBackendName {
    return this.#backend;
  }

  /** What negotiation settled on, or null before it. */
  get negotiated(): NegotiatedDeflate | null {
    return this.#negotiated;
  }

  /** True once `accept()` or `finalize()` enabled the extension. */
  enabled(): boolean {
    return this.#negotiated !== null;
  }

  // ---- negotiation (RFC 7692 7.1) ----

  /** Client: the offer's parameters, e.g. `client_max_window_bits`, or `true` for none. */
  offer(): string | true {
    const o = this.#options;
    const params: string[] = [];
    if (o.clientMaxWindowBits === true) params.push('client_max_window_bits');
    else if (typeof o.clientMaxWindowBits === 'number') {
      params.push(`client_max_window_bits=${o.clientMaxWindowBits}`);
    }
    if (o.serverMaxWindowBits !== null) params.push(`server_max_window_bits=${o.serverMaxWindowBits}`);
    if (o.clientNoContextTakeover === true) params.push('client_no_context_takeover');
    if (o.serverNoContextTakeover) params.push('server_no_context_takeover');
    return formatParams(params);
  }

  /**
   * Server: the response parameters accepting `offer` (`true` for none), or null to
   * decline it. RFC 7692 7.1: a server declines an offer with an unknown parameter, a
   * parameter twice or an invalid value, and any offer it cannot honour.
   */
  accept(offer: ExtensionParams): string | true | null {
    // Extension tokens compare case-insensitively, as the handshake layer matches them.
    if (offer.name.toLowerCase() !== this.name) return null;
    const offered = parseParams(offer.params, false);
    if (typeof offered === 'string') return null;
    const o = this.#options;
    const response: string[] = [];

    // RFC 7692 7.1.1.1: accept server_no_context_takeover by echoing it; we may also
    // send it unasked.
    const serverNoContext = offered.serverNoContextTakeover || o.serverNoContextTakeover;
    if (serverNoContext) response.push('server_no_context_takeover');
    // RFC 7692 7.1.1.2: the server may send client_no_context_takeover unasked; when
    // the client offered it, echoing it lets us release our inflater between messages.
    // `memory: 'low'` sends it unless told otherwise.
    const clientNoContext = offered.clientNoContextTakeover || (o.clientNoContextTakeover ?? o.preset.shared);
    if (clientNoContext) response.push('client_no_context_takeover');

    // RFC 7692 7.1.2.1: our window must not exceed the client's server_max_window_bits;
    // we may announce a smaller window unasked (the `memory` mode's, by default).
    const serverBits = Math.min(o.serverMaxWindowBits ?? o.preset.windowBits, offered.serverMaxWindowBits ?? 15);
    if (offered.serverMaxWindowBits !== null || serverBits < 15) {
      response.push(`server_max_window_bits=${serverBits}`);
    }

    // RFC 7692 7.1.2.2: we may limit the client's window only if it offered
    // client_max_window_bits, with at most the value it offered. A number given as an
    // option is a limit; `true` asks for the `memory` mode's window when we may.
    const strict = typeof o.clientMaxWindowBits === 'number';
    const preferred = o.clientMaxWindowBits === true ? o.preset.clientWindowBits : 15;
    const clientLimit = strict ? (o.clientMaxWindowBits as number) : preferred;
    let clientBits = 15;
    if (offered.clientMaxWindowBits === null) {
      // We cannot bound the client's window, so our limit cannot hold: decline.
      if (strict && clientLimit < 15) return null;
    } else {
      clientBits = Math.min(clientLimit, offered.clientMaxWindowBits === true ? 15 : offered.clientMaxWindowBits);
      if (clientBits < 15) response.push(`client_max_window_bits=${clientBits}`);
    }

    this.#configure(true, {
      serverNoContextTakeover: serverNoContext,
      clientNoContextTakeover: clientNoContext,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    });
    return formatParams(response);
  }

  /**
   * Client: the server accepted with `response`. RFC 7692 7.1: the client fails the
   * connection (a `RemoteProtocolError` with code `ERR_BAD_EXTENSION`) on an unknown
   * parameter, a parameter twice, an invalid value, or a configuration it did not ask
   * for or cannot honour.
   */
  finalize(response: ExtensionParams): void {
    if (response.name.toLowerCase() !== this.name) fail(`unexpected extension ${response.name}`);
    const answer = parseParams(response.params, true);
    if (typeof answer === 'string') fail(answer);
    const o = this.#options;

    // RFC 7692 7.1.1.1: the server accepts server_no_context_takeover by echoing it.
    if (o.serverNoContextTakeover && !answer.serverNoContextTakeover) {
      fail('the server ignored server_no_context_takeover');
    }
    // RFC 7692 7.1.2.1: the server accepts server_max_window_bits with the same or a
    // smaller value.
    if (o.serverMaxWindowBits !== null) {
      if (answer.serverMaxWindowBits === null) fail('the server ignored server_max_window_bits');
      if (answer.serverMaxWindowBits > o.serverMaxWindowBits) {
        fail(`server_max_window_bits=${answer.serverMaxWindowBits} exceeds the ${o.serverMaxWindowBits} offered`);
      }
    }
    // RFC 7692 7.1.2.2: client_max_window_bits only in answer to an offer of it, and
    // not above the value offered.
    let clientBits = typeof o.clientMaxWindowBits === 'number' ? o.clientMaxWindowBits : 15;
    if (answer.clientMaxWindowBits !== null) {
      if (o.clientMaxWindowBits === false) fail('client_max_window_bits was not offered');
      const bits = answer.clientMaxWindowBits as number; // a response always has a value
      if (bits > clientBits) fail(`client_max_window_bits=${bits} exceeds the ${clientBits} offered`);
      clientBits = bits;
    }

    this.#configure(false, {
      serverNoContextTakeover: answer.serverNoContextTakeover,
      clientNoContextTakeover: answer.clientNoContextTakeover || o.clientNoContextTakeover === true,
      serverMaxWindowBits: answer.serverMaxWindowBits ?? 15,
      clientMaxWindowBits: clientBits,
    });
  }

  #configure(server: boolean, agreed: NegotiatedDeflate): void {
    this.close();
    this.#negotiated = Object.freeze(agreed);
    // A client compresses with the `memory` mode's window when it is smaller than the
    // one agreed (RFC 7692 7.1.2.2 bounds our window from above only), unless it gave one.
    const o = this.#options;
    const ownBits = typeof o.clientMaxWindowBits === 'number' ? 15 : o.preset.windowBits;
    this.#deflateBits = server ? agreed.serverMaxWindowBits : Math.min(agreed.clientMaxWindowBits, ownBits);
    this.#deflateNoContext = server ? agreed.serverNoContextTakeover : agreed.clientNoContextTakeover;
    this.#inflateBits = server ? agreed.clientMaxWindowBits : agreed.serverMaxWindowBits;
    this.#inflateNoContext = server ? agreed.clientNoContextTakeover : agreed.serverNoContextTakeover;
    // Window 8 runs as 9 (see the top of this file); one object per setting, made once.
    const { level, memLevel } = o;
    this.#shared = this.#deflateNoContext ? sharedDeflate(Math.max(9, this.#deflateBits), level, memLevel) : null;
  }

  // ---- inbound (RFC 7692 6 and 7.2.2) ----

  /** Claims RSV1 on the first frame of a message; RSV1 anywhere else fails with 1002. */
  inboundHeader(opcode: number, rsv: number, _payloadLength: number): number {
    const rsv1 = rsv & RSV1;
    if (opcode >= FIRST_CONTROL || opcode === CONTINUATION) {
      // RFC 7692 6: "An endpoint MUST NOT set the 'Per-Message Compressed' bit of
      // control frames and non-first fragments of a data message."
      if (rsv1 !== 0) {
        const what = opcode === CONTINUATION ? 'a continuation frame' : 'a control frame';
        throw new RemoteProtocolError(`RSV1 set on ${what} (RFC 7692 6)`, {
          code: 'ERR_RESERVED_BITS',
          closeCode: 1002,
        });
      }
      return 0;
    }
    this.#inboundCompressed = rsv1 !== 0;
    this.#inboundLength = 0;
    this.#inboundLastFour = 0;
    return rsv1;
  }

  /** Inflates the payload of a compressed message; at most `budget` bytes come out. */
  inboundPayload(data: Buffer, budget: number): Buffer {
    if (!this.#inboundCompressed || data.length === 0) return data;
    this.#inboundLength += data.length;
    for (let i = Math.max(0, data.length - 4); i < data.length; i++) {
      this.#inboundLastFour = ((this.#inboundLastFour << 8) | data[i]!) >>> 0;
    }
    return this.#inflate(data, budget);
  }

  /** At the end of a compressed message, inflates the 00 00 ff ff tail. */
  inboundComplete(fin: boolean, budget: number): Buffer | null {
    if (!fin || !this.#inboundCompressed) return null;
    this.#inboundCompressed = false;
    // RFC 7692 7.2.2: append 0x00 0x00 0xff 0xff to the payload and inflate. Not when
    // the payload is empty, or already ends with those bytes (a sender that did not
    // remove them; a payload that did can never end with 0xff, since its last byte
    // holds the header bits of an empty stored block and zero padding): another tail
    // would leave the inflater inside a stored block header and garble the next message.
    const unterminated = this.#inboundLength === 0 || (this.#inboundLength >= 4 && this.#inboundLastFour === 0xffff);
    const tail = unterminated ? null : this.#inflate(DEFLATE_TAIL, budget);
    const inflater = this.#inflater;
    if (inflater === null) return null;
    // With context takeover the next message continues this stream, unless it ended.
    if (!this.#inflateNoContext && !inflater.ended) inflater.probeEnd();
    // RFC 7692 7.2.3.4: a block with BFINAL set ends the DEFLATE stream; the bytes after
    // it (the RFC's example pads with one 0x00) are ignored and the next message starts
    // a new stream. Without context takeover the peer starts afresh anyway, so we let
    // the context go (backends that cannot free one keep it: a continuing stream
    // decodes a fresh one just as well).
    if (inflater.ended || (this.#inflateNoContext && inflater.freesMemory)) {
      inflater.release();
      this.#inflater = null;
    }
    return tail === null || tail.length === 0 ? null : tail;
  }

  #inflate(data: Buffer, budget: number): Buffer {
    // zlib-sync cannot reset a context, so a peer without context takeover (which
    // starts every message afresh) is always inflated with node:zlib, whose contexts
    // reset.
    const backend = this.#inflateNoContext ? 'node:zlib' : this.#backend;
    const inflater = (this.#inflater ??= createInflater(backend, this.#inflateBits));
    try {
      return inflateBounded(inflater, data, budget);
    } catch (error) {
      // The stream is unusable now; the connection fails.
      inflater.release();
      this.#inflater = null;
      this.#inboundCompressed = false;
      if (error instanceof InflateLimitError) {
        throw new RemoteProtocolError(
          `message exceeds the size limit after decompression (${error.produced} bytes inflated, ${budget} allowed)`,
          { code: 'ERR_MESSAGE_TOO_BIG', closeCode: 1009 },
        );
      }
      if (error instanceof InflateDataError) {
        throw new RemoteProtocolError(`invalid compressed data: ${error.message}`, {
          code: 'ERR_BAD_COMPRESSED_DATA',
          closeCode: 1007,
        });
      }
      throw error;
    }
  }

  // ---- outbound (RFC 7692 7.2.1) ----

  /**
   * Compresses data messages: all but single-frame messages under the threshold,
   * unless `compress` says otherwise (`false` never, `true` always). The choice is
   * made at the first frame and holds for the message. Control frames pass unchanged.
   */
  outbound(
    opcode: number,
    rsv: number,
    data: Buffer,
    fin: boolean,
    compress: boolean | undefined,
  ): {
    /** The frame's RSV bits: RSV1 on the first frame of a compressed message. */
    rsv: number;
    /** The payload to write: compressed, or `data` itself. */
    data: Buffer;
  } {
    if (opcode >= FIRST_CONTROL) return { rsv, data };
    if (opcode !== CONTINUATION) {
      this.#outboundCompressed =
        compress === true || (compress !== false && (!fin || data.length >= this.#options.threshold));
      // RFC 7692 6: RSV1 on the first frame only.
      if (this.#outboundCompressed) rsv |= RSV1;
    }
    if (!this.#outboundCompressed) return { rsv, data };
    if (fin) this.#outboundCompressed = false;
    return { rsv, data: this.#deflate(data, opcode !== CONTINUATION, fin) };
  }

  #deflate(data: Buffer, first: boolean, fin: boolean): Buffer {
    const o = this.#options;
    // Window 8 runs as 9 (see the top of this file).
    const config = { windowBits: Math.max(9, this.#deflateBits), level: o.level, memLevel: o.memLevel };
    if (o.preset.shared) {
      this.#lowMemory ??= new LowMemoryDeflate(config, !this.#deflateNoContext);
      return this.#lowMemory.deflate(data, first, fin);
    }
    const deflater = (this.#deflater ??= new Deflater(config));
    // Every frame is sync-flushed so the peer can inflate it as it arrives.
    const out = deflater.deflate(data);
    if (!fin) return out;
    if (this.#deflateNoContext) {
      // RFC 7692 7.1.1: no context takeover, so the context can go until the next message.
      deflater.release();
      this.#deflater = null;
    }
    return endOfMessage(out);
  }

  /**
   * @internal Server: how a whole message of `length` bytes would go out on this connection, so
   * that a `PreparedMessage` can be encoded once for many: `'plain'` (not compressed),
   * the compressor's parameters when each message is compressed alone (no context
   * takeover on our side: the same parameters give the same bytes on every connection),
   * or null when this connection's own context must compress it.
   */
  sharedEncoding(length: number, compress: boolean | undefined): 'plain' | SharedDeflate | null {
    if (this.#outboundCompressed) return null; // inside a message (the caller prevents it)
    const compressed = compress === true || (compress !== false && length >= this.#options.threshold);
    if (!compressed) return 'plain';
    return this.#shared;
  }

  /** Releases the zlib contexts (the connection is finished). */
  close(): void {
    this.#inflater?.release();
    this.#inflater = null;
    this.#deflater?.release();
    this.#deflater = null;
    this.#lowMemory?.release();
    this.#lowMemory = null;
    this.#inboundCompressed = false;
    this.#outboundCompressed = false;
  }
}

function fail(reason: string): never {
  throw new RemoteProtocolError(`permessage-deflate: ${reason}`, { code: 'ERR_BAD_EXTENSION' });
}
