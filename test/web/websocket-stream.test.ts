/**
 * Mirror test for lib/web/websocket-stream: the WHATWG WebSocketStream against a real
 * server in this process (test/helpers/wss-scenarios.ts), and the same scenarios in
 * Chromium with its own WebSocketStream, whose traces must equal ours.
 */
import { expect } from 'chai';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { HandshakeRejectedError, WebSocketServer, type RemoteProtocolError } from '../../lib/index';
import { WebSocketError } from '../../lib/web/websocket-error';
import { WebSocketStream, type WebSocketOpenInfo } from '../../lib/web/websocket-stream';
import { launchChromium, requireChromium, within, type Browser } from '../helpers/browser';
import { thrown } from '../helpers/dom-exception';
import { listen, sleep, until } from '../helpers/net';
import { floodMessage, runScenarios, startScenarioServer, type ScenarioServer } from '../helpers/wss-scenarios';

/** What a promise rejected with (fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** What the server saw when the connection `id` closed (its 'close' may come just after ours). */
async function serverClose(server: ScenarioServer, id: string) {
  await until(() => server.closes.has(id), 5000, `the server to see ${id} close`);
  return server.closes.get(id);
}

describe('web/websocket-stream', function () {
  this.timeout(20000);
  let server: ScenarioServer;
  let base: string;

  beforeEach(async () => {
    server = await startScenarioServer();
    base = `ws://127.0.0.1:${server.port}`;
  });
  afterEach(() => server.close());

  async function open(path: string, options = {}): Promise<[WebSocketStream, WebSocketOpenInfo]> {
    const wss = new WebSocketStream(`${base}${path}`, options);
    return [wss, await wss.opened];
  }

  describe('opening', () => {
    it('opens with the subprotocol the server chose; url is the parsed URL (http: as ws:)', async () => {
      const wss = new WebSocketStream(`http://127.0.0.1:${server.port}/echo?id=p`, { protocols: ['other', 'chat'] });
      expect(wss.url).to.equal(`ws://127.0.0.1:${server.port}/echo?id=p`);
      const opened = await wss.opened;
      expect(opened.protocol).to.equal('chat');
      expect(opened.extensions).to.equal('');
      expect(opened.readable).to.be.instanceOf(ReadableStream);
      expect(opened.writable).to.be.instanceOf(WritableStream);
      wss.close();
      await wss.closed;
    });

    it('extensions is the server Sec-WebSocket-Extensions when permessage-deflate is negotiated', async () => {
      await server.close();
      server = await startScenarioServer({ perMessageDeflate: true });
      base = `ws://127.0.0.1:${server.port}`;
      const [wss, opened] = await open('/echo', { perMessageDeflate: true });
      expect(opened.extensions).to.match(/^permessage-deflate/);
      const writer = opened.writable.getWriter();
      await writer.write('x'.repeat(10000));
      expect((await opened.readable.getReader().read()).value).to.equal('x'.repeat(10000));
      wss.close();
      await wss.closed;
    });

    it('the constructor throws SyntaxError for a bad URL or subprotocols, naming WebSocketStream', () => {
      for (const url of ['ftp://127.0.0.1/', 'ws://127.0.0.1/#frag', '/relative', 'ws://exa mple/']) {
        const error = thrown(() => new WebSocketStream(url));
        expect(error.name, url).to.equal('SyntaxError');
        expect(error.message, url).to.include("Failed to construct 'WebSocketStream'");
      }
      expect(thrown(() => new WebSocketStream(base, { protocols: ['a', 'a'] })).message).to.include('duplicated');
      expect(thrown(() => new WebSocketStream(base, { protocols: 'a b' })).name).to.equal('SyntaxError');
      expect(() => new WebSocketStream(base, { highWaterMark: 0 })).to.throw(RangeError);
    });

    it('a refused handshake (403) rejects opened (closeCode null) and closed (1006), the response as cause', async () => {
      const wss = new WebSocketStream(`${base}/refuse`);
      const opened = (await rejection(wss.opened)) as WebSocketError;
      expect(opened).to.be.instanceOf(WebSocketError);
      expect(opened.name).to.equal('WebSocketError');
      expect(opened.closeCode).to.equal(null);
      expect(opened.cause).to.be.instanceOf(HandshakeRejectedError);
      expect((opened.cause as HandshakeRejectedError).statusCode).to.equal(403);
      const closed = (await rejection(wss.closed)) as WebSocketError;
      expect([closed.name, closed.closeCode, closed.reason]).to.deep.equal(['WebSocketError', 1006, '']);
    });

    it('a signal aborted before the constructor rejects both with an AbortError (the reason as cause)', async () => {
      const reason = new Error('not now');
      const wss = new WebSocketStream(`${base}/echo`, { signal: AbortSignal.abort(reason) });
      for (const error of [await rejection(wss.opened), await rejection(wss.closed)]) {
        expect(error).to.be.instanceOf(DOMException);
        expect(error.name).to.equal('AbortError');
        expect(error.cause).to.equal(reason);
      }
    });

    it('a signal aborted during the handshake rejects both with an AbortError', async () => {
      const controller = new AbortController();
      const wss = new WebSocketStream(`${base}/hang`, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      expect((await rejection(wss.opened)).name).to.equal('AbortError');
      expect((await rejection(wss.closed)).name).to.equal('AbortError');
    });

    it('the signal is not watched once open', async () => {
      const controller = new AbortController();
      const [wss, opened] = await open('/echo', { signal: controller.signal });
      controller.abort();
      const writer = opened.writable.getWriter();
      await writer.write('still here');
      expect((await opened.readable.getReader().read()).value).to.equal('still here');
      wss.close({ closeCode: 1000 });
      expect(await wss.closed).to.deep.equal({ closeCode: 1000, reason: '' });
    });

    it('close() while connecting rejects opened (closeCode null) and closed (1006)', async () => {
      const wss = new WebSocketStream(`${base}/hang`);
      wss.close({ closeCode: 4000 });
      const opened = (await rejection(wss.opened)) as WebSocketError;
      expect([opened.name, opened.closeCode]).to.deep.equal(['WebSocketError', null]);
      expect(((await rejection(wss.closed)) as WebSocketError).closeCode).to.equal(1006);
    });

    it('a failed stream whose promises are never awaited gives no unhandled rejection', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        void new WebSocketStream(`${base}/refuse`);
        await sleep(200);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).to.deep.equal([]);
    });
  });

  describe('messages', () => {
    it('echoes text as strings and binary as plain Uint8Arrays (from strings, views, ArrayBuffers)', async () => {
      const [wss, opened] = await open('/echo');
      const writer = opened.writable.getWriter();
      const reader = opened.readable.getReader();
      await writer.write('héllo ✓');
      await writer.write(new Uint8Array([9, 8, 7, 6]).subarray(1, 3));
      await writer.write(new Uint16Array([0x0102]).buffer);
      await writer.write(new DataView(new Uint8Array([5, 6, 7]).buffer, 1));
      await writer.write(Buffer.from('buf'));
      const values = [];
      for (let i = 0; i < 5; i++) values.push((await reader.read()).value);
      expect(values[0]).to.equal('héllo ✓');
      for (const value of values.slice(1)) {
        expect(Object.getPrototypeOf(value)).to.equal(Uint8Array.prototype); // not a Buffer
        expect((value as Uint8Array).buffer.byteLength).to.equal((value as Uint8Array).byteLength);
      }
      expect(values.slice(1).map((v) => Array.from(v as Uint8Array))).to.deep.equal([
        [8, 7],
        Array.from(new Uint8Array(new Uint16Array([0x0102]).buffer)),
        [6, 7],
        [...Buffer.from('buf')],
      ]);
      wss.close();
      await wss.closed;
    });

    it('a chunk that is neither a string nor a BufferSource is sent as its string (a Symbol fails the write)', async () => {
      const [wss, opened] = await open('/echo');
      const writer = opened.writable.getWriter() as WritableStreamDefaultWriter<unknown>;
      const reader = opened.readable.getReader();
      await writer.write(123);
      await writer.write({ toString: () => 'object' });
      expect((await reader.read()).value).to.equal('123');
      expect((await reader.read()).value).to.equal('object');
      const error = await rejection(writer.write(Symbol('s')));
      expect(error).to.be.instanceOf(TypeError);
      // The writable is errored; reading and close() still work.
      expect((await rejection(writer.closed)).name).to.equal('TypeError');
      wss.close({ closeCode: 4005 });
      expect(await wss.closed).to.deep.equal({ closeCode: 4005, reason: '' });
    });

    it('a reader that does not read stops the socket: bytesRead stays bounded, then every message arrives in order', async () => {
      const count = 200;
      const size = 64 * 1024;
      let socket: net.Socket | null = null;
      const wss = new WebSocketStream(`${base}/flood?n=${count}&size=${size}`, {
        highWaterMark: 4,
        createConnection: (target) => (socket = net.connect(target.port, target.host)),
      });
      const opened = await wss.opened;
      // Let the flood run until the client stops taking it.
      let last = -1;
      await until(
        () => {
          const now = socket!.bytesRead;
          const stable = now === last && now > 0;
          last = now;
          return stable;
        },
        5000,
        'the socket to stop reading',
      );
      await sleep(200);
      const stalled = socket!.bytesRead;
      expect(stalled).to.be.below(2 * 1024 * 1024); // of 12.5 MiB sent; 4 messages queued + socket buffers
      expect(server.sockets.get('/flood')!.bufferedAmount).to.be.above(8 * 1024 * 1024);
      const reader = opened.readable.getReader();
      for (let i = 0; i < count; i++) {
        const { value } = await reader.read();
        expect(value, `message ${i}`).to.be.instanceOf(Uint8Array);
        expect(Buffer.from(value as Uint8Array).equals(floodMessage(i, size)), `message ${i}`).to.equal(true);
      }
      expect(socket!.bytesRead).to.be.above(count * size);
      wss.close();
      await wss.closed;
    });

    it('messages that arrived before the connection was lost are read, then the read rejects (1006)', async () => {
      const [wss, opened] = await open('/echo');
      await opened.writable.getWriter().write('two-then-vanish');
      const closed = (await rejection(wss.closed)) as WebSocketError;
      expect(closed.closeCode).to.equal(1006);
      const reader = opened.readable.getReader();
      expect((await reader.read()).value).to.equal('a');
      expect(Array.from((await reader.read()).value as Uint8Array)).to.deep.equal([...Buffer.from('b')]);
      expect(await rejection(reader.read())).to.equal(closed);
    });
  });

  describe('over HTTP/2', () => {
    it('the options bag reaches connect(): `http2: true` opens it as an extended CONNECT (RFC 8441)', async () => {
      const h2 = http2.createServer();
      const wss = new WebSocketServer({ server: h2 });
      const versions: string[] = [];
      wss.on('connection', (ws, req) => {
        versions.push(req.httpVersion);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      const { port, close } = await listen(h2);
      try {
        const stream = new WebSocketStream(`ws://127.0.0.1:${port}/`, { http2: true });
        const { readable, writable } = await stream.opened;
        const writer = writable.getWriter();
        const reader = readable.getReader();
        await writer.write('over h2');
        await writer.write(new Uint8Array([1, 2, 3]));
        expect((await reader.read()).value).to.equal('over h2');
        expect((await reader.read()).value).to.deep.equal(new Uint8Array([1, 2, 3]));
        stream.close({ closeCode: 4000, reason: 'done' });
        expect(await stream.closed).to.deep.equal({ closeCode: 4000, reason: 'done' });
        expect(versions).to.deep.equal(['2.0']);
      } finally {
        await wss.close();
        await close();
      }
    });
  });

  describe('closing', () => {
    it('close({ closeCode, reason }): the server sees them, closed resolves with its echo, writing ends', async () => {
      const [wss, opened] = await open('/echo?id=c1');
      const writer = opened.writable.getWriter();
      const reader = opened.readable.getReader();
      wss.close({ closeCode: 4000, reason: 'fini ✓' });
      expect(await wss.closed).to.deep.equal({ closeCode: 4000, reason: 'fini ✓' });
      expect(await serverClose(server, 'c1')).to.deep.equal({ code: 4000, reason: 'fini ✓', wasClean: true });
      expect((await reader.read()).done).to.equal(true);
      const late = await rejection(writer.write('late'));
      expect([late.name, late.message]).to.deep.equal([
        'InvalidStateError',
        'Cannot write to a closed WebSocketStream.',
      ]);
      wss.close({ closeCode: 4001 }); // does nothing once closing
    });

    it('close() validates as the browser: InvalidAccessError for the code, SyntaxError for a long reason', async () => {
      const [wss] = await open('/echo?id=c2');
      for (const closeCode of [999, 1001, 1005, 2999, 5000, 1000.5]) {
        expect(thrown(() => wss.close({ closeCode })).name, String(closeCode)).to.equal('InvalidAccessError');
      }
      const long = thrown(() => wss.close({ closeCode: 4000, reason: 'é'.repeat(62) }));
      expect([long.name, long.message]).to.deep.equal([
        'SyntaxError',
        "Failed to execute 'close' on 'WebSocketStream': The close reason must not be greater than 123 UTF-8 bytes.",
      ]);
      wss.close({ reason: 'x'.repeat(123) }); // a reason alone means 1000
      expect(await wss.closed).to.deep.equal({ closeCode: 1000, reason: 'x'.repeat(123) });
    });

    it('close() without a code sends a close frame without one (1005)', async () => {
      const [wss] = await open('/echo?id=c3');
      wss.close();
      expect(await wss.closed).to.deep.equal({ closeCode: 1005, reason: '' });
      expect((await serverClose(server, 'c3'))?.code).to.equal(1005);
    });

    it('a close from the server ends the readable (done) and resolves closed with its code and reason', async () => {
      const [wss, opened] = await open('/echo');
      const reader = opened.readable.getReader();
      await opened.writable.getWriter().write('bye');
      expect((await reader.read()).done).to.equal(true);
      expect(await wss.closed).to.deep.equal({ closeCode: 4001, reason: 'server bye' });
    });

    it('a server that vanishes rejects closed, the read and the writer with a WebSocketError 1006', async () => {
      const [wss, opened] = await open('/echo');
      const writer = opened.writable.getWriter();
      const reader = opened.readable.getReader();
      const reading = reader.read();
      await writer.write('vanish');
      const closed = (await rejection(wss.closed)) as WebSocketError;
      expect(closed).to.be.instanceOf(WebSocketError);
      expect([closed.closeCode, closed.reason, closed.message]).to.deep.equal([
        1006,
        '',
        'WebSocket was not cleanly closed.',
      ]);
      expect(closed.cause).to.be.instanceOf(Error);
      expect(await rejection(reading)).to.equal(closed);
      expect(await rejection(writer.closed)).to.equal(closed);
    });

    it('a server that breaks the protocol (invalid UTF-8) rejects closed with 1006, the failure as cause', async () => {
      const [wss, opened] = await open('/echo?id=u1');
      const reader = opened.readable.getReader();
      await opened.writable.getWriter().write('bad-utf8');
      const closed = (await rejection(wss.closed)) as WebSocketError;
      expect([closed.name, closed.closeCode, closed.reason]).to.deep.equal(['WebSocketError', 1006, '']);
      expect((closed.cause as RemoteProtocolError).code).to.equal('ERR_INVALID_UTF8');
      expect(await rejection(reader.read())).to.equal(closed);
      expect((await serverClose(server, 'u1'))?.code).to.equal(1007); // what we failed the connection with
    });

    it('writer.abort(WebSocketError) closes with its code and reason; another reason closes without a code', async () => {
      const [wss, opened] = await open('/echo?id=a1');
      await opened.writable.getWriter().abort(new WebSocketError('stop', { closeCode: 4002, reason: 'aborted' }));
      expect(await wss.closed).to.deep.equal({ closeCode: 4002, reason: 'aborted' });
      expect(await serverClose(server, 'a1')).to.deep.equal({ code: 4002, reason: 'aborted', wasClean: true });
      expect((await opened.readable.getReader().read()).done).to.equal(true);

      const [other, otherOpened] = await open('/echo?id=a2');
      await otherOpened.writable.getWriter().abort(new Error('plain'));
      expect(await other.closed).to.deep.equal({ closeCode: 1005, reason: '' });
    });

    it('reader.cancel(WebSocketError) closes with its code and reason, and writing ends', async () => {
      const [wss, opened] = await open('/echo?id=r1');
      await opened.readable.getReader().cancel(new WebSocketError('', { closeCode: 4003, reason: 'cancelled' }));
      expect(await wss.closed).to.deep.equal({ closeCode: 4003, reason: 'cancelled' });
      expect((await serverClose(server, 'r1'))?.code).to.equal(4003);
      expect((await rejection(opened.writable.getWriter().write('x'))).name).to.equal('InvalidStateError');
    });

    it('closing the writable closes the WebSocket without a code, after the writes before it', async () => {
      const [wss, opened] = await open('/echo?id=w1');
      const writer = opened.writable.getWriter();
      const reader = opened.readable.getReader();
      void writer.write('last words');
      await writer.close();
      expect((await reader.read()).value).to.equal('last words');
      expect((await reader.read()).done).to.equal(true);
      expect(await wss.closed).to.deep.equal({ closeCode: 1005, reason: '' });
    });
  });

  describe('against Chromium (differential)', function () {
    let browser: Browser;
    before(async function () {
      requireChromium(this);
      browser = await launchChromium();
    });
    after(async () => {
      if (browser !== undefined) await within(browser.close(), 10000, 'Chromium to close');
    });

    it('the same scenarios settle the same way, read the same messages and close the same', async () => {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${server.port}/`);
      const theirs = await page.evaluate(runScenarios, { base, id: 'chromium' });
      await page.close();
      const ours = await runScenarios({ base, id: 'node' }, { WebSocketStream, WebSocketError });
      if (process.env.WSS_TRACE) console.log(JSON.stringify(theirs, null, 1));
      expect(ours).to.deep.equal(theirs);
      expect(Object.keys(ours)).to.have.length(10);
      // What the server saw of each connection's close, too.
      await until(() => server.closes.size >= 14, 5000, 'the server to see every close');
      const seen = (who: string) =>
        [...server.closes]
          .filter(([id]) => id.startsWith(`${who}-`))
          .map(([id, close]) => [id.slice(who.length), close.code, close.reason, close.wasClean])
          .sort();
      // One known difference below WebSocketStream: Chromium fails invalid UTF-8 with 1002,
      // we with 1007 as RFC 6455 7.4.1 says; either way the page and Node saw 1006.
      const [ourUtf8, ...ourRest] = seen('node');
      const [theirUtf8, ...theirRest] = seen('chromium');
      expect(ourRest).to.deep.equal(theirRest);
      expect(ourRest).to.deep.include(['-writer-abort', 4002, 'aborted', true]);
      expect([ourUtf8?.[0], ourUtf8?.[1], theirUtf8?.[0], theirUtf8?.[1]]).to.deep.equal([
        '-bad-utf8',
        1007,
        '-bad-utf8',
        1002,
      ]);
    });
  });
});
