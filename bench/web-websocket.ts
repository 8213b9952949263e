/**
 * What the browser's API costs over the stream it stands on: `node dist/bench/web-websocket.js`.
 * Loopback ping-pong of a 16 B text message, client and server in this one process (the
 * server is the same `WebSocketServer` echo for the first two clients, `ws`'s own server
 * for `ws`), for three clients taking turns window by window (so that load from other
 * processes falls on all of them alike):
 *
 * - `WebSocket`: ours, the WHATWG interface (an event object and a task per message);
 * - `WebSocketDuplex`: `connect()`'s stream under it ('message' event, `send()`);
 * - `ws`: `new WebSocket(url)` of the `ws` package against its own server.
 *
 * Each client's figure is the best of its windows: round trips per second and CPU
 * microseconds per round trip (both ends). `WINDOWS` (default 5) and `ROUND_TRIPS`
 * (default 20,000 per window) change the run.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, connect } from '../lib/index';
import { wsLib } from './common';

/* eslint-disable @typescript-eslint/no-explicit-any */

const WINDOWS = Number(process.env.WINDOWS ?? 5);
const ROUND_TRIPS = Number(process.env.ROUND_TRIPS ?? 20_000);
const MESSAGE = 'sixteen-bytes-ok';

/** A connected client: send, and a hook for each echo. */
interface Client {
  send(): void;
  onReply: () => void;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function whatwgClient(url: string): Promise<Client> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => (ws.onopen = resolve));
  const client: Client = {
    send: () => ws.send(MESSAGE),
    onReply: () => undefined,
    close: () => new Promise((resolve) => ((ws.onclose = () => resolve()), ws.close())),
  };
  ws.onmessage = () => client.onReply();
  return client;
}

async function duplexClient(url: string): Promise<Client> {
  const ws = await connect(url);
  const client: Client = {
    send: () => void ws.send(MESSAGE),
    onReply: () => undefined,
    close: () => new Promise((resolve) => (ws.once('close', () => resolve()), ws.close())),
  };
  ws.on('message', () => client.onReply());
  return client;
}

async function wsClient(url: string): Promise<Client> {
  const ws = new wsLib.WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  const client: Client = {
    send: () => ws.send(MESSAGE),
    onReply: () => undefined,
    close: () => new Promise((resolve) => (ws.once('close', () => resolve()), ws.close())),
  };
  ws.on('message', () => client.onReply());
  return client;
}

/** One window: ROUND_TRIPS round trips; wall ms and CPU ms. */
function window(client: Client): Promise<{ ms: number; cpuMs: number }> {
  return new Promise((resolve) => {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    client.onReply = () => {
      if (++n < ROUND_TRIPS) return client.send();
      const cpu = process.cpuUsage(c0);
      resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (cpu.user + cpu.system) / 1000 });
    };
    client.send();
  });
}

async function main(): Promise<void> {
  const ours = http.createServer();
  const wss = new WebSocketServer({ server: ours });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const theirs = http.createServer();
  const wsServer = new wsLib.WebSocketServer({ server: theirs, perMessageDeflate: false });
  wsServer.on('connection', (ws: any) =>
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })),
  );
  const [ourUrl, theirUrl] = [await listen(ours), await listen(theirs)];

  const clients: Array<[string, Client]> = [
    ['WebSocket (WHATWG)', await whatwgClient(ourUrl)],
    ['WebSocketDuplex', await duplexClient(ourUrl)],
    ['ws', await wsClient(theirUrl)],
  ];
  const best = new Map<string, { ms: number; cpuMs: number }>();
  for (const [, client] of clients) await window(client); // warm-up
  for (let w = 0; w < WINDOWS; w++) {
    for (let k = 0; k < clients.length; k++) {
      const [name, client] = clients[(w + k) % clients.length]!;
      const t = await window(client);
      const previous = best.get(name);
      if (previous === undefined || t.ms < previous.ms) best.set(name, t);
    }
  }
  const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
  console.log(
    `loopback ping-pong, 16 B text, ${ROUND_TRIPS} round trips per window, best of ${WINDOWS} (load ${load})`,
  );
  const wsBest = best.get('ws')!;
  for (const [name] of clients) {
    const t = best.get(name)!;
    const rate = (ROUND_TRIPS / t.ms) * 1000;
    const ratio = wsBest.ms / t.ms;
    console.log(
      `  ${name.padEnd(20)} ${rate.toFixed(0).padStart(7)} rt/s  ${((t.cpuMs / ROUND_TRIPS) * 1000).toFixed(1).padStart(5)} µs CPU/rt  ${ratio.toFixed(2)}× ws`,
    );
  }
  for (const [, client] of clients) await client.close();
  await wss.close();
  wsServer.close();
  ours.close();
  theirs.close();
}

void main();
