/**
 * Node's zlib contexts driven synchronously through the native handle, and where they
 * live between uses: a bounded pool of reset contexts, the process-wide shared
 * compressors of `memory: 'low'`, and counters of every context that is open, so that
 * tests can pin when contexts are allocated and freed (by count, not by timing).
 *
 * A context is created only when a message needs it (see permessage-deflate.ts). By
 * zlib's own formulas a deflate context holds about 2^(windowBits+2) + 2^(memLevel+9)
 * bytes and an inflate context 2^windowBits plus about 7 KiB (its window allocated at
 * the first compressed byte); README.md has the measured cost per connection.
 */
import * as zlib from 'node:zlib';

/** zlib reported corrupt input. */
export class InflateDataError extends Error {}

/** The two kinds of context. */
export type ContextKind = 'deflate' | 'inflate';

// The parts of Node's zlib internals we use (stable since Node 10; minizlib relies on
// the same): the native handle of a zlib stream and the array it reports into.
interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
  close(): void;
  onerror: (message: string, errno: number, code: string) => void;
}
interface StreamInternals {
  _handle: NativeHandle;
  _writeState: Uint32Array;
}

const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;
const EMPTY = Buffer.alloc(0);

// Output goes through one shared scratch buffer and is copied out before returning;
// everything here is synchronous, so no two calls ever overlap. 256 KiB: outputs up to
// that size are copied once (larger ones are also concatenated).
const SCRATCH = Buffer.allocUnsafe(256 * 1024);

// Every open native context, by kind: in use, pooled or shared.
const live = { deflate: 0, inflate: 0 };

/** One native zlib context driven synchronously. */
export class NodeContext {
  readonly #handle: NativeHandle;
  readonly #state: Uint32Array;
  #error: string | null = null;
  #closed = false;
  /** A data error happened: the context must not be reused. */
  broken = false;
  /** The last call stopped with input left over: the DEFLATE stream ended (inflate). */
  inputLeft = false;

  /** `key` names the parameters: 'd' + deflate settings, or 'i' + window bits. */
  constructor(
    readonly key: string,
    stream: zlib.DeflateRaw | zlib.InflateRaw,
  ) {
    const internals = stream as unknown as StreamInternals;
    this.#handle = internals._handle;
    this.#state = internals._writeState;
    // The handle names its stream (Node's owner symbol) for the asynchronous path, which
    // is never taken here: without that link the stream object (a whole Transform, about
    // 1 KiB of heap) is collected and the context keeps only the handle.
    const owner = Object.getOwnPropertySymbols(this.#handle).find((s) => s.description === 'owner_symbol');
    if (owner !== undefined) delete (this.#handle as unknown as Record<symbol, unknown>)[owner];
    // Replace the stream's error handler: it would destroy the stream and emit an
    // asynchronous 'error' event; we report the error synchronously instead.
    this.#handle.onerror = (message) => {
      this.#error = message;
    };
    live[kindOf(key)]++;
  }

  /**
   * Run all of `input` through zlib with a sync flush and return every output byte
   * (`keep` false: run it for its effect on the window, and drop the output).
   */
  process(input: Buffer, keep = true): Buffer {
    const state = this.#state;
    let offset = 0;
    let left = input.length;
    let first: Buffer | null = null;
    let rest: Buffer[] | null = null;
    let total = 0;
    for (;;) {
      this.#handle.writeSync(Z_SYNC_FLUSH, input, offset, left, SCRATCH, 0, SCRATCH.length);
      if (this.#error !== null) {
        this.broken = true;
        throw new InflateDataError(this.#error);
      }
      const availOut = state[0]!;
      const availIn = state[1]!;
      const have = SCRATCH.length - availOut;
      if (have > 0 && keep) {
        const out = Buffer.from(SCRATCH.subarray(0, have));
        if (first === null) first = out;
        else (rest ??= [first]).push(out);
        total += have;
      }
      offset += left - availIn;
      left = availIn;
      if (availOut !== 0) break;
    }
    this.inputLeft = left > 0;
    if (rest !== null) return Buffer.concat(rest, total);
    return first ?? EMPTY;
  }

  /** Reset and park the context for reuse, or free it. */
  release(): void {
    if (!this.broken && park(this)) return;
    this.close();
  }

  /** Reset to a fresh stream: the window is forgotten (no data can leak through it). */
  reset(): void {
    this.#handle.reset();
    this.inputLeft = false;
  }

  /** Free the native context. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    live[kindOf(this.key)]--;
    this.#handle.close();
  }
}

function kindOf(key: string): ContextKind {
  return key.startsWith('d') ? 'deflate' : 'inflate';
}

// A small pool of reset contexts shared by all connections, so that a connection that
// negotiated no_context_takeover holds no zlib memory between messages without paying
// for a new context per message. Bounded: extra contexts are freed.
const POOL_LIMIT = { deflate: 4, inflate: 16 } as const;
const pool = new Map<string, NodeContext[]>();
const pooled = { deflate: 0, inflate: 0 };

function park(context: NodeContext): boolean {
  const kind = kindOf(context.key);
  if (pooled[kind] >= POOL_LIMIT[kind]) return false;
  context.reset();
  let list = pool.get(context.key);
  if (list === undefined) pool.set(context.key, (list = []));
  list.push(context);
  pooled[kind]++;
  return true;
}

/** A pooled (reset) context with these parameters, or a new one from `create`. */
export function takeContext(key: string, create: () => zlib.DeflateRaw | zlib.InflateRaw): NodeContext {
  const context = pool.get(key)?.pop();
  if (context === undefined) return new NodeContext(key, create());
  pooled[kindOf(key)]--;
  return context;
}

// The shared compressors: one per setting for the whole process, never parked.
const shared = new Map<string, NodeContext>();

/** The process-wide context with these parameters (made at its first use). */
export function sharedContext(key: string, create: () => zlib.DeflateRaw): NodeContext {
  let context = shared.get(key);
  if (context === undefined || context.broken) {
    context?.close();
    shared.set(key, (context = new NodeContext(key, create())));
  }
  return context;
}

/** How many reset contexts the shared pool holds (for tests and diagnostics). */
export function pooledContexts(): { deflate: number; inflate: number } {
  return { ...pooled };
}

/**
 * Every native zlib context open in this process, by kind (for tests and diagnostics):
 * those connections hold, plus `pooled` (reset, waiting in the pool) and `shared` (the
 * shared compressors of `memory: 'low'`, one per setting).
 */
export function liveContexts(): { deflate: number; inflate: number; pooled: number; shared: number } {
  return { ...live, pooled: pooled.deflate + pooled.inflate, shared: shared.size };
}

/** Free every pooled context and every shared compressor (they are made again on demand). */
export function drainPool(): void {
  for (const list of pool.values()) for (const context of list) context.close();
  pool.clear();
  pooled.deflate = 0;
  pooled.inflate = 0;
  for (const context of shared.values()) context.close();
  shared.clear();
}
