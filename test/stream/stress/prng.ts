/**
 * The stress test's randomness: a small seeded generator (sfc32, seeded through
 * splitmix32) and the message contents drawn from fixed pools, so that one seed replays
 * one schedule byte for byte.
 */
import { createHash } from 'node:crypto';

/** A seeded 32-bit generator with the few draws the schedule generator needs. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = split();
    this.#b = split();
    this.#c = split();
    this.#d = split();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform unsigned 32-bit integer. */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.float() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

/** What one message is made of: binary slices of a random pool, text slices of a text pool. */
export interface MessageSpec {
  readonly binary: boolean;
  /** Bytes for binary, UTF-16 code units for text (about the same as bytes: the pool is mostly ASCII). */
  readonly size: number;
  /** Where in the pool the message starts. */
  readonly offset: number;
}

/** Pool sizes: every message is a slice of one of them, so the largest message is below this. */
export const POOL_SIZE = 2 * 1024 * 1024;

let binaryPool: Buffer | null = null;
let textPool: string | null = null;

function pools(): { binary: Buffer; text: string } {
  if (binaryPool === null || textPool === null) {
    const rng = new Rng(0x5eed);
    binaryPool = Buffer.alloc(POOL_SIZE);
    for (let i = 0; i < POOL_SIZE; i += 4) binaryPool.writeUInt32LE(rng.next(), i);
    // Mostly ASCII (compressible), with 2-, 3- and 4-byte UTF-8 sequences so that text
    // crosses frame and chunk boundaries in the middle of code points.
    const alphabet = ['a', 'b', 'c', 'd', 'e', ' ', 'wsproto ', 'é', '€', '中', '😀', '\n'];
    const parts: string[] = [];
    let length = 0;
    while (length < POOL_SIZE + 8) {
      const part = rng.pick(alphabet);
      parts.push(part);
      length += part.length;
    }
    textPool = parts.join('');
  }
  return { binary: binaryPool, text: textPool };
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/** The payload a spec stands for: a fresh Buffer (binary) or a well-formed string (text). */
export function makePayload(spec: MessageSpec): Buffer | string {
  const { binary, text } = pools();
  const start = spec.offset % (POOL_SIZE - spec.size + 1);
  if (spec.binary) return Buffer.from(binary.subarray(start, start + spec.size));
  // Never split a surrogate pair: move both ends forward past a low surrogate.
  let from = start;
  let to = start + spec.size;
  if (from < to && isLowSurrogate(text.charCodeAt(from))) from += 1;
  if (to > from && to < text.length && isLowSurrogate(text.charCodeAt(to))) to += 1;
  return text.slice(from, to);
}

/** What a message looks like once sent or received: type, UTF-8 length and a digest. */
export interface MessageDigest {
  readonly binary: boolean;
  readonly bytes: number;
  readonly hash: string;
}

/** The digest of a whole message. */
export function digest(binary: boolean, data: Buffer | string): MessageDigest {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return { binary, bytes: bytes.length, hash: createHash('sha1').update(bytes).digest('hex').slice(0, 12) };
}

/** Digest built from pieces (a message read from `ws.app` as partial events). */
export class DigestBuilder {
  #hash = createHash('sha1');
  #bytes = 0;

  /** Add a piece (strings from text events carry whole code points). */
  update(piece: Buffer | string): number {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    this.#hash.update(bytes);
    this.#bytes += bytes.length;
    return bytes.length;
  }

  /** The digest so far. */
  finish(binary: boolean): MessageDigest {
    return { binary, bytes: this.#bytes, hash: this.#hash.digest('hex').slice(0, 12) };
  }
}

/** "1.5 MiB" style. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(2)} MiB`;
}
