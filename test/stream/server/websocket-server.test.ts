/**
 * Mirror test for lib/stream/server/websocket-server: the three modes (port, server,
 * noServer), the clients set and 'connection', the handshake options, topics, publish
 * and broadcast (framed once), and the graceful shutdown, with our `connect()`, the `ws`
 * package's client and raw TCP clients over 127.0.0.1. Resources are counted
 * (`process.getActiveResourcesInfo()`): a server that closed leaves no socket or timer.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as net from 'node:net';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import WebSocket from 'ws';
import {
  connect,
  HandshakeRejectedError,
  LocalProtocolError,
  PreparedMessage,
  WebSocketServer,
  type UpgradeRequest,
  type WebSocketDuplex,
  type WebSocketServerOptions,
} from '../../../lib/index';
import { merge } from '../../helpers/bytes';
import { listen, once, sleep, until } from '../../helpers/net';
import { rawClient } from '../../helpers/raw-client';
import { backTo, baselineNow } from '../../helpers/resources';

type CloseArgs = [number, string, boolean];

/** A port-mode server on 127.0.0.1, listening. */
async function started(options: Omit<WebSocketServerOptions, 'port'> = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await once(wss, 'listening');
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** The server-side streams in the order they opened. */
function connections(wss: WebSocketServer) {
  const list: Array<{ ws: WebSocketDuplex; req: UpgradeRequest }> = [];
  wss.on('connection', (ws, req) => list.push({ ws, req }));
  return list;
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as Error,
  );

function get(port: number, path = '/'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('stream/server/websocket-server', () => {
  describe('constructor', () => {
    const bad: Array<[string, WebSocketServerOptions, RegExp]> = [
      ['no mode', {}, /exactly one of port, server and noServer/],
      ['noServer: false alone', { noServer: false }, /exactly one/],
      ['port and server', { port: 0, server: http.createServer() }, /exactly one/],
      ['port and noServer', { port: 0, noServer: true }, /exactly one/],
      ['server and noServer', { server: http.createServer(), noServer: true }, /exactly one/],
      ['a path without /', { noServer: true, path: 'chat' }, /path must start with '\/'/],
      ['an empty path', { server: http.createServer(), path: '' }, /path must start with '\/'/],
    ];
    for (const [name, options, message] of bad) {
      it(`${name}: LocalProtocolError ERR_INVALID_OPTION, nothing listens`, async () => {
        const baseline = await baselineNow();
        let caught: unknown;
        try {
          new WebSocketServer(options);
        } catch (error) {
          caught = error;
        }
        expect(caught).to.be.instanceOf(LocalProtocolError);
        expect(caught).to.have.property('code', 'ERR_INVALID_OPTION');
        expect((caught as Error).message).to.match(message);
        if (options.server !== undefined) expect(options.server.listenerCount('upgrade')).to.equal(0);
        await backTo(baseline);
      });
    }

    it('noServer: no HTTP server, no address; close() resolves at once', async () => {
      const wss = new WebSocketServer({ noServer: true });
      expect([wss.server, wss.address()]).to.deep.equal([null, null]);
      const closed = once(wss, 'close');
      await wss.close();
      await closed;
    });
  });

  describe('port mode', () => {
    it("'listening', address(), 426 with Upgrade: websocket for plain HTTP, and its own server closes with it", async () => {
      const baseline = await baselineNow();
      const { wss, port, url } = await started();
      expect(wss.address()).to.include({ address: '127.0.0.1', family: 'IPv4' });
      const page = await get(port, '/anything');
      expect(page.status).to.equal(426);
      expect(page.headers.upgrade).to.equal('websocket');
      expect(page.body).to.equal('this endpoint speaks WebSocket\n');
      const ws = await connect(url);
      const closed = once<CloseArgs>(ws, 'close');
      await wss.close();
      expect((await closed).slice(0, 2)).to.deep.equal([1001, 'server shutting down']);
      expect(wss.server!.listening).to.equal(false);
      const refused = await rejection(connect(url));
      expect(refused).to.have.property('code', 'ECONNREFUSED');
      await backTo(baseline);
    });

    it("a port in use: 'error' with EADDRINUSE; close() still resolves", async () => {
      const baseline = await baselineNow();
      const first = await started();
      const second = new WebSocketServer({ port: first.port, host: '127.0.0.1' });
      const [error] = await once<[NodeJS.ErrnoException]>(second, 'error');
      expect(error.code).to.equal('EADDRINUSE');
      await second.close();
      await first.wss.close();
      await backTo(baseline);
    });

    it('regression: close() before the server listens (a host name to look up) leaves nothing listening', async () => {
      const baseline = await baselineNow();
      const wss = new WebSocketServer({ port: 0, host: 'localhost' });
      let listened = false;
      wss.on('listening', () => (listened = true));
      await wss.close();
      await sleep(50);
      expect(wss.server!.listening, `listened: ${listened}`).to.equal(false);
      await backTo(baseline);
    });
  });

  describe('server mode', () => {
    it("attached to the application's http.Server: pages still work, upgrades come here, close() leaves the server listening", async () => {
      const server = http.createServer((req, res) => res.end(`page ${req.url}\n`));
      const srv = await listen(server);
      const wss = new WebSocketServer({ server, path: '/ws' });
      const opened = connections(wss);
      try {
        expect(wss.server).to.equal(server);
        expect((wss.address() as AddressInfo).port).to.equal(srv.port);
        expect((await get(srv.port, '/ws')).body).to.equal('page /ws\n');
        const ours = await connect(`ws://127.0.0.1:${srv.port}/ws?token=1`);
        const theirs = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`);
        await once(theirs, 'open');
        await until(() => opened.length === 2);
        expect(opened.map((c) => c.req.url).sort()).to.deep.equal(['/ws', '/ws?token=1']);
        const closes = [once(ours, 'close'), once(theirs, 'close')];
        await wss.close();
        await Promise.all(closes);
        expect(server.listening).to.equal(true);
        expect(server.listenerCount('upgrade')).to.equal(0);
        expect((await get(srv.port, '/after')).body).to.equal('page /after\n');
      } finally {
        await wss.close();
        await srv.close();
      }
    });
  });

  describe('noServer mode', () => {
    it('the application routes upgrades to wss.handleUpgrade; the server keeps the clients and closes them', async () => {
      const wss = new WebSocketServer({ noServer: true });
      const opened = connections(wss);
      const server = http.createServer();
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        if (req.url === '/mine') expect(wss.handleUpgrade(req, socket, head)).to.not.equal(null);
        else socket.destroy();
      });
      const srv = await listen(server);
      try {
        const ws = await connect(`ws://127.0.0.1:${srv.port}/mine`);
        await until(() => opened.length === 1);
        expect(wss.clients.has(opened[0]!.ws)).to.equal(true);
        const closed = once<CloseArgs>(ws, 'close');
        await wss.close();
        expect((await closed).slice(0, 3)).to.deep.equal([1001, 'server shutting down', true]);
        expect(wss.clients.size).to.equal(0);
      } finally {
        await srv.close();
      }
    });
  });

  describe("clients and 'connection'", () => {
    it("an open client does not keep its upgrade request alive (only 'connection' listeners that store it do)", async () => {
      v8.setFlagsFromString('--expose-gc'); // mocha is not started with --expose-gc
      const collect = vm.runInNewContext('gc') as () => void;
      const { wss, url } = await started();
      let ref: WeakRef<object> | null = null;
      wss.on('connection', (ws, req) => {
        ref = new WeakRef(req);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      try {
        const client = await connect(url);
        await until(() => ref !== null);
        for (let i = 0; i < 5 && ref!.deref() !== undefined; i++) {
          await sleep(1);
          collect();
        }
        expect(ref!.deref(), 'the upgrade request').to.equal(undefined);
        const echo = once<[string]>(client, 'message');
        client.send('still open');
        expect((await echo)[0]).to.equal('still open');
        client.close();
        await once(client, 'close');
      } finally {
        await wss.close();
      }
    });

    it("the set grows at 'open' (not before) and shrinks at 'close'; 'connection' gives (ws, req)", async () => {
      let release: (() => void) | null = null;
      const { wss, url } = await started({
        accept: () => new Promise<boolean>((resolve) => (release = () => resolve(true))),
      });
      const opened = connections(wss);
      const sizeAtConnection: boolean[] = [];
      wss.on('connection', (ws) => sizeAtConnection.push(wss.clients.has(ws)));
      try {
        const pending = connect(`${url}/room?id=7`, { headers: { 'X-Test': 'yes' } });
        await until(() => release !== null);
        expect(wss.clients.size, 'handshake still in progress').to.equal(0);
        release!();
        const client = await pending;
        await until(() => opened.length === 1);
        expect(sizeAtConnection).to.deep.equal([true]);
        const { ws, req } = opened[0]!;
        expect(req.url).to.equal('/room?id=7');
        expect(req.headers['x-test']).to.equal('yes');
        expect(ws.readyState).to.equal(1);
        expect([...wss.clients]).to.deep.equal([ws]);
        client.close();
        await once(ws, 'close');
        expect(wss.clients.size).to.equal(0);
      } finally {
        await wss.close();
      }
    });

    it('verifyOrigin refusing gives 403; selectSubprotocol picks; accept can reject with its own status', async () => {
      const { wss, url } = await started({
        verifyOrigin: (origin) => origin !== 'https://evil.example',
        selectSubprotocol: (offered) => (offered.includes('v2') ? 'v2' : null),
      });
      const picky = await started({
        accept: (request) => (request.target === '/ok' ? true : { accept: false, statusCode: 401 }),
      });
      try {
        const refused = await rejection(connect(url, { headers: { Origin: 'https://evil.example' } }));
        expect(refused).to.be.instanceOf(HandshakeRejectedError);
        expect((refused as HandshakeRejectedError).statusCode).to.equal(403);
        const ws = await connect(url, { subprotocols: ['v1', 'v2'], headers: { Origin: 'https://good.example' } });
        expect(ws.protocol).to.equal('v2');
        const unauthorized = await rejection(connect(`${picky.url}/no`));
        expect((unauthorized as HandshakeRejectedError).statusCode).to.equal(401);
        const ok = await connect(`${picky.url}/ok`);
        expect(ok.readyState).to.equal(1);
        expect([wss.clients.size, picky.wss.clients.size]).to.deep.equal([1, 1]);
      } finally {
        await Promise.all([wss.close(), picky.wss.close()]);
      }
    });
  });

  describe('topics, publish and broadcast', () => {
    /** A server with `n` clients of ours, their server-side streams in the same order. */
    async function withClients(n: number, options: Omit<WebSocketServerOptions, 'port'> = {}) {
      const s = await started(options);
      const opened = connections(s.wss);
      const clients: WebSocketDuplex[] = [];
      const inbox: Array<Array<[string, boolean]>> = [];
      for (let i = 0; i < n; i++) {
        const client = await connect(`${s.url}/${i}`);
        const box: Array<[string, boolean]> = [];
        client.on('message', (data, isBinary) => box.push([String(data), isBinary]));
        clients.push(client);
        inbox.push(box);
        await until(() => opened.length === i + 1);
      }
      return { ...s, clients, inbox, servers: opened.map((o) => o.ws) };
    }

    it('subscribe / unsubscribe / subscriptions / subscribers; publish reaches only the subscribers', async () => {
      const { wss, servers, inbox } = await withClients(3);
      const [a, b, c] = servers as [WebSocketDuplex, WebSocketDuplex, WebSocketDuplex];
      try {
        expect(wss.subscribe(a, 'news')).to.equal(true);
        expect(wss.subscribe(a, 'news')).to.equal(false);
        expect(wss.subscribe(b, 'news')).to.equal(true);
        expect(wss.subscribe(b, 'sport')).to.equal(true);
        expect([...wss.subscriptions(b)].sort()).to.deep.equal(['news', 'sport']);
        expect([...wss.subscribers('news')]).to.deep.equal([a, b]);
        expect(wss.subscribers('nobody').size).to.equal(0);
        expect(wss.publish('news', 'n1')).to.deep.equal({ sent: 2, skipped: 0, queued: 0, dropped: 0, closed: 0 });
        expect(wss.publish('sport', Buffer.from('s1')).sent).to.equal(1);
        expect(wss.publish('weather', 'w1').sent).to.equal(0);
        expect(wss.unsubscribe(a, 'news')).to.equal(true);
        expect(wss.unsubscribe(a, 'news')).to.equal(false);
        expect(wss.unsubscribe(c, 'news')).to.equal(false);
        wss.publish('news', 'n2', { binary: true });
        await until(() => inbox[1]!.length === 3);
        await sleep(20); // anything misrouted would have arrived by now
        expect(inbox).to.deep.equal([
          [['n1', false]],
          [
            ['n1', false],
            ['s1', true],
            ['n2', true],
          ],
          [],
        ]);
      } finally {
        await wss.close();
      }
    });

    it('a closed client leaves all its topics; subscribing a stream that is not an open client throws ERR_INVALID_STATE', async () => {
      const { wss, servers, clients } = await withClients(2);
      const other = await started();
      const [a, b] = servers as [WebSocketDuplex, WebSocketDuplex];
      try {
        for (const t of ['x', 'y', 'z']) wss.subscribe(a, t);
        wss.subscribe(b, 'y');
        clients[0]!.close();
        await once(a, 'close');
        expect(wss.subscriptions(a).size).to.equal(0);
        expect([...wss.subscribers('y')]).to.deep.equal([b]);
        expect(wss.subscribers('x').size).to.equal(0);
        for (const stranger of [a, clients[1]!]) {
          let caught: unknown;
          try {
            wss.subscribe(stranger, 'x');
          } catch (error) {
            caught = error;
          }
          expect(caught).to.be.instanceOf(LocalProtocolError);
          expect(caught).to.have.property('code', 'ERR_INVALID_STATE');
        }
        // A client of another server is not one of ours.
        const elsewhere = connections(other.wss);
        await connect(other.url);
        await until(() => elsewhere.length === 1);
        expect(() => wss.subscribe(elsewhere[0]!.ws, 'x')).to.throw(LocalProtocolError);
      } finally {
        await Promise.all([wss.close(), other.wss.close()]);
      }
    });

    it('broadcast reaches every client, or those the filter keeps; one frame for all of them', async () => {
      const { wss, servers, inbox } = await withClients(5);
      try {
        const message = new PreparedMessage('to all');
        expect(wss.broadcast(message).sent).to.equal(5);
        expect(message.encodings, 'framed once for five clients').to.equal(1);
        const odd = new Set(servers.filter((_, i) => i % 2 === 1));
        expect(wss.broadcast(Buffer.from('odd'), {}, (ws) => odd.has(ws)).sent).to.equal(2);
        expect(wss.broadcast('none', undefined, () => false).sent).to.equal(0);
        await until(() => inbox.every((box, i) => box.length === (i % 2 === 1 ? 2 : 1)));
        await sleep(20);
        expect(inbox.map((box) => box.map(([d]) => d))).to.deep.equal([
          ['to all'],
          ['to all', 'odd'],
          ['to all'],
          ['to all', 'odd'],
          ['to all'],
        ]);
      } finally {
        await wss.close();
      }
    });

    it('permessage-deflate without context takeover: one compressed frame for every such client', async () => {
      const { wss, url } = await started({ perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } });
      const opened = connections(wss);
      try {
        const clients = [
          await connect(url, { perMessageDeflate: true }),
          await connect(url, { perMessageDeflate: true }),
          await connect(url),
        ];
        const theirs = new WebSocket(url, { perMessageDeflate: true });
        await once(theirs, 'open');
        await until(() => opened.length === 4);
        const got = [...clients.map((c) => once<[string]>(c, 'message')), once<[Buffer]>(theirs, 'message')];
        const message = new PreparedMessage('compressed once '.repeat(100));
        expect(wss.broadcast(message).sent).to.equal(4);
        expect((await Promise.all(got)).map(([d]) => String(d))).to.deep.equal(Array(4).fill(message.data));
        expect(message.encodings, 'one compressed, one plain').to.equal(2);
      } finally {
        await wss.close();
      }
    });
  });

  describe('graceful shutdown', () => {
    it('20 clients (ours and ws): all closed 1001 "server shutting down", a handshake in progress dropped, 503 meanwhile, nothing left', async () => {
      const baseline = await baselineNow();
      let stalled = 0;
      const { wss, port, url } = await started({
        // A handshake in progress: the answer to /stalled never comes.
        accept: (request) =>
          request.target === '/stalled' ? (stalled++, new Promise<boolean>(() => undefined)) : true,
      });
      const opened = connections(wss);
      const ours: WebSocketDuplex[] = [];
      const theirs: WebSocket[] = [];
      for (let i = 0; i < 10; i++) {
        ours.push(await connect(url));
        const client = new WebSocket(url);
        await once(client, 'open');
        theirs.push(client);
      }
      // A client that never answers the close keeps the shutdown going for `timeout`.
      const silent = await rawClient(port, '/', { answerClose: false });
      silent.start();
      await until(() => opened.length === 21);
      expect(wss.clients.size).to.equal(21);
      const inProgress = rejection(connect(`${url}/stalled`));
      await until(() => stalled === 1);

      const oursClosed = ours.map((c) => once<CloseArgs>(c, 'close'));
      const theirsClosed = theirs.map((c) => once<[number, Buffer]>(c, 'close'));
      const serverClose = once(wss, 'close');
      const closing = wss.close({ timeout: 2000 });
      expect(wss.close(), 'the same promise').to.equal(closing);

      expect(await inProgress, 'the handshake in progress was dropped').to.be.instanceOf(Error);
      // Meanwhile a new upgrade gets 503.
      const late = await rejection(connect(url));
      expect(late).to.be.instanceOf(HandshakeRejectedError);
      expect((late as HandshakeRejectedError).statusCode).to.equal(503);
      expect((late as HandshakeRejectedError).headers).to.deep.include(['Retry-After', '5']);

      for (const [code, reason, wasClean] of await Promise.all(oursClosed)) {
        expect([code, reason, wasClean]).to.deep.equal([1001, 'server shutting down', true]);
      }
      for (const [code, reason] of await Promise.all(theirsClosed)) {
        expect([code, String(reason)]).to.deep.equal([1001, 'server shutting down']);
      }
      await closing;
      await serverClose;
      expect(wss.clients.size).to.equal(0);
      // The silent client got the close too (it never answered; then the server dropped it).
      expect(merge(silent.events)[0]).to.deep.equal({ type: 'close', code: 1001, reason: 'server shutting down' });
      expect(await rejection(connect(url))).to.have.property('code', 'ECONNREFUSED');
      silent.destroy();
      await backTo(baseline);
    });

    it('a client that stopped reading (with a backlog) is dropped after `timeout`: close() resolves, nothing is left', async () => {
      const baseline = await baselineNow();
      const { wss, port } = await started();
      const stuck = await rawClient(port);
      await until(() => wss.clients.size === 1);
      const [ws] = [...wss.clients] as [WebSocketDuplex];
      // A backlog the client will never read: our close frame waits behind it.
      while (ws.bufferedAmount < 512 * 1024) {
        ws.send(Buffer.alloc(64 * 1024));
        await new Promise((resolve) => setImmediate(resolve));
      }
      const dropped = once<CloseArgs>(ws, 'close');
      await wss.close({ timeout: 200 });
      const [code, , wasClean] = await dropped;
      expect([code, wasClean]).to.deep.equal([1006, false]);
      expect(wss.clients.size).to.equal(0);
      stuck.destroy();
      await backTo(baseline);
    });

    it('close options: another code and reason', async () => {
      const { wss, url } = await started();
      const client = await connect(url);
      const closed = once<CloseArgs>(client, 'close');
      await wss.close({ code: 4000, reason: 'maintenance' });
      expect((await closed).slice(0, 3)).to.deep.equal([4000, 'maintenance', true]);
    });

    it('a new upgrade right after close() was called never opens (503, or the port is closed)', async () => {
      const { wss, url } = await started();
      const closing = wss.close();
      const error = await rejection(connect(url));
      expect(error).to.be.instanceOf(Error);
      if (error instanceof HandshakeRejectedError) expect(error.statusCode).to.equal(503);
      await closing;
      expect(wss.clients.size).to.equal(0);
    });
  });
});
