/**
 * Shared pieces of the benchmark suite: configuration, timing, statistics, test data,
 * frame building and access to `ws`'s internals.
 */
import { randomFillSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** How hard to run: `--quick` shrinks every count and duration. */
export interface BenchConfig {
  quick: boolean;
  /** Paired repetitions per workload (ours, ws alternately). */
  reps: number;
  /** Minimum duration of one timed run of a CPU-bound workload, in ms. */
  minMs: number;
  /** Warm-up per library before the paired runs, in ms. */
  warmupMs: number;
  /** Upper bound of one loopback run, in ms. */
  loopMs: number;
  /** Connections held for the idle memory workload. */
  memConnections: number;
  /** Connections held for the memory workloads with compressed traffic (zlib contexts are big). */
  memDeflateConnections: number;
  /** Repetitions (child-process pairs) for the memory workloads. */
  memReps: number;
  /** Clients of each server in the broadcast workloads. */
  broadcastClients: number;
  /** Processes the broadcast clients are spread over. */
  broadcastProcesses: number;
  /** Paired rounds of the broadcast workloads (each: one publish per library and method). */
  broadcastRounds: number;
}

export function makeConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        reps: 3,
        minMs: 60,
        warmupMs: 60,
        loopMs: 250,
        memConnections: 300,
        memDeflateConnections: 200,
        memReps: 1,
        broadcastClients: 1000,
        broadcastProcesses: 2,
        broadcastRounds: 5,
      }
    : {
        quick,
        reps: 9,
        minMs: 250,
        warmupMs: 300,
        loopMs: 1000,
        memConnections: 5000,
        memDeflateConnections: 1000,
        memReps: 5,
        broadcastClients: 10_000,
        broadcastProcesses: 4,
        broadcastRounds: 20,
      };
}

/** Where the repository root is: dist/bench/x.js and bench/x.ts both sit two levels below. */
export function repoRoot(): string {
  for (const candidate of [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..'), process.cwd()]) {
    if (fs.existsSync(path.join(candidate, 'bench', 'py'))) return candidate;
  }
  return process.cwd();
}

// ---------------------------------------------------------------------------------
// ws internals

/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */
/** The `ws` package (Receiver, Sender, WebSocket, WebSocketServer). */
export const wsLib: any = require('ws');
/** `ws/lib/permessage-deflate.js`, which the package's `exports` do not list: loaded by path. */
export const WsPerMessageDeflate: any = require(
  path.join(path.dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js'),
);
/** Whether ws picked up its native `bufferutil` helper. */
export function wsUsesBufferutil(): boolean {
  if (process.env.WS_NO_BUFFER_UTIL) return false;
  try {
    require.resolve('bufferutil');
    return true;
  } catch {
    return false;
  }
}
export const wsVersion: string = require(path.join(path.dirname(require.resolve('ws')), 'package.json')).version;
/* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------------------------
// timing and statistics

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A point in wall-clock and process CPU time. */
export interface Clock {
  wall: number;
  cpu: NodeJS.CpuUsage;
}

export function clock(): Clock {
  return { wall: now(), cpu: process.cpuUsage() };
}

/**
 * Wall-clock and CPU milliseconds since `start`. CPU time is the whole process's (user +
 * system, all threads: GC helpers and libuv's pool included), so it does not count the
 * time other processes on a busy machine took the CPU from us.
 */
export function since(start: Clock): { ms: number; cpuMs: number } {
  const cpu = process.cpuUsage(start.cpu);
  return { ms: now() - start.wall, cpuMs: (cpu.user + cpu.system) / 1000 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------
// test data

/** A small deterministic PRNG (mulberry32), so that every run sees the same data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliett'];

/** `count` different ASCII strings of exactly `size` bytes. */
export function smallTexts(count: number, size: number, seed = 1): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    while (s.length < size) s += `${WORDS[Math.floor(rand() * WORDS.length)]} ${Math.floor(rand() * 1000)} `;
    out.push(s.slice(0, size));
  }
  return out;
}

/**
 * Text of exactly `bytes` UTF-8 bytes: mostly ASCII words, with a 2-byte (é) and a
 * 3-byte (€) character now and then, as in real-world text.
 */
export function utf8Text(bytes: number, seed = 2): string {
  const rand = prng(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < bytes - 16) {
    const r = rand();
    const word = r < 0.02 ? 'café ' : r < 0.03 ? '12€ ' : `${WORDS[Math.floor(rand() * WORDS.length)]} `;
    parts.push(word);
    length += Buffer.byteLength(word);
  }
  let s = parts.join('');
  while (Buffer.byteLength(s) < bytes) s += 'x';
  return s;
}

/** A JSON message of about `size` bytes, like a chat or market-data update. */
export function jsonMessage(rand: () => number, size: number): string {
  const base = {
    type: ['update', 'quote', 'chat', 'presence'][Math.floor(rand() * 4)],
    id: Math.floor(rand() * 100000),
    v: Math.round(rand() * 10000) / 100,
    ok: rand() < 0.5,
  };
  if (size < 160) {
    // A flat update, padded to the size when it fits.
    const bare = JSON.stringify({ ...base, p: '' }).length;
    return JSON.stringify({ ...base, p: 'x'.repeat(Math.max(0, size - bare)) });
  }
  const items: unknown[] = [];
  // Records until the size is nearly reached (tracked without re-serializing), then a
  // padding field brings it to the size.
  let length = JSON.stringify({ ...base, items, pad: '' }).length;
  for (;;) {
    const item = {
      user: `user${Math.floor(rand() * 500)}`,
      text: `${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]}`,
      at: 1700000000 + Math.floor(rand() * 1000000),
      score: Math.round(rand() * 1000) / 10,
    };
    const itemLength = JSON.stringify(item).length + 1;
    if (length + itemLength > size) break;
    items.push(item);
    length += itemLength;
  }
  const shorter = JSON.stringify({ ...base, items, pad: '' });
  return JSON.stringify({ ...base, items, pad: 'p'.repeat(Math.max(0, size - shorter.length)) });
}

/** `count` JSON messages of about `size` bytes each. */
export function jsonMessages(count: number, size: number, seed = 3): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(jsonMessage(rand, size));
  return out;
}

/** A random binary payload. */
export function randomBytes(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  randomFillSync(b);
  return b;
}

// ---------------------------------------------------------------------------------
// frames (built here, independently of lib/)

/**
 * One WebSocket frame. With `mask`, the payload is masked with a random key (as a
 * client sends it).
 */
export function buildFrame(
  opcode: number,
  payload: Buffer,
  options: { mask: boolean; fin?: boolean; rsv1?: boolean },
): Buffer {
  const len = payload.length;
  const extended = len > 0xffff ? 8 : len > 125 ? 2 : 0;
  const headerLength = 2 + extended + (options.mask ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerLength + len);
  frame[0] = (options.fin === false ? 0 : 0x80) | (options.rsv1 ? 0x40 : 0) | opcode;
  frame[1] = (options.mask ? 0x80 : 0) | (extended === 8 ? 127 : extended === 2 ? 126 : len);
  if (extended === 2) frame.writeUInt16BE(len, 2);
  if (extended === 8) frame.writeBigUInt64BE(BigInt(len), 2);
  if (options.mask) {
    const key = frame.subarray(headerLength - 4, headerLength);
    randomFillSync(key);
    for (let i = 0; i < len; i++) frame[headerLength + i] = payload[i]! ^ key[i & 3]!;
  } else {
    payload.copy(frame, headerLength);
  }
  return frame;
}

/** Cut `data` into views of `size` bytes (the last one shorter), as a socket delivers it. */
export function chunk(data: Buffer, size = 64 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, Math.min(data.length, i + size)));
  return out;
}

/**
 * Prebuilt input for a parser: a pristine copy and a working copy cut in 64 KiB
 * chunks. Both parsers unmask in place, so `restore()` puts the pristine bytes back
 * before every pass (outside the timed region).
 */
export class Input {
  readonly pristine: Buffer;
  readonly work: Buffer;
  readonly chunks: Buffer[];
  readonly messages: number;

  constructor(frames: Buffer[], messages: number, chunkSize = 64 * 1024) {
    this.pristine = Buffer.concat(frames);
    this.work = Buffer.from(this.pristine);
    this.chunks = chunk(this.work, chunkSize);
    this.messages = messages;
  }

  restore(): void {
    this.pristine.copy(this.work);
  }
}

// ---------------------------------------------------------------------------------
// machine

/** The open-file limit of this process (child processes inherit it). */
export function fdLimit(): number {
  try {
    return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || Infinity;
  } catch {
    return Infinity;
  }
}

export function machineInfo(): { cpu: string; cores: number; node: string; os: string; date: string; memory: string } {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line !== undefined) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: os.cpus().length,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  };
}
