/**
 * Mirror test for lib/stream/messages: `ws.messages()`, whole messages as an async
 * iterator with backpressure. The queue alone, then real TCP on 127.0.0.1 against `ws`.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import WebSocket from 'ws';
import { handleUpgrade, LocalProtocolError, WebSocketDuplex, type WebSocketDuplexOptions } from '../../lib/index';
import { BytesMessageEvent, TextMessageEvent } from '../../lib/events';
import { MessageAssembler } from '../../lib/stream/message-assembler';
import { MessageQueue, MessageRoute, type Message } from '../../lib/stream/messages';
import { listen, once, sleep, until } from '../helpers/net';

type CloseArgs = [number, string, boolean, Error | null];

const text = (data: string, messageFinished = true) => new TextMessageEvent({ data, messageFinished });
const bytes = (data: string) => new BytesMessageEvent({ data: Buffer.from(data) });

function queue(highWaterMark = 2) {
  const calls = { resume: 0, close: 0 };
  const q = new MessageQueue({ resume: () => calls.resume++, close: () => calls.close++ }, highWaterMark);
  return { q, calls };
}

/** An http server whose upgrades become our server streams, handed to `onStream`. */
async function ourServer(onStream: (ws: WebSocketDuplex) => void, options: WebSocketDuplexOptions = {}) {
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
    onStream(handleUpgrade(req, socket, head, options)),
  );
  return listen(server);
}

/** Collect a messages() loop into an array; resolves when the loop ends (never rejects). */
async function drain(iterable: AsyncIterable<Message>, out: Message[] = []): Promise<Message[]> {
  for await (const message of iterable) out.push(message);
  return out;
}

describe('stream/messages', () => {
  describe('MessageQueue', () => {
    it('assembles pieces into whole messages, for the loop and for listeners alike', async () => {
      const { q } = queue();
      const it = q.iterate();
      expect(q.add(text('a', false), false)).to.equal(null);
      expect(q.add(text('b'), false)).to.equal('ab');
      expect(q.add(bytes('xy'), false)).to.deep.equal(Buffer.from('xy'));
      expect(await it.next()).to.deep.equal({ done: false, value: { data: 'ab', isBinary: false } });
      expect(await it.next()).to.deep.equal({ done: false, value: { data: Buffer.from('xy'), isBinary: true } });
    });

    it("takes over the listeners' assembler with the message in progress in it (no tail passed off as a message)", async () => {
      const assembler = new MessageAssembler();
      expect(assembler.add(text('hel', false), true)).to.equal(null);
      const q = new MessageQueue({ resume: () => undefined, close: () => undefined }, 2, assembler);
      const it = q.iterate();
      expect(q.add(text('lo'), false)).to.equal('hello');
      expect(await it.next()).to.deep.equal({ done: false, value: { data: 'hello', isBinary: false } });
    });

    it('without an iterator nothing is queued or held (listeners only)', () => {
      const { q } = queue(1);
      expect(q.add(text('x'), false)).to.equal(null); // nobody wants it: not even assembled
      expect(q.add(text('y'), true)).to.equal('y');
      expect([q.length, q.full, q.wanted]).to.deep.equal([0, false, false]);
    });

    it('full at the high-water mark; a pull below it asks the stream to resume', async () => {
      const { q, calls } = queue(2);
      const it = q.iterate();
      q.add(text('1'), false);
      expect(q.full).to.equal(false);
      q.add(text('2'), false);
      expect([q.length, q.full]).to.deep.equal([2, true]);
      await it.next();
      expect(q.full).to.equal(false);
      expect(calls.resume).to.equal(1);
    });

    it('a pending next() gets the next message; end() finishes after the queued ones', async () => {
      const { q } = queue();
      const it = q.iterate();
      const pending = it.next();
      q.add(text('late'), false);
      expect(await pending).to.deep.equal({ done: false, value: { data: 'late', isBinary: false } });
      q.add(text('last'), false);
      q.end();
      expect((await it.next()).value).to.deep.equal({ data: 'last', isBinary: false });
      expect(await it.next()).to.deep.equal({ done: true, value: undefined });
      expect(await it.next()).to.deep.equal({ done: true, value: undefined });
      const waiting = q.iterate().next(); // after the end: done at once
      expect(await waiting).to.deep.equal({ done: true, value: undefined });
    });

    it('return() closes (default) and finishes pending next() calls; closeOnReturn: false does not close', async () => {
      const { q, calls } = queue();
      const it = q.iterate();
      const pending = it.next();
      await it.return!();
      expect(await pending).to.deep.equal({ done: true, value: undefined });
      expect(calls.close).to.equal(1);
      expect(q.wanted).to.equal(false);
      const again = q.iterate({ closeOnReturn: false });
      q.add(text('kept'), false);
      await again.return!();
      expect(calls.close).to.equal(1);
      // What was queued stays for the next iterator.
      expect((await q.iterate().next()).value).to.deep.equal({ data: 'kept', isBinary: false });
    });

    it('one iterator at a time; the high-water mark is a positive integer', () => {
      const { q } = queue();
      q.iterate();
      expect(() => q.iterate())
        .to.throw(LocalProtocolError)
        .with.property('code', 'ERR_INVALID_STATE');
      for (const highWaterMark of [0, -1, 1.5]) {
        expect(() => queue().q.iterate({ highWaterMark }))
          .to.throw(LocalProtocolError)
          .with.property('code', 'ERR_INVALID_OPTION');
      }
    });
  });

  describe('MessageRoute', () => {
    const route = (highWaterMark = 2) =>
      new MessageRoute({ resume: () => undefined, close: () => undefined }, highWaterMark);

    it('assembles a message in pieces for the listeners, and hands whole ones through; no queue until one is asked for', () => {
      const r = route();
      expect(r.add(text('a', false), true)).to.equal(null);
      expect(r.add(text('b'), true)).to.equal('ab');
      expect(r.add(bytes('whole'), true)).to.deep.equal(Buffer.from('whole'));
      expect(r.full, 'no queue, never full').to.equal(false);
    });

    it('the queue, once made, takes over the message in progress (its loop gets it whole)', async () => {
      const r = route();
      r.add(text('he', false), true); // a listener wanted it from its first piece
      const loop = r.queue.iterate();
      expect(r.queue, 'made once').to.equal(r.queue);
      expect(r.add(text('llo'), false)).to.equal('hello');
      expect(await loop.next()).to.deep.equal({ done: false, value: { data: 'hello', isBinary: false } });
    });

    it('full when the queue is at its high-water mark', async () => {
      const r = route(1);
      r.queue.iterate();
      r.add(text('one'), false);
      expect(r.full).to.equal(true);
    });

    it('end() before the queue was made: a queue made later starts ended (its loop finishes at once)', async () => {
      const r = route();
      r.end();
      expect(await r.queue.iterate().next()).to.deep.equal({ done: true, value: undefined });
    });
  });

  describe('ws.messages() over TCP', () => {
    it('yields whole messages (fragmented text, binary) in order, and finishes after the last one when the peer closes', async () => {
      const done: Array<Promise<[Message[], CloseArgs]>> = [];
      const srv = await ourServer((ws) => done.push(Promise.all([drain(ws.messages()), once<CloseArgs>(ws, 'close')])));
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        client.send('hel', { fin: false });
        client.send('lo ✓', { fin: true });
        client.send(Buffer.from([1, 2, 3]));
        client.send('last');
        client.close(1000, 'bye');
        await until(() => done.length === 1);
        const [messages, [code, reason, wasClean]] = await done[0]!;
        expect(messages).to.deep.equal([
          { data: 'hello ✓', isBinary: false },
          { data: Buffer.from([1, 2, 3]), isBinary: true },
          { data: 'last', isBinary: false },
        ]);
        expect([code, reason, wasClean]).to.deep.equal([1000, 'bye', true]);
      } finally {
        await srv.close();
      }
    });

    it('a peer that breaks the protocol or resets: the loop finishes (no throw) and close says why', async () => {
      const results: Array<Promise<[Message[], CloseArgs]>> = [];
      const srv = await ourServer((ws) =>
        results.push(Promise.all([drain(ws.messages()), once<CloseArgs>(ws, 'close')])),
      );
      try {
        // Invalid UTF-8 in a text message: 1007.
        const bad = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(bad, 'open');
        bad.send('fine');
        bad.send(Buffer.from([0xff, 0xfe]), { binary: false });
        await until(() => results.length === 1);
        const [messages, [code, , wasClean, cause]] = await results[0]!;
        expect(messages).to.deep.equal([{ data: 'fine', isBinary: false }]);
        expect([code, wasClean]).to.deep.equal([1007, false]);
        expect(cause).to.have.property('code', 'ERR_INVALID_UTF8');

        // A reset: 1006.
        const reset = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(reset, 'open');
        reset.send('before the reset');
        await sleep(50);
        reset.terminate();
        await until(() => results.length === 2);
        const [after, [code2]] = await results[1]!;
        expect(after).to.deep.equal([{ data: 'before the reset', isBinary: false }]);
        expect(code2).to.equal(1006);
      } finally {
        await srv.close();
      }
    });

    it('break closes the WebSocket with 1000; closeOnReturn: false keeps it open for listeners', async () => {
      const srv = await ourServer((ws) => {
        void (async () => {
          const first = ws.messages({ closeOnReturn: false });
          for await (const { data } of first) {
            if (data === 'hello') break; // the first message only: the connection stays open
          }
          ws.send('greeted');
          for await (const { data } of ws.messages()) {
            if (data === 'stop') break;
          }
        })();
      });
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        const greeted = once<[Buffer]>(client, 'message');
        client.send('hello');
        expect(String((await greeted)[0])).to.equal('greeted');
        const closed = once<[number, Buffer]>(client, 'close');
        client.send('more');
        client.send('stop');
        const [code] = await closed;
        expect(code).to.equal(1000);
      } finally {
        await srv.close();
      }
    });

    it('backpressure: while the loop does not pull, at most highWaterMark messages leave the core and the peer is pushed back; then everything arrives in order', async () => {
      let server: WebSocketDuplex | null = null;
      const srv = await ourServer((ws) => (server = ws));
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        await until(() => server !== null);
        const ws = server! as WebSocketDuplex;
        let taken = 0; // messages the stream took from the core (a listener sees each)
        ws.on('message', () => taken++);
        const iterator = ws.messages({ highWaterMark: 4 });
        const payload = Buffer.alloc(16 * 1024, 7);
        const count = 2000; // 32 MiB: more than the loopback buffers hold
        for (let i = 0; i < count; i++) client.send(payload.subarray(0, payload.length - (i % 7)));
        await sleep(300);
        expect(taken, 'only the high-water mark is taken').to.equal(4);
        expect(client.bufferedAmount, 'the peer is pushed back').to.be.greaterThan(1024 * 1024);
        expect(ws.writableLength, 'the wire face holds at most a chunk or so').to.be.at.most(256 * 1024);
        let received = 0;
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
          expect(r.value.data.length).to.equal(payload.length - (received % 7));
          if (++received === count) break;
        }
        expect(received).to.equal(count);
        const closed = once<CloseArgs>(ws, 'close');
        await iterator.return!(); // what `break` in a for await calls: it closes
        expect((await closed)[0]).to.equal(1000);
      } finally {
        await srv.close();
      }
    });

    it("messages() started while a fragmented message is half in: the loop and the 'message' listeners get it whole", async () => {
      const got: { listener: Array<string | Buffer>; loop: Promise<Message[]> | null } = { listener: [], loop: null };
      const srv = await ourServer((ws) => {
        ws.on('message', (data) => got.listener.push(data));
        // The ping follows the first piece: when it arrives, that piece was taken.
        ws.once('ping', () => (got.loop = drain(ws.messages())));
      });
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        client.send('hel', { fin: false });
        client.ping();
        await until(() => got.loop !== null);
        client.send('lo', { fin: true });
        client.send('next');
        client.close(1000);
        await once(client, 'close');
        expect(await got.loop).to.deep.equal([
          { data: 'hello', isBinary: false },
          { data: 'next', isBinary: false },
        ]);
        expect(got.listener).to.deep.equal(['hello', 'next']);
      } finally {
        await srv.close();
      }
    });

    it('messages() after the stream closed finishes at once', async () => {
      const ws = new WebSocketDuplex('server');
      ws.destroy();
      await once(ws, 'close');
      expect(await ws.messages().next()).to.deep.equal({ done: true, value: undefined });
    });
  });
});
