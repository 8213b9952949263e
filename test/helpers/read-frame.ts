/** Test helper: parse the frames a connection wrote, independently of the library's reader. */

/** One parsed frame, payload unmasked. */
export interface ReadFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Parse every frame in `wire` (which must hold whole frames only). */
export function readFrames(wire: Buffer): ReadFrame[] {
  const { frames, rest } = readWholeFrames(wire);
  if (rest.length > 0) throw new Error(`truncated frame at offset ${wire.length - rest.length}`);
  return frames;
}

/** Parse the whole frames at the start of `wire`; `rest` is what follows them (a partial frame). */
export function readWholeFrames(wire: Buffer): { frames: ReadFrame[]; rest: Buffer } {
  const frames: ReadFrame[] = [];
  let at = 0;
  while (at + 2 <= wire.length) {
    const b0 = wire[at]!;
    const b1 = wire[at + 1]!;
    let length = b1 & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      if (pos + 2 > wire.length) break;
      length = wire.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      if (pos + 8 > wire.length) break;
      length = Number(wire.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? wire.subarray(pos, pos + 4) : null;
    if (masked) pos += 4;
    if (pos + length > wire.length) break;
    const payload = Buffer.from(wire.subarray(pos, pos + length));
    if (key !== null) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload });
    at = pos + length;
  }
  return { frames, rest: wire.subarray(at) };
}

/** The code and reason of a close frame's body (code null for an empty body). */
export function closeBody(payload: Buffer): { code: number | null; reason: string } {
  if (payload.length === 0) return { code: null, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}
