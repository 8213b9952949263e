/**
 * Mirror test for lib/stream/app-face: `ws.app`, the object-mode face, through a real
 * client/server `WebSocketDuplex` pair wired to each other in memory.
 */
import { expect } from 'chai';
import {
  BytesMessage,
  LocalProtocolError,
  Ping,
  TextMessage,
  WebSocketDuplex,
  type WebSocketDuplexOptions,
  type WSEvent,
} from '../../lib/index';
import { once, sleep, until } from '../helpers/net';

type CloseArgs = [number, string, boolean, Error | null];

/** A client and a server piped to each other: client.pipe(server).pipe(client). */
function pair(serverOptions: WebSocketDuplexOptions = {}) {
  const client = new WebSocketDuplex('client', { request: { host: 'x', target: '/' } });
  const server = new WebSocketDuplex('server', serverOptions);
  client.pipe(server).pipe(client);
  const closed = {
    client: once<CloseArgs>(client, 'close'),
    server: once<CloseArgs>(server, 'close'),
  };
  return { client, server, closed };
}

/** Collect what a readable object stream yields. */
function collect(app: NodeJS.ReadableStream): WSEvent[] {
  const events: WSEvent[] = [];
  app.on('data', (e: WSEvent) => events.push(e));
  return events;
}

describe('stream/app-face', () => {
  it('ws.app yields the event objects in order (request, messages, ping, close)', async () => {
    const { client, server, closed } = pair();
    const events = collect(server.app);
    await once(client, 'open');
    client.send('one');
    client.send(Buffer.from('two'));
    client.ping('p');
    client.send('three');
    client.close(1000, 'done');
    await closed.server;
    expect(events.map((e) => e.type)).to.deep.equal(['request', 'text', 'bytes', 'ping', 'text', 'close']);
    expect((events[1] as TextMessage).data).to.equal('one');
    expect((events[2] as BytesMessage).data).to.deep.equal(Buffer.from('two'));
    expect((events[3] as Ping).payload).to.deep.equal(Buffer.from('p'));
    expect((events[4] as TextMessage).data).to.equal('three');
    expect(events[1]).to.be.instanceOf(TextMessage);
    expect(events[2]).to.be.instanceOf(BytesMessage);
    await closed.client;
  });

  it("the client's ws.app sees the server's acceptance first", async () => {
    const { client, closed } = pair();
    const events = collect(client.app);
    await once(client, 'open');
    await until(() => events.length > 0);
    expect(events[0]!.type).to.equal('accept');
    client.close();
    await closed.client;
  });

  it('strings written to ws.app arrive as text, Buffers as binary', async () => {
    const { client, server, closed } = pair();
    const got: Array<[string, boolean]> = [];
    client.on('message', (data, isBinary) => got.push([data.toString(), isBinary]));
    await once(server, 'open');
    server.app.write('text ✓');
    server.app.write(Buffer.from('binary'));
    server.app.write(new Uint8Array([0x41, 0x42]));
    server.app.write(new TextMessage({ data: 'event' }));
    await until(() => got.length === 4);
    expect(got).to.deep.equal([
      ['text ✓', false],
      ['binary', true],
      ['AB', true],
      ['event', false],
    ]);
    client.close();
    await closed.server;
  });

  it('writing an object that is not an event fails the write with LocalProtocolError ERR_INVALID_EVENT', async () => {
    const { client, server, closed } = pair();
    await once(server, 'open');
    const appErrors: Error[] = [];
    server.app.on('error', (e) => appErrors.push(e));
    const error = await new Promise<Error | null | undefined>((resolve) =>
      server.app.write({ hello: 'world' }, (e) => resolve(e)),
    );
    expect(error).to.be.instanceOf(LocalProtocolError);
    expect((error as LocalProtocolError).code).to.equal('ERR_INVALID_EVENT');
    // The wire face is not hurt: the connection still works.
    const got: string[] = [];
    client.on('message', (d) => got.push(d.toString()));
    server.send('still here');
    await until(() => got.length === 1);
    expect(got).to.deep.equal(['still here']);
    client.close();
    await closed.server;
  });

  it("writes made before the handshake completed are held, then sent after 'open' (in order)", async () => {
    const { client, server, closed } = pair();
    const order: string[] = [];
    const got: string[] = [];
    server.on('message', (d) => got.push(d.toString()));
    client.on('open', () => order.push('open'));
    client.app.write('early 1', () => order.push('written 1'));
    client.app.write(Buffer.from('early 2'), () => order.push('written 2'));
    expect(order).to.deep.equal([]);
    await until(() => got.length === 2);
    expect(got).to.deep.equal(['early 1', 'early 2']);
    expect(order).to.deep.equal(['open', 'written 1', 'written 2']);
    client.close();
    await closed.server;
  });

  it('ending ws.app starts the close handshake with 1000; both sides close cleanly', async () => {
    const { client, closed } = pair();
    await once(client, 'open');
    client.app.end();
    const [serverClose, clientClose] = await Promise.all([closed.server, closed.client]);
    expect(serverClose).to.deep.equal([1000, '', true, null]);
    expect(clientClose).to.deep.equal([1000, '', true, null]);
  });

  it('a slow ws.app reader holds the input; after resume() everything arrives intact and in order', async () => {
    const { client, server, closed } = pair({ appHighWaterMark: 4 });
    const app = server.app;
    app.pause();
    const events = collect(app); // does not start flowing after an explicit pause()
    await once(client, 'open');
    // Frames of 16 KiB or more are pushed one by one (not coalesced), so the server
    // gets them in separate writes and can hold its input between them.
    const n = 60;
    const sent: Array<string | Buffer> = [];
    for (let i = 0; i < n; i++) {
      const m = i % 3 === 0 ? `text ${i}` : Buffer.alloc(20000 + i, i);
      sent.push(m);
      client.send(m);
    }
    await sleep(100);
    const whilePaused = app.readableLength;
    expect(events).to.have.length(0);
    expect(whilePaused).to.be.below(n); // not everything was read: input is held
    expect(whilePaused).to.be.at.most(4 + 2); // about the high-water mark
    expect(server.writableLength + client.readableLength).to.be.above(0); // the rest waits on the wire
    app.resume();
    await until(() => events.filter((e) => e.type === 'text' || e.type === 'bytes').length === n, 5000, 'all messages');
    const messages = events.filter((e): e is TextMessage | BytesMessage => e.type === 'text' || e.type === 'bytes');
    expect(messages.map((e) => e.data)).to.deep.equal(sent);
    client.close();
    await closed.server;
  });

  it("a slow ws.app reader gets every event before 'close', however long past closeTimeout it takes", async () => {
    // 200 small messages and the close arrive in one chunk, so all their events are in
    // ws.app at once; the reader takes one every 5 ms (about 1 s) and closeTimeout is 100 ms.
    const { client, server, closed } = pair({ closeTimeout: 100 });
    const app = server.app;
    const taken: WSEvent[] = [];
    app.on('data', (event: WSEvent) => {
      taken.push(event);
      app.pause();
      setTimeout(() => app.resume(), 5);
    });
    let takenAtClose = -1;
    server.once('close', () => (takenAtClose = taken.length));
    await once(client, 'open');
    const n = 200;
    for (let i = 0; i < n; i++) client.send(`message ${i}`);
    client.close(1000, 'done');
    const [code, , wasClean] = await closed.server;
    expect([code, wasClean]).to.deep.equal([1000, true]);
    const texts = taken.filter((e): e is TextMessage => e.type === 'text').map((e) => e.data);
    expect(texts).to.deep.equal(Array.from({ length: n }, (_, i) => `message ${i}`));
    expect(takenAtClose).to.equal(taken.length); // nothing was still waiting when 'close' came
    expect(taken.at(-1)?.type).to.equal('close');
  });

  it("a ws.app reader that stops taking events does not hold 'close' past closeTimeout", async () => {
    const { client, server, closed } = pair({ closeTimeout: 100 });
    const app = server.app;
    let taken = 0;
    app.on('data', () => {
      if (++taken === 3) app.pause(); // and never resumes
    });
    await once(client, 'open');
    for (let i = 0; i < 50; i++) client.send(`message ${i}`);
    client.close(1000, 'done');
    const started = Date.now();
    await closed.server;
    expect(Date.now() - started).to.be.below(2000);
    expect(taken).to.equal(3);
    expect(app.readableLength).to.be.above(0); // what the stuck reader left
  });
});
