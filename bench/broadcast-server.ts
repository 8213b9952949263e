/**
 * The server under test of the broadcast workloads, alone in its process so that its CPU
 * time is its own (started by bench/workloads/broadcast.ts):
 *
 *   node dist/bench/broadcast-server.js <ours|ws|raw> <plain|once|takeover>
 *
 * - ours: `new WebSocketServer({ port, perMessageDeflate })`; every client is subscribed
 *   to one topic on 'connection'; `publish('all', MESSAGE)` or `broadcast(MESSAGE)`.
 * - ws: `new WebSocketServer({ port, perMessageDeflate })` of the `ws` package;
 *   `wss.clients.forEach((c) => c.send(MESSAGE))`.
 * - raw (the floor): an `http.Server` that completes the handshake by hand and keeps the
 *   sockets; a publish builds the frame once (deflated once in the compressed modes) and
 *   `socket.write`s it to every socket. No library can do less.
 *
 * Compressed modes: `{ serverNoContextTakeover: true, threshold: 0 }` (once) or
 * `{ threshold: 0 }` (takeover) on both libraries.
 *
 * IPC (bench/broadcast-protocol.ts): 'ready' with the port; then 'count', 'publish'
 * (stamps the clock and the CPU just before the call, answers 'published' right after
 * it) and 'cpu' (CPU time since the stamp: the parent asks once every client has the
 * message, so it covers everything the publish caused: framing, compression, the writes,
 * ws's zlib thread pool). Exits when the parent disconnects.
 *
 * With BENCH_BROADCAST_PROFILE=<dir>, the server is profiled (V8's sampling profiler,
 * 100 µs) from its first publish until 'finish' (sent before the clients close), so that
 * the handshakes and the closes are left out;
 * the profile goes to <dir>/<kind>-<mode>.cpuprofile (open it in Chrome's DevTools).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { WebSocketServer } from '../lib/index';
import { buildFrame, now, wsLib } from './common';
import {
  MESSAGE,
  type BroadcastMode,
  type SendMethod,
  type ServerCommand,
  type ServerReport,
} from './broadcast-protocol';

/* eslint-disable @typescript-eslint/no-explicit-any */

const HOST = '127.0.0.1';
const TOPIC = 'all';

interface Server {
  port: number;
  clients(): number;
  /** Send MESSAGE to every client; returns how many it was sent to. */
  send(method: SendMethod): number;
}

async function ours(mode: BroadcastMode): Promise<Server> {
  const wss = new WebSocketServer({
    port: 0,
    host: HOST,
    perMessageDeflate: mode === 'plain' ? false : { serverNoContextTakeover: mode === 'once', threshold: 0 },
  });
  wss.on('connection', (ws) => wss.subscribe(ws, TOPIC));
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return {
    port: (wss.address() as AddressInfo).port,
    clients: () => wss.subscribers(TOPIC).size,
    send: (method) => {
      if (method === 'publish') return wss.publish(TOPIC, MESSAGE).sent;
      if (method === 'broadcast') return wss.broadcast(MESSAGE).sent;
      throw new Error(`ours has no method ${method}`);
    },
  };
}

async function ws(mode: BroadcastMode): Promise<Server> {
  const wss = new wsLib.WebSocketServer({
    port: 0,
    host: HOST,
    backlog: 1024,
    perMessageDeflate: mode === 'plain' ? false : { serverNoContextTakeover: mode === 'once', threshold: 0 },
  });
  wss.on('connection', (c: any) => c.on('error', () => undefined));
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return {
    port: wss.address().port,
    clients: () => wss.clients.size,
    send: (method) => {
      if (method !== 'forEach') throw new Error(`ws is measured with forEach, not ${method}`);
      const data = MESSAGE;
      wss.clients.forEach((c: any) => c.send(data));
      return wss.clients.size;
    },
  };
}

async function raw(mode: BroadcastMode): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    const accept = createHash('sha1')
      .update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    const extension =
      mode === 'plain'
        ? ''
        : `Sec-WebSocket-Extensions: permessage-deflate${mode === 'once' ? '; server_no_context_takeover' : ''}\r\n`;
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${extension}\r\n`,
    );
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: HOST, backlog: 1024 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    clients: () => sockets.size,
    send: (method) => {
      if (method !== 'write') throw new Error(`raw is measured with write, not ${method}`);
      // RFC 7692 7.2.1: the compressed payload without the sync flush's 00 00 ff ff.
      const frame =
        mode === 'plain'
          ? buildFrame(0x2, MESSAGE, { mask: false })
          : buildFrame(0x2, deflateRawSync(MESSAGE, { finishFlush: 2 /* Z_SYNC_FLUSH */ }).subarray(0, -4), {
              mask: false,
              rsv1: true,
            });
      for (const socket of sockets) socket.write(frame);
      return sockets.size;
    },
  };
}

/** Start V8's profiler now; the returned function writes the profile to `file`, then calls `done`. */
function startProfile(): (file: string, done: () => void) => void {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 100 });
  session.post('Profiler.start');
  return (file, done) => {
    session.post('Profiler.stop', (error, result) => {
      if (error === null) fs.writeFileSync(file, JSON.stringify(result.profile));
      session.disconnect();
      done();
    });
  };
}

async function main(): Promise<void> {
  const [kind, mode] = process.argv.slice(2);
  if (
    (kind !== 'ours' && kind !== 'ws' && kind !== 'raw') ||
    (mode !== 'plain' && mode !== 'once' && mode !== 'takeover')
  ) {
    throw new Error('usage: broadcast-server.js <ours|ws|raw> <plain|once|takeover>');
  }
  const server = await { ours, ws, raw }[kind](mode);
  const report = (message: ServerReport): void => {
    if (process.connected) process.send!(message, undefined, undefined, () => undefined);
  };
  let cpu0 = process.cpuUsage();
  const profileDir = process.env.BENCH_BROADCAST_PROFILE;
  let stopProfile: ((file: string, done: () => void) => void) | null = null;
  process.on('message', (command: ServerCommand) => {
    try {
      switch (command.cmd) {
        case 'count':
          report({ type: 'count', clients: server.clients() });
          break;
        case 'publish': {
          if (profileDir !== undefined && stopProfile === null) stopProfile = startProfile();
          const t0 = now();
          cpu0 = process.cpuUsage();
          const sent = server.send(command.method);
          const sync = process.cpuUsage(cpu0);
          report({ type: 'published', t0, syncCpuMs: (sync.user + sync.system) / 1000, sent });
          break;
        }
        case 'cpu': {
          const cpu = process.cpuUsage(cpu0);
          report({ type: 'cpu', cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage.rss() });
          break;
        }
        case 'finish':
          // Before the clients go: their closes are not part of the profile.
          if (stopProfile === null) report({ type: 'finished' });
          else stopProfile(path.join(profileDir!, `${kind}-${mode}.cpuprofile`), () => report({ type: 'finished' }));
          break;
      }
    } catch (error) {
      report({ type: 'error', message: String((error as Error).stack ?? error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  report({ type: 'ready', port: server.port });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'error', message: String((error as Error).stack ?? error) });
  console.error(error);
  process.exit(1);
});
