/**
 * Frame opcodes and header bits (RFC 6455 section 5.2).
 */

// RFC 6455 5.2: opcodes. 0x3-0x7 are reserved for further non-control frames and
// 0xB-0xF for further control frames.
/** Frame opcodes. */
export const Opcode = {
  /** A continuation frame of a fragmented message. */
  CONTINUATION: 0x0,
  /** The first frame of a text message. */
  TEXT: 0x1,
  /** The first frame of a binary message. */
  BINARY: 0x2,
  /** A close control frame. */
  CLOSE: 0x8,
  /** A ping control frame. */
  PING: 0x9,
  /** A pong control frame. */
  PONG: 0xa,
} as const;

/** One of the defined opcodes. */
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** RFC 6455 5.5: control frames are the opcodes whose most significant bit is set. */
export function isControl(opcode: number): boolean {
  return (opcode & 0x08) !== 0;
}

/** True for the opcodes RFC 6455 defines; everything else is reserved. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

// RFC 6455 5.2: bits of the first and second header bytes.
export const FIN = 0x80;
export const RSV1 = 0x40;
export const RSV2 = 0x20;
export const RSV3 = 0x10;
export const RSV_MASK = 0x70;
export const OPCODE_MASK = 0x0f;
export const MASK_BIT = 0x80;
export const LENGTH_MASK = 0x7f;

// RFC 6455 5.2: payload length forms.
export const LENGTH_16 = 126;
export const LENGTH_64 = 127;
/** RFC 6455 5.5: "All control frames MUST have a payload length of 125 bytes or less". */
export const MAX_CONTROL_PAYLOAD = 125;
