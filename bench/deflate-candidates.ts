/**
 * Candidates for synchronous permessage-deflate (RFC 7692), measured on the two message
 * shapes that matter: 64-byte JSON messages and 64 KiB messages.
 *
 * Deflate:
 * - `node handle`: Node's zlib through the native handle's writeSync, one persistent
 *   context with a sync flush per message (context takeover). What lib/ uses.
 * - `node handle, reset`: the same, released to the shared pool after each message
 *   (no_context_takeover), taken back for the next one.
 * - `deflateRawSync`: `zlib.deflateRawSync` per message (no context takeover only: a
 *   new context each time).
 * - `pako` and `fflate` (pure JavaScript), when found in the current directory's
 *   node_modules: streaming with a sync flush per message.
 *
 * Inflate: the node handle against zlib-sync, each with one persistent context.
 *
 * Every candidate's output is checked: each message must inflate back, with the 00 00 ff
 * ff tail of RFC 7692 7.2.2, in one persistent inflate context.
 *
 * Run: npx tsc -p tsconfig.json && node dist/bench/deflate-candidates.js
 * With pako/fflate: mkdir /tmp/bench-candidates && cd /tmp/bench-candidates &&
 *   npm install pako fflate && node /work/main/dist/bench/deflate-candidates.js
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Deflater, createInflater, drainPool, inflateBounded, loadZlibSync } from '../lib/extensions/zlib-backend';

const { Z_SYNC_FLUSH } = zlib.constants;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A deflate candidate: one instance per simulated connection. */
interface Candidate {
  name: string;
  /** Compress one message; returns the payload without the 00 00 ff ff tail. */
  make(): (message: Buffer) => Buffer;
  contextTakeover: boolean;
}

function stripTail(out: Buffer): Buffer {
  return out.length >= 4 && out.subarray(-4).equals(TAIL) ? out.subarray(0, -4) : out;
}

const candidates: Candidate[] = [
  {
    name: 'node handle (lib)',
    contextTakeover: true,
    make() {
      const deflater = new Deflater({ windowBits: 15, level: -1, memLevel: 8 });
      return (message) => stripTail(deflater.deflate(message));
    },
  },
  {
    name: 'node handle, reset per message',
    contextTakeover: false,
    make() {
      return (message) => {
        const deflater = new Deflater({ windowBits: 15, level: -1, memLevel: 8 });
        const out = stripTail(deflater.deflate(message));
        deflater.release();
        return out;
      };
    },
  },
  {
    name: 'zlib.deflateRawSync',
    contextTakeover: false,
    make() {
      return (message) => stripTail(zlib.deflateRawSync(message, { finishFlush: Z_SYNC_FLUSH }));
    },
  },
];

// Optional pure-JavaScript candidates, resolved from the current directory.
const requireHere = createRequire(path.join(process.cwd(), 'bench.js'));

interface PakoDeflate {
  push(data: Uint8Array, flush: number): boolean;
  onData: (chunk: Uint8Array) => void;
  err: number;
}
interface PakoModule {
  Deflate: new (options: { raw: boolean; level: number }) => PakoDeflate;
  Z_SYNC_FLUSH: number;
}
interface FflateDeflate {
  push(data: Uint8Array, final?: boolean): void;
  flush(): void;
}
interface FflateModule {
  Deflate: new (options: { level: number }, ondata: (chunk: Uint8Array, final: boolean) => void) => FflateDeflate;
}

function optional<T>(name: string): { module: T; version: string } | null {
  try {
    const module = requireHere(name) as T;
    const version = (requireHere(`${name}/package.json`) as { version: string }).version;
    return { module, version };
  } catch {
    return null;
  }
}

const pako = optional<PakoModule>('pako');
if (pako !== null) {
  candidates.push({
    name: `pako ${pako.version}`,
    contextTakeover: true,
    make() {
      const deflate = new pako.module.Deflate({ raw: true, level: 6 });
      let chunks: Buffer[] = [];
      deflate.onData = (chunk) => chunks.push(Buffer.from(chunk));
      return (message) => {
        chunks = [];
        deflate.push(message, pako.module.Z_SYNC_FLUSH);
        return stripTail(Buffer.concat(chunks));
      };
    },
  });
}
const fflate = optional<FflateModule>('fflate');
if (fflate !== null) {
  candidates.push({
    name: `fflate ${fflate.version}`,
    contextTakeover: true,
    make() {
      let chunks: Buffer[] = [];
      const deflate = new fflate.module.Deflate({ level: 6 }, (chunk) => chunks.push(Buffer.from(chunk)));
      return (message) => {
        chunks = [];
        deflate.push(message);
        deflate.flush();
        return stripTail(Buffer.concat(chunks));
      };
    },
  });
}

/** Messages that look like an application's: JSON records, or 64 KiB of mixed text. */
function messages(size: number, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    let text = JSON.stringify({
      id: i,
      type: 'update',
      user: `user-${i % 97}`,
      value: (i * 7919) % 10007,
      ok: i % 3 === 0,
    });
    while (text.length < size) {
      text += JSON.stringify({ seq: text.length, note: `entry ${i}-${text.length}`, tags: ['a', 'b', String(i % 13)] });
    }
    out.push(Buffer.from(text.slice(0, size)));
  }
  return out;
}

/** Inflate every message of one connection, in order, with the tail; true when all match. */
function roundTrips(inputs: Buffer[], outputs: Buffer[], contextTakeover: boolean): boolean {
  try {
    let inflater = createInflater('node:zlib', 15);
    for (const [i, output] of outputs.entries()) {
      const got = Buffer.concat([inflateBounded(inflater, output, 1 << 30), inflateBounded(inflater, TAIL, 1 << 30)]);
      if (!got.equals(inputs[i]!)) return false;
      if (!contextTakeover) {
        inflater.release();
        inflater = createInflater('node:zlib', 15);
      }
    }
    inflater.release();
    return true;
  } catch {
    return false;
  }
}

function time(run: () => void): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

const shapes: Array<[string, number, number]> = [
  ['64 B JSON', 64, 200_000],
  ['64 KiB', 64 * 1024, 2_000],
];

console.log(`node ${process.version}, zlib ${process.versions.zlib}`);
console.log('\nDeflate (one connection; µs per message, lower is better)');
for (const [label, size, count] of shapes) {
  const inputs = messages(size, count);
  const inputBytes = inputs.reduce((n, m) => n + m.length, 0);
  console.log(`\n  ${label} messages x ${count}`);
  for (const candidate of candidates) {
    const check = candidate.make();
    const checked = inputs.slice(0, 50).map((m) => check(m));
    const robust = roundTrips(inputs.slice(0, 50), checked, candidate.contextTakeover);
    const deflate = candidate.make();
    for (const m of inputs.slice(0, Math.min(1000, count / 10))) deflate(m); // warm-up
    const run = candidate.make();
    let outBytes = 0;
    const ms = time(() => {
      for (const m of inputs) outBytes += run(m).length;
    });
    drainPool();
    console.log(
      `  ${pad(candidate.name, 32)} ${pad(((ms * 1000) / count).toFixed(2), 8)} µs/msg  ` +
        `${pad((inputBytes / 1048576 / (ms / 1000)).toFixed(1), 7)} MiB/s  ` +
        `size ${pad(((100 * outBytes) / inputBytes).toFixed(1) + '%', 6)}  ` +
        `${candidate.contextTakeover ? 'takeover' : 'no takeover'}  ` +
        `${robust ? 'round-trips' : 'DOES NOT ROUND-TRIP with a sync-flushed tail'}`,
    );
  }
}

console.log('\nInflate (one persistent context; µs per message)');
for (const [label, size, count] of shapes) {
  const inputs = messages(size, count);
  const deflate = candidates[0]!.make();
  const compressed = inputs.map((m) => deflate(m));
  console.log(`\n  ${label} messages x ${count}`);
  for (const backend of ['node:zlib', 'zlib-sync'] as const) {
    if (backend === 'zlib-sync' && loadZlibSync() === null) {
      console.log('  zlib-sync                        not installed');
      continue;
    }
    const inflater = createInflater(backend, 15);
    let outBytes = 0;
    const ms = time(() => {
      for (const c of compressed) {
        outBytes += inflateBounded(inflater, c, 1 << 30).length + inflateBounded(inflater, TAIL, 1 << 30).length;
      }
    });
    inflater.release();
    if (outBytes !== inputs.reduce((n, m) => n + m.length, 0)) throw new Error(`${backend} lost bytes`);
    console.log(`  ${pad(backend, 32)} ${pad(((ms * 1000) / count).toFixed(2), 8)} µs/msg`);
  }
}
drainPool();
