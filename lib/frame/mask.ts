/**
 * RFC 6455 5.3: client-to-server masking. Octet i of the payload is XORed with octet
 * (i mod 4) of the 32-bit masking key.
 *
 * Three paths, chosen by size (measured in bench/): a byte loop for small payloads
 * (a native call costs ~100 ns, more than XORing a few dozen bytes), the optional
 * `bufferutil` addon (the one `ws` uses, memcpy speed) for larger ones when it is
 * installed, and otherwise 32-bit words through a Uint32Array over the aligned middle.
 */
import { randomFillSync } from 'node:crypto';

interface NativeMask {
  mask(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, mask: Uint8Array): void;
}

function loadNative(): NativeMask | null {
  if (process.env.WSPROTO_NO_BUFFERUTIL) return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native helper
    return require('bufferutil') as NativeMask;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Which masking implementation large payloads use: 'bufferutil' or 'js'. */
export const maskBackend: 'bufferutil' | 'js' = native === null ? 'js' : 'bufferutil';

// Below these sizes the byte loop wins (measured: a native call costs ~100 ns; a
// Uint32Array view costs ~250 ns to create).
const NATIVE_MIN = 48;
const WORDS_MIN = 512;

const rotated = new Uint8Array(4);
const keyScratch = new Uint8Array(4);
const keyWord = new Uint32Array(keyScratch.buffer);

function rotate(key: Uint8Array, phase: number): Uint8Array {
  if (phase === 0) return key;
  rotated[0] = key[phase & 3]!;
  rotated[1] = key[(phase + 1) & 3]!;
  rotated[2] = key[(phase + 2) & 3]!;
  rotated[3] = key[(phase + 3) & 3]!;
  return rotated;
}

/**
 * XOR `length` bytes of `buf` from `offset` in place with `key`, starting at key octet
 * `phase` (0-3). Returns the phase after the last byte.
 */
export function unmaskInPlace(buf: Uint8Array, offset: number, length: number, key: Uint8Array, phase: number): number {
  if (native !== null && length >= NATIVE_MIN) {
    native.unmask(buf.subarray(offset, offset + length), rotate(key, phase));
  } else if (length >= WORDS_MIN) {
    xorWords(buf, offset, length, key, phase);
  } else {
    for (let i = 0; i < length; i++) buf[offset + i] = buf[offset + i]! ^ key[(phase + i) & 3]!;
  }
  return (phase + length) & 3;
}

/**
 * Unmask a whole view in place when the native helper is worth calling for its size
 * (then return true); otherwise do nothing and return false.
 */
export function unmaskViewNative(view: Uint8Array, key: Uint8Array, phase: number): boolean {
  if (native === null || view.length < NATIVE_MIN) return false;
  native.unmask(view, rotate(key, phase));
  return true;
}

/** True when payloads of `length` bytes are unmasked by the native helper. */
export function usesNativeMask(length: number): boolean {
  return native !== null && length >= NATIVE_MIN;
}

/**
 * Copy `length` bytes of `src` from `srcOffset` into `dst` at `dstOffset`, unmasked with
 * `key` from key octet `phase`, in one pass (a copy, then unmasking in place, reads and
 * writes the bytes twice). Returns the phase after the last byte.
 */
export function unmaskInto(
  src: Uint8Array,
  srcOffset: number,
  length: number,
  dst: Uint8Array,
  dstOffset: number,
  key: Uint8Array,
  phase: number,
): number {
  if (native !== null && length >= NATIVE_MIN) {
    native.mask(src.subarray(srcOffset, srcOffset + length), rotate(key, phase), dst, dstOffset, length);
    return (phase + length) & 3;
  }
  dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
  return unmaskInPlace(dst, dstOffset, length, key, phase);
}

/** Write `src` XOR `key` (from key octet 0) into `dst` at `dstOffset`. */
export function maskInto(src: Uint8Array, dst: Uint8Array, dstOffset: number, key: Uint8Array): void {
  const length = src.length;
  if (native !== null && length >= NATIVE_MIN) {
    native.mask(src, key, dst, dstOffset, length);
  } else if (length >= WORDS_MIN) {
    dst.set(src, dstOffset);
    xorWords(dst, dstOffset, length, key, 0);
  } else {
    for (let i = 0; i < length; i++) dst[dstOffset + i] = src[i]! ^ key[i & 3]!;
  }
}

// XOR in place with 32-bit words over the 4-byte-aligned middle.
function xorWords(buf: Uint8Array, offset: number, length: number, key: Uint8Array, phase: number): void {
  const absolute = buf.byteOffset + offset;
  const head = Math.min((4 - (absolute & 3)) & 3, length);
  for (let i = 0; i < head; i++) buf[offset + i] = buf[offset + i]! ^ key[(phase + i) & 3]!;
  const p = (phase + head) & 3;
  keyScratch[0] = key[p]!;
  keyScratch[1] = key[(p + 1) & 3]!;
  keyScratch[2] = key[(p + 2) & 3]!;
  keyScratch[3] = key[(p + 3) & 3]!;
  const k = keyWord[0]!;
  const words = (length - head) >>> 2;
  const view = new Uint32Array(buf.buffer, absolute + head, words);
  for (let w = 0; w < words; w++) view[w] = view[w]! ^ k;
  for (let i = head + words * 4; i < length; i++) buf[offset + i] = buf[offset + i]! ^ key[(phase + i) & 3]!;
}

/** Produces the 4-byte masking keys of a client. The key is read at once; it may be reused after. */
export type MaskKeyGenerator = () => Uint8Array;

// RFC 6455 5.3: "The masking key needs to be unpredictable; thus, the masking key MUST
// be derived from a strong source of entropy". Keys come from a pool of CSPRNG bytes,
// refilled as a whole, so a frame costs no system call.
const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** The default key generator: 4 fresh bytes from a `crypto.randomFillSync` pool. */
export const randomMaskKey: MaskKeyGenerator = () => {
  if (poolOffset + 4 > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const key = pool.subarray(poolOffset, poolOffset + 4);
  poolOffset += 4;
  return key;
};
