/**
 * Child processes of the workloads that measure one side alone (memory, HTTP/2): the
 * parent's handle on a forked child that answers commands over IPC, and the settling a
 * child does before it reports its memory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as v8 from 'node:v8';

/** An IPC message from a child: `{ type, ... }`; `{ type: 'error', message }` fails the waiting request. */
export type ChildMessage = { type: string } & Record<string, unknown>;

/** A forked child that answers commands with typed messages, one at a time. */
export class Child {
  readonly proc: ChildProcess;
  readonly #name: string;
  readonly #inbox: ChildMessage[] = [];
  #waiter: (() => void) | null = null;
  #exited = false;

  constructor(script: string, args: string[], execArgv: string[], name = 'child') {
    this.#name = name;
    this.proc = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (message: ChildMessage) => {
      this.#inbox.push(message);
      this.#waiter?.();
    });
    this.proc.on('exit', () => {
      this.#exited = true;
      this.#waiter?.();
    });
  }

  /** The next message, which must be of `type`. */
  async next<T>(type: string): Promise<T> {
    for (;;) {
      const message = this.#inbox.shift();
      if (message !== undefined) {
        if (message.type === 'error') throw new Error(`${this.#name}: ${String(message.message)}`);
        if (message.type !== type) throw new Error(`${this.#name}: expected ${type}, got ${message.type}`);
        return message as unknown as T;
      }
      if (this.#exited) throw new Error(`${this.#name} exited`);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
      this.#waiter = null;
    }
  }

  /** Send `command` and wait for its answer of `type`. */
  request<T>(command: object, type: string): Promise<T> {
    this.proc.send(command);
    return this.next<T>(type);
  }

  /** Disconnect (the child exits on 'disconnect'); killed when it has not exited after 3 s. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    if (this.proc.connected) this.proc.disconnect();
    const timer = setTimeout(() => this.proc.kill(), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** In a child run with --expose-gc: collect garbage a few times, letting finalizers and timers run between. */
export async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** What a memory child reports: its memory after `settle()`. */
export interface Settled {
  /** Resident set size, less V8's young generation (see `settledMemory`). */
  rss: number;
  /** Resident bytes of V8's young generation, for the record. */
  young: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/**
 * Memory after `settle()`. The RSS leaves out the pages of V8's young generation: that
 * space is a fixed cost of the process (at most 2 × 16 MiB on 64-bit Node 20), and how
 * much of it is resident at a snapshot depends on how much garbage the last few thousand
 * handshakes made, not on the connections held. Counted in, it came and went by 2-3.4 KiB
 * per connection between two snapshots 5000 connections apart, more than the difference
 * between the libraries.
 */
export async function settledMemory(): Promise<Settled> {
  await settle();
  const m = process.memoryUsage();
  let young = 0;
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space')
      young += space.physical_space_size;
  }
  return { rss: m.rss - young, young, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}
