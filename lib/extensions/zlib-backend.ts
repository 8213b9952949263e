/**
 * Synchronous zlib contexts for permessage-deflate (RFC 7692), so that the sans-I/O
 * core never waits on a thread pool:
 *
 * - Deflate (and, by default, inflate) runs on Node's own zlib through the native
 *   handle's `writeSync`, the call `zlib.deflateRawSync` itself makes. We keep the
 *   handle open between calls (a persistent context, for context takeover); Node 20's
 *   `_processChunk` would close it after one call.
 * - Inflate can also run on `zlib-sync` (optional native addon) when asked for.
 *
 * Every inflate goes through `inflateBounded`, which feeds the compressed input in
 * slices sized so that one slice can never inflate to much more than the room left:
 * a deflate bomb is refused within a fixed overshoot of the limit, whatever the
 * backend (see `INFLATE_OVERSHOOT_BOUND`).
 */
import * as zlib from 'node:zlib';
import { InflateDataError, sharedContext, takeContext, type NodeContext } from './zlib-context';

export { InflateDataError, drainPool, liveContexts, pooledContexts } from './zlib-context';

/** The inflate backends. */
export type InflateBackendName = 'node:zlib' | 'zlib-sync';

/**
 * The backend used when none is asked for: Node's zlib. Measured on Node 20 (see
 * bench/deflate-candidates.ts), it inflates faster than zlib-sync (about 1.1 µs against
 * 1.9 µs per 64-byte message, 29 µs against 47 µs per 64 KiB message) and it frees
 * its context on `close()`, while zlib-sync 0.1.10 never calls `inflateEnd`: every
 * `Inflate` object leaks its zlib state (4 to 50 KiB) when collected.
 */
export const DEFAULT_INFLATE_BACKEND: InflateBackendName = 'node:zlib';

// RFC 1951 3.2.5: the longest match (258 bytes) can be coded in two bits, so one
// compressed byte inflates to at most 258 * 4 = 1032 bytes.
const MAX_INFLATE_RATIO = 1032;
// Input slices fed to the inflater: at most 16 KiB, at least 64 bytes, and otherwise
// small enough that the worst case fits the room left under the budget.
const MIN_SLICE = 64;
const MAX_SLICE = 16 * 1024;

/**
 * The most bytes `inflateBounded` can produce beyond its budget before it throws: one
 * minimum slice at the maximum ratio, plus one pending match that zlib-sync may hold
 * back from the previous slice.
 */
export const INFLATE_OVERSHOOT_BOUND = MIN_SLICE * MAX_INFLATE_RATIO + 258;

/** The bytes RFC 7692 7.2.1 removes from the end of a message and 7.2.2 appends. */
export const DEFLATE_TAIL: Buffer = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// An empty non-final stored block: a no-op for a DEFLATE stream at a block boundary.
const EMPTY_STORED_BLOCK = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
// The stream's own output buffer (16 KiB by default, one per context) is never used: we
// write through the handle into a shared scratch buffer. The smallest zlib allows.
const MIN_CHUNK = zlib.constants.Z_MIN_CHUNK;

/** Inflating would exceed the budget; `produced` bytes were inflated in this call. */
export class InflateLimitError extends Error {
  constructor(readonly produced: number) {
    super(`inflated ${produced} bytes`);
  }
}

/** A raw inflate context (no zlib header) that survives across calls. */
export interface Inflater {
  /** Inflate all of `input` (a sync flush): everything zlib can output now. */
  push(input: Buffer): Buffer;
  /** True once a block with BFINAL set ended the DEFLATE stream. */
  readonly ended: boolean;
  /** True when `release()` frees (or parks) the context, false when it cannot. */
  readonly freesMemory: boolean;
  /** Free the context (or park it for reuse). The inflater is unusable afterwards. */
  release(): void;
  /**
   * After a message: find out whether the stream ended exactly where the input did
   * (then `ended` becomes true). Its output is discarded; it cannot fail.
   */
  probeEnd(): void;
}

/**
 * Inflate `data` and return the result, throwing `InflateLimitError` as soon as the
 * output exceeds `budget` bytes (at most `INFLATE_OVERSHOOT_BOUND` bytes beyond it are
 * ever inflated). Zlib errors throw `InflateDataError`.
 */
export function inflateBounded(inflater: Inflater, data: Buffer, budget: number): Buffer {
  const pieces: Buffer[] = [];
  let total = 0;
  for (let offset = 0; offset < data.length;) {
    const room = budget - total;
    const size = Math.min(MAX_SLICE, Math.max(MIN_SLICE, Math.floor(room / MAX_INFLATE_RATIO)));
    const slice = data.subarray(offset, offset + size);
    offset += slice.length;
    const produced = inflater.push(slice);
    if (produced.length === 0) continue;
    total += produced.length;
    if (total > budget) throw new InflateLimitError(total);
    pieces.push(produced);
  }
  if (pieces.length === 1) return pieces[0]!;
  return pieces.length === 0 ? EMPTY : Buffer.concat(pieces, total);
}

const EMPTY = Buffer.alloc(0);

class NodeInflater implements Inflater {
  readonly #context: NodeContext;

  constructor(windowBits: number) {
    this.#context = takeContext(`i${windowBits}`, () => new zlib.InflateRaw({ windowBits, chunkSize: MIN_CHUNK }));
  }

  push(input: Buffer): Buffer {
    return this.#context.process(input);
  }

  readonly freesMemory = true;

  get ended(): boolean {
    // Inflate stops with input left and room for output only at the end of the stream.
    return this.#context.inputLeft;
  }

  probeEnd(): void {
    // zlib does not tell that a stream ended when it ended on the last input byte. Feed
    // an empty stored block: a no-op for a live stream at a block boundary, left over
    // (inputLeft) for an ended one. A sender that broke off mid-block (never valid)
    // already left this context garbled; an error here only says so again.
    try {
      this.#context.process(EMPTY_STORED_BLOCK);
    } catch {
      // broken: the next message on this context fails, as it would have anyway
    }
  }

  release(): void {
    this.#context.release();
  }
}

/** Parameters of a raw deflate context. */
export interface DeflaterConfig {
  /** LZ77 window, 9 to 15 bits (zlib's raw deflate has no 8). */
  windowBits: number;
  /** Compression level, -1 (zlib's default) to 9. */
  level: number;
  /** zlib memLevel, 1 to 9. */
  memLevel: number;
}

/** A raw deflate context on Node's zlib. */
export class Deflater {
  readonly #context: NodeContext;
  readonly #shared: boolean;

  /**
   * A context of its own (from the pool when one is parked there), or with `shared`
   * the process-wide context of this setting, which every caller must `restart()`
   * before each message and may only use for whole messages.
   */
  constructor(config: DeflaterConfig, shared = false) {
    const key = `d${config.windowBits}:${config.level}:${config.memLevel}`;
    const create = (): zlib.DeflateRaw =>
      new zlib.DeflateRaw({
        windowBits: config.windowBits,
        level: config.level,
        memLevel: config.memLevel,
        chunkSize: MIN_CHUNK,
      });
    this.#context = shared ? sharedContext(key, create) : takeContext(key, create);
    this.#shared = shared;
  }

  /** Compress `data` and sync-flush: the output ends with 00 00 ff ff unless empty. */
  deflate(data: Buffer): Buffer {
    return this.#context.process(data);
  }

  /**
   * Start a new DEFLATE stream (the window forgotten), then run `history` through it
   * with a sync flush and drop that output: what follows may refer back into `history`,
   * as if it had been compressed just before on this stream.
   */
  restart(history: Buffer | null): void {
    this.#context.reset();
    if (history !== null && history.length > 0) this.#context.process(history, false);
  }

  /** Free the context (or park it, reset, for another connection); a shared one stays. */
  release(): void {
    if (!this.#shared) this.#context.release();
  }
}

// ---- zlib-sync ----

interface ZlibSyncInflate {
  push(data: Buffer, flush: number): void;
  readonly result: Buffer | null;
  readonly err: number;
  readonly msg: string | null;
}
interface ZlibSyncModule {
  Inflate: new (options: { chunkSize?: number; windowBits?: number }) => ZlibSyncInflate;
}

const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;

let zlibSync: ZlibSyncModule | null | undefined;

/** The zlib-sync module, or null when it is not installed or cannot load. */
export function loadZlibSync(): ZlibSyncModule | null {
  if (zlibSync === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      zlibSync = require('zlib-sync') as ZlibSyncModule;
    } catch {
      zlibSync = null;
    }
  }
  return zlibSync;
}

class ZlibSyncInflater implements Inflater {
  readonly #inflate: ZlibSyncInflate;
  #ended = false;

  constructor(module: ZlibSyncModule, windowBits: number) {
    // Negative windowBits selects raw inflate (no zlib header).
    this.#inflate = new module.Inflate({ windowBits: -windowBits, chunkSize: 16 * 1024 });
  }

  push(input: Buffer): Buffer {
    const inflate = this.#inflate;
    // With Z_SYNC_FLUSH, zlib-sync's result holds the output of this push only.
    inflate.push(input, Z_SYNC_FLUSH);
    const err = inflate.err;
    if (err === Z_STREAM_END) this.#ended = true;
    else if (err < 0 && err !== Z_BUF_ERROR) throw new InflateDataError(inflate.msg ?? `zlib error ${err}`);
    return inflate.result ?? EMPTY;
  }

  readonly freesMemory = false;

  get ended(): boolean {
    return this.#ended;
  }

  probeEnd(): void {
    // zlib-sync reports Z_STREAM_END with the call that reached it: nothing to probe.
  }

  release(): void {
    // zlib-sync has no way to free or reset a context: it goes when collected (and
    // its zlib state leaks, see DEFAULT_INFLATE_BACKEND).
  }
}

/**
 * The backend new extensions use: `DEFAULT_INFLATE_BACKEND`, or Node's zlib when that
 * is zlib-sync and the addon cannot be loaded.
 */
export function defaultInflateBackend(): InflateBackendName {
  return DEFAULT_INFLATE_BACKEND === 'zlib-sync' && loadZlibSync() === null ? 'node:zlib' : DEFAULT_INFLATE_BACKEND;
}

/** A new raw inflate context on the given backend. */
export function createInflater(backend: InflateBackendName, windowBits: number): Inflater {
  if (backend === 'zlib-sync') {
    const module = loadZlibSync();
    if (module !== null) return new ZlibSyncInflater(module, windowBits);
  }
  return new NodeInflater(windowBits);
}
