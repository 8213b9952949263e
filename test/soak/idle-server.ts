/**
 * The server process of the idle-connections soak (test/soak/idle.ts): one library's
 * WebSocket server on 127.0.0.1, alone in its process so that its memory is its own.
 * Every connection echoes messages; nothing else runs per connection until the parent
 * asks for a ping round.
 *
 * - wsproto, `--api server`: our `WebSocketServer({ server })` on an `http.Server`;
 *   `--api upgrade`: `handleUpgrade()` in the server's 'upgrade' handler.
 * - ws: `WebSocketServer({ server })`, or `{ noServer: true }` and its `handleUpgrade()`.
 *
 * perMessageDeflate is off on both (the clients do not offer it anyway). Commands arrive
 * over IPC from the parent (see `ServerCommand`); each gets one answer.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { handleUpgrade, WebSocketServer, type WebSocketDuplex } from '../../lib/index';
import { settledMemory } from './common';

export type Impl = 'wsproto' | 'ws';
export type Api = 'server' | 'upgrade';

export type ServerCommand =
  | { type: 'start'; impl: Impl; api: Api; backlog: number }
  | { type: 'memory' }
  | { type: 'ping'; timeoutMs: number }
  | { type: 'connections'; waitForZeroMs: number };

/** The part of both libraries' connection objects that the soak uses. */
interface Conn {
  ping(): void;
  once(event: 'pong', listener: () => void): unknown;
}

const conns = new Set<Conn>();
let httpServer: http.Server | null = null;

function track(ws: Conn & { on(event: 'close', listener: () => void): unknown }): void {
  conns.add(ws);
  ws.on('close', () => conns.delete(ws));
}

async function start(impl: Impl, api: Api, backlog: number): Promise<number> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.maxConnections = 1_000_000;
  httpServer = server;
  if (impl === 'wsproto') {
    const echo = (ws: WebSocketDuplex): void => {
      track(ws);
      ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    };
    if (api === 'server') {
      new WebSocketServer({ server, perMessageDeflate: false }).on('connection', echo);
    } else {
      server.on('upgrade', (req, socket, head) => echo(handleUpgrade(req, socket, head, { perMessageDeflate: false })));
    }
  } else {
    const echo = (ws: WebSocket): void => {
      track(ws);
      ws.on('error', () => undefined);
      ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    };
    if (api === 'server') {
      new WsServer({ server, perMessageDeflate: false }).on('connection', echo);
    } else {
      const wss = new WsServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
      server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, echo));
    }
  }
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog }, resolve));
  return (server.address() as AddressInfo).port;
}

/** Ping every connection; count the ones whose pong came back. */
function pingRound(timeoutMs: number): Promise<{ pinged: number; pongs: number; ms: number }> {
  const t0 = Date.now();
  const pinged = conns.size;
  let pongs = 0;
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve({ pinged, pongs, ms: Date.now() - t0 });
    };
    const timer = setTimeout(done, timeoutMs);
    if (pinged === 0) return done();
    for (const ws of conns) {
      ws.once('pong', () => {
        if (++pongs === pinged) done();
      });
      ws.ping();
    }
  });
}

async function countConnections(waitForZeroMs: number): Promise<number> {
  const deadline = Date.now() + waitForZeroMs;
  while (conns.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return conns.size;
}

async function handle(command: ServerCommand): Promise<object> {
  switch (command.type) {
    case 'start':
      return { type: 'listening', port: await start(command.impl, command.api, command.backlog) };
    case 'memory':
      return { type: 'memory', memory: await settledMemory(), connections: conns.size };
    case 'ping':
      return { type: 'pinged', ...(await pingRound(command.timeoutMs)) };
    case 'connections':
      return { type: 'connections', connections: await countConnections(command.waitForZeroMs) };
  }
}

process.on('message', (command: ServerCommand) => {
  handle(command).then(
    (r) => process.send!(r),
    (error: unknown) => process.send!({ type: 'error', message: String((error as Error).stack ?? error) }),
  );
});
process.on('disconnect', () => {
  httpServer?.closeAllConnections();
  process.exit(0);
});
