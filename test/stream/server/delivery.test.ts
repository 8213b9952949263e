/**
 * Mirror test for lib/stream/server/delivery: the slow-client policies. First against a
 * model of a stream (bytes queued for the transport, send callbacks held while it is
 * over its high-water mark, 'data' as the transport takes a chunk) with an oracle of
 * what each policy promises; then through a `WebSocketServer` with REAL slow clients: a
 * raw TCP client that stops reading (its kernel buffers fill, the server's output backs
 * up) beside a fast one that reads everything. Counts and order only, never timing.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import {
  connect,
  LocalProtocolError,
  PreparedMessage,
  WebSocketServer,
  type DeliveryCounts,
  type SlowClientPolicy,
  type WebSocketDuplex,
} from '../../../lib/index';
import { Delivery } from '../../../lib/stream/server/delivery';
import { kWhenDrained } from '../../../lib/stream/websocket-duplex';
import { merge } from '../../helpers/bytes';
import { once, until } from '../../helpers/net';
import { rawClient, type RawClient } from '../../helpers/raw-client';
import { backTo, baselineNow } from '../../helpers/resources';

type Callback = (error?: Error | null) => void;

/**
 * A model of a server stream for the policy: `bufferedAmount` is what the transport has
 * not taken; `send` callbacks come on the next tick under `hwm`, else once the transport
 * took enough (as `WebSocketDuplex` does); `take()` is the transport reading.
 */
class ModelStream extends EventEmitter {
  readyState: number = 1;
  bufferedAmount = 0;
  readonly readableFlowing = true;
  readonly sent: PreparedMessage[] = [];
  readonly closes: Array<[number, string]> = [];
  #held: Callback[] = [];
  #drainWaiters: Callback[] = [];
  constructor(readonly hwm = 64 * 1024) {
    super();
  }
  send(message: PreparedMessage, _options?: object, callback?: Callback): boolean {
    expect(this.readyState, 'sent only while open').to.equal(1);
    this.sent.push(message);
    this.bufferedAmount += message.payload.length;
    const ok = this.bufferedAmount < this.hwm;
    if (callback !== undefined) {
      if (ok) process.nextTick(callback);
      else this.#held.push(callback);
    }
    return ok;
  }
  close(code: number, reason: string): void {
    this.closes.push([code, reason]);
    this.readyState = 2;
    for (const cb of this.#drainWaiters.splice(0)) cb(new Error('closed'));
  }
  /** As the stream's: call back the next time the transport takes more. */
  [kWhenDrained](callback: Callback): void {
    this.#drainWaiters.push(callback);
  }
  /** The transport takes `bytes` (all by default), in one chunk. */
  take(bytes = this.bufferedAmount): void {
    this.bufferedAmount -= Math.min(bytes, this.bufferedAmount);
    this.emit('data', Buffer.alloc(0));
    for (const cb of this.#drainWaiters.splice(0)) cb();
    if (this.bufferedAmount < this.hwm) for (const cb of this.#held.splice(0)) cb();
  }
}

const asWs = (m: ModelStream) => m as unknown as WebSocketDuplex;
const msg = (i: number, size = 1000) => {
  const data = Buffer.alloc(size);
  data.writeUInt32BE(i, 0);
  return new PreparedMessage(data);
};
const indexOf = (m: PreparedMessage) => m.payload.readUInt32BE(0);
const tick = () => new Promise((resolve) => setImmediate(resolve));
const add = (total: DeliveryCounts, c: DeliveryCounts) => {
  for (const k of Object.keys(c) as Array<keyof DeliveryCounts>) total[k] += c[k];
};

describe('stream/server/delivery', () => {
  describe('options', () => {
    const bad: Array<[string, SlowClientPolicy]> = [
      ['an unknown policy', { policy: 'queue' as 'skip' }],
      ['a negative limit', { limit: -1 }],
      ['a fractional limit', { limit: 1.5 }],
      ['a limit that is not a number', { limit: '1' as unknown as number }],
      ['queue 0', { queue: 0 }],
      ['a fractional queue', { queue: 2.5 }],
      ['closeCode 1000', { closeCode: 1000 as 1013 }],
      ['closeCode 1001', { closeCode: 1001 as 1013 }],
    ];
    for (const [name, options] of bad) {
      it(`${name}: LocalProtocolError ERR_INVALID_OPTION (also from the WebSocketServer constructor)`, () => {
        for (const make of [
          () => new Delivery(options),
          () => new WebSocketServer({ noServer: true, slowClient: options }),
        ]) {
          let caught: unknown;
          try {
            make();
          } catch (error) {
            caught = error;
          }
          expect(caught).to.be.instanceOf(LocalProtocolError);
          expect(caught).to.have.property('code', 'ERR_INVALID_OPTION');
          expect((caught as Error).message).to.match(/^slowClient: /);
        }
      });
    }

    it("the defaults: 'skip' over 1 MiB", () => {
      const delivery = new Delivery();
      const ws = new ModelStream();
      const counts = Delivery.counts();
      ws.bufferedAmount = 1024 * 1024;
      delivery.deliver(asWs(ws), msg(0), counts);
      ws.bufferedAmount = 1024 * 1024 + 1;
      delivery.deliver(asWs(ws), msg(1), counts);
      expect(counts).to.deep.equal({ sent: 1, skipped: 1, queued: 0, dropped: 0, closed: 0 });
    });

    it('a stream that is not open is left alone and not counted', () => {
      for (const policy of ['skip', 'drop-oldest', 'close'] as const) {
        const delivery = new Delivery({ policy, limit: 0 });
        for (const readyState of [0, 2, 3]) {
          const ws = new ModelStream();
          ws.readyState = readyState;
          ws.bufferedAmount = 10;
          const counts = Delivery.counts();
          delivery.deliver(asWs(ws), msg(0), counts);
          expect(counts).to.deep.equal(Delivery.counts());
          expect([ws.sent.length, ws.closes.length, delivery.waiting(asWs(ws))]).to.deep.equal([0, 0, 0]);
        }
      }
    });
  });

  describe('against a model stream (oracle per policy)', () => {
    /** Random operations: deliver the next message, the transport takes some or all, a tick passes. */
    const ops = fc.array(
      fc.oneof(
        { weight: 5, arbitrary: fc.constant({ op: 'deliver' as const, bytes: 0 }) },
        { weight: 2, arbitrary: fc.nat(6000).map((bytes) => ({ op: 'take' as const, bytes })) },
        { weight: 1, arbitrary: fc.constant({ op: 'tick' as const, bytes: 0 }) },
      ),
      { maxLength: 80 },
    );
    const sizes = fc.constantFrom(500, 1000, 3000);

    it("'skip': sent exactly when at most `limit` bytes wait; never more than limit + one message waits", async () => {
      await fc.assert(
        fc.asyncProperty(ops, fc.nat(8000), sizes, async (steps, limit, size) => {
          const delivery = new Delivery({ policy: 'skip', limit });
          const ws = new ModelStream(4000);
          const total = Delivery.counts();
          let n = 0;
          for (const { op, bytes } of steps) {
            if (op === 'deliver') {
              const before = ws.bufferedAmount;
              const counts = Delivery.counts();
              delivery.deliver(asWs(ws), msg(n++, size), counts);
              expect(counts).to.deep.equal({ ...Delivery.counts(), [before <= limit ? 'sent' : 'skipped']: 1 });
              add(total, counts);
              expect(ws.bufferedAmount).to.be.at.most(limit + size);
            } else if (op === 'take') ws.take(bytes);
            else await tick();
          }
          expect(ws.sent.map(indexOf)).to.deep.equal([...ws.sent.map(indexOf)].sort((a, b) => a - b));
          expect(total.sent).to.equal(ws.sent.length);
          expect(total.sent + total.skipped).to.equal(n);
          expect(delivery.waiting(asWs(ws))).to.equal(0);
        }),
        { numRuns: 200 },
      );
    });

    it("'close': the first message over `limit` closes with closeCode (1013 default, or 1008) and nothing more is sent", async () => {
      for (const closeCode of [undefined, 1008] as const) {
        await fc.assert(
          fc.asyncProperty(ops, fc.nat(8000), async (steps, limit) => {
            const delivery = new Delivery({ policy: 'close', limit, ...(closeCode ? { closeCode } : {}) });
            const ws = new ModelStream(4000);
            const total = Delivery.counts();
            let n = 0;
            let closedAt = -1;
            for (const { op, bytes } of steps) {
              if (op === 'deliver') {
                const behind = ws.bufferedAmount > limit;
                if (behind && closedAt < 0) closedAt = n;
                delivery.deliver(asWs(ws), msg(n++), total);
              } else if (op === 'take') ws.take(bytes);
              else await tick();
            }
            const sentCount = closedAt < 0 ? n : closedAt;
            expect(ws.sent.map(indexOf)).to.deep.equal(Array.from({ length: sentCount }, (_, i) => i));
            expect(ws.closes).to.deep.equal(
              closedAt < 0 ? [] : [[closeCode ?? 1013, 'too slow to keep up with the messages for it']],
            );
            expect(total).to.deep.equal({ ...Delivery.counts(), sent: sentCount, closed: closedAt < 0 ? 0 : 1 });
          }),
          { numRuns: 100 },
        );
      }
    });

    it("'drop-oldest': in order, at most `queue` waiting, nothing lost uncounted, and once the transport drains the newest message is out", async () => {
      await fc.assert(
        fc.asyncProperty(
          ops,
          fc.nat(8000),
          fc.integer({ min: 1, max: 8 }),
          sizes,
          async (steps, limit, queue, size) => {
            const delivery = new Delivery({ policy: 'drop-oldest', limit, queue });
            const ws = new ModelStream(4000);
            const total = Delivery.counts();
            let n = 0;
            for (const { op, bytes } of steps) {
              if (op === 'deliver') delivery.deliver(asWs(ws), msg(n++, size), total);
              else if (op === 'take') ws.take(bytes);
              else await tick();
              expect(delivery.waiting(asWs(ws))).to.be.at.most(queue);
            }
            // Every message went out, waits, or was dropped (and counted).
            expect(total.sent + total.queued).to.equal(n);
            expect(ws.sent.length + delivery.waiting(asWs(ws)) + total.dropped).to.equal(n);
            // The transport catches up (reading whatever comes) and nothing more is published.
            for (let round = 0; round < 2 * queue + 4; round++) {
              ws.take();
              await tick();
            }
            expect(delivery.waiting(asWs(ws)), 'the queue drained by itself').to.equal(0);
            const order = ws.sent.map(indexOf);
            expect(order, 'in order').to.deep.equal([...order].sort((a, b) => a - b));
            expect(new Set(order).size).to.equal(order.length);
            if (n > 0) expect(order.at(-1), 'ends with the newest message').to.equal(n - 1);
            expect(ws.sent.length + total.dropped).to.equal(n);
            expect(ws.listenerCount('data'), 'no watcher left once the queue is gone').to.equal(0);
          },
        ),
        { numRuns: 300 },
      );
    });

    it("'drop-oldest': forget() drops a closed client's queue", () => {
      const delivery = new Delivery({ policy: 'drop-oldest', limit: 0, queue: 3 });
      const ws = new ModelStream();
      ws.bufferedAmount = 1;
      const counts = Delivery.counts();
      for (let i = 0; i < 5; i++) delivery.deliver(asWs(ws), msg(i), counts);
      expect(delivery.waiting(asWs(ws))).to.equal(3);
      expect(counts).to.deep.equal({ sent: 0, skipped: 0, queued: 5, dropped: 2, closed: 0 });
      delivery.forget(asWs(ws));
      expect(delivery.waiting(asWs(ws))).to.equal(0);
      ws.take();
      expect(ws.sent).to.have.length(0);
    });
  });

  describe('real slow clients (a raw TCP client that stops reading, beside a fast one)', () => {
    const SIZE = 64 * 1024;
    const LIMIT = 256 * 1024;
    const FRAME = SIZE + 10; // RFC 6455 5.2: a 64-bit length header
    const MAX = 1500; // publications before the slow client must have fallen behind

    const payload = (i: number) => {
      const data = Buffer.alloc(SIZE, i & 0xff);
      data.writeUInt32BE(i, 0);
      return data;
    };
    const received = (client: RawClient): number[] =>
      merge(client.events)
        .filter((m) => m.type === 'bytes')
        .map((m) => parseInt(m.data.slice(0, 8), 16));

    /** A server, a slow raw client and a fast client of ours, both subscribed to 'feed'. */
    async function setup(slowClient: SlowClientPolicy) {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', slowClient });
      await once(wss, 'listening');
      const port = (wss.address() as { port: number }).port;
      const order: WebSocketDuplex[] = [];
      wss.on('connection', (ws) => {
        order.push(ws);
        wss.subscribe(ws, 'feed');
      });
      const slow = await rawClient(port, '/feed');
      await until(() => order.length === 1);
      const fast = await connect(`ws://127.0.0.1:${port}/feed`);
      await until(() => order.length === 2);
      const fastGot: number[] = [];
      fast.on('message', (data) => fastGot.push((data as Buffer).readUInt32BE(0)));
      return { wss, slow, fast, fastGot, slowWs: order[0]!, fastWs: order[1]! };
    }

    /** Publish the next message and wait until the fast client has it (it is never behind). */
    async function publishPaced(s: Awaited<ReturnType<typeof setup>>, i: number): Promise<DeliveryCounts> {
      const counts = s.wss.publish('feed', payload(i));
      await until(() => s.fastGot.length === i + 1 || s.fast.readyState !== 1, 5000, `the fast client to get ${i}`);
      return counts;
    }

    async function teardown(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
      s.slow.start();
      await s.wss.close({ timeout: 2000 });
      s.slow.destroy();
      if (s.fast.readyState !== 3) await once(s.fast, 'close');
    }

    it("'skip': the slow client's buffer stays at most limit + one message, it misses messages, the fast one gets every one in order", async () => {
      const baseline = await baselineNow();
      const s = await setup({ policy: 'skip', limit: LIMIT });
      try {
        const total = Delivery.counts();
        let n = 0;
        while (total.skipped < 20) {
          expect(n, 'the slow client fell behind').to.be.below(MAX);
          add(total, await publishPaced(s, n++));
          expect(s.slowWs.bufferedAmount).to.be.at.most(LIMIT + FRAME);
        }
        expect(total.sent + total.skipped).to.equal(2 * n);
        expect(s.fastGot).to.deep.equal(Array.from({ length: n }, (_, i) => i));
        // The slow client reads again: what it got is in order, with the skipped ones missing.
        s.slow.start();
        await until(() => s.slowWs.bufferedAmount === 0 && received(s.slow).length === total.sent - n, 10000);
        const got = received(s.slow);
        expect(got).to.deep.equal([...got].sort((a, b) => a - b));
        expect(got.length).to.equal(n - total.skipped);
        // Caught up, it gets the next one.
        add(total, await publishPaced(s, n++));
        await until(() => received(s.slow).at(-1) === n - 1);
      } finally {
        await teardown(s);
      }
      await backTo(baseline);
    });

    it("'drop-oldest' (queue 8): at most 8 wait, older ones are dropped, and on reading again it gets the rest in order ending with the last published", async () => {
      const baseline = await baselineNow();
      const s = await setup({ policy: 'drop-oldest', limit: LIMIT, queue: 8 });
      try {
        const total = Delivery.counts();
        let n = 0;
        while (total.dropped < 20) {
          expect(n, 'the slow client fell behind').to.be.below(MAX);
          add(total, await publishPaced(s, n++));
          expect(s.wss.waiting(s.slowWs)).to.be.at.most(8);
          expect(s.slowWs.bufferedAmount).to.be.at.most(LIMIT + FRAME);
        }
        expect(s.wss.waiting(s.slowWs)).to.equal(8);
        expect(total.sent + total.queued).to.equal(2 * n);
        expect(s.fastGot).to.deep.equal(Array.from({ length: n }, (_, i) => i));
        s.slow.start();
        await until(() => received(s.slow).at(-1) === n - 1, 10000, 'the newest message to reach the slow client');
        const got = received(s.slow);
        expect(got).to.deep.equal([...got].sort((a, b) => a - b));
        expect(got.slice(-8), 'the newest 8 were kept').to.deep.equal(Array.from({ length: 8 }, (_, i) => n - 8 + i));
        expect(got.length + total.dropped).to.equal(n);
        expect(s.wss.waiting(s.slowWs)).to.equal(0);
      } finally {
        await teardown(s);
      }
      await backTo(baseline);
    });

    for (const closeCode of [1013, 1008] as const) {
      it(`'close' (closeCode ${closeCode}): the slow client is closed with ${closeCode}, the fast one is unaffected`, async () => {
        const baseline = await baselineNow();
        const s = await setup({ policy: 'close', limit: LIMIT, ...(closeCode === 1008 ? { closeCode } : {}) });
        try {
          const serverSide = once<[number, string, boolean]>(s.slowWs, 'close', 15000);
          const total = Delivery.counts();
          let n = 0;
          while (total.closed === 0) {
            expect(n, 'the slow client fell behind').to.be.below(MAX);
            add(total, await publishPaced(s, n++));
          }
          expect(s.slowWs.readyState).to.equal(2);
          // No longer open: the next ones go to the fast client only, and count only it.
          for (let i = 0; i < 3; i++)
            expect(await publishPaced(s, n++)).to.deep.equal({ ...Delivery.counts(), sent: 1 });
          expect(total.closed).to.equal(1);
          expect(s.fastGot).to.deep.equal(Array.from({ length: n }, (_, i) => i));
          expect(s.fast.readyState).to.equal(1);
          s.slow.start();
          const [code, reason, wasClean] = await serverSide;
          expect([code, wasClean]).to.deep.equal([closeCode, true]);
          expect(reason).to.equal('too slow to keep up with the messages for it');
          const close = merge(s.slow.events).at(-1);
          expect(close).to.deep.equal({ type: 'close', code: closeCode, reason });
          expect(s.wss.clients.has(s.slowWs)).to.equal(false);
          expect(s.wss.subscribers('feed').size).to.equal(1);
        } finally {
          await teardown(s);
        }
        await backTo(baseline);
      });
    }

    it("regression: 'drop-oldest' with a limit below the stream's high-water mark drains its queue when the client reads again (no publication needed)", async () => {
      const baseline = await baselineNow();
      const wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        slowClient: { policy: 'drop-oldest', limit: 16 * 1024, queue: 8 },
      });
      await once(wss, 'listening');
      const port = (wss.address() as { port: number }).port;
      const slow = await rawClient(port);
      await until(() => wss.clients.size === 1);
      const ws = [...wss.clients][0]!;
      try {
        let n = 0;
        while (wss.waiting(ws) < 8) {
          expect(n).to.be.below(MAX);
          wss.broadcast(payload(n++));
          await tick(); // a turn for the transport
        }
        slow.start();
        await until(() => received(slow).at(-1) === n - 1, 5000, `message ${n - 1}; waiting ${wss.waiting(ws)}`);
        expect(wss.waiting(ws)).to.equal(0);
      } finally {
        slow.start();
        await wss.close({ timeout: 2000 });
        slow.destroy();
      }
      await backTo(baseline);
    });

    it("regression: 'drop-oldest' behind the application's own large send drains its queue when the client reads again", async () => {
      const baseline = await baselineNow();
      const wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        slowClient: { policy: 'drop-oldest', limit: LIMIT },
      });
      await once(wss, 'listening');
      const port = (wss.address() as { port: number }).port;
      const slow = await rawClient(port);
      await until(() => wss.clients.size === 1);
      const ws = [...wss.clients][0]!;
      try {
        // The application's own send fills the client's buffer past the limit.
        while (ws.bufferedAmount <= LIMIT) {
          ws.send(Buffer.alloc(SIZE, 0xee));
          await tick();
        }
        for (let i = 0; i < 3; i++) wss.broadcast(payload(i));
        expect(wss.waiting(ws)).to.equal(3);
        slow.start();
        await until(() => received(slow).at(-1) === 2, 5000, `the queued messages; waiting ${wss.waiting(ws)}`);
        expect(received(slow).filter((i) => i < 3)).to.deep.equal([0, 1, 2]);
      } finally {
        slow.start();
        await wss.close({ timeout: 2000 });
        slow.destroy();
      }
      await backTo(baseline);
    });
  });
});
