/**
 * A real Redis for tests: Debian's redis-server, run in the foreground on a free
 * 127.0.0.1 port, with its working directory in a fresh temp dir and persistence off
 * (no RDB snapshots, no AOF), so nothing outlives the test. A child never outlives the
 * test process either.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, startForeground } from './foreground';

const REDIS_SERVER = '/usr/bin/redis-server';

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
  const service = await startForeground({
    name: `redis-server on port ${port}`,
    command: REDIS_SERVER,
    args,
    dir,
    ready: () => pong(port),
    what: 'answer PING',
  });
  return { port, url: `redis://127.0.0.1:${port}`, ...service };
}
