/**
 * A real Redis for tests: Debian's redis-server, run in the foreground on a free
 * 127.0.0.1 port, with its working directory in a fresh temp dir and persistence off
 * (no RDB snapshots, no AOF), so nothing outlives the test. A child never outlives the
 * test process either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const REDIS_SERVER = '/usr/bin/redis-server';

/** How long redis-server may take to answer PING, and to exit after SIGTERM. */
const READY_MS = 5000;
const KILL_MS = 2000;
/** The tail of the child's stdout+stderr that output() keeps. */
const OUTPUT_MAX = 64 * 1024;

/** A redis-server child process listening on 127.0.0.1. */
export interface RunningRedis {
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** SIGTERM (SIGKILL after 2 s), wait for the exit, remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** The captured stdout+stderr (Redis's log), for debugging. */
  output(): string;
}

/** True when redis-server is installed (`apt-get install redis-server`). */
export function redisAvailable(): boolean {
  return fs.existsSync(REDIS_SERVER);
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILL whatever is still running when the test process exits. */
function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** True when the server on `port` answers an inline PING with +PONG (it is loaded and serving). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/** Start redis-server on a free 127.0.0.1 port; resolves once it answers PING. */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-redis-'));
  // Every directive as a command-line option: no config file, log to stdout.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
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
    })());

  const end = Date.now() + READY_MS;
  while (!(await pong(port))) {
    if (exited || Date.now() > end) {
      await stop();
      const why =
        spawnError !== null
          ? String(spawnError)
          : exited
            ? `exited with ${child.exitCode ?? child.signalCode}`
            : `did not answer PING within ${READY_MS} ms`;
      throw new Error(`redis-server on port ${port} ${why}:\n${captured}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, url: `redis://127.0.0.1:${port}`, stop, output: () => captured };
}
