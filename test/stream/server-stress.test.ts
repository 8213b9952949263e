/**
 * Model-based stress test of `WebSocketServer`'s topics and slow-client policies over
 * real TCP on 127.0.0.1. Each seed draws a schedule: the compression setting, the policy
 * (skip, drop-oldest, close) with a small limit, 6 to 14 clients (ours and the `ws`
 * package's) subscribed to random topics, some of them slow readers (their socket paused
 * and resumed), and a run of steps: publish bursts of random sizes, a client closing, the
 * server closing one, a client resetting, a late joiner. Then every client drains, one
 * marker is published per topic, and `close()` shuts the server down.
 *
 * The oracle, per client and topic: what arrived is a subsequence of what was published
 * while it was subscribed, in order, each payload intact; with 'close' it has no gap
 * (a client is closed rather than skipped); after the drain the marker arrived (nothing
 * is skipped or dropped for a client that is not behind); one 'close' per client, with
 * a code its story explains; the server's buffered bytes per client stay under the limit
 * plus one burst's largest message and frames; `close()` resolves and no client is left.
 *
 *   SERVER_STRESS_SEED=n   replay one schedule;   SERVER_STRESS_RUNS=n   (default 5)
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as net from 'node:net';
import WebSocket from 'ws';
import { connect, WebSocketServer, type SlowClientPolicy, type WebSocketDuplex } from '../../lib/index';
import { until } from '../helpers/net';
import { Rng } from './stress/prng';

type Policy = NonNullable<SlowClientPolicy['policy']>;

interface Plan {
  seed: number;
  deflate: 'off' | 'no-context-takeover' | 'context-takeover';
  policy: Policy;
  limit: number;
  topics: string[];
}

/** One client as the test sees it. */
interface Client {
  name: string;
  socket: net.Socket;
  topics: string[];
  slow: boolean;
  /** Per topic, the sequence numbers received, in arrival order. */
  got: Map<string, number[]>;
  corrupt: string[];
  closes: Array<{ code: number; reason: string }>;
  /** How this client's story may end: the codes its 'close' may carry. */
  mayClose: Set<number>;
  sendClose(code: number): void;
  destroy(): void;
}

/** Seeded random text (base64: it compresses little, so a paused client really falls behind). */
const POOL = (() => {
  const rng = new Rng(20261129);
  const bytes = Buffer.alloc(900_000);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(rng.next(), i);
  return bytes.toString('base64');
})();

/** Message `seq` of `topic`, `size` characters: a header, then a slice of the pool chosen by both. */
const payloadOf = (topic: string, seq: number, size: number): string => {
  const head = `${topic}#${seq}#${size}#`;
  const offset = createHash('sha256').update(head).digest().readUInt32LE(0) % (POOL.length - 600_000);
  return head + POOL.slice(offset, offset + Math.max(0, size - head.length));
};

function record(client: Client, data: string): void {
  const [topic, seqText, sizeText] = data.split('#');
  const seq = Number(seqText);
  if (topic === undefined || !Number.isInteger(seq) || data !== payloadOf(topic, seq, Number(sizeText))) {
    client.corrupt.push(data.slice(0, 40));
    return;
  }
  let list = client.got.get(topic);
  if (list === undefined) client.got.set(topic, (list = []));
  list.push(seq);
}

async function openClient(
  port: number,
  name: string,
  topics: string[],
  slow: boolean,
  ours: boolean,
  deflate: boolean,
) {
  const url = `ws://127.0.0.1:${port}/?topics=${topics.join(',')}&name=${name}`;
  const client: Client = {
    name,
    socket: null as unknown as net.Socket,
    topics,
    slow,
    got: new Map(),
    corrupt: [],
    closes: [],
    mayClose: new Set([1001]),
    sendClose: () => undefined,
    destroy: () => undefined,
  };
  if (ours) {
    const ws: WebSocketDuplex = await connect(url, {
      perMessageDeflate: deflate,
      createConnection: () => (client.socket = net.connect(port, '127.0.0.1')),
    });
    ws.on('message', (data) => record(client, String(data)));
    ws.on('close', (code, reason) => client.closes.push({ code, reason }));
    client.sendClose = (code) => ws.close(code);
    client.destroy = () => ws.terminate();
  } else {
    const ws = new WebSocket(url, {
      perMessageDeflate: deflate,
      createConnection: (options) => (client.socket = net.connect(options as net.NetConnectOpts)),
    } as WebSocket.ClientOptions);
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('close', reject));
    ws.on('message', (data) => record(client, data.toString()));
    ws.on('close', (code, reason) => client.closes.push({ code, reason: reason.toString() }));
    client.sendClose = (code) => ws.close(code);
    client.destroy = () => ws.terminate();
  }
  return client;
}

async function runPlan(plan: Plan): Promise<string[]> {
  const rng = new Rng(plan.seed ^ 0x5eed);
  const failures: string[] = [];
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate:
      plan.deflate === 'off'
        ? false
        : { serverNoContextTakeover: plan.deflate === 'no-context-takeover', threshold: 64 },
    slowClient: { policy: plan.policy, limit: plan.limit, queue: 8 },
    shutdownTimeout: 3000,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const { port } = wss.address() as AddressInfo;
  const byName = new Map<string, WebSocketDuplex>();
  wss.on('connection', (ws, req) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    for (const topic of (query.get('topics') ?? '').split(',').filter(Boolean)) wss.subscribe(ws, topic);
    byName.set(query.get('name')!, ws);
  });
  // What was published on each topic, and the range of it each client could receive.
  const published = new Map<string, number>(plan.topics.map((t) => [t, 0]));
  const window = new Map<Client, { from: Map<string, number>; to: Map<string, number> | null }>();
  const clients: Client[] = [];
  let maxBuffered = 0;
  let behind = 0; // deliveries the policy handled (a client was behind)
  let largest = 0;
  const join = async (i: number) => {
    const topics = plan.topics.filter(() => rng.chance(0.6));
    if (topics.length === 0) topics.push(rng.pick(plan.topics));
    const client = await openClient(port, `c${i}`, topics, rng.chance(0.4), rng.chance(0.5), plan.deflate !== 'off');
    await until(() => byName.has(client.name), 3000, `${client.name} to be subscribed`);
    window.set(client, { from: new Map(topics.map((t) => [t, published.get(t)!])), to: null });
    if (plan.policy === 'close') client.mayClose.add(1013);
    clients.push(client);
    return client;
  };
  const left = new Set<Client>(); // closed or reset by the schedule
  const leave = (client: Client) => void left.add(client);
  const count = rng.int(6, 14);
  for (let i = 0; i < count; i++) await join(i);
  const paused = new Set<Client>();
  const sample = () => {
    for (const ws of wss.clients) maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
  };
  const steps = rng.int(15, 30);
  for (let step = 0; step < steps; step++) {
    for (const client of clients) {
      if (!client.slow) continue;
      if (paused.has(client) && rng.chance(0.25)) {
        client.socket.resume();
        paused.delete(client);
      } else if (!paused.has(client) && rng.chance(0.6)) {
        client.socket.pause();
        paused.add(client);
      }
    }
    const roll = rng.float();
    const open = clients.filter((c) => c.closes.length === 0 && !left.has(c));
    if (roll < 0.7 || open.length < 3) {
      const topic = rng.pick(plan.topics);
      const burst = rng.int(1, 40);
      for (let k = 0; k < burst; k++) {
        // Now and then a large one: enough volume to fill the kernel's socket buffers of a
        // paused client (megabytes on loopback), so that it falls behind for real.
        const size = rng.chance(0.12) ? rng.int(100_000, 500_000) : rng.int(10, 2_000);
        largest = Math.max(largest, size);
        const seq = published.get(topic)!;
        published.set(topic, seq + 1);
        const counts = wss.publish(topic, payloadOf(topic, seq, size));
        behind += counts.skipped + counts.queued + counts.closed;
        sample();
      }
    } else if (roll < 0.78) {
      const client = rng.pick(open);
      client.mayClose.add(1000);
      leave(client);
      client.sendClose(1000);
    } else if (roll < 0.84) {
      const client = rng.pick(open);
      client.mayClose.add(4002);
      leave(client);
      byName.get(client.name)?.close(4002, 'server let go');
    } else if (roll < 0.9) {
      const client = rng.pick(open);
      client.mayClose.add(1006);
      leave(client);
      client.destroy();
    } else {
      await join(clients.length);
    }
    await new Promise((resolve) => setTimeout(resolve, rng.int(0, 15)));
  }
  // Every client reads again, and the server drains (bounded): then nobody is behind.
  for (const client of paused) client.socket.resume();
  await until(
    () => [...wss.clients].every((ws) => ws.bufferedAmount === 0 && wss.waiting(ws) === 0),
    15_000,
    'the server to drain',
  ).catch(() => failures.push('the server did not drain its clients within 15 s'));
  await new Promise((resolve) => setTimeout(resolve, 50));
  // The marker: nobody is behind now, so every open subscriber must get it.
  const markers = new Map<string, number>();
  for (const topic of plan.topics) {
    const seq = published.get(topic)!;
    published.set(topic, seq + 1);
    markers.set(topic, seq);
    wss.publish(topic, payloadOf(topic, seq, 100));
  }
  const stillOpen = clients.filter((c) => c.closes.length === 0 && !left.has(c));
  await until(
    () => stillOpen.every((c) => c.closes.length > 0 || c.topics.every((t) => c.got.get(t)?.includes(markers.get(t)!))),
    10_000,
    'the markers',
  ).catch(() => undefined);
  // What a client may have received ends with what was published before the shutdown.
  for (const client of clients) window.get(client)!.to = new Map(client.topics.map((t) => [t, published.get(t)!]));
  await wss.close();
  await until(() => clients.every((c) => c.closes.length > 0), 5000, 'every client to close').catch(() => undefined);

  // ---- the oracle ----
  if (wss.clients.size !== 0) failures.push(`${wss.clients.size} clients left after close()`);
  const bound = plan.limit + largest + 64 * 1024;
  if (maxBuffered > bound) failures.push(`a client's bufferedAmount reached ${maxBuffered} > ${bound}`);
  for (const client of clients) {
    const where = `${client.name}${client.slow ? ' (slow)' : ''}`;
    if (client.corrupt.length > 0) failures.push(`${where}: corrupt messages ${client.corrupt.join(' | ')}`);
    if (client.closes.length !== 1) failures.push(`${where}: ${client.closes.length} 'close' events`);
    const code = client.closes[0]?.code;
    if (code !== undefined && !client.mayClose.has(code)) {
      failures.push(`${where}: closed ${code}, its story allows ${[...client.mayClose].join('/')}`);
    }
    const w = window.get(client)!;
    for (const topic of client.topics) {
      const got = client.got.get(topic) ?? [];
      const from = w.from.get(topic)!;
      const to = w.to!.get(topic)!;
      if (got.some((seq, i) => seq < from || seq >= to || (i > 0 && seq <= got[i - 1]!))) {
        failures.push(
          `${where} ${topic}: not an in-order subsequence of [${from}, ${to}): ${got.slice(0, 20).join(',')}`,
        );
      }
      if (plan.policy === 'close' && got.some((seq, i) => i > 0 && seq !== got[i - 1]! + 1)) {
        failures.push(`${where} ${topic}: a gap under the 'close' policy`);
      }
      if (plan.policy === 'close' && got.length > 0 && got[0] !== from) {
        failures.push(`${where} ${topic}: under 'close' the first message was ${got[0]}, expected ${from}`);
      }
      if (stillOpen.includes(client) && code === 1001 && !got.includes(markers.get(topic)!)) {
        failures.push(`${where} ${topic}: the marker ${markers.get(topic)} did not arrive although nobody was behind`);
      }
    }
  }
  for (const client of clients) client.destroy();
  if (process.env.SERVER_STRESS_VERBOSE === '1')
    console.log(`      policy applied ${behind} times, max buffered ${maxBuffered}`);
  return failures;
}

function planOf(seed: number): Plan {
  const rng = new Rng(seed);
  return {
    seed,
    deflate: rng.pick(['off', 'no-context-takeover', 'context-takeover'] as const),
    policy: rng.pick(['skip', 'drop-oldest', 'close'] as const),
    limit: rng.pick([32 * 1024, 128 * 1024, 512 * 1024]),
    topics: ['a', 'b', 'c'].slice(0, rng.int(1, 3)),
  };
}

describe('WebSocketServer stress: topics and slow-client policies (model-based)', function () {
  this.timeout(90_000);
  const replay = process.env.SERVER_STRESS_SEED;
  const runs = Number(process.env.SERVER_STRESS_RUNS ?? 5);
  const base = Math.floor(Math.random() * 1_000_000) * 10;
  const seeds = replay !== undefined ? [Number(replay)] : Array.from({ length: runs }, (_, i) => base + i);
  for (const seed of seeds) {
    const plan = planOf(seed);
    it(`seed ${seed}: ${plan.policy}, limit ${plan.limit}, deflate ${plan.deflate}, topics ${plan.topics.join('')} (SERVER_STRESS_SEED=${seed})`, async () => {
      const failures = await runPlan(plan);
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }
});
