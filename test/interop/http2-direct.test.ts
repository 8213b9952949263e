/**
 * WebSocket over HTTP/2 (RFC 8441) between our own ends, no proxy: our `WebSocketServer`
 * on Node's `http2.createSecureServer` (TLS, ALPN h2, HTTP/1.1 allowed on the same port)
 * and on `http2.createServer` (cleartext, prior knowledge), both with
 * SETTINGS_ENABLE_CONNECT_PROTOCOL, and our client with `http2: true` or on a session of
 * its own (`http2: session`). The same matrix as through HAProxy
 * (http2-haproxy.test.ts), plus what only a direct peer shows: the server's side of a
 * session that dies, of a reset stream and of a GOAWAY, and streams that share a session.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import {
  connect,
  HandshakeRejectedError,
  WebSocketServer,
  type ConnectOptions,
  type WebSocketDuplex,
} from '../../lib/index';
import { listen, once } from '../helpers/net';
import { makeCertificate } from '../helpers/proxies';
import { backTo, baselineNow } from '../helpers/resources';

type CloseArgs = [number, string, boolean, (Error & { code?: string }) | null];
type MessageArgs = [string | Buffer, boolean];

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** What the server saw of one WebSocket. */
interface Seen {
  ws: WebSocketDuplex;
  httpVersion: string;
  /** The HTTP/2 stream and session under it (h2 only). */
  stream: http2.ServerHttp2Stream | undefined;
  session: http2.ServerHttp2Session | undefined;
  closed: Promise<CloseArgs>;
}

/** A server of ours: its URL (ws:// or wss://), what it saw, and how to stop it. */
interface H2Origin {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/**
 * Our WebSocketServer at /echo on an HTTP/2 server (TLS with HTTP/1.1 allowed, or
 * cleartext), echoing, permessage-deflate with threshold 0, subprotocol 'chat' when
 * offered. A query `?refuse` gets 403 'no entry'; the text 'close please' closes with 4001 'bye'.
 */
async function startH2Origin(certificate: { key: Buffer; cert: Buffer } | null): Promise<H2Origin> {
  const settings = { enableConnectProtocol: true };
  const page = (_req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => res.end('a page');
  const server =
    certificate === null
      ? http2.createServer({ settings }, page)
      : http2.createSecureServer({ ...certificate, allowHTTP1: true, settings }, page);
  const seen: Seen[] = [];
  const wss = new WebSocketServer({
    server,
    path: '/echo',
    perMessageDeflate: { threshold: 0 },
    accept: (request) =>
      request.target.endsWith('?refuse')
        ? { accept: false, statusCode: 403, body: 'no entry' }
        : { subprotocol: request.subprotocols.includes('chat') ? 'chat' : null },
  });
  wss.on('connection', (ws, req) => {
    const h2 = req as unknown as { stream?: http2.ServerHttp2Stream; session?: http2.ServerHttp2Session };
    seen.push({
      ws,
      httpVersion: req.httpVersion,
      stream: h2.stream,
      session: h2.session,
      closed: once<CloseArgs>(ws, 'close', 20000),
    });
    ws.on('message', (data) => (data === 'close please' ? ws.close(4001, 'bye') : ws.send(data)));
  });
  const srv = await listen(server);
  return {
    url: `${certificate === null ? 'ws' : 'wss'}://127.0.0.1:${srv.port}`,
    seen,
    close: async () => {
      await wss.close();
      await srv.close();
    },
  };
}

/** Send `data` and wait for the echo. */
async function echo(ws: WebSocketDuplex, data: string | Buffer): Promise<MessageArgs> {
  const reply = once<MessageArgs>(ws, 'message');
  ws.send(data);
  return reply;
}

describe('interop: WebSocket over HTTP/2 between our client and our server (RFC 8441)', function () {
  let certificate: ({ key: Buffer; cert: Buffer } & { cleanup(): void }) | undefined;
  before(() => {
    certificate = makeCertificate();
  });
  after(() => certificate?.cleanup());

  for (const kind of ['TLS (http2.createSecureServer, ALPN h2)', 'h2c (http2.createServer, prior knowledge)']) {
    const tls = kind.startsWith('TLS');
    describe(kind, () => {
      let origin: H2Origin;
      const opened: WebSocketDuplex[] = [];
      const sessions: http2.ClientHttp2Session[] = [];
      beforeEach(async () => {
        origin = await startH2Origin(tls ? certificate! : null);
      });
      afterEach(async () => {
        for (const ws of opened.splice(0)) ws.terminate();
        for (const s of sessions.splice(0)) s.destroy();
        await origin.close();
      });
      async function h2(path = '/echo', options: ConnectOptions = {}): Promise<WebSocketDuplex> {
        const ws = await connect(`${origin.url}${path}`, { http2: true, tls: { ca: certificate!.cert }, ...options });
        opened.push(ws);
        return ws;
      }
      async function session(): Promise<http2.ClientHttp2Session> {
        const s = http2.connect(origin.url.replace(/^ws/, 'http'), tls ? { ca: certificate!.cert } : {});
        s.on('error', () => {});
        sessions.push(s);
        await once(s, 'remoteSettings');
        return s;
      }

      it("text and 1 MiB binary echo; httpVersion '2' on both sides; close 1000 clean on both sides", async () => {
        const ws = await h2();
        expect(ws.response).to.deep.include({ statusCode: 200, httpVersion: '2' });
        expect(origin.seen[0]!.httpVersion).to.equal('2.0');
        expect(await echo(ws, 'hello over h2')).to.deep.equal(['hello over h2', false]);
        const big = randomBytes(1 << 20);
        const [data, isBinary] = await echo(ws, big);
        expect(isBinary).to.equal(true);
        expect((data as Buffer).equals(big), 'the 1 MiB echo').to.equal(true);
        const closed = once<CloseArgs>(ws, 'close');
        ws.close(1000, 'done');
        expect(await closed).to.deep.equal([1000, 'done', true, null]);
        expect(await origin.seen[0]!.closed).to.deep.equal([1000, 'done', true, null]);
      });

      it('permessage-deflate and the subprotocol, negotiated on both sides', async () => {
        const ws = await h2('/echo', { perMessageDeflate: true, subprotocols: ['superchat', 'chat'] });
        expect(ws.protocol).to.equal('chat');
        expect(ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        const server = origin.seen[0]!.ws;
        expect([server.protocol, server.extensions.map((e) => e.name)]).to.deep.equal(['chat', ['permessage-deflate']]);
        const text = 'all work and no play '.repeat(20000);
        expect(await echo(ws, text)).to.deep.equal([text, false]);
      });

      it("the server closes with 4001 'bye': clean on both sides", async () => {
        const ws = await h2();
        const closed = once<CloseArgs>(ws, 'close');
        ws.send('close please');
        expect(await closed).to.deep.equal([4001, 'bye', true, null]);
        expect(await origin.seen[0]!.closed).to.deep.equal([4001, 'bye', true, null]);
      });

      it('a refusal is a HandshakeRejectedError with the status and body', async () => {
        const error = await connect(`${origin.url}/echo?refuse`, { http2: true, tls: { ca: certificate!.cert } }).then(
          (ws) => (ws.terminate(), null),
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(HandshakeRejectedError);
        expect(error).to.deep.include({ code: 'ERR_HANDSHAKE_REJECTED', statusCode: 403 });
        expect((error as HandshakeRejectedError).body.toString()).to.equal('no entry');
      });

      it('several WebSockets on one session: closing one leaves the session and the others working', async () => {
        const s = await session();
        const wss = await Promise.all([1, 2, 3].map(() => h2('/echo', { http2: s })));
        expect(new Set(origin.seen.map((x) => x.session)).size, 'one server session').to.equal(1);
        for (const [i, ws] of wss.entries()) expect(await echo(ws, `ws ${i}`)).to.deep.equal([`ws ${i}`, false]);
        const closed = once<CloseArgs>(wss[0]!, 'close');
        wss[0]!.close(1000, 'one');
        expect(await closed).to.deep.equal([1000, 'one', true, null]);
        expect(await origin.seen[0]!.closed).to.deep.equal([1000, 'one', true, null]);
        expect(s.closed || s.destroyed, 'the client session is left open').to.equal(false);
        expect(origin.seen[0]!.session!.closed, 'the server session is left open').to.equal(false);
        for (const ws of wss.slice(1)) expect(await echo(ws, 'still here')).to.deep.equal(['still here', false]);
        const fourth = await h2('/echo', { http2: s });
        expect(await echo(fourth, 'a new one')).to.deep.equal(['a new one', false]);
      });

      it('regression: http2: session straight after http2.connect() (still connecting, SETTINGS not in) opens', async () => {
        const s = http2.connect(origin.url.replace(/^ws/, 'http'), tls ? { ca: certificate!.cert } : {});
        s.on('error', () => {});
        sessions.push(s);
        expect(s.connecting, 'the session is still connecting').to.equal(true);
        const ws = await h2('/echo', { http2: s });
        expect(await echo(ws, 'early')).to.deep.equal(['early', false]);
      });

      it('regression: 20 WebSockets opened at once on a new session, without MaxListenersExceededWarning', async () => {
        const warnings: string[] = [];
        const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
        process.on('warning', onWarning);
        try {
          const s = http2.connect(origin.url.replace(/^ws/, 'http'), tls ? { ca: certificate!.cert } : {});
          s.on('error', () => {});
          sessions.push(s);
          await once(s, 'connect'); // connected, its SETTINGS possibly not read yet
          const wss = await Promise.all(Array.from({ length: 20 }, () => h2('/echo', { http2: s })));
          for (const [i, ws] of wss.entries()) expect(await echo(ws, `ws ${i}`)).to.deep.equal([`ws ${i}`, false]);
          await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
          expect(warnings).to.deep.equal([]);
        } finally {
          process.off('warning', onWarning);
        }
      });

      it("the client's session destroyed: the server's WebSocket closes 1006 ERR_HTTP2_GOAWAY (Node's destroy sends GOAWAY NO_ERROR)", async () => {
        const s = await session();
        const ws = await h2('/echo', { http2: s });
        expect(await echo(ws, 'before')).to.deep.equal(['before', false]);
        s.destroy();
        const [code, , wasClean, cause] = await origin.seen[0]!.closed;
        expect({ code, wasClean }).to.deep.equal({ code: 1006, wasClean: false });
        // Node's destroy() sends GOAWAY(NO_ERROR) before the socket ends: the cause names it.
        expect(cause?.code, String(cause)).to.equal('ERR_HTTP2_GOAWAY');
        expect(cause?.message).to.include('GOAWAY NO_ERROR');
      });

      it('the server resets the stream (RST_STREAM INTERNAL_ERROR alone): the client gets 1006 ERR_HTTP2_STREAM_RESET', async () => {
        const ws = await h2();
        const closed = once<CloseArgs>(ws, 'close');
        origin.seen[0]!.stream!.destroy(new Error('the server gives up')); // RST_STREAM(INTERNAL_ERROR), no END_STREAM
        const [code, , wasClean, cause] = await closed;
        expect({ code, wasClean, cause: cause?.code }).to.deep.equal({
          code: 1006,
          wasClean: false,
          cause: 'ERR_HTTP2_STREAM_RESET',
        });
        expect(cause!.message).to.include('INTERNAL_ERROR');
      });

      it("a reset after END_STREAM (Node's stream.close(code) sends both) is still named a reset: 1006 ERR_HTTP2_STREAM_RESET", async () => {
        const ws = await h2();
        const closed = once<CloseArgs>(ws, 'close');
        origin.seen[0]!.stream!.close(NGHTTP2_INTERNAL_ERROR);
        const [code, , wasClean, cause] = await closed;
        expect({ code, wasClean, cause: cause?.code }).to.deep.equal({
          code: 1006,
          wasClean: false,
          cause: 'ERR_HTTP2_STREAM_RESET',
        });
        expect(cause!.message).to.include('INTERNAL_ERROR');
      });

      it('http2: true: closing the WebSocket closes the session it opened (nothing left open)', async () => {
        const baseline = await baselineNow();
        const ws = await connect(`${origin.url}/echo`, { http2: true, tls: { ca: certificate!.cert } });
        expect(await echo(ws, 'once')).to.deep.equal(['once', false]);
        const closed = once<CloseArgs>(ws, 'close');
        ws.close(1000);
        expect((await closed)[2]).to.equal(true);
        await backTo(baseline);
      });

      it('the server sends GOAWAY(INTERNAL_ERROR): the client gets 1006 ERR_HTTP2_GOAWAY', async () => {
        const ws = await h2();
        const closed = once<CloseArgs>(ws, 'close');
        origin.seen[0]!.session!.goaway(NGHTTP2_INTERNAL_ERROR);
        const [code, , wasClean, cause] = await closed;
        expect({ code, wasClean, cause: cause?.code }).to.deep.equal({
          code: 1006,
          wasClean: false,
          cause: 'ERR_HTTP2_GOAWAY',
        });
      });

      it('a graceful GOAWAY(NO_ERROR) from the server leaves the open WebSocket working', async () => {
        const s = await session();
        const ws = await h2('/echo', { http2: s });
        const away = once<[number, number]>(s, 'goaway');
        origin.seen[0]!.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
        expect((await away).slice(0, 2)).to.deep.equal([0, 2 ** 31 - 1]);
        expect(await echo(ws, 'after the GOAWAY')).to.deep.equal(['after the GOAWAY', false]);
      });

      if (tls)
        it('HTTP/1.1 upgrades on the same port (allowHTTP1)', async () => {
          const ws = await connect(`${origin.url}/echo`, { tls: { ca: certificate!.cert } });
          opened.push(ws);
          expect(ws.response).to.have.property('statusCode', 101);
          expect(origin.seen[0]!.httpVersion).to.equal('1.1');
          expect(await echo(ws, 'over HTTP/1.1')).to.deep.equal(['over HTTP/1.1', false]);
        });
    });
  }
});
