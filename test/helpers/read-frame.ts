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
  const out: ReadFrame[] = [];
  let at = 0;
  while (at < wire.length) {
    const b0 = wire[at]!;
    const b1 = wire[at + 1]!;
    let length = b1 & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      length = wire.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      length = Number(wire.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? wire.subarray(pos, pos + 4) : null;
    if (masked) pos += 4;
    if (pos + length > wire.length) throw new Error(`truncated frame at offset ${at}`);
    const payload = Buffer.from(wire.subarray(pos, pos + length));
    if (key !== null) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ key[i % 4]!;
    out.push({ fin: (b0 & 0x80) !== 0, rsv: b0 & 0x70, opcode: b0 & 0x0f, masked, payload });
    at = pos + length;
  }
  return out;
}

/** The code and reason of a close frame's body (code null for an empty body). */
export function closeBody(payload: Buffer): { code: number | null; reason: string } {
  if (payload.length === 0) return { code: null, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}
