/**
 * Servers and clients for the memory workloads (bench/memory.ts, bench/workloads/memory.ts).
 *
 * Server: an `http.Server` whose 'upgrade' goes to our `handleUpgrade()` or to ws's
 * `WebSocketServer({ noServer: true })`, echoing every message; with `deflate`,
 * permessage-deflate is enabled with each library's defaults (`deflate-low`: ours in
 * its low-memory mode).
 *
 * Clients: raw sockets that do the opening handshake by hand (idle connections: the
 * same cheap client in front of both servers), or WebSocket clients of either library
 * that offer permessage-deflate, send a few ~2 KiB JSON messages and wait for their
 * echoes (so both ends have compressed and decompressed).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect, handleUpgrade, type WebSocketDuplex } from '../lib/index';
import { jsonMessage, prng, wsLib } from './common';
import type { Lib } from './workload';

/* eslint-disable @typescript-eslint/no-explicit-any */

/**
 * 'deflate': permessage-deflate with each library's defaults; 'deflate-low': ours with
 * `perMessageDeflate: { memory: 'low' }` (ws keeps its defaults, there is no such mode).
 */
export type MemoryMode = 'idle' | 'deflate' | 'deflate-low';

/** Our server's options in each mode. */
function ourOptions(mode: MemoryMode): { perMessageDeflate?: true | { memory: 'low' } } {
  if (mode === 'deflate') return { perMessageDeflate: true };
  return mode === 'deflate-low' ? { perMessageDeflate: { memory: 'low' } } : {};
}

/** The messages each compressed client sends (and gets back). */
export const TRAFFIC: string[] = [0, 1, 2].map((i) => jsonMessage(prng(500 + i), 2048));

export interface EchoServer {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

/**
 * The floor under both libraries: an `http.Server` whose 'upgrade' answers the handshake
 * by hand (101 and the accept key) and then only holds the socket, reading and dropping
 * what arrives. No WebSocket object at all: what any server pays per upgraded socket.
 */
export async function startSocketServer(): Promise<EchoServer> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<net.Socket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.maxConnections = 100_000;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        const timer = setTimeout(resolve, 1000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

export async function startServer(lib: Lib, mode: MemoryMode): Promise<EchoServer> {
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  const ours = new Set<WebSocketDuplex>();
  let wss: any = null;
  if (lib === 'ours') {
    server.on('upgrade', (req, socket, head) => {
      const ws = handleUpgrade(req, socket, head, ourOptions(mode));
      ours.add(ws);
      ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
      ws.on('close', () => ours.delete(ws));
    });
  } else {
    wss = new wsLib.WebSocketServer({ noServer: true, perMessageDeflate: mode !== 'idle' });
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws: any) => {
        ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
        ws.on('error', () => undefined);
      });
    });
  }
  server.maxConnections = 100_000;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => (lib === 'ours' ? ours.size : wss.clients.size),
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of ours) ws.destroy();
        if (wss !== null) for (const ws of wss.clients) ws.terminate();
        const timer = setTimeout(resolve, 1000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** Something to close when the measurement is over. */
export type Closable = { destroy(): void } | { terminate(): void };

export function closeAll(clients: Closable[]): void {
  for (const c of clients) {
    if ('terminate' in c) c.terminate();
    else c.destroy();
  }
  clients.length = 0;
}

/** A raw TCP socket that completed the opening handshake (no extensions). */
function rawClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = '';
    socket.once('error', reject);
    socket.on('connect', () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    const onData = (data: Buffer): void => {
      head += data.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.removeListener('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake failed: ${head.split('\r\n')[0]}`));
      else resolve(socket);
    };
    socket.on('data', onData);
  });
}

/** A compressed client of `lib` that sent TRAFFIC and received the echoes. */
async function deflateClient(lib: Lib, port: number): Promise<Closable> {
  let client: any;
  if (lib === 'ours') {
    client = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
    if (client.extensions.length === 0) throw new Error('permessage-deflate was not negotiated');
  } else {
    client = new wsLib.WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
    await new Promise<void>((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });
    if (!String(client.extensions).includes('permessage-deflate'))
      throw new Error('permessage-deflate was not negotiated');
  }
  client.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    let echoes = 0;
    client.on('message', () => {
      if (++echoes === TRAFFIC.length) resolve();
    });
    for (const m of TRAFFIC) client.send(m);
  });
  return client as Closable;
}

/**
 * Open `n` clients against `port`, at most `concurrency` handshakes at a time: raw
 * idle sockets, or compressed clients of `lib`.
 */
export async function openClients(
  kind: { mode: 'idle' } | { mode: 'deflate'; lib: Lib },
  port: number,
  n: number,
  concurrency = 100,
): Promise<Closable[]> {
  const clients: Closable[] = [];
  let next = 0;
  // A pool of `concurrency` openers, each starting the next connection when one is done.
  const opener = async (): Promise<void> => {
    while (next < n) {
      next++;
      clients.push(await (kind.mode === 'idle' ? rawClient(port) : deflateClient(kind.lib, port)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, opener));
  return clients;
}
