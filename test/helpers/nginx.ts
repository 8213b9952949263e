/**
 * A real nginx (Debian's package) as a reverse proxy in front of a test server. The
 * WebSocket settings are docs/nginx/wsproto.conf, the file docs/deployment.md shows:
 * this helper loads it, points its upstream at the test server, makes it listen on a
 * free 127.0.0.1 port, and wraps it in a main config whose pid file, logs and temp
 * paths all live in a fresh temp dir. nginx runs in the foreground (`daemon off`, one
 * worker); it never outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const NGINX = '/usr/sbin/nginx';
const root = path.join(__dirname, '..', '..', '..');
/** The site configuration the guide shows, relative to the repository root. */
export const SITE_CONFIG = 'docs/nginx/wsproto.conf';

/** How long nginx may take to accept TCP connections, and to exit after SIGTERM. */
const STARTUP_MS = 5000;
const STOP_MS = 2000;
/** The most of nginx's stderr (its error log) that output() keeps. */
const KEEP = 64 * 1024;

/** An nginx listening on 127.0.0.1 and proxying to the upstream port. */
export interface RunningNginx {
  port: number;
  /** `ws://127.0.0.1:PORT` */
  url: string;
  /** SIGTERM (SIGKILL after 2 s, workers included), wait for the exit, remove the temp dir; idempotent. */
  stop(): Promise<void>;
  /** nginx's error log (stderr, level info), for debugging and for what nginx says it did. */
  output(): string;
  /** The access log: one line per finished request, `"REQUEST" STATUS upstream=STATUS time=SECONDS`. */
  accessLog(): string;
}

/** Options of `startNginx`. */
export interface NginxOptions {
  /** Replaces the site's `proxy_read_timeout` (an nginx time: '2s', '500ms'). */
  readTimeout?: string;
}

/** True when nginx is installed (`apt-get install nginx`, in /usr/sbin). */
export function nginxAvailable(): boolean {
  return fs.existsSync(NGINX);
}

/** Masters still running and temp dirs not yet removed, for the exit hook. */
const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooked = false;

function track(child: ChildProcess, dir: string): void {
  if (!hooked) {
    hooked = true;
    // SIGTERM, not SIGKILL: nginx's master then stops its workers itself (a killed
    // master would leave its worker holding the port).
    process.on('exit', () => {
      for (const c of running) c.kill('SIGTERM');
      for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  running.add(child);
  tempDirs.add(dir);
  child.on('exit', () => running.delete(child));
}

/** The children of `pid` (its workers), from /proc; empty when unknown. */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** Listen on port 0 of 127.0.0.1, note the port, close: free a moment ago. */
async function unusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(port, '127.0.0.1');
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** `text` with the one line `from` (trimmed) replaced by `to`, keeping its indentation. */
function replaceLine(text: string, from: string, to: string): string {
  const lines = text.split('\n');
  const at = lines.flatMap((line, i) => (line.trim() === from ? [i] : []));
  if (at.length !== 1) throw new Error(`${SITE_CONFIG} must hold the line "${from}" once (found ${at.length})`);
  const line = lines[at[0]!]!;
  lines[at[0]!] = line.slice(0, line.length - line.trimStart().length) + to;
  return lines.join('\n');
}

/** The guide's site configuration, aimed at `upstreamPort` and listening on `port`. */
function siteConfig(upstreamPort: number, port: number, options: NginxOptions): string {
  let site = fs.readFileSync(path.join(root, SITE_CONFIG), 'utf8');
  site = replaceLine(site, 'server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
  site = replaceLine(site, 'listen 80;', `listen 127.0.0.1:${port};`);
  if (options.readTimeout !== undefined) {
    site = replaceLine(site, 'proxy_read_timeout 60s;', `proxy_read_timeout ${options.readTimeout};`);
  }
  return site;
}

/**
 * Start nginx on a free 127.0.0.1 port in front of 127.0.0.1:`upstreamPort`, with the
 * site configuration of docs/nginx/wsproto.conf. Resolves once the port accepts TCP
 * connections; rejects with nginx's output if it exits or is not ready within 5 s.
 */
export async function startNginx(upstreamPort: number, options: NginxOptions = {}): Promise<RunningNginx> {
  const port = await unusedPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-nginx-'));
  fs.writeFileSync(path.join(dir, 'site.conf'), siteConfig(upstreamPort, port, options));
  const at = (name: string) => path.join(dir, name);
  const main = [
    // As root, nginx's master switches its workers to `user nobody`, who may not enter
    // this temp dir (mode 0700, owned by root): keep them root. Any other user runs them
    // as itself, and nginx ignores `user` (with a warning), so it is left out.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `pid ${at('nginx.pid')};`,
    'error_log stderr info;',
    'events {',
    '    worker_connections 256;',
    '}',
    'http {',
    `    log_format wsproto '"$request" $status upstream=$upstream_status time=$request_time';`,
    `    access_log ${at('access.log')} wsproto;`,
    `    client_body_temp_path ${at('client_body')};`,
    `    proxy_temp_path ${at('proxy')};`,
    `    fastcgi_temp_path ${at('fastcgi')};`,
    `    uwsgi_temp_path ${at('uwsgi')};`,
    `    scgi_temp_path ${at('scgi')};`,
    `    include ${at('site.conf')};`,
    '}',
  ];
  const config = at('nginx.conf');
  fs.writeFileSync(config, main.join('\n') + '\n');

  // -p: relative paths resolve in the temp dir; -e: the log of startup, before the config is read.
  const child = spawn(NGINX, ['-p', dir, '-e', 'stderr', '-c', config, '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child, dir);
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-KEEP);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let gone = false;
  let spawnFailure: Error | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      spawnFailure = error;
      gone = true;
      resolve();
    });
    child.once('close', () => {
      gone = true;
      resolve();
    });
  });

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      if (!gone) {
        // SIGTERM is nginx's fast shutdown: open connections are closed at once.
        child.kill('SIGTERM');
        const escalate = setTimeout(() => {
          for (const worker of childrenOf(child.pid!)) {
            try {
              process.kill(worker, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          child.kill('SIGKILL');
        }, STOP_MS);
        await exited;
        clearTimeout(escalate);
      }
      fs.rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    })());

  const deadline = Date.now() + STARTUP_MS;
  while (!(await listening(port))) {
    if (gone) {
      await stop();
      const how = spawnFailure !== null ? String(spawnFailure) : `exited with ${child.exitCode ?? child.signalCode}`;
      throw new Error(`nginx ${how} before listening on port ${port}:\n${log}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`nginx was not listening on port ${port} after ${STARTUP_MS} ms:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const accessLog = () => {
    try {
      return fs.readFileSync(at('access.log'), 'utf8');
    } catch {
      return '';
    }
  };
  return { port, url: `ws://127.0.0.1:${port}`, stop, output: () => log, accessLog };
}
