/**
 * Topics across processes: node:cluster runs WORKERS processes that share one port, each
 * with its own `WebSocketServer`, and Redis pub/sub carries every publish to the workers
 * whose clients subscribed to its topic. The usual way to scale publish/subscribe past
 * one process (or one machine: point every instance at the same Redis).
 *
 *     redis-server --port 6379 &
 *     WORKERS=4 PORT=8080 node dist/examples/cluster-redis/main.js
 *
 * Environment: WORKERS (default 2), PORT (default 8080; 0 picks a free port, which every
 * worker shares, and the URL printed says which), HOST (default 127.0.0.1), REDIS_URL
 * (default redis://127.0.0.1:6379). SIGTERM or SIGINT (Ctrl+C) closes every client with
 * 1001 and every Redis connection, and the primary exits 0 once the workers have.
 *
 * The protocol: JSON text messages.
 *
 *   server → client  {"hello": {"worker": 2, "pid": 4242}}   first, from the worker it landed on
 *   client → server  {"sub": "news"}                         → {"subscribed": "news"}
 *                    {"unsub": "news"}                       → {"unsubscribed": "news"}
 *                    {"pub": "news", "data": <any JSON>}     → every subscriber of "news", on
 *                                                              every worker (the sender too, if
 *                                                              subscribed), gets
 *                                                              {"topic": "news", "data": ...}
 *   server → client  {"error": "..."}                        a message it could not take
 *
 * `{"subscribed": t}` comes once this worker's Redis SUBSCRIBE for t is confirmed: every
 * publish made after the client saw it reaches the client.
 *
 * Channels: topic t is the Redis channel `ws:t`. A worker SUBSCRIBEs ws:t while at least
 * one of its clients is subscribed to t (counted here; UNSUBSCRIBE when the last one
 * leaves or closes), on one subscriber connection per worker; publishes go out on a
 * second connection (a connection in subscribed mode takes no other commands). Plain
 * channels rather than one PSUBSCRIBE ws:*: a worker then receives only the topics its
 * clients want.
 *
 * Exactly once: a worker delivers only what comes back from Redis (never straight to its
 * own clients, which would deliver them twice), Redis sends each PUBLISH once to each
 * connection subscribed to the channel, each worker subscribes a channel at most once,
 * and a topic's subscribers are a set.
 *
 * In order, per publisher: (1) a client's messages reach its worker in order (one TCP
 * connection), and the worker calls PUBLISH for each one as it arrives, with no await in
 * between; (2) node-redis writes commands to its connection in call order, and Redis runs
 * a connection's commands in order; (3) Redis runs one command at a time, and a PUBLISH
 * appends the message to the output buffer of every subscribed connection before the
 * next command runs, so each subscriber connection receives the messages of all
 * publishers in the one order Redis ran them, which keeps each publisher's; (4) a worker
 * reads its subscriber connection in order and hands each message to `wss.publish()` at
 * once, which queues it on each local subscriber's socket in that order. So with one
 * Redis, every subscriber even sees the same interleaving of all publishers.
 *
 * What it does not promise: Redis pub/sub is at most once. A worker cut off from Redis
 * misses what is published meanwhile (node-redis reconnects and subscribes again), and
 * Redis drops a subscriber connection whose output buffer overflows
 * (client-output-buffer-limit pubsub). For replay, use Redis Streams (XADD, XREAD from an
 * offset each client keeps). A client that falls behind by more than MAX_BUFFERED bytes
 * is closed with 1013 (try again later) rather than skipped: a gap would break the
 * promise above, a reconnect does not hide one.
 */
import cluster, { type Worker } from 'node:cluster';
import { createClient } from 'redis';
import { WebSocketServer, type WebSocketDuplex } from 'wsproto';

const WORKERS = Number(process.env.WORKERS ?? 2);
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '127.0.0.1';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHANNEL_PREFIX = 'ws:';
const MAX_BUFFERED = 4 * 1024 * 1024; // a client further behind is closed with 1013
const CLOSE_MS = 2000; // how long clients get for the close handshake on shutdown
const EXIT_MS = CLOSE_MS + 3000; // then the primary stops waiting for its workers
const MAX_TOPIC = 256; // characters

if (cluster.isPrimary) primary();
else void worker();

// ---- the primary: forks the workers, prints the URL once, stops them ----

function primary(): void {
  if (!Number.isInteger(WORKERS) || WORKERS < 1) fail(`WORKERS must be a positive integer, got ${WORKERS}`);
  const live = new Set<Worker>();
  const ports = new Map<Worker, number>();
  let printed = false;
  let stopping = false;
  let failures = 0;
  const fork = () => live.add(cluster.fork());
  for (let i = 0; i < WORKERS; i++) fork();

  // Every worker listens on PORT; the primary holds the socket and hands connections out
  // round-robin. With PORT=0 the first listen(0) picks a port and the later ones get the
  // same handle: all workers report one port, checked here.
  cluster.on('listening', (w, address) => {
    ports.set(w, address.port);
    const distinct = new Set(ports.values());
    if (distinct.size !== 1) fail(`the workers listen on different ports: ${[...distinct].join(', ')}`);
    if (printed || ports.size !== WORKERS) return;
    printed = true;
    const pids = [...live].map((l) => l.process.pid).join(', ');
    console.log(`cluster-redis: ws://${HOST}:${address.port}/ (${WORKERS} workers, pids ${pids}; ${REDIS_URL})`);
  });

  cluster.on('exit', (w, code, signal) => {
    live.delete(w);
    ports.delete(w);
    if (stopping) {
      if (code !== 0) failures++;
      if (live.size === 0) process.exit(failures === 0 ? 0 : 1);
      return;
    }
    // A worker that dies before it listens (Redis unreachable ...) would die again.
    if (!printed) fail(`worker ${w.id} exited (${signal ?? code}) before listening`);
    console.error(`cluster-redis: worker ${w.id} exited (${signal ?? code}); starting another`);
    fork();
  });

  function stop(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping ${live.size} workers`);
    // Ctrl+C in a terminal signals the workers too; a second request to stop is harmless.
    for (const w of live) if (w.isConnected()) w.send('shutdown');
    setTimeout(() => fail(`workers still running ${EXIT_MS} ms after ${signal}`), EXIT_MS).unref();
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function fail(message: string): never {
  console.error(`cluster-redis: ${message}`);
  for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
  process.exit(1);
}

// ---- a worker: a WebSocketServer bridged to Redis ----

interface ClientMessage {
  sub?: unknown;
  unsub?: unknown;
  pub?: unknown;
  data?: unknown;
}

async function worker(): Promise<void> {
  const id = cluster.worker!.id;
  const log = (line: string) => console.log(`worker ${id}: ${line}`);
  // Stop requests: SIGTERM, SIGINT (Ctrl+C signals every process of the terminal's
  // group), the primary's 'shutdown', or the primary gone. Before the server runs there
  // is nothing to close gracefully.
  let shutdown = (): unknown => process.exit(0);
  const stop = () => void shutdown();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('message', (m) => m === 'shutdown' && stop());
  cluster.worker!.on('disconnect', stop);

  let connected = false;
  const pub = createClient({
    url: REDIS_URL,
    // At startup, give up after a few tries (the primary then exits 1); once connected,
    // retry for ever, backing off up to 2 s.
    socket: {
      reconnectStrategy: (retries, cause) =>
        connected
          ? Math.min(50 * 2 ** retries, 2000)
          : retries < 3
            ? 200
            : new Error(`cannot reach Redis: ${cause.message}`),
    },
  });
  const sub = pub.duplicate(); // a connection in subscribed mode takes no PUBLISH
  for (const client of [pub, sub]) client.on('error', (e: Error) => connected && log(`redis: ${e.message}`));
  try {
    await Promise.all([pub.connect(), sub.connect()]);
  } catch (e) {
    console.error(`worker ${id}: ${REDIS_URL}: ${(e as Error).message}`);
    process.exit(1);
  }
  connected = true;

  const wss = new WebSocketServer({
    port: PORT,
    host: HOST,
    slowClient: { policy: 'close', limit: MAX_BUFFERED, closeCode: 1013 },
    shutdownTimeout: CLOSE_MS,
  });
  wss.on('error', (e) => {
    console.error(`worker ${id}: ${e.message}`);
    process.exit(1);
  });
  const channels = new RedisChannels(sub, (topic, message) => wss.publish(topic, message));

  wss.on('connection', (ws) => {
    const topics = new Set<string>(); // this client's, to leave them when it closes
    send(ws, { hello: { worker: id, pid: process.pid } });
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? null : parse(data as string);
      if (message === null) {
        send(ws, { error: 'expected a JSON object in a text message' });
      } else if ('pub' in message) {
        const topic = checkTopic(ws, message.pub);
        if (topic === null) return;
        // No await before PUBLISH: the commands leave in the order the messages came.
        pub
          .publish(CHANNEL_PREFIX + topic, JSON.stringify({ topic, data: message.data ?? null }))
          .catch((e: Error) => send(ws, { error: `cannot publish to ${topic}: ${e.message}` }));
      } else if ('sub' in message) {
        const topic = checkTopic(ws, message.sub);
        if (topic === null) return;
        const fresh = !topics.has(topic);
        if (fresh) {
          topics.add(topic);
          wss.subscribe(ws, topic);
        }
        // The replies about one topic come in the order of the requests: join and leave
        // resolve in the order they were called.
        channels.join(topic, fresh).then(
          () => send(ws, { subscribed: topic }),
          (e: Error) => send(ws, { error: `cannot subscribe to ${topic}: ${e.message}` }),
        );
      } else if ('unsub' in message) {
        const topic = checkTopic(ws, message.unsub);
        if (topic === null) return;
        const was = topics.delete(topic);
        if (was) wss.unsubscribe(ws, topic);
        void channels.leave(topic, was).then(() => send(ws, { unsubscribed: topic }));
      } else {
        send(ws, { error: 'expected one of sub, unsub, pub' });
      }
    });
    ws.on('close', () => {
      for (const topic of topics) void channels.leave(topic, true);
    });
  });

  let closing: Promise<void> | null = null;
  shutdown = () =>
    (closing ??= (async () => {
      const clients = wss.clients.size;
      await wss.close({ code: 1001, reason: 'server shutting down' });
      await Promise.allSettled([pub.close(), sub.close()]);
      log(`closed ${clients} client(s) with 1001, and its Redis connections`);
      // The IPC channel is then all that keeps the process alive.
      if (cluster.worker!.isConnected()) cluster.worker!.disconnect();
    })());
}

function send(ws: WebSocketDuplex, message: object): void {
  if (ws.readyState === 1) ws.send(JSON.stringify(message));
}

function parse(text: string): ClientMessage | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function checkTopic(ws: WebSocketDuplex, topic: unknown): string | null {
  if (typeof topic === 'string' && topic.length > 0 && topic.length <= MAX_TOPIC) return topic;
  send(ws, { error: `a topic is a string of 1 to ${MAX_TOPIC} characters` });
  return null;
}

/** What RedisChannels needs of a node-redis client. */
interface Subscriber {
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
}

/**
 * This worker's Redis subscriptions: channel ws:t is subscribed while more clients have
 * joined t than left it. A topic's SUBSCRIBE and UNSUBSCRIBE commands run one after the
 * other, so a client joining while the last one leaves ends up subscribed, and the
 * promises of one topic resolve in the order of the calls.
 */
class RedisChannels {
  readonly #sub: Subscriber;
  readonly #onMessage: (message: string, channel: string) => void;
  readonly #topics = new Map<string, { count: number; last: Promise<void> }>();

  constructor(sub: Subscriber, deliver: (topic: string, message: string) => void) {
    this.#sub = sub;
    this.#onMessage = (message, channel) => deliver(channel.slice(CHANNEL_PREFIX.length), message);
  }

  /** Count one more subscriber of `topic` (if `counts`); resolves once the worker's SUBSCRIBE is confirmed. */
  join(topic: string, counts: boolean): Promise<void> {
    let entry = this.#topics.get(topic);
    if (entry === undefined) this.#topics.set(topic, (entry = { count: 0, last: Promise.resolve() }));
    if (counts && entry.count++ === 0)
      this.#then(entry, () => this.#sub.subscribe(CHANNEL_PREFIX + topic, this.#onMessage));
    return entry.last;
  }

  /** Count one subscriber of `topic` less (if `counts`): the last one out UNSUBSCRIBEs. Never rejects. */
  leave(topic: string, counts: boolean): Promise<void> {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return Promise.resolve();
    if (counts && --entry.count === 0) {
      this.#then(entry, () => this.#sub.unsubscribe(CHANNEL_PREFIX + topic, this.#onMessage));
      const last = entry.last;
      const forget = () => {
        if (entry.count === 0 && entry.last === last) this.#topics.delete(topic);
      };
      last.then(forget, forget);
    }
    return entry.last.catch(() => undefined);
  }

  #then(entry: { last: Promise<void> }, command: () => Promise<void>): void {
    entry.last = entry.last.catch(() => undefined).then(command);
  }
}
