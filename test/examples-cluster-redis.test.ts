/**
 * examples/cluster-redis as a user runs it: node:cluster workers sharing one port, each a
 * WebSocketServer, topics carried between them by a real Redis (Debian's redis-server, in
 * the foreground on a free port). Clients of both kinds (ours and the `ws` package) land
 * on different workers; what one publishes reaches every subscriber exactly once, in the
 * publisher's order; unsubscribing reaches Redis; SIGTERM to the primary closes everyone
 * with 1001 and exits 0.
 *
 * The steps share one cluster and run in order.
 */
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import WebSocket from 'ws';
import { createClient } from 'redis';
import { connect } from '../lib/index';
import { once, sleep, until } from './helpers/net';
import { requirePeer } from './helpers/peers';
import { redisAvailable, startRedis, type RunningRedis } from './helpers/redis';

const root = path.join(__dirname, '..', '..');
const WORKERS = 3;
const FIRST_CLIENTS = 9; // then more, up to MAX_CLIENTS, until they are on every worker
const MAX_CLIENTS = 30;
const PER_PUBLISHER = 50;
const START_MS = 40000; // four node processes, three loading node-redis, on a busy machine
const DELIVERY_MS = 15000;
const EXIT_BOUND_MS = 5000; // SIGTERM to the exit of the primary (the example's own bound)

type Reply = Record<string, unknown>;

/** One client, ours or `ws`'s, seen through the example's JSON protocol. */
interface Client {
  readonly name: string;
  /** From its hello: the cluster worker it landed on, and that worker's pid. */
  worker: number;
  pid: number;
  /** Every message it received, parsed, in order. */
  readonly got: Reply[];
  send(message: Reply): void;
  /** Resolves with the close code and reason. */
  readonly closed: Promise<[number, string]>;
  kill(): void;
}

async function openClient(url: string, kind: 'wsproto' | 'ws', n: number): Promise<Client> {
  const got: Reply[] = [];
  const take = (data: unknown) => got.push(JSON.parse(String(data)) as Reply);
  let client: Omit<Client, 'worker' | 'pid'>;
  if (kind === 'wsproto') {
    const ws = await connect(url);
    ws.on('message', take);
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, reason) => resolve([code, reason])),
    );
    client = { name: `wsproto#${n}`, got, send: (m) => ws.send(JSON.stringify(m)), closed, kill: () => ws.terminate() };
  } else {
    const ws = new WebSocket(url);
    ws.on('message', take);
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, reason) => resolve([code, reason.toString()])),
    );
    await once(ws, 'open');
    client = { name: `ws#${n}`, got, send: (m) => ws.send(JSON.stringify(m)), closed, kill: () => ws.terminate() };
  }
  await until(() => got.length > 0, 5000, `the hello of ${client.name}`);
  const hello = got[0]!.hello as { worker: number; pid: number } | undefined;
  expect(hello, `first message of ${client.name}`).to.be.an('object');
  return { ...client, worker: hello!.worker, pid: hello!.pid };
}

/** Wait for `reply` (deep-equal) among what `client` got after its first `after` messages. */
async function reply(client: Client, expected: Reply, after = 0): Promise<void> {
  const text = JSON.stringify(expected);
  await until(
    () => client.got.slice(after).some((m) => JSON.stringify(m) === text),
    5000,
    `${text} for ${client.name}`,
  );
}

/** The topic messages a client got (hello and acknowledgements left out). */
const published = (client: Client, topic: string) => client.got.filter((m) => m.topic === topic).map((m) => m.data);

describe('examples/cluster-redis (node:cluster workers and a real redis-server)', function () {
  this.timeout(60000);
  let redis: RunningRedis | null = null;
  let primary: ChildProcessWithoutNullStreams | null = null;
  let out = '';
  let err = '';
  let admin: ReturnType<typeof createClient> | null = null; // the test's own Redis connection
  const clients: Client[] = [];
  let url = '';
  let publisherA: Client;
  let publisherB: Client;
  let other: Client; // subscribed to 'sports' only
  let subscribers: Client[] = []; // of 'news'

  /** SIGKILL the primary and its workers (one process group). */
  const killGroup = () => {
    try {
      if (primary?.pid !== undefined) process.kill(-primary.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  /** How many workers SUBSCRIBE the channel of `topic` in Redis. */
  const workersOn = async (topic: string) => Number((await admin!.pubSubNumSub(`ws:${topic}`))[`ws:${topic}`]);

  before(async function () {
    requirePeer(this, redisAvailable(), 'redis-server', 'apt-get install redis-server');
    redis = await startRedis();
    admin = createClient({ url: redis.url });
    await admin.connect();
    primary = spawn(process.execPath, [path.join(root, 'dist', 'examples', 'cluster-redis', 'main.js')], {
      cwd: root,
      env: { ...process.env, WORKERS: String(WORKERS), PORT: '0', REDIS_URL: redis.url },
      detached: true, // its own process group, so that cleanup can reach the workers too
    });
    process.once('exit', killGroup); // should mocha itself be stopped
    primary.stdout.on('data', (d) => (out += d));
    primary.stderr.on('data', (d) => (err += d));
    await until(() => /ws:\/\/[\d.]+:\d+\//.test(out), START_MS, 'the URL').catch((e: Error) => {
      throw new Error(`${e.message} (stdout: ${out}; stderr: ${err})`);
    });
    url = /ws:\/\/[\d.]+:\d+\//.exec(out)![0];
  });

  after(async () => {
    for (const c of clients) c.kill();
    if (primary !== null && primary.exitCode === null && primary.signalCode === null) {
      const exited = once(primary, 'exit', 5000).catch(() => null);
      killGroup();
      await exited;
    }
    process.off('exit', killGroup);
    await admin?.close().catch(() => undefined);
    await redis?.stop();
  });

  it(`spreads clients of both kinds over the ${WORKERS} workers, which share the one port printed`, async () => {
    expect(out).to.include(`(${WORKERS} workers, pids `);
    const pids = /pids ([\d, ]+);/.exec(out)![1]!.split(', ').map(Number);
    const workers = () => new Set(clients.map((c) => c.worker));
    // Every third client is a `ws` client; cluster's round-robin should spread them.
    while (clients.length < FIRST_CLIENTS || (workers().size < WORKERS && clients.length < MAX_CLIENTS)) {
      const n = clients.length;
      clients.push(await openClient(url, n % 3 === 0 ? 'ws' : 'wsproto', n));
    }
    if (workers().size < WORKERS)
      console.log(`      note: ${clients.length} clients reached ${workers().size} workers`);
    expect(workers().size).to.be.at.least(2);
    for (const c of clients) {
      expect(c.worker).to.be.within(1, WORKERS);
      expect(pids).to.include(c.pid);
    }
  });

  it(`every subscriber gets the ${2 * PER_PUBLISHER} messages of two publishers on two workers exactly once, each publisher's in order`, async () => {
    other = clients.at(-1)!;
    subscribers = clients.filter((c) => c !== other);
    publisherA = subscribers.find((c) => c.name.startsWith('ws#'))!;
    publisherB = subscribers.find((c) => c.worker !== publisherA.worker)!;
    for (const c of subscribers) c.send({ sub: 'news' });
    other.send({ sub: 'sports' });
    await Promise.all([
      ...subscribers.map((c) => reply(c, { subscribed: 'news' })),
      reply(other, { subscribed: 'sports' }),
    ]);
    expect(await workersOn('news')).to.equal(new Set(subscribers.map((c) => c.worker)).size);

    for (let seq = 1; seq <= PER_PUBLISHER; seq++) {
      publisherA.send({ pub: 'news', data: { from: 'A', seq } });
      publisherB.send({ pub: 'news', data: { from: 'B', seq } });
    }
    await until(
      () => subscribers.every((c) => published(c, 'news').length >= 2 * PER_PUBLISHER),
      DELIVERY_MS,
      'every subscriber to get every message',
    );
    const numbered = Array.from({ length: PER_PUBLISHER }, (_, i) => i + 1);
    for (const c of subscribers) {
      const news = published(c, 'news') as { from: string; seq: number }[];
      expect(news, c.name).to.have.length(2 * PER_PUBLISHER);
      // Exactly once and in order: each publisher's numbers, each once, increasing.
      expect(
        news.filter((m) => m.from === 'A').map((m) => m.seq),
        `${c.name}, from A`,
      ).to.deep.equal(numbered);
      expect(
        news.filter((m) => m.from === 'B').map((m) => m.seq),
        `${c.name}, from B`,
      ).to.deep.equal(numbered);
      // One Redis runs the PUBLISHes in one order, and every worker keeps it.
      expect(news, `${c.name}: the same interleaving as ${subscribers[0]!.name}`).to.deep.equal(
        published(subscribers[0]!, 'news'),
      );
    }
    expect(subscribers.map((c) => c.got.filter((m) => 'error' in m))).to.deep.equal(subscribers.map(() => []));
  });

  it('a client subscribed to another topic gets none of them', async () => {
    // After the 50 news from A, on the same Redis connection: had `other`'s worker
    // delivered any news to it, they would have come before this.
    publisherA.send({ pub: 'sports', data: 'final score' });
    await until(() => published(other, 'sports').length === 1, DELIVERY_MS, 'the sports message');
    expect(published(other, 'news')).to.deep.equal([]);
    expect(published(other, 'sports')).to.deep.equal(['final score']);
  });

  it('unsubscribing reaches Redis: the last subscriber on a worker out, the worker UNSUBSCRIBEs', async () => {
    // Every news subscriber on one worker other than A's leaves (they keep a 'check' topic).
    const worker = subscribers.find((c) => c.worker !== publisherA.worker)!.worker;
    const leavers = subscribers.filter((c) => c.worker === worker);
    const stayers = subscribers.filter((c) => c.worker !== worker);
    const before = await workersOn('news');
    const marks = new Map(leavers.map((c) => [c, c.got.length]));
    for (const c of leavers) {
      c.send({ sub: 'check' });
      c.send({ unsub: 'news' });
    }
    await Promise.all(leavers.map((c) => reply(c, { unsubscribed: 'news' }, marks.get(c))));
    expect(await workersOn('news')).to.equal(before - 1);

    // A's PUBLISH to 'news' runs before its PUBLISH to 'check': a leaver that still got
    // news would have it before the check.
    publisherA.send({ pub: 'news', data: { from: 'A', seq: PER_PUBLISHER + 1 } });
    publisherA.send({ pub: 'check', data: 'done' });
    await until(
      () =>
        leavers.every((c) => published(c, 'check').length === 1) &&
        stayers.every((c) => published(c, 'news').length === 2 * PER_PUBLISHER + 1),
      DELIVERY_MS,
      'the check on the leavers and the news on the others',
    );
    for (const c of leavers) expect(published(c, 'news'), c.name).to.have.length(2 * PER_PUBLISHER);

    // And back: the first one in subscribes the worker again.
    const back = leavers[0]!;
    back.send({ sub: 'news' });
    await reply(back, { subscribed: 'news' }, marks.get(back));
    expect(await workersOn('news')).to.equal(before);
    publisherB.send({ pub: 'news', data: { from: 'B', seq: PER_PUBLISHER + 1 } });
    await until(() => published(back, 'news').length === 2 * PER_PUBLISHER + 1, DELIVERY_MS, 'the news again');
  });

  it(`SIGTERM to the primary: every client gets 1001, the workers close Redis, exit 0 within ${EXIT_BOUND_MS} ms`, async () => {
    const exited = once<[number | null, string | null]>(primary!, 'exit', EXIT_BOUND_MS);
    const sent = Date.now();
    primary!.kill('SIGTERM');
    const closes = await Promise.all(clients.map((c) => c.closed));
    expect(closes).to.deep.equal(clients.map(() => [1001, 'server shutting down']));
    const [code, signal] = await exited;
    const took = Date.now() - sent;
    expect([code, signal], err).to.deep.equal([0, null]);
    expect(took).to.be.below(EXIT_BOUND_MS);
    const closed = out.match(/^worker \d+: closed \d+ client\(s\) with 1001, and its Redis connections$/gm) ?? [];
    expect(closed).to.have.length(WORKERS);
    // Nothing but our own connection is left in Redis (it may take a moment to notice).
    let left = Infinity;
    for (const end = Date.now() + 2000; left > 1 && Date.now() < end; await sleep(20))
      left = (await admin!.clientList()).length;
    expect(left, 'Redis connections left').to.equal(1);
    console.log(
      `      ${clients.length} clients on ${new Set(clients.map((c) => c.worker)).size} workers; exit ${took} ms after SIGTERM`,
    );
  });
});
