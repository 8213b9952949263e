/**
 * WebSocket over HTTP/2 (RFC 8441) at the stream layer, ours against ours over 127.0.0.1:
 * `handleHttp2Stream` from a plain 'stream' listener, `WebSocketServer` on `node:http2`
 * servers (h2c, and TLS with pages and HTTP/1.1 upgrades on the same port), routing,
 * hooks, shutdown, and what only HTTP/2 has: flow control as backpressure, RST_STREAM and
 * GOAWAY as coded 1006 causes (never an 'error' event), many WebSockets on one session,
 * sessions that close with their WebSocket, the fallbacks of `connect({ http2 })`.
 * Resources are counted (`process.getActiveResourcesInfo()`), never timed.
 * (The header mapping and the core's handshake have their own tests.)
 */
import { expect } from 'chai';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import {
  AbortError,
  connect,
  ConnectError,
  handleHttp2Stream,
  handleUpgrade,
  HandshakeRejectedError,
  isWebSocketConnect,
  RemoteProtocolError,
  WebSocketServer,
  type Http2UpgradeRequest,
  type UpgradeRequest,
  type WebSocketDuplex,
  type WebSocketServerOptions,
} from '../../lib/index';
import { listen, once, until } from '../helpers/net';
import { makeCertificate } from '../helpers/proxies';
import { backTo, baselineNow } from '../helpers/resources';
import { collectGarbage } from './stress/runner';

type CloseArgs = [number, string, boolean, (Error & { code?: string }) | null];

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (e: unknown) => e as Error & { code?: string },
  );

/** The 'close' of a stream, and how many 'error' events it emitted meanwhile. */
function watchClose(ws: WebSocketDuplex): { closed: Promise<CloseArgs>; errors: Error[] } {
  const errors: Error[] = [];
  ws.on('error', (e: Error) => errors.push(e));
  return { closed: once<CloseArgs>(ws, 'close', 10_000), errors };
}

/** The next `n` whole messages of `ws`, as strings (text) and Buffers (binary). */
function nextMessages(ws: WebSocketDuplex, n: number): Promise<Array<string | Buffer>> {
  return new Promise((resolve, reject) => {
    const got: Array<string | Buffer> = [];
    const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} of ${n} messages`)), 10_000);
    const on = (data: string | Buffer) => {
      got.push(data);
      if (got.length < n) return;
      clearTimeout(timer);
      ws.off('message', on);
      resolve(got);
    };
    ws.on('message', on);
  });
}

const echo = (ws: WebSocketDuplex) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));

/**
 * The server-side streams in the order they opened, with their requests seen as HTTP/2's
 * (an HTTP/1.1 one is an IncomingMessage: only its `httpVersion` is read).
 */
function connections(wss: WebSocketServer): Array<{ ws: WebSocketDuplex; req: Http2UpgradeRequest }> {
  const list: Array<{ ws: WebSocketDuplex; req: Http2UpgradeRequest }> = [];
  wss.on('connection', (ws, req: UpgradeRequest) => list.push({ ws, req: req as Http2UpgradeRequest }));
  return list;
}

type StreamListener = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

/** A GET over an HTTP/2 session: status and body. */
async function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  const req = session.request({ ':path': path });
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d: string) => (body += d));
  const [headers] = await once<[http2.IncomingHttpHeaders]>(req, 'response');
  await once(req, 'end');
  return { status: Number(headers[':status']), body };
}

/** The headers of an extended CONNECT (RFC 8441 4) for a raw `session.request`. */
function connectHeaders(port: number, path = '/', scheme = 'http'): http2.OutgoingHttpHeaders {
  return {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': scheme,
    ':path': path,
    ':authority': `127.0.0.1:${port}`,
    'sec-websocket-version': '13',
  };
}

/** An h2c session to `port`, connected. */
async function h2Session(port: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  await once(session, 'connect');
  return session;
}

describe('stream over HTTP/2 (RFC 8441)', function () {
  this.timeout(30_000);
  let certificate: ReturnType<typeof makeCertificate>;
  let tls: { ca: Buffer };

  before(() => {
    certificate = makeCertificate();
    tls = { ca: certificate.cert };
  });

  after(() => certificate.cleanup());

  describe('handleHttp2Stream from a plain stream listener', () => {
    it("serves WebSockets beside the application's own streams; the hooks see an Http2UpgradeRequest", async () => {
      const server = http2.createServer({ settings: { enableConnectProtocol: true } });
      const seen: Http2UpgradeRequest[] = [];
      const onStream: StreamListener = (stream, headers, _flags, rawHeaders) => {
        if (!isWebSocketConnect(headers)) {
          stream.respond({ ':status': 200, 'content-type': 'text/plain' });
          stream.end(`page ${String(headers[':path'])}`);
          return;
        }
        const accept = (_request: unknown, req: Http2UpgradeRequest) => (seen.push(req), { subprotocol: 'chat' });
        echo(handleHttp2Stream(stream, headers, { accept }, rawHeaders));
      };
      server.on('stream', onStream);
      const srv = await listen(server);
      const session = await h2Session(srv.port);
      try {
        const url = `ws://127.0.0.1:${srv.port}/echo?room=1`;
        const ws = await connect(url, { http2: session, subprotocols: ['chat'], headers: { 'X-Token': 'abc' } });
        expect(ws.response).to.include({ statusCode: 200, httpVersion: '2' });
        expect(ws.protocol).to.equal('chat');
        const got = nextMessages(ws, 3);
        ws.send('héllo 😀');
        ws.send(Buffer.from([0, 1, 2, 255]));
        ws.send('');
        expect(await got).to.deep.equal(['héllo 😀', Buffer.from([0, 1, 2, 255]), '']);
        expect(seen).to.have.length(1);
        expect(seen[0]).to.include({
          httpVersion: '2.0',
          method: 'CONNECT',
          url: '/echo?room=1',
          authority: `127.0.0.1:${srv.port}`,
          scheme: 'http',
        });
        expect(seen[0]!.headers['x-token']).to.equal('abc');
        expect(seen[0]!.rawHeaders).to.include.members(['x-token', 'abc']);
        expect(seen[0]!.session).to.equal(seen[0]!.stream.session);
        // A page on the same session, answered by the application.
        expect(await h2Get(session, '/index')).to.deep.equal({ status: 200, body: 'page /index' });
        const { closed } = watchClose(ws);
        ws.close(1000, 'bye');
        expect((await closed).slice(0, 3)).to.deep.equal([1000, 'bye', true]);
        expect(session.closed, 'the caller’s session stays open').to.equal(false);
      } finally {
        session.destroy();
        await srv.close();
      }
    });
  });

  describe('WebSocketServer on http2.createServer (h2c)', () => {
    it('routes by path (/a, /b); an unclaimed path is 404 without listeners, and goes to the app’s own stream listener when it has one', async () => {
      const server = http2.createServer();
      const a = new WebSocketServer({ server, path: '/a' });
      const b = new WebSocketServer({ server, path: '/b' });
      const atA = connections(a);
      const atB = connections(b);
      for (const wss of [a, b]) wss.on('connection', echo);
      const srv = await listen(server);
      const session = await h2Session(srv.port);
      const base = `ws://127.0.0.1:${srv.port}`;
      try {
        const toA = await connect(`${base}/a?x=1`, { http2: session });
        const toB = await connect(`${base}/b`, { http2: session });
        await until(() => atA.length === 1 && atB.length === 1);
        expect(atA[0]?.req).to.include({ httpVersion: '2.0', url: '/a?x=1' });
        expect(atB[0]?.req).to.include({ httpVersion: '2.0', url: '/b' });
        expect(atA[0]?.req.session, 'both streams on one session').to.equal(atB[0]?.req.session);
        const fromA = nextMessages(toA, 1);
        const fromB = nextMessages(toB, 1);
        toA.send('to a');
        toB.send('to b');
        expect([await fromA, await fromB]).to.deep.equal([['to a'], ['to b']]);

        const unclaimed = await rejection(connect(`${base}/zz`, { http2: session }));
        expect(unclaimed).to.be.instanceOf(HandshakeRejectedError);
        expect((unclaimed as HandshakeRejectedError).statusCode).to.equal(404);

        // Now the application listens: unclaimed WebSocket streams (only those) are its own.
        const appSaw: string[] = [];
        server.on('stream', (stream, headers) => {
          appSaw.push(`${String(headers[':method'])} ${String(headers[':path'])}`);
          stream.respond({ ':status': 421 }, { endStream: true });
        });
        const passed = await rejection(connect(`${base}/zz`, { http2: session }));
        expect((passed as HandshakeRejectedError).statusCode).to.equal(421);
        const again = await connect(`${base}/a`, { http2: session });
        expect(appSaw).to.deep.equal(['CONNECT /zz']);
        expect(atA).to.have.length(2);
        for (const ws of [toA, toB, again]) ws.close();
        await Promise.all([a.close(), b.close()]);
      } finally {
        session.destroy();
        await srv.close();
      }
    });
  });

  describe('WebSocketServer on http2.createSecureServer({ allowHTTP1 }) beside a page handler', () => {
    it('one port: pages over h2 and HTTP/1.1, WebSockets over h2 and HTTP/1.1, by path', async () => {
      const server = http2.createSecureServer(
        { key: certificate.key, cert: certificate.cert, allowHTTP1: true },
        (req, res) => {
          res.setHeader('content-type', 'text/plain');
          res.end(`page ${req.url} over ${req.httpVersion}`);
        },
      );
      const wss = new WebSocketServer({ server, path: '/ws' });
      const opened = connections(wss);
      wss.on('connection', (ws, req) => ws.send(`hello over ${req.httpVersion}`));
      const srv = await listen(server);
      const base = `wss://127.0.0.1:${srv.port}`;
      try {
        const session = http2.connect(`https://127.0.0.1:${srv.port}`, { ca: certificate.cert });
        expect(await h2Get(session, '/home')).to.deep.equal({ status: 200, body: 'page /home over 2.0' });
        session.close();
        const page = await new Promise<string>((resolve, reject) => {
          https
            .get({ host: '127.0.0.1', port: srv.port, path: '/home', ca: certificate.cert, agent: false }, (res) => {
              let body = '';
              res.on('data', (d) => (body += d));
              res.on('end', () => resolve(`${res.httpVersion}: ${body}`));
            })
            .on('error', reject);
        });
        expect(page).to.equal('1.1: page /home over 1.1');

        for (const [http2Option, version] of [
          [true, '2'],
          [false, '1.1'],
          ['prefer', '2'],
        ] as const) {
          const ws = await connect(`${base}/ws`, { http2: http2Option, tls });
          const [greeting] = await nextMessages(ws, 1);
          expect([ws.response?.httpVersion, greeting]).to.deep.equal([
            version,
            `hello over ${version === '2' ? '2.0' : '1.1'}`,
          ]);
          const { closed } = watchClose(ws);
          ws.close(4000, 'done');
          expect((await closed).slice(0, 3)).to.deep.equal([4000, 'done', true]);
        }
        expect(opened.map((o) => o.req.httpVersion)).to.deep.equal(['2.0', '1.1', '2.0']);

        // An unclaimed WebSocket path never opens: HTTP/1.1 gets the router's 404; over h2 the
        // page handler's compatibility layer answers the extended CONNECT.
        const h1 = await rejection(connect(`${base}/other`, { tls }));
        expect((h1 as HandshakeRejectedError).statusCode).to.equal(404);
        const h2 = await rejection(connect(`${base}/other`, { http2: true, tls }));
        expect(h2).to.be.instanceOf(HandshakeRejectedError);
        expect((h2 as HandshakeRejectedError).statusCode).to.be.within(400, 599);
        await wss.close();
      } finally {
        await srv.close();
      }
    });
  });

  describe('noServer: wss.handleHttp2Stream from the application', () => {
    it('tracks h2 clients, broadcasts to them, and its handshake timeout drops a stalled handshake', async () => {
      const stalled = new WebSocketServer({
        noServer: true,
        accept: () => new Promise(() => undefined),
        handshakeTimeout: 200,
      });
      const wss = new WebSocketServer({ noServer: true });
      const pending: WebSocketDuplex[] = [];
      const server = http2.createServer({ settings: { enableConnectProtocol: true } });
      const onStream: StreamListener = (stream, headers, _flags, rawHeaders) => {
        if (!isWebSocketConnect(headers)) return void stream.respond({ ':status': 404 }, { endStream: true });
        const target = headers[':path'] === '/stalled' ? stalled : wss;
        const ws = target.handleHttp2Stream(stream, headers, rawHeaders);
        if (ws !== null && target === stalled) pending.push(ws);
      };
      server.on('stream', onStream);
      const srv = await listen(server);
      const url = `ws://127.0.0.1:${srv.port}`;
      const session = await h2Session(srv.port);
      try {
        const clients = await Promise.all([1, 2, 3].map(() => connect(`${url}/`, { http2: session })));
        await until(() => wss.clients.size === 3);
        const got = clients.map((c) => nextMessages(c, 1));
        expect(wss.broadcast('to all')).to.include({ sent: 3 });
        for (const g of got) expect(await g).to.deep.equal(['to all']);

        const attempt = rejection(connect(`${url}/stalled`, { http2: session }));
        await until(() => pending.length === 1);
        const { closed, errors } = watchClose(pending[0]!);
        const [code, , wasClean, cause] = await closed;
        expect([code, wasClean, cause?.code]).to.deep.equal([1006, false, 'ERR_HANDSHAKE_TIMEOUT']);
        expect(errors).to.deep.equal([]);
        expect(await attempt, 'the client is told, not left waiting').to.be.instanceOf(Error);
        expect(stalled.clients.size).to.equal(0);

        const closes = clients.map((c) => watchClose(c).closed);
        await wss.close();
        for (const c of await Promise.all(closes))
          expect(c.slice(0, 3)).to.deep.equal([1001, 'server shutting down', true]);
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
        await srv.close();
      }
    });
  });

  describe('hooks over HTTP/2', () => {
    let srv: Awaited<ReturnType<typeof listen<http2.Http2Server>>>;
    let base = '';
    const accepted: string[] = [];

    before(async () => {
      const server = http2.createServer();
      const serve = (path: string, options: Omit<WebSocketServerOptions, 'server' | 'path'>) => {
        const wss = new WebSocketServer({ server, path, ...options });
        wss.on('connection', (ws) => accepted.push(`${path} ${ws.protocol}`));
      };
      serve('/reject', {
        accept: () => ({ accept: false, statusCode: 418, body: 'short and stout', headers: [['x-why', 'tea']] }),
      });
      serve('/origin', { verifyOrigin: (origin) => origin === 'https://good.example' });
      serve('/proto', { selectSubprotocol: (offered) => (offered.includes('b') ? 'b' : null) });
      serve('/throws', {
        accept: () => {
          throw new Error('the hook failed');
        },
      });
      srv = await listen(server);
      base = `ws://127.0.0.1:${srv.port}`;
    });

    after(() => srv.close());

    it('accept returning a rejection with a body: HandshakeRejectedError with its status, headers and body', async () => {
      const error = await rejection(connect(`${base}/reject`, { http2: true }));
      expect(error).to.be.instanceOf(HandshakeRejectedError);
      const rejected = error as HandshakeRejectedError;
      expect(rejected.statusCode).to.equal(418);
      expect(rejected.body.toString()).to.equal('short and stout');
      expect(rejected.headers).to.deep.include([':status', '418']);
      expect(rejected.headers).to.deep.include(['x-why', 'tea']);
    });

    it('verifyOrigin: a refused Origin gets 403, an allowed one opens', async () => {
      const refused = await rejection(
        connect(`${base}/origin`, { http2: true, headers: { Origin: 'https://evil.example' } }),
      );
      expect((refused as HandshakeRejectedError).statusCode).to.equal(403);
      const ws = await connect(`${base}/origin`, { http2: true, headers: { Origin: 'https://good.example' } });
      ws.close();
      await until(() => accepted.includes('/origin '));
    });

    it('selectSubprotocol picks from the offer', async () => {
      const ws = await connect(`${base}/proto`, { http2: true, subprotocols: ['a', 'b'] });
      expect(ws.protocol).to.equal('b');
      ws.close();
      const none = await connect(`${base}/proto`, { http2: true, subprotocols: ['c'] });
      expect(none.protocol).to.equal('');
      none.close();
    });

    it('an accept hook that throws answers 500', async () => {
      const error = await rejection(connect(`${base}/throws`, { http2: true }));
      expect((error as HandshakeRejectedError).statusCode).to.equal(500);
      expect(accepted.filter((a) => a.startsWith('/throws'))).to.deep.equal([]);
    });
  });

  describe('shutdown', () => {
    it('wss.close(): 1001 to h2 clients, 503 with retry-after to a new extended CONNECT meanwhile, a silent client dropped', async () => {
      const server = http2.createServer();
      const wss = new WebSocketServer({ server, shutdownTimeout: 300 });
      const srv = await listen(server);
      const url = `ws://127.0.0.1:${srv.port}/`;
      const session = await h2Session(srv.port);
      try {
        const ours = [await connect(url, { http2: true }), await connect(url, { http2: session })];
        // A raw WebSocket that never answers the close keeps the shutdown going.
        const silent = session.request(connectHeaders(srv.port), { endStream: false });
        const [head] = await once<[http2.IncomingHttpHeaders]>(silent, 'response');
        expect(head[':status']).to.equal(200);
        const silentBytes: Buffer[] = [];
        silent.on('data', (d: Buffer) => silentBytes.push(d));
        silent.on('error', () => undefined);
        const silentClosed = once(silent, 'close', 10_000);
        await until(() => wss.clients.size === 3);

        const closes = ours.map((c) => watchClose(c));
        const closing = wss.close();
        const late = await rejection(connect(url, { http2: session }));
        expect(late).to.be.instanceOf(HandshakeRejectedError);
        expect((late as HandshakeRejectedError).statusCode).to.equal(503);
        expect((late as HandshakeRejectedError).headers).to.deep.include(['retry-after', '5']);
        for (const { closed, errors } of closes) {
          expect((await closed).slice(0, 3)).to.deep.equal([1001, 'server shutting down', true]);
          expect(errors).to.deep.equal([]);
        }
        await closing;
        await silentClosed;
        // 0x88: a close frame (unmasked, from the server), code 1001 (0x03e9).
        expect(Buffer.concat(silentBytes).subarray(0, 4).toString('hex')).to.equal('881603e9');
        expect(wss.clients.size).to.equal(0);
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
        await srv.close();
      }
    });
  });

  describe('flow control is backpressure', () => {
    const COUNT = 256;
    const SIZE = 64 * 1024; // 16 MiB in all
    const payload = (i: number) => {
      const data = Buffer.alloc(SIZE, i % 251);
      data.writeUInt32BE(i, 0);
      return data;
    };

    for (const reader of ['client', 'server'] as const) {
      it(`the ${reader} stops reading ws.app while the other side sends 16 MiB: sends stall with bounded buffers, then all arrives intact`, async () => {
        const server = http2.createServer();
        const wss = new WebSocketServer({ server });
        const srv = await listen(server);
        try {
          const serverSide = new Promise<WebSocketDuplex>((resolve) => wss.once('connection', resolve));
          const client = await connect(`ws://127.0.0.1:${srv.port}/`, { http2: true });
          const peer = await serverSide;
          const [receiver, sender] = reader === 'client' ? [client, peer] : [peer, client];
          const app = receiver.app; // taken, not read: input is held
          collectGarbage();
          const before = process.memoryUsage().arrayBuffers;
          let calledBack = 0;
          let maxBuffered = 0;
          let maxArrayBuffers = 0;
          const sending = (async () => {
            for (let i = 0; i < COUNT; i++) {
              await new Promise<void>((resolve, reject) =>
                sender.send(payload(i), {}, (error) => (error ? reject(error) : resolve())),
              );
              calledBack++;
              maxBuffered = Math.max(maxBuffered, sender.bufferedAmount);
            }
          })();
          // Wait until the sender is held: no send called back for 20 looks in a row (bounded).
          let still = 0;
          for (let looks = 0, last = -1; still < 20 && looks < 400 && calledBack < COUNT; looks++) {
            await new Promise((r) => setTimeout(r, 25));
            maxBuffered = Math.max(maxBuffered, sender.bufferedAmount);
            maxArrayBuffers = Math.max(maxArrayBuffers, process.memoryUsage().arrayBuffers - before);
            still = calledBack === last ? still + 1 : 0;
            last = calledBack;
          }
          expect(calledBack, 'sends held while nobody reads').to.be.below(COUNT / 4);
          expect(maxBuffered, 'bufferedAmount').to.be.below(2 * 1024 * 1024);
          expect(maxArrayBuffers, 'ArrayBuffer memory').to.be.below(12 * 1024 * 1024);

          // Reading resumes: every message arrives whole, in order.
          const received: Buffer[] = [];
          let pieces: Buffer[] = [];
          let bad = 0;
          app.on('data', (event: { type: string; data?: Buffer; messageFinished?: boolean }) => {
            if (event.type !== 'bytes') return;
            pieces.push(event.data!);
            if (event.messageFinished !== true) return;
            const whole = Buffer.concat(pieces);
            pieces = [];
            if (!whole.equals(payload(received.length))) bad++;
            received.push(whole.subarray(0, 4));
          });
          await sending;
          await until(() => received.length === COUNT, 20_000, 'all messages');
          expect(bad).to.equal(0);
          const { closed } = watchClose(client);
          client.close();
          expect((await closed).slice(0, 3)).to.deep.equal([1000, '', true]);
        } finally {
          await wss.close();
          await srv.close();
        }
      });
    }
  });

  describe('RST_STREAM and GOAWAY: one coded 1006 close, never an error event', () => {
    let srv: Awaited<ReturnType<typeof listen<http2.Http2Server>>>;
    let wss: WebSocketServer;
    let opened: Array<{ ws: WebSocketDuplex; req: Http2UpgradeRequest }>;
    let url = '';

    beforeEach(async () => {
      const server = http2.createServer();
      wss = new WebSocketServer({ server });
      opened = connections(wss);
      wss.on('connection', echo);
      srv = await listen(server);
      url = `ws://127.0.0.1:${srv.port}/`;
    });

    afterEach(async () => {
      await wss.close({ timeout: 500 });
      await srv.close();
    });

    it('a client’s RST_STREAM CANCEL (no END_STREAM, as a browser cancels) → the server’s close is 1006 ERR_HTTP2_STREAM_RESET naming CANCEL; the session’s other WebSocket goes on', async () => {
      const session = await h2Session(srv.port);
      try {
        const neighbour = await connect(url, { http2: session });
        const abort = new AbortController();
        const raw = session.request(connectHeaders(srv.port), { endStream: false, signal: abort.signal });
        raw.on('error', () => undefined);
        await once(raw, 'response');
        await until(() => opened.length === 2);
        const { closed, errors } = watchClose(opened[1]!.ws);
        abort.abort();
        const [code, reason, wasClean, cause] = await closed;
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect(cause).to.be.instanceOf(RemoteProtocolError);
        expect(cause?.code).to.equal('ERR_HTTP2_STREAM_RESET');
        expect(reason).to.contain('RST_STREAM CANCEL');
        expect(errors).to.deep.equal([]);
        const echoed = nextMessages(neighbour, 1);
        neighbour.send('still here');
        expect(await echoed).to.deep.equal(['still here']);
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
      }
    });

    it('the server resets a stream (RST_STREAM INTERNAL_ERROR) → the client’s close is 1006 ERR_HTTP2_STREAM_RESET naming it; the caller’s session stays', async () => {
      const session = await h2Session(srv.port);
      try {
        const [victim, neighbour] = [await connect(url, { http2: session }), await connect(url, { http2: session })];
        await until(() => opened.length === 2);
        const client = watchClose(victim);
        const server = watchClose(opened[0]!.ws);
        opened[0]!.req.stream.destroy(new Error('the application gave up'));
        const [code, reason, wasClean, cause] = await client.closed;
        expect([code, wasClean, cause?.code]).to.deep.equal([1006, false, 'ERR_HTTP2_STREAM_RESET']);
        expect(reason).to.contain('RST_STREAM INTERNAL_ERROR');
        const [serverCode, , , serverCause] = await server.closed;
        expect([serverCode, serverCause?.code]).to.deep.equal([1006, 'ERR_HTTP2_STREAM_RESET']);
        expect([client.errors, server.errors]).to.deep.equal([[], []]);
        const echoed = nextMessages(neighbour, 1);
        neighbour.send('still here');
        expect(await echoed).to.deep.equal(['still here']);
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
      }
    });

    for (const terminator of ['client', 'server'] as const) {
      it(`the ${terminator} terminates while the other side is sending (RST_STREAM NO_ERROR): that side closes 1006 ERR_HTTP2_STREAM_RESET, its send callbacks are called`, async () => {
        // Regression: Node keeps a stream reset with NO_ERROR closed but not destroyed until
        // its output finished, which it never did: the WebSocket never emitted 'close'.
        const session = await h2Session(srv.port);
        try {
          const client = await connect(url, { http2: session });
          await until(() => opened.length === 1);
          const server = opened[0]!.ws;
          const [quitter, sender] = terminator === 'client' ? [client, server] : [server, client];
          const senderSide = watchClose(sender);
          const sends: Array<Promise<unknown>> = [];
          for (let i = 0; i < 40; i++)
            sends.push(new Promise((resolve) => sender.send(Buffer.alloc(60_000, i), {}, resolve)));
          quitter.terminate();
          const [code, reason, wasClean, cause] = await senderSide.closed;
          expect([code, wasClean]).to.deep.equal([1006, false]);
          expect(['ERR_HTTP2_STREAM_RESET', 'ERR_ABNORMAL_CLOSURE']).to.include(cause?.code);
          if (cause?.code === 'ERR_HTTP2_STREAM_RESET') expect(reason).to.contain('RST_STREAM');
          expect(senderSide.errors).to.deep.equal([]);
          await Promise.all(sends);
          expect(session.closed).to.equal(false);
        } finally {
          session.destroy();
        }
      });
    }

    it('stream.close(NGHTTP2_CANCEL) (Node sends END_STREAM, then RST_STREAM) → 1006 with a coded cause on both sides', async () => {
      // Node flushes an empty DATA frame with END_STREAM before the RST_STREAM, so the peer
      // may see the end of the stream first (ERR_ABNORMAL_CLOSURE) or the reset.
      const session = await h2Session(srv.port);
      try {
        for (const resetter of ['server', 'client'] as const) {
          let clientStream: http2.ClientHttp2Stream | null = null;
          const request = session.request.bind(session);
          session.request = (...args: Parameters<typeof session.request>) => (clientStream = request(...args));
          const ws = await connect(url, { http2: session });
          session.request = request;
          await until(() => opened.length > 0 && opened.at(-1)!.ws.readyState === 1);
          const peer = opened.at(-1)!;
          const sides = [watchClose(ws), watchClose(peer.ws)];
          (resetter === 'server' ? peer.req.stream : clientStream!).close(NGHTTP2_CANCEL);
          for (const { closed, errors } of sides) {
            const [code, , wasClean, cause] = await closed;
            expect([code, wasClean]).to.deep.equal([1006, false]);
            expect(cause).to.be.instanceOf(RemoteProtocolError);
            expect(['ERR_HTTP2_STREAM_RESET', 'ERR_ABNORMAL_CLOSURE']).to.include(cause?.code);
            expect(errors).to.deep.equal([]);
          }
        }
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
      }
    });

    it('the server’s GOAWAY ENHANCE_YOUR_CALM → every client on the session closes 1006 ERR_HTTP2_GOAWAY naming it', async () => {
      const session = await h2Session(srv.port);
      const clients = [await connect(url, { http2: session }), await connect(url, { http2: session })];
      await until(() => opened.length === 2);
      const sides = [...clients, ...opened.map((o) => o.ws)].map(watchClose);
      opened[0]!.req.session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
      const reports = await Promise.all(sides.map((s) => s.closed));
      for (const [code, reason, wasClean, cause] of reports.slice(0, 2)) {
        expect([code, wasClean, cause?.code]).to.deep.equal([1006, false, 'ERR_HTTP2_GOAWAY']);
        expect(reason).to.contain('GOAWAY ENHANCE_YOUR_CALM');
      }
      for (const [code, , wasClean, cause] of reports.slice(2)) {
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect(['ERR_HTTP2_GOAWAY', 'ERR_HTTP2_STREAM_RESET']).to.include(cause?.code);
      }
      for (const s of sides) expect(s.errors).to.deep.equal([]);
      session.destroy();
    });

    for (const [who, kill] of [
      ['the client destroys its session', (client: http2.ClientHttp2Session) => client.destroy()],
      [
        'the client sends GOAWAY ENHANCE_YOUR_CALM',
        (client: http2.ClientHttp2Session) => client.goaway(NGHTTP2_ENHANCE_YOUR_CALM),
      ],
      ['the server destroys the session', (_: unknown, server: http2.ServerHttp2Session) => server.destroy()],
    ] as const) {
      it(`${who} → every WebSocket on it closes 1006 with a coded cause`, async () => {
        const session = await h2Session(srv.port);
        const clients = [await connect(url, { http2: session }), await connect(url, { http2: session })];
        await until(() => opened.length === 2);
        const sides = [...clients, ...opened.map((o) => o.ws)].map(watchClose);
        kill(session, opened[0]!.req.session);
        for (const { closed, errors } of sides) {
          const [code, , wasClean, cause] = await closed;
          expect([code, wasClean]).to.deep.equal([1006, false]);
          expect(cause).to.be.instanceOf(RemoteProtocolError);
          expect(['ERR_HTTP2_GOAWAY', 'ERR_HTTP2_STREAM_RESET', 'ERR_TRANSPORT', 'ERR_ABNORMAL_CLOSURE']).to.include(
            cause?.code,
          );
          expect(errors).to.deep.equal([]);
        }
        session.destroy();
      });
    }
  });

  describe('sessions and streams', () => {
    it('closing one WebSocket ends its stream, not the session: the others go on, the caller’s session stays open', async () => {
      const server = http2.createServer();
      const wss = new WebSocketServer({ server });
      const opened = connections(wss);
      wss.on('connection', echo);
      const srv = await listen(server);
      const session = await h2Session(srv.port);
      try {
        const url = `ws://127.0.0.1:${srv.port}/`;
        const [first, second, third] = [
          await connect(url, { http2: session }),
          await connect(url, { http2: session }),
          await connect(url, { http2: session }),
        ];
        await until(() => opened.length === 3);
        const byClient = watchClose(first!);
        first!.close(1000, 'one');
        expect((await byClient.closed).slice(0, 3)).to.deep.equal([1000, 'one', true]);
        const byServer = watchClose(second!);
        opened[1]!.ws.close(4001, 'two');
        expect((await byServer.closed).slice(0, 3)).to.deep.equal([4001, 'two', true]);
        await until(() => opened[0]!.req.stream.closed && opened[1]!.req.stream.closed, 5000, 'the streams to close');
        expect(opened[0]!.req.stream.rstCode).to.equal(http2.constants.NGHTTP2_NO_ERROR);
        const echoed = nextMessages(third!, 2);
        third!.send('three');
        third!.send(Buffer.alloc(100_000, 3));
        expect(await echoed).to.deep.equal(['three', Buffer.alloc(100_000, 3)]);
        expect([session.closed, session.destroyed]).to.deep.equal([false, false]);
        expect(opened[2]!.req.session.closed, 'the server’s session too').to.equal(false);
        third!.close();
      } finally {
        session.destroy();
        await wss.close();
        await srv.close();
      }
    });

    for (const secure of [false, true]) {
      it(`connect({ http2: true }) closes the session it opened when its WebSocket closes (${secure ? 'TLS' : 'h2c'}), cleanly or not`, async () => {
        const server = secure
          ? http2.createSecureServer({ key: certificate.key, cert: certificate.cert })
          : http2.createServer();
        const wss = new WebSocketServer({ server });
        const opened = connections(wss);
        const srv = await listen(server as net.Server);
        const url = `${secure ? 'wss' : 'ws'}://127.0.0.1:${srv.port}/`;
        try {
          const baseline = await baselineNow();
          const clean = await connect(url, { http2: true, tls });
          const cleanClosed = watchClose(clean).closed;
          clean.close();
          expect((await cleanClosed)[0]).to.equal(1000);
          await backTo(baseline);
          const reset = await connect(url, { http2: true, tls });
          const resetClosed = watchClose(reset).closed;
          await until(() => opened.length === 2);
          opened[1]!.req.stream.destroy(new Error('gone'));
          expect((await resetClosed)[0]).to.equal(1006);
          await backTo(baseline);
        } finally {
          await wss.close();
          await srv.close();
        }
      });
    }

    it('100 WebSockets on one new session (connect(url, { http2: session }) all at once): each gets its messages in order', async () => {
      const server = http2.createServer();
      const wss = new WebSocketServer({ server });
      const opened = connections(wss);
      wss.on('connection', echo);
      const srv = await listen(server);
      // Not yet connected: the attempts wait for the session, and share one wait for its SETTINGS.
      const session = http2.connect(`http://127.0.0.1:${srv.port}`);
      session.on('error', () => undefined);
      try {
        const url = `ws://127.0.0.1:${srv.port}/`;
        const clients = await Promise.all(Array.from({ length: 100 }, () => connect(url, { http2: session })));
        expect(opened).to.have.length(100);
        expect(new Set(opened.map((o) => o.req.session)).size, 'one server session').to.equal(1);
        const results = await Promise.all(
          clients.map(async (ws, i) => {
            const got = nextMessages(ws, 20);
            for (let j = 0; j < 20; j++) ws.send(j % 2 === 0 ? `${i}:${j}` : Buffer.from(`${i}:${j}`));
            return (await got).map(String);
          }),
        );
        results.forEach((got, i) => expect(got).to.deep.equal(Array.from({ length: 20 }, (_, j) => `${i}:${j}`)));
        const closes = clients.map((c) => watchClose(c).closed);
        for (const c of clients) c.close();
        for (const c of await Promise.all(closes)) expect(c.slice(0, 3)).to.deep.equal([1000, '', true]);
        expect(session.closed).to.equal(false);
      } finally {
        session.destroy();
        await wss.close();
        await srv.close();
      }
    });
  });

  describe('connect({ http2 }) when the server does not agree', () => {
    it('an HTTP/1.1-only https server: true → ConnectError ERR_HTTP2_UNAVAILABLE; prefer → HTTP/1.1', async () => {
      const server = https.createServer({ key: certificate.key, cert: certificate.cert });
      const wss = new WebSocketServer({ server });
      const srv = await listen(server);
      const url = `wss://127.0.0.1:${srv.port}/`;
      try {
        const baseline = await baselineNow();
        const error = await rejection(connect(url, { http2: true, tls }));
        expect(error).to.be.instanceOf(ConnectError);
        expect(error?.code).to.equal('ERR_HTTP2_UNAVAILABLE');
        expect(error?.message).to.contain('http/1.1');
        const ws = await connect(url, { http2: 'prefer', tls });
        expect(ws.response?.httpVersion).to.equal('1.1');
        ws.close();
        await wss.close();
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it('a cleartext HTTP/1.1 server: ws:// with true → ConnectError ERR_HTTP2_UNAVAILABLE; prefer → HTTP/1.1', async () => {
      const server = http.createServer();
      const wss = new WebSocketServer({ server });
      const srv = await listen(server);
      const url = `ws://127.0.0.1:${srv.port}/`;
      try {
        const error = await rejection(connect(url, { http2: true }));
        expect(error).to.be.instanceOf(ConnectError);
        expect(error?.code).to.equal('ERR_HTTP2_UNAVAILABLE');
        const ws = await connect(url, { http2: 'prefer' });
        expect(ws.response?.httpVersion).to.equal('1.1');
        ws.close();
        await wss.close();
      } finally {
        await srv.close();
      }
    });

    it('an h2 server without SETTINGS_ENABLE_CONNECT_PROTOCOL: ERR_HTTP2_NO_EXTENDED_CONNECT; prefer → HTTP/1.1 where it has it, else a clear failure', async () => {
      // TLS with allowHTTP1 and an 'upgrade' handler of its own; h2c (which has no HTTP/1.1).
      const secure = http2.createSecureServer({ key: certificate.key, cert: certificate.cert, allowHTTP1: true });
      secure.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        handleUpgrade(req, socket, head).on('message', function (this: WebSocketDuplex, data) {
          this.send(data);
        });
      });
      const plain = http2.createServer();
      for (const server of [secure, plain])
        server.on('stream', (s) => s.respond({ ':status': 404 }, { endStream: true }));
      const [tlsSrv, plainSrv] = [await listen(secure as net.Server), await listen(plain)];
      try {
        const baseline = await baselineNow();
        for (const url of [`wss://127.0.0.1:${tlsSrv.port}/`, `ws://127.0.0.1:${plainSrv.port}/`]) {
          const error = await rejection(connect(url, { http2: true, tls }));
          expect(error).to.be.instanceOf(ConnectError);
          expect(error?.code).to.equal('ERR_HTTP2_NO_EXTENDED_CONNECT');
        }
        const ws = await connect(`wss://127.0.0.1:${tlsSrv.port}/`, { http2: 'prefer', tls });
        expect(ws.response?.httpVersion).to.equal('1.1');
        const echoed = nextMessages(ws, 1);
        ws.send('over 1.1');
        expect(await echoed).to.deep.equal(['over 1.1']);
        ws.close();
        const failed = await rejection(connect(`ws://127.0.0.1:${plainSrv.port}/`, { http2: 'prefer' }));
        expect(failed, 'an h2c-only server cannot take HTTP/1.1').to.be.instanceOf(Error);
        expect(failed?.code).to.be.a('string');
        await backTo(baseline);
      } finally {
        await tlsSrv.close();
        await plainSrv.close();
      }
    });
  });

  describe('aborting during the wait for the server’s SETTINGS', () => {
    /** A TCP server that reads and never answers: an HTTP/2 session to it never gets SETTINGS. */
    async function silentServer() {
      const preface: Buffer[] = [];
      const server = net.createServer((socket) => {
        socket.on('data', (d: Buffer) => preface.push(d));
        socket.on('error', () => undefined);
      });
      const srv = await listen(server);
      const heardPreface = () => Buffer.concat(preface).toString('latin1').startsWith('PRI * HTTP/2.0');
      return { ...srv, heardPreface };
    }

    it('the signal aborts a session of our own: AbortError, nothing left behind', async () => {
      const srv = await silentServer();
      try {
        const baseline = await baselineNow();
        const abort = new AbortController();
        const attempt = rejection(connect(`ws://127.0.0.1:${srv.port}/`, { http2: true, signal: abort.signal }));
        await until(srv.heardPreface, 5000, 'the client preface');
        abort.abort(new Error('changed my mind'));
        const error = await attempt;
        expect(error).to.be.instanceOf(AbortError);
        expect(error?.code).to.equal('ABORT_ERR');
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it('connectTimeout bounds the wait: ConnectError ERR_CONNECT_TIMEOUT, nothing left behind', async () => {
      const srv = await silentServer();
      try {
        const baseline = await baselineNow();
        const error = await rejection(connect(`ws://127.0.0.1:${srv.port}/`, { http2: true, connectTimeout: 200 }));
        expect(error).to.be.instanceOf(ConnectError);
        expect(error?.code).to.equal('ERR_CONNECT_TIMEOUT');
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it('on the caller’s session: AbortError, and the session is left to its owner', async () => {
      const srv = await silentServer();
      try {
        const baseline = await baselineNow();
        const session = http2.connect(`http://127.0.0.1:${srv.port}`);
        session.on('error', () => undefined);
        const abort = new AbortController();
        const attempt = rejection(connect(`ws://127.0.0.1:${srv.port}/`, { http2: session, signal: abort.signal }));
        await until(srv.heardPreface, 5000, 'the client preface');
        abort.abort();
        expect(await attempt).to.be.instanceOf(AbortError);
        expect(session.destroyed).to.equal(false);
        session.destroy();
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });
  });
});
