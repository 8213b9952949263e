/**
 * Ending a compressed message (RFC 7692 7.2.1), and compressing one alone: what the
 * permessage-deflate extension does at the end of each message, and what a
 * `PreparedMessage` does once for every connection that compresses without context
 * takeover.
 */
import { DEFLATE_TAIL, Deflater, type DeflaterConfig } from './zlib-backend';

/** The compressor's parameters a `PreparedMessage` is compressed with, and their cache key. */
export interface SharedDeflate extends DeflaterConfig {
  readonly key: string;
}

/**
 * The last frame of a compressed message, from the sync-flushed output: RFC 7692 7.2.1
 * removes the 0x00 0x00 0xff 0xff the flush ended with; with nothing left (7.2.3.6) the
 * message ends with a single 0x00, the header of an empty stored block.
 */
export function endOfMessage(out: Buffer): Buffer {
  if (out.length >= 4 && out.subarray(-4).equals(DEFLATE_TAIL)) out = out.subarray(0, -4);
  return out.length === 0 ? Buffer.from([0x00]) : out;
}

/** Compress a whole message alone (no context before or after it), as `params` say. */
export function deflateAlone(data: Buffer, params: DeflaterConfig): Buffer {
  const deflater = new Deflater(params);
  try {
    return endOfMessage(deflater.deflate(data));
  } finally {
    deflater.release();
  }
}

const settings = new Map<string, SharedDeflate>();

/** The `SharedDeflate` of a setting: one frozen object per setting, so it is made once. */
export function sharedDeflate(windowBits: number, level: number, memLevel: number): SharedDeflate {
  const key = `${windowBits}:${level}:${memLevel}`;
  let setting = settings.get(key);
  if (setting === undefined) settings.set(key, (setting = Object.freeze({ key, windowBits, level, memLevel })));
  return setting;
}
