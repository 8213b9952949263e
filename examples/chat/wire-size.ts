/**
 * The size on the wire of a message the server sends to one client: what the chat page
 * shows beside each message.
 *
 * wsproto's public API tells what a `PreparedMessage` holds (`payload`, `encodings`) but
 * not the frames it made, so this recomputes the size of the frame a connection sent,
 * the way the library makes it:
 *
 * - RFC 7692 7.1.1.1 / 7.2.1: with permessage-deflate and `server_no_context_takeover`,
 *   each message is compressed alone: raw deflate with the negotiated window
 *   (`server_max_window_bits`; at least 9, zlib's raw deflate has no 8-bit window), our
 *   level and memLevel, one Z_SYNC_FLUSH, then the trailing 00 00 ff ff removed (nothing
 *   left is sent as a single 0x00, 7.2.3.6). Same zlib, same parameters, same input: the
 *   same bytes as the frame sent. test/examples-chat.test.ts checks every size against
 *   the frames a raw socket receives.
 * - With context takeover the compressor remembers earlier messages, and only the
 *   connection knows its state: the size is then unknown (null), never guessed. This
 *   server always asks for `serverNoContextTakeover`, so it does not happen here.
 * - RFC 6455 5.2: a server's frames are not masked; the header is 2 bytes, plus 2 for a
 *   payload of 126 to 65535 bytes, plus 8 above.
 */
import * as zlib from 'node:zlib';
import { PerMessageDeflate, type WebSocketDuplex } from 'wsproto';

/** The compressor settings of the server, as given to its `perMessageDeflate` option. */
export interface DeflateSettings {
  level: number;
  memLevel: number;
  threshold: number;
}

/** What one client got for one message. */
export interface WireSize {
  /** The frame's bytes, header included; null when only the connection could tell. */
  wire: number | null;
  /** Whether the message went out compressed. */
  compressed: boolean;
}

const SYNC_FLUSH_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The frame `ws` got for a whole message with this payload, sent by the server with `settings`. */
export function wireSize(payload: Buffer, ws: WebSocketDuplex, settings: DeflateSettings): WireSize {
  const deflate = ws.extensions.find((e) => e instanceof PerMessageDeflate)?.negotiated ?? null;
  // The library's rule: compress a message of `threshold` bytes or more when negotiated.
  if (deflate === null || payload.length < settings.threshold) {
    return { wire: headerLength(payload.length) + payload.length, compressed: false };
  }
  if (!deflate.serverNoContextTakeover) return { wire: null, compressed: true };
  let body = zlib.deflateRawSync(payload, {
    windowBits: Math.max(9, deflate.serverMaxWindowBits),
    level: settings.level,
    memLevel: settings.memLevel,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  if (body.subarray(-4).equals(SYNC_FLUSH_TAIL)) body = body.subarray(0, -4);
  const length = Math.max(1, body.length);
  return { wire: headerLength(length) + length, compressed: true };
}

/** RFC 6455 5.2: the header of an unmasked frame with a payload of `length` bytes. */
function headerLength(length: number): number {
  return 2 + (length > 0xffff ? 8 : length > 125 ? 2 : 0);
}
