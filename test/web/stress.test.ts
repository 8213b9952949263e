/**
 * Model-based stress of the browser APIs (lib/web/) over real loopback connections: random
 * schedules (bursts of every kind of send, busy and late listeners, binaryType switches,
 * slow stream readers, closes from either side at any moment, resets) against our
 * `WebSocketServer`, each checked by an oracle:
 *
 * - what the page receives is the server's messages, intact and in order: all of them
 *   when nothing cut the connection short, a prefix of them when it was (a close from the
 *   page, a reset), and a late listener sees a contiguous run of them;
 * - what the server receives is the page's messages in the same way;
 * - one 'close' (after which nothing), no 'error' (nobody breaks the protocol here), the
 *   ready state at each event as the standard says, the close code and `wasClean` of the
 *   way it ended, `bufferedAmount` back to what was sent after the close;
 * - `WebSocketStream`: the same, with a reader that pauses (backpressure), and `closed`
 *   settling as the ending says;
 * - progress (every schedule ends within its deadline) and bounded memory after all.
 *
 *   STRESS_WEB_RUNS=n    schedules per API (default 12); STRESS_WEB_SEED=n replays one
 */
import { expect } from 'chai';
import { Blob } from 'node:buffer';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import {
  WebSocket,
  WebSocketError,
  WebSocketServer,
  WebSocketStream,
  type CloseEvent,
  type WebSocketDuplex,
} from '../../lib/index';
import { listen, sleep, until } from '../helpers/net';
import { Rng, digest, makePayload, type MessageDigest } from '../stream/stress/prng';

const RUNS = Number(process.env.STRESS_WEB_RUNS ?? 12);
const REPLAY = process.env.STRESS_WEB_SEED;
const DEADLINE_MS = 20_000;

type Ending = 'page-closes' | 'server-closes' | 'server-resets' | 'page-closes-early';

interface Schedule {
  seed: number;
  /** Messages the server sends, in bursts (sizes), with pauses between. */
  serverSends: Array<Array<{ binary: boolean; size: number; offset: number }>>;
  /** Messages the page sends, in bursts; `as` is how send() gets it. */
  pageSends: Array<
    Array<{ binary: boolean; size: number; offset: number; as: 'string' | 'buffer' | 'view' | 'blob' | 'dataview' }>
  >;
  pauseMs: number[];
  ending: Ending;
  binaryType: 'blob' | 'arraybuffer';
  switchBinaryType: boolean;
  busyListenerMs: number; // a listener that blocks this long per message (a slow page)
  lateListenerAfter: number; // messages after which a second listener is added
  readerPauseMs: number; // WebSocketStream: the reader sleeps this long every few reads
}

function generate(seed: number): Schedule {
  const rng = new Rng(seed);
  const size = () =>
    rng.chance(0.1) ? rng.int(65_536, 300_000) : rng.chance(0.3) ? rng.int(126, 70_000) : rng.int(0, 125);
  const bursts = <T>(make: () => T) =>
    Array.from({ length: rng.int(1, 4) }, () => Array.from({ length: rng.int(0, 25) }, make));
  const kinds = ['string', 'buffer', 'view', 'blob', 'dataview'] as const;
  return {
    seed,
    serverSends: bursts(() => ({ binary: rng.chance(0.5), size: size(), offset: rng.int(0, 1 << 20) })),
    pageSends: bursts(() => {
      const as = rng.pick(kinds);
      return { binary: as !== 'string', size: size(), offset: rng.int(0, 1 << 20), as };
    }),
    pauseMs: Array.from({ length: 4 }, () => rng.int(0, 15)),
    ending: rng.pick(['page-closes', 'server-closes', 'server-resets', 'page-closes-early'] as const),
    binaryType: rng.pick(['blob', 'arraybuffer'] as const),
    switchBinaryType: rng.chance(0.3),
    busyListenerMs: rng.chance(0.3) ? rng.int(1, 3) : 0,
    lateListenerAfter: rng.int(0, 10),
    readerPauseMs: rng.chance(0.5) ? rng.int(1, 10) : 0,
  };
}

const bytesOf = (spec: { binary: boolean; size: number; offset: number }) => makePayload(spec);

/** A server whose connections play `plan(ws)` and record what they receive. */
async function startServer() {
  const server = http.createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: true });
  const plans = new Map<string, (ws: WebSocketDuplex, socket: Socket) => void>();
  const received = new Map<string, MessageDigest[]>();
  wss.on('connection', (ws, req) => {
    const id = req.url!.slice(1);
    const got: MessageDigest[] = [];
    received.set(id, got);
    ws.on('message', (data, isBinary) => got.push(digest(isBinary, data)));
    plans.get(id)?.(ws, req.socket as Socket);
  });
  const { port, close } = await listen(server);
  return { url: `ws://127.0.0.1:${port}`, plans, received, close: async () => (await wss.close(), await close()) };
}

type Server = Awaited<ReturnType<typeof startServer>>;

/** The server's side of a schedule: its bursts, then its ending. */
function serverPlan(s: Schedule, sent: MessageDigest[]) {
  return (ws: WebSocketDuplex, socket: Socket) => {
    void (async () => {
      for (let b = 0; b < s.serverSends.length; b++) {
        for (const spec of s.serverSends[b]!) {
          const data = bytesOf(spec);
          if (ws.readyState !== 1) return;
          ws.send(data, { binary: spec.binary });
          sent.push(digest(spec.binary, data));
        }
        await sleep(s.pauseMs[b] ?? 0);
      }
      if (s.ending === 'server-closes') ws.close(4000 + (s.seed % 900), `bye ${s.seed}`);
      else if (s.ending === 'server-resets') {
        await sleep(s.pauseMs[0]!);
        socket.resetAndDestroy();
      }
    })();
  };
}

/** Is `got` the start of `expected`? The first difference, or null. */
function prefixFailure(got: MessageDigest[], expected: MessageDigest[], what: string): string | null {
  if (got.length > expected.length) return `${what}: ${got.length} messages, more than the ${expected.length} sent`;
  for (let i = 0; i < got.length; i++) {
    const [a, b] = [got[i]!, expected[i]!];
    if (a.binary !== b.binary || a.bytes !== b.bytes || a.hash !== b.hash) {
      return `${what}: message #${i} differs (got ${JSON.stringify(a)}, sent ${JSON.stringify(b)})`;
    }
  }
  return null;
}

/** The page's sends: each burst in one task, pauses between; close when the schedule says. */
async function pageSends(
  s: Schedule,
  send: (spec: Schedule['pageSends'][0][0]) => MessageDigest | null,
): Promise<MessageDigest[]> {
  const sent: MessageDigest[] = [];
  for (let b = 0; b < s.pageSends.length; b++) {
    for (const spec of s.pageSends[b]!) {
      const d = send(spec);
      if (d !== null) sent.push(d);
    }
    await sleep(s.pauseMs[(b + 1) % s.pauseMs.length]!);
  }
  return sent;
}

function payloadFor(spec: Schedule['pageSends'][0][0]): string | ArrayBuffer | Uint8Array | DataView | Blob {
  const data = bytesOf(spec);
  if (typeof data === 'string') return data;
  switch (spec.as) {
    case 'buffer':
      return data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
    case 'view': {
      const padded = new Uint8Array(data.length + 8);
      padded.set(data, 3);
      return padded.subarray(3, 3 + data.length);
    }
    case 'dataview':
      return new DataView(data.buffer, data.byteOffset, data.length);
    default:
      return new Blob([data]);
  }
}

async function runWebSocket(s: Schedule, server: Server): Promise<string[]> {
  const failures: string[] = [];
  const id = `ws-${s.seed}`;
  const serverSent: MessageDigest[] = [];
  server.plans.set(id, serverPlan(s, serverSent));
  const ws = new WebSocket(`${server.url}/${id}`);
  ws.binaryType = s.binaryType;
  const got: Array<Promise<MessageDigest>> = [];
  const late: Array<Promise<MessageDigest>> = [];
  const events: string[] = [];
  let closeEvent: CloseEvent | null = null;
  let closeCalledAt = -1;
  const record = (data: unknown): Promise<MessageDigest> =>
    typeof data === 'string'
      ? Promise.resolve(digest(false, data))
      : data instanceof Blob
        ? data.arrayBuffer().then((b) => digest(true, Buffer.from(b)))
        : Promise.resolve(digest(true, Buffer.from(data as ArrayBuffer)));
  ws.addEventListener('message', (event) => {
    const e = event as MessageEvent;
    if (ws.readyState !== 1) failures.push(`a message event in readyState ${ws.readyState}`);
    if (closeCalledAt >= 0) failures.push('a message event after close() was called');
    if (closeEvent !== null) failures.push("a message event after 'close'");
    got.push(record(e.data));
    if (got.length === s.lateListenerAfter)
      ws.addEventListener('message', (l) => late.push(record((l as MessageEvent).data)));
    if (s.switchBinaryType && got.length % 7 === 3) ws.binaryType = ws.binaryType === 'blob' ? 'arraybuffer' : 'blob';
    if (s.busyListenerMs > 0) for (const until = Date.now() + s.busyListenerMs; Date.now() < until;);
  });
  ws.onerror = () => events.push('error');
  const closed = new Promise<void>((resolve) => {
    ws.onclose = (event) => {
      events.push('close');
      if (ws.readyState !== 3) failures.push(`'close' in readyState ${ws.readyState}`);
      closeEvent = event;
      resolve();
    };
  });
  await new Promise<void>((resolve) => {
    ws.onopen = () => resolve();
    ws.addEventListener('close', () => resolve());
  });
  let afterClose = 0;
  const sizeOf = (spec: Schedule['pageSends'][0][0]) => Buffer.byteLength(bytesOf(spec) as string | Buffer);
  const pageSent = await pageSends(s, (spec) => {
    if (s.ending === 'page-closes-early' && closeCalledAt < 0 && spec.offset % 5 === 0) {
      ws.close(3000 + (s.seed % 1000), 'early');
      closeCalledAt = Date.now();
    }
    if (ws.readyState !== 1) {
      afterClose += sizeOf(spec);
      ws.send(payloadFor(spec));
      return null;
    }
    ws.send(payloadFor(spec));
    return digest(spec.binary, bytesOf(spec));
  });
  if ((s.ending === 'page-closes' || s.ending === 'page-closes-early') && closeCalledAt < 0 && ws.readyState === 1) {
    ws.close(3000 + (s.seed % 1000), 'done');
    closeCalledAt = Date.now();
  }
  if (s.ending === 'server-closes' || s.ending === 'server-resets') {
    // The page waits for the server's ending.
  }
  await Promise.race([closed, sleep(DEADLINE_MS)]);
  if (closeEvent === null) return [...failures, `no 'close' within ${DEADLINE_MS} ms (progress)`];
  const close = closeEvent as CloseEvent;
  await sleep(20); // a 'close' twice would show here
  if (events.filter((e) => e === 'close').length !== 1) failures.push(`${events.length} 'close' events`);
  if (events.includes('error')) failures.push(`an 'error' event (${events.join(', ')}): nobody broke the protocol`);
  const received = await Promise.all(got);
  const lateGot = await Promise.all(late);
  await until(() => server.received.has(id), 5000, 'the server to see the connection').catch(() => undefined);
  const serverGot = server.received.get(id) ?? [];
  const cut = closeCalledAt >= 0 || s.ending === 'server-resets';
  // What the page got of the server's messages.
  const pageFailure = cut
    ? prefixFailure(received, serverSent, 'page')
    : received.length !== serverSent.length
      ? `page: got ${received.length} of the server's ${serverSent.length} messages (nothing cut the connection short)`
      : prefixFailure(received, serverSent, 'page');
  if (pageFailure !== null) failures.push(pageFailure);
  // A late listener sees a contiguous run: the tail from where it was added.
  if (lateGot.length > 0) {
    const from = received.length - lateGot.length;
    const lateFailure = prefixFailure(lateGot, received.slice(from), 'late listener');
    if (lateFailure !== null || from !== s.lateListenerAfter)
      failures.push(lateFailure ?? `late listener started at #${from}`);
  }
  // What the server got of the page's messages.
  const serverFailure =
    s.ending === 'server-resets' || s.ending === 'server-closes'
      ? prefixFailure(serverGot, pageSent, 'server')
      : serverGot.length !== pageSent.length
        ? `server: got ${serverGot.length} of the page's ${pageSent.length} messages before its close`
        : prefixFailure(serverGot, pageSent, 'server');
  if (serverFailure !== null) failures.push(serverFailure);
  // How it ended.
  const clean = s.ending !== 'server-resets';
  if (s.ending === 'server-resets') {
    if (close.wasClean && closeCalledAt < 0) failures.push(`a reset ended clean (${close.code})`);
  } else if (
    !close.wasClean ||
    (s.ending === 'server-closes' && closeCalledAt < 0 && close.code !== 4000 + (s.seed % 900))
  ) {
    failures.push(
      `ended ${close.code} ${close.reason} wasClean=${close.wasClean} (${s.ending}, clean expected: ${clean})`,
    );
  }
  await sleep(5);
  if (ws.bufferedAmount !== afterClose) {
    failures.push(
      `bufferedAmount ${ws.bufferedAmount} after 'close', ${afterClose} bytes were sent after the close started`,
    );
  }
  return failures;
}

async function runStream(s: Schedule, server: Server): Promise<string[]> {
  const failures: string[] = [];
  const id = `wss-${s.seed}`;
  const serverSent: MessageDigest[] = [];
  server.plans.set(id, serverPlan(s, serverSent));
  const wss = new WebSocketStream(`${server.url}/${id}`, { highWaterMark: 4 });
  const closedResult = wss.closed.then(
    (r) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  const { readable, writable } = await wss.opened;
  const received: MessageDigest[] = [];
  const reading = (async () => {
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'done';
        received.push(typeof value === 'string' ? digest(false, value) : digest(true, Buffer.from(value)));
        if (s.readerPauseMs > 0 && received.length % 3 === 0) await sleep(s.readerPauseMs);
      }
    } catch (error) {
      return error;
    }
  })();
  const writer = writable.getWriter();
  let closed = false;
  const pageSent: MessageDigest[] = [];
  for (let b = 0; b < s.pageSends.length && !closed; b++) {
    for (const spec of s.pageSends[b]!) {
      if (s.ending === 'page-closes-early' && spec.offset % 5 === 0) {
        wss.close({ closeCode: 3000 + (s.seed % 1000), reason: 'early' });
        closed = true;
        break;
      }
      const data = bytesOf(spec);
      try {
        await writer.write(spec.as === 'string' ? data : new Uint8Array(data as Buffer));
        pageSent.push(digest(spec.binary, data));
      } catch {
        closed = true; // the server ended it
        break;
      }
    }
    await sleep(s.pauseMs[b % s.pauseMs.length]!);
  }
  if (!closed && s.ending !== 'server-closes' && s.ending !== 'server-resets') {
    wss.close({ closeCode: 3000 + (s.seed % 1000), reason: 'done' });
    closed = true;
  }
  const end = await Promise.race([closedResult, sleep(DEADLINE_MS).then(() => null)]);
  if (end === null) return [`closed did not settle within ${DEADLINE_MS} ms (progress)`];
  const readEnd = await Promise.race([reading, sleep(DEADLINE_MS).then(() => 'stuck')]);
  if (readEnd === 'stuck') failures.push('the reader never finished');
  const serverGot = server.received.get(id) ?? [];
  const cut = closed || s.ending === 'server-resets';
  const pageFailure = cut
    ? prefixFailure(received, serverSent, 'page')
    : received.length !== serverSent.length
      ? `page: read ${received.length} of the server's ${serverSent.length} messages`
      : prefixFailure(received, serverSent, 'page');
  if (pageFailure !== null) failures.push(pageFailure);
  const serverFailure = prefixFailure(serverGot, pageSent, 'server');
  if (serverFailure !== null) failures.push(serverFailure);
  if (s.ending !== 'server-resets' && serverGot.length !== pageSent.length && !(s.ending === 'server-closes')) {
    failures.push(`server: got ${serverGot.length} of the ${pageSent.length} messages written before the close`);
  }
  if (s.ending === 'server-resets' && !closed) {
    if (end.ok) failures.push('closed resolved after a reset');
    else if (!(end.e instanceof WebSocketError) || end.e.closeCode !== 1006)
      failures.push(`closed rejected with ${String(end.e)}`);
  } else if (s.ending !== 'server-resets' && !end.ok) {
    failures.push(`closed rejected: ${String(end.e)} (${s.ending})`);
  }
  return failures;
}

describe('web stress: WebSocket and WebSocketStream under random schedules', function () {
  this.timeout(DEADLINE_MS * 2);
  let server: Server;
  const seeds =
    REPLAY !== undefined
      ? [Number(REPLAY)]
      : Array.from({ length: RUNS }, (_, i) => Math.floor(Math.random() * 1_000_000) * 16 + i);
  let heapBefore = 0;

  before(async () => {
    server = await startServer();
    heapBefore = process.memoryUsage().heapUsed;
  });
  after(() => server.close());

  for (const seed of seeds) {
    const s = generate(seed);
    const what = `${s.ending}, binaryType ${s.binaryType}${s.busyListenerMs ? ', busy listener' : ''}`;
    it(`WebSocket: ${what} (STRESS_WEB_SEED=${seed})`, async () => {
      const failures = await runWebSocket(s, server);
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
    it(`WebSocketStream: ${s.ending}${s.readerPauseMs ? ', slow reader' : ''} (STRESS_WEB_SEED=${seed})`, async () => {
      const failures = await runStream(s, server);
      expect(failures, failures.join('\n')).to.deep.equal([]);
    });
  }

  it('memory returns near its baseline after all schedules', async () => {
    await sleep(50);
    (globalThis as { gc?: () => void }).gc?.();
    const grew = process.memoryUsage().heapUsed - heapBefore;
    expect(grew, `heap grew by ${grew} bytes`).to.be.below(64 * 1024 * 1024);
  });
});
