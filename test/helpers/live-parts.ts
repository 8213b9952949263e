/**
 * Run as a child process (test/stream/engine.test.ts): opens `CONNECTIONS` WebSockets
 * to a server in this process, exchanges one message on each, and prints how many of
 * each engine part (and the core's close record) are alive then, after a full garbage collection (`v8.queryObjects`),
 * as JSON; then closes one pair and counts the close records. A process of its own, so that no other test's connections are counted.
 *
 *   node live-parts.js '{"pingInterval":60000}'   (the server's options)
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as v8 from 'node:v8';
import { CloseRecord } from '../../lib/close-record';
import { connect, handleUpgrade, type WebSocketDuplex, type WebSocketDuplexOptions } from '../../lib/index';
import { Engine } from '../../lib/stream/engine';
import { Ending } from '../../lib/stream/ending';
import { Flow } from '../../lib/stream/flow';
import { LifecycleTimers } from '../../lib/stream/lifecycle-timers';
import { MessageQueue } from '../../lib/stream/messages';
import { Opening } from '../../lib/stream/opening';
import { OutQueue } from '../../lib/stream/out-queue';

const CONNECTIONS = 4;

const parts = { Engine, OutQueue, Opening, LifecycleTimers, Flow, Ending, MessageQueue, CloseRecord };

/** How many of each part are alive. */
function live(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, ctor] of Object.entries(parts)) counts[name] = v8.queryObjects(ctor) as number;
  return counts;
}

async function main(): Promise<void> {
  process.removeAllListeners('warning'); // queryObjects is experimental: keep stdout and stderr clean
  const options = JSON.parse(process.argv[2] ?? '{}') as WebSocketDuplexOptions;
  const servers: WebSocketDuplex[] = [];
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    const ws = handleUpgrade(req, socket, head, options);
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    servers.push(ws);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const clients: WebSocketDuplex[] = [];
  for (let i = 0; i < CONNECTIONS; i++) {
    const client = await connect(url);
    const echo = new Promise((resolve) => client.once('message', resolve));
    client.send(`hello ${i}`);
    await echo;
    clients.push(client);
  }
  await new Promise((resolve) => setImmediate(resolve));
  const open = live();
  // One pair closes: each end then holds its core's close record.
  const closed = Promise.all(
    [clients[0]!, servers[0]!].map((ws) => new Promise((resolve) => ws.once('close', resolve))),
  );
  clients[0]!.close(1000);
  await closed;
  console.log(JSON.stringify({ connections: CONNECTIONS, open, closedPair: live().CloseRecord }));
  for (const ws of [...servers, ...clients]) ws.terminate();
  server.close();
}

void main();
