/**
 * RFC 6455 5.3: client-to-server masking. Octet i of the payload is XORed with octet
 * (i mod 4) of the 32-bit masking key.
 *
 * The fast path XORs 32-bit words through a Uint32Array over the aligned middle of the
 * destination; only the (at most 3 + 3) unaligned edge bytes go through a byte loop.
 */
import { randomFillSync } from 'node:crypto';

// Below this size a plain byte loop beats setting up the word views.
const WORD_THRESHOLD = 32;

const keyScratch = new Uint8Array(4);
const keyWord = new Uint32Array(keyScratch.buffer);

/**
 * XOR `length` bytes of `src` from `srcOffset` into `dst` from `dstOffset`, with `key`
 * starting at key octet `phase` (0-3). `src` and `dst` may be the same buffer at the
 * same offset (in-place). Returns the phase after the last byte.
 */
export function applyMask(
  src: Uint8Array,
  srcOffset: number,
  dst: Uint8Array,
  dstOffset: number,
  length: number,
  key: Uint8Array,
  phase: number,
): number {
  if (length < WORD_THRESHOLD) {
    for (let i = 0; i < length; i++) {
      dst[dstOffset + i] = src[srcOffset + i]! ^ key[(phase + i) & 3]!;
    }
    return (phase + length) & 3;
  }
  if (src !== dst || srcOffset !== dstOffset) {
    dst.set(src.subarray(srcOffset, srcOffset + length), dstOffset);
  }
  // Bytes until the destination is 4-byte aligned.
  const absolute = dst.byteOffset + dstOffset;
  const head = (4 - (absolute & 3)) & 3;
  let i = 0;
  for (; i < head; i++) dst[dstOffset + i] = dst[dstOffset + i]! ^ key[(phase + i) & 3]!;
  // The key rotated so that word lane 0 lines up with the first aligned byte.
  const p = (phase + head) & 3;
  keyScratch[0] = key[p]!;
  keyScratch[1] = key[(p + 1) & 3]!;
  keyScratch[2] = key[(p + 2) & 3]!;
  keyScratch[3] = key[(p + 3) & 3]!;
  const k = keyWord[0]!;
  const words = (length - head) >>> 2;
  const view = new Uint32Array(dst.buffer, absolute + head, words);
  for (let w = 0; w < words; w++) view[w] = view[w]! ^ k;
  i = head + words * 4;
  for (; i < length; i++) dst[dstOffset + i] = dst[dstOffset + i]! ^ key[(phase + i) & 3]!;
  return (phase + length) & 3;
}

/** Produces the 4-byte masking keys of a client. */
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
