/**
 * The extension framework (RFC 6455 section 9): what an extension such as
 * permessage-deflate plugs into. The frame layer calls these hooks; it never knows
 * which extension it runs.
 *
 * Hooks that meet bad input from the peer throw a `RemoteProtocolError` whose
 * `closeCode` is the code to close with (1002, 1007, 1009 ...); the frame layer turns
 * it into a `CloseConnection` event.
 */

/** A parsed extension offer or response: `name; param; param=value` (RFC 6455 9.1). */
export interface ExtensionParams {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** Parameters in order; a parameter without a value has `value` `null`. */
  readonly params: ReadonlyArray<readonly [string, string | null]>;
}

/** The interface every extension implements. */
export interface Extension {
  /** The extension token as it appears in `Sec-WebSocket-Extensions`. */
  readonly name: string;

  /** True once negotiation has enabled the extension for this connection. */
  enabled(): boolean;

  /** The RSV bits (0x40, 0x20, 0x10 as in the first header byte) the extension uses. */
  readonly rsvBits: number;

  /**
   * Client: the offer to put in the request. `true` offers the bare name; a string is
   * the parameter list after the name (e.g. `client_max_window_bits`); `false` offers
   * nothing.
   */
  offer(): string | boolean;

  /**
   * Server: look at one offer of this extension (the client may send several; they
   * are tried in order) and return the response parameters to accept it (`true` for
   * the bare name, a string for parameters) or `null` to decline this offer. Throwing
   * a `RemoteProtocolError` fails the handshake.
   */
  accept(offer: ExtensionParams): string | true | null;

  /**
   * Client: the server accepted with these parameters; configure the extension.
   * Throwing a `RemoteProtocolError` fails the handshake (parameters we did not offer
   * or cannot honour).
   */
  finalize(response: ExtensionParams): void;

  /**
   * A frame header arrived. Return the RSV bits of `rsv` that this extension consumes
   * (the frame layer fails with 1002 on any set bit that nobody consumed).
   */
  inboundHeader(opcode: number, rsv: number, payloadLength: number): number;

  /**
   * Payload bytes of the current frame, unmasked. Return the bytes to deliver. The
   * returned data must not exceed `budget` bytes (the room left under the message size
   * limit): throw a `RemoteProtocolError` with close code 1009 rather than produce more.
   */
  inboundPayload(data: Buffer, budget: number): Buffer;

  /**
   * The current frame's payload is complete (`fin`: it ended the message). Return
   * extra bytes to deliver (at most `budget`) or null.
   */
  inboundComplete(fin: boolean, budget: number): Buffer | null;

  /**
   * A data or control frame is about to be written. Return the RSV bits to set and the
   * payload to write. `compress` is the sender's per-message preference (undefined
   * when the sender has none).
   */
  outbound(
    opcode: number,
    rsv: number,
    data: Buffer,
    fin: boolean,
    compress: boolean | undefined,
  ): {
    /** The RSV bits to set on the frame (`rsv` with this extension's bits added). */
    rsv: number;
    /** The payload to write (transformed, or `data` itself). */
    data: Buffer;
  };

  /** The connection is finished: release native resources (zlib contexts). */
  close?(): void;
}
