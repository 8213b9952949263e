/**
 * Soak (a): many concurrent connections in one process over 127.0.0.1, each exchanging a
 * few messages, then memory per connection (RSS, heap, external + array buffers, after
 * a full GC, divided by N) for wsproto and for ws in the same run. Both ends of every
 * connection live in this process, so a figure is the cost of one client plus one server.
 *
 *     node dist/test/soak/concurrent.js [--connections 10000] [--deflate-connections 2000]
 *          [--messages 3] [--message-size 64] [--deflate-message-size 2048] [--batch 200] [--skip-ws]
 *
 * Each configuration (library x compression) runs in its own child process, so that
 * one's freed memory does not hide the next one's RSS. Compressed runs send messages
 * over both libraries' 1024-byte threshold, so that zlib contexts are really made.
 *
 * Needs about 2 file descriptors per connection: the script raises the soft limit up to
 * the hard one (re-executing itself through `ulimit -n`), and lowers N, saying so, when
 * even that is not enough.
 */
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { ensureLimits, parseArgs, pool, settledMemory, size } from './common';

const USAGE =
  'usage: node dist/test/soak/concurrent.js [--connections N] [--deflate-connections N] [--messages K] ' +
  '[--message-size B] [--deflate-message-size B] [--batch B] [--skip-ws]';
const args = parseArgs(
  {
    connections: 10_000,
    deflateConnections: 2_000,
    messages: 3,
    messageSize: 64,
    deflateMessageSize: 2048,
    batch: 200,
    skipWs: false as boolean,
    only: '', // internal: run one configuration ("wsproto:plain:N") and print its result as JSON
  },
  USAGE,
);

const RESERVED_FDS = 256;
const soft = ensureLimits(2 * Math.max(args.connections, args.deflateConnections) + RESERVED_FDS);
const maxConnections = Math.floor((soft - RESERVED_FDS) / 2);

interface Result {
  impl: string;
  deflate: boolean;
  n: number;
  seconds: number;
  rss: number;
  heap: number;
  external: number;
  echoes: number;
}

/** One end-to-end connection: open, K messages echoed, kept open. */
interface Peer {
  close(): Promise<void>;
}

async function wsprotoPeers(port: number, n: number, deflate: boolean): Promise<Peer[]> {
  return pool(n, args.batch, async (i) => {
    const ws = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
    await exchange(
      (text) => ws.send(text),
      (onMessage) => ws.on('message', (data) => onMessage(String(data))),
      i,
    );
    return {
      close: () =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        }),
    };
  });
}

async function wsPeers(port: number, n: number, deflate: boolean): Promise<Peer[]> {
  return pool(n, args.batch, async (i) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await exchange(
      (text) => ws.send(text),
      (onMessage) => ws.on('message', (data: Buffer) => onMessage(data.toString())),
      i,
    );
    return {
      close: () =>
        new Promise<void>((resolve) => {
          ws.once('close', () => resolve());
          ws.close();
        }),
    };
  });
}

let echoes = 0;
let messageSize = args.messageSize;

/** A JSON-ish text message of about `messageSize` bytes (compressible, like real traffic). */
function message(i: number, k: number): string {
  const head = `{"connection":${i},"message":${k},"text":"`;
  return head + 'hello world '.repeat(Math.max(0, Math.ceil((messageSize - head.length - 2) / 12))) + '"}';
}

/** Send K messages and wait for their K echoes. */
function exchange(send: (text: string) => void, on: (f: (m: string) => void) => void, i: number): Promise<void> {
  return new Promise((resolve) => {
    let got = 0;
    on(() => {
      echoes++;
      if (++got === args.messages) resolve();
    });
    for (let k = 0; k < args.messages; k++) send(message(i, k));
    if (args.messages === 0) resolve();
  });
}

function wsprotoServer(deflate: boolean): { server: http.Server; streams: Set<WebSocketDuplex> } {
  const streams = new Set<WebSocketDuplex>();
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    const ws = handleUpgrade(req, socket, head, { perMessageDeflate: deflate });
    streams.add(ws);
    ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on('close', () => streams.delete(ws));
  });
  return { server, streams };
}

function wsServer(deflate: boolean): { server: http.Server; wss: WebSocketServer } {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: deflate });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return { server, wss };
}

async function run(impl: 'wsproto' | 'ws', deflate: boolean, n: number): Promise<Result> {
  messageSize = deflate ? args.deflateMessageSize : args.messageSize;
  const made = impl === 'wsproto' ? wsprotoServer(deflate) : wsServer(deflate);
  const server = made.server;
  server.maxConnections = n + 16;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  echoes = 0;
  const before = await settledMemory();
  const started = Date.now();
  const peers = await (impl === 'wsproto' ? wsprotoPeers : wsPeers)(port, n, deflate);
  const seconds = (Date.now() - started) / 1000;
  const after = await settledMemory();
  const result: Result = {
    impl,
    deflate,
    n,
    seconds,
    rss: (after.rss - before.rss) / n,
    heap: (after.heapUsed - before.heapUsed) / n,
    external: (after.external - before.external) / n,
    echoes,
  };
  await pool(peers.length, 500, (i) => peers[i]!.close());
  if ('wss' in made) made.wss.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  peers.length = 0;
  await settledMemory();
  return result;
}

/** Run one configuration in a fresh child process (clean RSS baseline). */
function runChild(impl: 'wsproto' | 'ws', deflate: boolean, n: number): Result {
  const child = spawnSync(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1]!,
      ...process.argv.slice(2),
      '--only',
      `${impl}:${deflate ? 'deflate' : 'plain'}:${n}`,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env, maxBuffer: 1 << 20 },
  );
  const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
  if (child.status !== 0 || line === undefined) throw new Error(`${impl} ${deflate} failed: ${child.stdout}`);
  return JSON.parse(line) as Result;
}

async function main(): Promise<void> {
  if (args.only !== '') {
    const [impl, mode, n] = args.only.split(':');
    const result = await run(impl === 'ws' ? 'ws' : 'wsproto', mode === 'deflate', Number(n));
    console.log(JSON.stringify(result));
    return;
  }
  const plain = Math.min(args.connections, maxConnections);
  const compressed = Math.min(args.deflateConnections, maxConnections);
  if (plain < args.connections || compressed < args.deflateConnections) {
    console.log(
      `open file limit ${soft}: running ${plain} (and ${compressed} compressed) connections instead of ` +
        `${args.connections} (${args.deflateConnections}); raise the hard limit (ulimit -Hn) for more`,
    );
  }
  console.log(
    `node ${process.version}; ${args.messages} messages echoed per connection (${args.messageSize} B, ` +
      `${args.deflateMessageSize} B compressed); both ends in one process, so figures are per client + server ` +
      `pair, after a full GC, each configuration in its own process`,
  );
  const results: Result[] = [];
  for (const deflate of [false, true]) {
    const n = deflate ? compressed : plain;
    if (n === 0) continue;
    for (const impl of args.skipWs ? (['wsproto'] as const) : (['wsproto', 'ws'] as const)) {
      const r = runChild(impl, deflate, n);
      results.push(r);
      console.log(
        `${impl.padEnd(8)} ${deflate ? 'deflate' : 'plain  '} N=${String(n).padStart(6)}  ` +
          `RSS ${size(r.rss).padStart(9)}/conn  heap ${size(r.heap).padStart(9)}/conn  ` +
          `external ${size(r.external).padStart(9)}/conn  (opened + ${r.echoes} echoes in ${r.seconds.toFixed(1)} s)`,
      );
    }
    const ours = results.find((r) => r.impl === 'wsproto' && r.deflate === deflate);
    const theirs = results.find((r) => r.impl === 'ws' && r.deflate === deflate);
    if (ours && theirs) {
      const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
      console.log(
        `ratio wsproto/ws ${deflate ? 'deflate' : 'plain  '}: RSS ${ratio(ours.rss, theirs.rss)}, ` +
          `heap ${ratio(ours.heap, theirs.heap)}, external ${ratio(ours.external, theirs.external)}`,
      );
    }
  }
  const missing = results.filter((r) => r.echoes !== r.n * args.messages);
  if (missing.length > 0) {
    console.log(`FAIL: missing echoes in ${missing.map((r) => `${r.impl}/${r.deflate}`).join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
