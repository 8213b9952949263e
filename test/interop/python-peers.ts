/**
 * Spawning the Python interop peers (test/interop/peers/*.py). They run under the
 * Debian interpreter, /usr/bin/python3, where python3-websockets and python3-wsproto
 * are installed (the `python3` on PATH may be another build without them).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rng } from '../helpers/bytes';

/** The interpreter that has the peers' modules. */
export const PYTHON = '/usr/bin/python3';

/** Where the peer scripts live (the tests run from dist/test/interop; else from the cwd). */
export const PEERS =
  [
    path.join(__dirname, '..', '..', '..', 'test', 'interop', 'peers'),
    path.join(process.cwd(), 'test', 'interop', 'peers'),
  ].find((dir) => fs.existsSync(path.join(dir, 'common.py'))) ??
  path.join(__dirname, '..', '..', '..', 'test', 'interop', 'peers');

/** The install hint requirePeer prints. */
export const PYTHON_INSTALL = 'apt-get install python3-websockets python3-wsproto';

const probed = new Map<string, boolean>();

/** True when `/usr/bin/python3 -c "import <module>"` exits 0 (cached). */
export function pythonHas(module: string): boolean {
  let ok = probed.get(module);
  if (ok === undefined) {
    const r = spawnSync(PYTHON, ['-c', `import ${module}`], { timeout: 10000, stdio: 'ignore' });
    ok = r.status === 0;
    probed.set(module, ok);
  }
  return ok;
}

/** A running peer script: its JSON lines as they come, its stderr, its exit. */
export class PythonProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: unknown[] = [];
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;
  #partial = '';
  #waiters: Array<() => void> = [];

  constructor(script: string, args: readonly string[]) {
    this.child = spawn(PYTHON, ['-u', path.join(PEERS, script), ...args], { stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text: string) => {
      const parts = (this.#partial + text).split('\n');
      this.#partial = parts.pop()!;
      for (const line of parts) if (line.trim() !== '') this.lines.push(JSON.parse(line));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      if (this.stderr.length < 20000) this.stderr += text;
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        this.exitCode = code;
        for (const w of this.#waiters.splice(0)) w();
        resolve(code);
      });
    });
  }

  /** Resolve with JSON line number `index` (0-based), or reject after `ms` or at exit. */
  async line<T>(index: number, ms: number): Promise<T> {
    const end = Date.now() + ms;
    while (this.lines.length <= index) {
      if (this.exitCode !== null)
        throw new Error(`peer exited (${this.exitCode}) without line ${index}: ${this.stderr}`);
      const left = end - Date.now();
      if (left <= 0)
        throw new Error(`timed out after ${ms} ms waiting for line ${index} of the peer; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.lines[index] as T;
  }

  /** Close stdin (the servers' cue to exit), wait up to `ms`, then kill this child. */
  async stop(ms = 5000): Promise<void> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }

  /** Wait for the exit (killing this child after `ms`); return its code. */
  async wait(ms: number): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

// ---- payloads our side sends (the same kinds as common.py's, not the same bytes) ----

const ALPHABET = Array.from('abcdefghij klmnop QRSTUV 0123456789 .,;!? é ß ñ ✓ € 漢字 😀 🚀\n');

/** A string whose UTF-8 encoding is exactly `size` bytes (1- to 4-byte code points). */
export function makeText(size: number, seed: number): string {
  const rand = rng(seed);
  const unit = Buffer.from(
    Array.from({ length: 3000 }, () => ALPHABET[Math.floor(rand() * ALPHABET.length)]!).join(''),
  );
  const raw = Buffer.alloc(size + 4);
  for (let at = 0; at < raw.length; at += unit.length) unit.copy(raw, at);
  let cut = size;
  while (cut > 0 && (raw[cut]! & 0xc0) === 0x80) cut--; // do not split a code point
  return raw.toString('utf8', 0, cut) + 'x'.repeat(size - cut);
}

/** `size` pseudo-random bytes. */
export function makeBytes(size: number, seed: number): Buffer {
  const rand = rng(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) out.writeUInt32LE(Math.floor(rand() * 0x100000000), i);
  for (let i = size & ~3; i < size; i++) out[i] = Math.floor(rand() * 256);
  return out;
}
