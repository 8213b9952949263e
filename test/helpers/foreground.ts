/**
 * Running a real service from a Debian package in the foreground for one test: spawn it
 * with its own temp dir, keep the tail of its output, wait until it is ready, and stop it
 * (SIGTERM, SIGKILL after 2 s), removing the dir. Whatever is still running when the test
 * process exits is killed. Used by proxies.ts (tinyproxy, HAProxy) and redis.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

/** How long a service may take to be ready, and to exit after SIGTERM. */
const READY_MS = 5000;
const KILL_MS = 2000;
/** The tail of the child's stdout+stderr that output() keeps. */
const OUTPUT_MAX = 64 * 1024;

/** A running service. */
export interface Foreground {
  /** SIGTERM (SIGKILL after 2 s), wait for the exit, remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** The captured stdout+stderr, for debugging. */
  output(): string;
  /** Send `signal` to the service if it is still running (e.g. SIGUSR1: HAProxy's soft stop). */
  signal(signal: NodeJS.Signals): void;
}

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function killOnExit(child: ChildProcess, dir: string): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of children) c.kill('SIGKILL');
      for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  children.add(child);
  dirs.add(dir);
  child.once('exit', () => children.delete(child));
}

/** A port nothing listens on now (a server was there a moment ago). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Spawn `command args` (it owns `dir`) and poll `ready` every 50 ms; on an early exit or
 * after 5 s kill it, remove `dir` and reject with `name`, `what` (what it failed to do)
 * and its output.
 */
export async function startForeground(options: {
  name: string;
  command: string;
  args: string[];
  dir: string;
  ready: () => Promise<boolean>;
  what: string;
}): Promise<Foreground> {
  const { name, command, args, dir, ready, what } = options;
  const child = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child, dir);
  let captured = '';
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString('utf8')).slice(-OUTPUT_MAX);
  };
  child.stdout!.on('data', capture);
  child.stderr!.on('data', capture);
  let exited = false;
  let spawnError: Error | null = null;
  const exit = new Promise<void>((resolve) => {
    child.once('error', (e) => {
      spawnError = e;
      exited = true;
      resolve();
    });
    child.once('close', () => {
      exited = true;
      resolve();
    });
  });
  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_MS);
        await exit;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    })());
  const end = Date.now() + READY_MS;
  while (!(await ready())) {
    if (exited || Date.now() > end) {
      await stop();
      const why =
        spawnError !== null
          ? String(spawnError)
          : exited
            ? `exited with ${child.exitCode ?? child.signalCode} before it could ${what}`
            : `did not ${what} within ${READY_MS} ms`;
      throw new Error(`${name} ${why}:\n${captured}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const signal = (name: NodeJS.Signals) => {
    if (!exited) child.kill(name);
  };
  return { stop, output: () => captured, signal };
}
