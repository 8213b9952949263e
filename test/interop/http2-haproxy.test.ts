/**
 * WebSocket over HTTP/2 (RFC 8441) through a real HTTP/2 front nobody here wrote:
 * Debian's HAProxy 2.6 takes extended CONNECT on h2 (cleartext prior knowledge, and TLS
 * with ALPN h2) and forwards each stream to an HTTP/1.1 origin as an ordinary upgrade.
 *
 * First, HAProxy itself, with a hand-written node:http2 client and `ws`'s server: this
 * pins what the front does (SETTINGS, statuses, how streams end, timeouts, GOAWAY), so
 * that a failure further down is ours and not a change in HAProxy. Then our h2 client
 * through it to our HTTP/1.1 server.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { WebSocketServer as WsServer } from 'ws';
import {
  connect,
  HandshakeRejectedError,
  WebSocketServer,
  type ConnectOptions,
  type WebSocketDuplex,
} from '../../lib/index';
import { masked } from '../helpers/bytes';
import { startH2Front, type H2Front, type H2FrontTimeouts } from '../helpers/haproxy-h2';
import { freePort } from '../helpers/foreground';
import { listen, once, sleep, until } from '../helpers/net';
import { requirePeer } from '../helpers/peers';
import { haproxyAvailable, makeCertificate } from '../helpers/proxies';
import { readWholeFrames, type ReadFrame } from '../helpers/read-frame';

type Certificate = { key: Buffer; cert: Buffer };
type CloseArgs = [number, string, boolean, (Error & { code?: string }) | null];
type MessageArgs = [string | Buffer, boolean];

const { NGHTTP2_CANCEL } = http2.constants;

/** What a `ws` origin saw and did. */
interface WsOrigin {
  port: number;
  /** Each upgrade request as the origin received it (over HTTP/1.1, from HAProxy). */
  upgrades: http.IncomingMessage[];
  /** The close code of each of its WebSockets, in order of closing. */
  closes: number[];
  close(): Promise<void>;
}

/**
 * A `ws` echo server over HTTP/1.1. `refuse` answers upgrades with 403 'Nope';
 * `deflate` turns permessage-deflate on; a text 'drop' makes it destroy its TCP socket.
 */
async function startWsOrigin(options: { refuse?: boolean; deflate?: boolean } = {}): Promise<WsOrigin> {
  const server = http.createServer((_req, res) => res.end('a page'));
  const upgrades: http.IncomingMessage[] = [];
  const closes: number[] = [];
  server.on('upgrade', (req: http.IncomingMessage) => upgrades.push(req));
  const wss = new WsServer({
    server,
    perMessageDeflate: options.deflate === true,
    handleProtocols: (protocols) => [...protocols][0] ?? false,
    ...(options.refuse === true ? { verifyClient: (_info, cb) => cb(false, 403, 'Nope') } : {}),
  });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) =>
      String(data) === 'drop' ? ws.terminate() : ws.send(data as Buffer, { binary: isBinary }),
    );
    ws.on('close', (code) => closes.push(code));
  });
  const srv = await listen(server);
  return {
    port: srv.port,
    upgrades,
    closes,
    close: async () => {
      wss.close();
      await srv.close();
    },
  };
}

/** What our HTTP/1.1 origin saw: each WebSocket's HTTP version, subprotocol, extensions and close. */
interface OurOrigin {
  port: number;
  opened: Array<{ httpVersion: string; protocol: string; extensions: string[] }>;
  closes: Array<[number, string, boolean]>;
  close(): Promise<void>;
}

/**
 * Our `WebSocketServer` on an HTTP/1.1 server, echoing, with permessage-deflate
 * (threshold 0: every message compressed) and the subprotocol 'chat' when offered.
 * A path under /refuse gets 403 'no entry'; the text 'close please' closes with 4001 'bye'.
 */
async function startOurOrigin(): Promise<OurOrigin> {
  const server = http.createServer();
  const opened: OurOrigin['opened'] = [];
  const closes: OurOrigin['closes'] = [];
  const wss = new WebSocketServer({
    server,
    perMessageDeflate: { threshold: 0 },
    accept: (request) =>
      request.target.startsWith('/refuse')
        ? { accept: false, statusCode: 403, body: 'no entry' }
        : { subprotocol: request.subprotocols.includes('chat') ? 'chat' : null },
  });
  wss.on('connection', (ws, req) => {
    opened.push({ httpVersion: req.httpVersion, protocol: ws.protocol, extensions: ws.extensions.map((e) => e.name) });
    ws.on('message', (data) => (data === 'close please' ? ws.close(4001, 'bye') : ws.send(data)));
    ws.on('close', (code, reason, wasClean) => closes.push([code, reason, wasClean]));
  });
  const srv = await listen(server);
  return {
    port: srv.port,
    opened,
    closes,
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

/** The rejection of `promise` (fails if it resolves; a WebSocket it opened is closed). */
async function failure(promise: Promise<WebSocketDuplex>): Promise<Error & { code?: string }> {
  return promise.then(
    (ws) => {
      ws.terminate();
      throw new Error('expected connect() to reject, it opened');
    },
    (error: unknown) => error as Error,
  );
}

/** One extended CONNECT stream, read as WebSocket frames. */
interface RawStream {
  stream: http2.ClientHttp2Stream;
  headers: http2.IncomingHttpHeaders;
  /** Every byte of DATA received so far. */
  received(): Buffer;
  /** Wait until `count` whole WebSocket frames have arrived; return them all. */
  frames(count: number, ms?: number): Promise<ReadFrame[]>;
  /** Resolves with the stream's rstCode once it closes (`ended`: END_STREAM was seen first). */
  closed: Promise<{ rstCode: number | undefined; ended: boolean }>;
}

/** Open an h2 session to `url` (TLS trusts `certificate`) and wait for the server's SETTINGS. */
async function h2Session(url: string, certificate: Certificate): Promise<http2.ClientHttp2Session> {
  const tls = url.startsWith('https:');
  const session = http2.connect(url, tls ? { ca: certificate.cert, ALPNProtocols: ['h2'] } : {});
  session.on('error', () => {}); // the tests look at 'close' and the streams
  await once(session, 'remoteSettings');
  return session;
}

/** Send an RFC 8441 extended CONNECT on `session` and wait for the response HEADERS. */
async function extendedConnect(
  session: http2.ClientHttp2Session,
  extra: http2.OutgoingHttpHeaders = {},
): Promise<RawStream> {
  const tls = session.encrypted === true;
  const stream = session.request(
    {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': tls ? 'https' : 'http',
      ':path': '/echo?x=1',
      ':authority': 'example.test',
      'sec-websocket-version': '13',
      ...extra,
    },
    { endStream: false },
  );
  stream.on('error', () => {}); // a peer's RST_STREAM shows in rstCode
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('data', (d: Buffer) => chunks.push(d));
  stream.on('end', () => (ended = true));
  const closed = new Promise<{ rstCode: number | undefined; ended: boolean }>((resolve) =>
    stream.once('close', () => resolve({ rstCode: stream.rstCode, ended })),
  );
  const [headers] = await once<[http2.IncomingHttpHeaders]>(stream, 'response');
  const received = () => Buffer.concat(chunks);
  const frames = async (count: number, ms = 5000) => {
    const end = Date.now() + ms;
    for (;;) {
      const { frames } = readWholeFrames(received());
      if (frames.length >= count) return frames;
      if (Date.now() > end) throw new Error(`timed out waiting for ${count} frame(s); have ${frames.length}`);
      await sleep(10);
    }
  };
  return { stream, headers, received, frames, closed };
}

/** Resolve with the session's first GOAWAY (code, lastStreamID), or reject after `ms`. */
function goaway(session: http2.ClientHttp2Session, ms = 5000): Promise<[number, number]> {
  return once<[number, number]>(session, 'goaway', ms);
}

describe('interop: WebSocket over HTTP/2 through HAProxy 2.6 (RFC 8441)', function () {
  let certificate: (Certificate & { cleanup(): void }) | undefined;
  const fronts: H2Front[] = [];
  const closers: Array<() => Promise<void>> = [];
  const sessions: http2.ClientHttp2Session[] = [];

  before(function () {
    requirePeer(this, haproxyAvailable(), 'HAProxy', 'apt-get install haproxy');
    certificate = makeCertificate();
  });
  after(() => certificate?.cleanup());
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    for (const f of fronts.splice(0)) await f.stop();
    for (const c of closers.splice(0)) await c();
  });

  /** HAProxy in front of 127.0.0.1:`originPort`, stopped after the test. */
  async function front(originPort: number, timeouts?: H2FrontTimeouts): Promise<H2Front> {
    const f = await startH2Front({ originPort, certificate: certificate!, ...(timeouts ? { timeouts } : {}) });
    fronts.push(f);
    return f;
  }
  async function wsOrigin(options?: { refuse?: boolean; deflate?: boolean }): Promise<WsOrigin> {
    const o = await startWsOrigin(options);
    closers.push(o.close);
    return o;
  }
  async function session(url: string): Promise<http2.ClientHttp2Session> {
    const s = await h2Session(url, certificate!);
    sessions.push(s);
    return s;
  }
  /** The h2 URLs of a front: cleartext (prior knowledge) and TLS (ALPN h2). */
  const h2Urls = (f: H2Front) => [`http://127.0.0.1:${f.h2cPort}`, `https://127.0.0.1:${f.tlsPort}`];

  describe('HAProxy itself (a raw node:http2 client, the ws package as origin)', () => {
    it('advertises SETTINGS_ENABLE_CONNECT_PROTOCOL on h2c and on TLS with ALPN h2', async () => {
      const f = await front((await wsOrigin()).port);
      for (const url of h2Urls(f)) {
        const s = await session(url);
        expect(s.remoteSettings.enableConnectProtocol, url).to.equal(true);
        if (url.startsWith('https:')) expect(s.alpnProtocol).to.equal('h2');
      }
    });

    it('answers 200, forwards an HTTP/1.1 upgrade built from the pseudo-headers, and echoes text and 1 MiB binary', async () => {
      const origin = await wsOrigin();
      const f = await front(origin.port);
      for (const url of h2Urls(f)) {
        const s = await extendedConnect(await session(url));
        expect(s.headers[':status'], url).to.equal(200);
        s.stream.write(masked({ opcode: 0x1, payload: 'hello' }));
        const big = randomBytes(1 << 20);
        s.stream.write(masked({ opcode: 0x2, payload: big }));
        const [text, binary] = await s.frames(2);
        expect(text).to.deep.include({ fin: true, rsv: 0, opcode: 0x1, masked: false });
        expect(text!.payload.toString()).to.equal('hello');
        expect(binary!.opcode).to.equal(0x2);
        expect(binary!.payload.equals(big), 'the 1 MiB echo').to.equal(true);
      }
      expect(origin.upgrades).to.have.length(2);
      for (const req of origin.upgrades) {
        expect(req.httpVersion).to.equal('1.1');
        expect(req.method).to.equal('GET');
        expect(req.url).to.equal('/echo?x=1');
        expect(req.headers).to.include({ host: 'example.test', upgrade: 'websocket', 'sec-websocket-version': '13' });
        expect(req.headers['connection']).to.match(/upgrade/i);
        expect(req.headers['sec-websocket-key'], 'HAProxy makes up the key h2 does not have').to.match(
          /^[A-Za-z0-9+/]{22}==$/,
        );
      }
      // One httplog line per stream, written when it ends: the front spoke HTTP/2, the origin 101.
      for (const h2 of sessions) h2.destroy();
      const logged = () => f.output().match(/ 101 .*"GET https?:\/\/example\.test\/echo\?x=1 HTTP\/2\.0"/g) ?? [];
      await until(() => logged().length === 2, 5000, 'two httplog lines');
    });

    it('passes Sec-WebSocket-Protocol and Sec-WebSocket-Extensions both ways (permessage-deflate end to end)', async () => {
      const origin = await wsOrigin({ deflate: true });
      const f = await front(origin.port);
      const s = await extendedConnect(await session(h2Urls(f)[0]!), {
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      });
      expect(s.headers[':status']).to.equal(200);
      expect(s.headers['sec-websocket-protocol']).to.equal('chat');
      expect(s.headers['sec-websocket-extensions']).to.equal('permessage-deflate');
      // HAProxy hands on the origin's accept value; an h2 client has no key to check it against.
      expect(s.headers['sec-websocket-accept']).to.be.a('string');
      expect(origin.upgrades[0]!.headers).to.include({
        'sec-websocket-protocol': 'chat, superchat',
        'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
      });
      s.stream.write(masked({ opcode: 0x1, payload: 'squeeze me squeeze me squeeze me' }));
      const [echo] = await s.frames(1);
      expect(echo!.rsv, 'the origin compressed its echo (RSV1)').to.equal(0x40);
    });

    it("an origin's refusal: its status and body, END_STREAM, then RST_STREAM(CANCEL)", async () => {
      const f = await front((await wsOrigin({ refuse: true })).port);
      const s = await extendedConnect(await session(h2Urls(f)[0]!));
      expect(s.headers[':status']).to.equal(403);
      const { rstCode, ended } = await s.closed; // this client never closes the stream itself
      expect(s.received().toString()).to.equal('Nope');
      expect({ rstCode, ended }).to.deep.equal({ rstCode: NGHTTP2_CANCEL, ended: true });
    });

    it('an origin that is down: 503 at once (retries 0)', async () => {
      const f = await front(await freePort());
      const started = Date.now();
      const s = await extendedConnect(await session(h2Urls(f)[1]!));
      expect(s.headers[':status']).to.equal(503);
      expect(Date.now() - started).to.be.below(1000);
    });

    it('an origin that ignores the upgrade and serves a page: the client gets 200 and the page bytes', async () => {
      const page = http.createServer((_req, res) => res.end('a page, not a websocket'));
      const srv = await listen(page);
      closers.push(srv.close);
      const f = await front(srv.port);
      const s = await extendedConnect(await session(h2Urls(f)[0]!));
      expect(s.headers[':status'], 'a 2xx that RFC 8441 calls success').to.equal(200);
      await s.closed;
      expect(s.received().toString()).to.equal('a page, not a websocket');
    });

    it("a client's RST_STREAM closes the origin's TCP connection (ws sees 1006)", async () => {
      const origin = await wsOrigin();
      const f = await front(origin.port);
      const s = await extendedConnect(await session(h2Urls(f)[0]!));
      s.stream.close(NGHTTP2_CANCEL);
      await until(() => origin.closes.length === 1, 5000, 'the origin WebSocket to close');
      expect(origin.closes).to.deep.equal([1006]);
    });

    it('the origin closing its TCP connection: END_STREAM, then RST_STREAM(CANCEL); the session lives on', async () => {
      const origin = await wsOrigin();
      const f = await front(origin.port);
      const h2 = await session(h2Urls(f)[1]!);
      const s = await extendedConnect(h2);
      s.stream.write(masked({ opcode: 0x1, payload: 'drop' }));
      expect(await s.closed).to.deep.equal({ rstCode: NGHTTP2_CANCEL, ended: true });
      const again = await extendedConnect(h2);
      again.stream.write(masked({ opcode: 0x1, payload: 'still here' }));
      expect((await again.frames(1))[0]!.payload.toString()).to.equal('still here');
    });

    it('timeout tunnel ends an idle WebSocket (END_STREAM, RST_STREAM(CANCEL)) and replaces timeout client', async () => {
      const origin = await wsOrigin();
      const f = await front(origin.port, { client: 300, server: 300, tunnel: 1500 });
      const s = await extendedConnect(await session(h2Urls(f)[0]!));
      const started = Date.now();
      await sleep(800); // idle well past timeout client/server: the tunnel timeout rules
      s.stream.write(masked({ opcode: 0x1, payload: 'awake' }));
      expect((await s.frames(1))[0]!.payload.toString()).to.equal('awake');
      expect(await s.closed).to.deep.equal({ rstCode: NGHTTP2_CANCEL, ended: true });
      expect(Date.now() - started).to.be.within(2000, 4000); // 800 ms + 1500 ms of silence
      await until(() => origin.closes.length === 1, 5000, 'the origin WebSocket to close');
      expect(origin.closes).to.deep.equal([1006]);
      expect(f.output(), 'termination flags: client-side timeout in the data phase').to.match(/ cD-- /);
    });

    it('without timeout tunnel, timeout client ends an idle WebSocket', async () => {
      const f = await front((await wsOrigin()).port, { client: 500 });
      const s = await extendedConnect(await session(h2Urls(f)[0]!));
      const started = Date.now();
      expect(await s.closed).to.deep.equal({ rstCode: NGHTTP2_CANCEL, ended: true });
      expect(Date.now() - started).to.be.within(400, 2000);
    });

    it('an h2 connection left without a stream gets GOAWAY(NO_ERROR) after timeout client', async () => {
      const f = await front((await wsOrigin()).port, { client: 500, tunnel: 30000 });
      const h2 = await session(h2Urls(f)[0]!);
      const s = await extendedConnect(h2);
      const away = goaway(h2);
      s.stream.close(NGHTTP2_CANCEL);
      const [code, lastStreamID] = await away;
      expect({ code, lastStreamID }).to.deep.equal({ code: 0, lastStreamID: 1 });
    });

    it('a soft stop (SIGUSR1) sends GOAWAY(NO_ERROR, 2^31-1) and the open WebSocket keeps working', async () => {
      const f = await front((await wsOrigin()).port);
      const h2 = await session(h2Urls(f)[1]!);
      const s = await extendedConnect(h2);
      const away = goaway(h2);
      f.softStop();
      const [code, lastStreamID] = await away;
      expect({ code, lastStreamID }).to.deep.equal({ code: 0, lastStreamID: 2 ** 31 - 1 });
      s.stream.write(masked({ opcode: 0x1, payload: 'after the GOAWAY' }));
      expect((await s.frames(1))[0]!.payload.toString()).to.equal('after the GOAWAY');
    });

    it('multiplexes WebSockets on one h2 connection, one origin connection each', async () => {
      const origin = await wsOrigin();
      const f = await front(origin.port);
      const h2 = await session(h2Urls(f)[0]!);
      const streams = await Promise.all([1, 2, 3].map(() => extendedConnect(h2)));
      streams.forEach((s, i) => s.stream.write(masked({ opcode: 0x1, payload: `stream ${i}` })));
      for (const [i, s] of streams.entries())
        expect((await s.frames(1))[0]!.payload.toString()).to.equal(`stream ${i}`);
      expect(new Set(origin.upgrades.map((r) => r.socket.remotePort)).size).to.equal(3);
    });
  });

  describe('our h2 client through HAProxy to our HTTP/1.1 WebSocketServer', () => {
    let origin: OurOrigin;
    let f: H2Front;
    beforeEach(async () => {
      origin = await startOurOrigin();
      closers.push(origin.close);
      f = await front(origin.port);
    });

    /** connect() with HTTP/2 (trusting the test certificate); the WebSocket is terminated after the test. */
    const opened: WebSocketDuplex[] = [];
    afterEach(() => {
      for (const ws of opened.splice(0)) ws.terminate();
    });
    async function h2(url: string, options: ConnectOptions = {}): Promise<WebSocketDuplex> {
      const ws = await connect(url, { http2: true, tls: { ca: certificate!.cert }, ...options });
      opened.push(ws);
      return ws;
    }
    /** The log lines HAProxy wrote for streams that went to the origin with 101. */
    const upgradesLogged = () => f.output().match(/ 101 \d+ .*HTTP\/2\.0"/g) ?? [];

    for (const [name, url] of [
      ['h2c (prior knowledge)', () => f.wsUrl],
      ['TLS with ALPN h2', () => f.wssUrl],
    ] as const) {
      describe(name, () => {
        it('text and 1 MiB binary echo; HTTP/2 to HAProxy, HTTP/1.1 to the origin; close 1000 clean on both sides', async () => {
          const ws = await h2(`${url()}/echo`);
          expect(ws.response).to.deep.include({ statusCode: 200, httpVersion: '2' });
          expect(await echo(ws, 'hello over h2')).to.deep.equal(['hello over h2', false]);
          const big = randomBytes(1 << 20);
          const [data, isBinary] = await echo(ws, big);
          expect(isBinary).to.equal(true);
          expect((data as Buffer).equals(big), 'the 1 MiB echo').to.equal(true);
          const closed = once<CloseArgs>(ws, 'close');
          ws.close(1000, 'done');
          expect(await closed).to.deep.equal([1000, 'done', true, null]);
          await until(() => origin.closes.length === 1, 5000, 'the origin to close');
          expect(origin.closes).to.deep.equal([[1000, 'done', true]]);
          expect(origin.opened[0]!.httpVersion).to.equal('1.1');
          await until(() => upgradesLogged().length === 1, 5000, 'the httplog line');
        });

        it('permessage-deflate end to end (HAProxy carries compressed bytes) and the subprotocol', async () => {
          const ws = await h2(`${url()}/echo`, { perMessageDeflate: true, subprotocols: ['superchat', 'chat'] });
          expect(ws.protocol).to.equal('chat');
          expect(ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
          expect(origin.opened[0]).to.deep.include({ protocol: 'chat', extensions: ['permessage-deflate'] });
          const text = 'all work and no play '.repeat(20000); // 420 kB, compresses well
          expect(await echo(ws, text)).to.deep.equal([text, false]);
          const closed = once<CloseArgs>(ws, 'close');
          ws.close();
          expect((await closed)[2]).to.equal(true);
          // httplog's bytes_read: what HAProxy sent back to this client on the stream.
          await until(() => upgradesLogged().length === 1, 5000, 'the httplog line');
          const bytes = Number(/ 101 (\d+) /.exec(upgradesLogged()[0]!)![1]);
          expect(bytes, 'bytes HAProxy relayed to the client').to.be.below(text.length / 20);
        });

        it("the origin closes with 4001 'bye': the client gets it, clean", async () => {
          const ws = await h2(`${url()}/echo`);
          const closed = once<CloseArgs>(ws, 'close');
          ws.send('close please');
          expect(await closed).to.deep.equal([4001, 'bye', true, null]);
        });

        it("the origin's refusal is a HandshakeRejectedError with HAProxy's status and the body", async () => {
          const error = await failure(h2(`${url()}/refuse`));
          expect(error).to.be.instanceOf(HandshakeRejectedError);
          expect(error).to.deep.include({ code: 'ERR_HANDSHAKE_REJECTED', statusCode: 403 });
          expect((error as HandshakeRejectedError).body.toString()).to.equal('no entry');
        });
      });
    }

    it('an origin that is down: HandshakeRejectedError 503', async () => {
      const down = await front(await freePort());
      const error = await failure(h2(`${down.wssUrl}/echo`));
      expect(error).to.be.instanceOf(HandshakeRejectedError);
      expect(error).to.have.property('statusCode', 503);
    });

    it('several WebSockets on one h2 session (http2: session): closing one leaves the session and the others', async () => {
      const h2session = await session(`https://127.0.0.1:${f.tlsPort}`);
      const wss = await Promise.all([1, 2, 3].map(() => h2(`${f.wssUrl}/echo`, { http2: h2session })));
      for (const [i, ws] of wss.entries()) expect(await echo(ws, `ws ${i}`)).to.deep.equal([`ws ${i}`, false]);
      const closed = once<CloseArgs>(wss[0]!, 'close');
      wss[0]!.close(1000);
      expect((await closed).slice(0, 3)).to.deep.equal([1000, '', true]);
      expect(h2session.closed || h2session.destroyed, 'the session is left open').to.equal(false);
      for (const ws of wss.slice(1)) expect(await echo(ws, 'still here')).to.deep.equal(['still here', false]);
      const fourth = await h2(`${f.wssUrl}/echo`, { http2: h2session });
      expect(await echo(fourth, 'a new one')).to.deep.equal(['a new one', false]);
      expect(origin.opened).to.have.length(4);
    });

    it("HAProxy's timeout tunnel: 1006 ERR_HTTP2_STREAM_RESET (CANCEL) on the client, 1006 at the origin", async () => {
      const short = await front(origin.port, { tunnel: 500 });
      const ws = await h2(`${short.wsUrl}/echo`);
      const [code, , wasClean, cause] = await once<CloseArgs>(ws, 'close', 5000);
      expect({ code, wasClean }).to.deep.equal({ code: 1006, wasClean: false });
      // HAProxy ends the stream with END_STREAM, then RST_STREAM(CANCEL): the cause names the reset.
      expect(cause?.code, String(cause)).to.equal('ERR_HTTP2_STREAM_RESET');
      expect(cause?.message).to.include('CANCEL');
      await until(() => origin.closes.length === 1, 5000, 'the origin to close');
      expect(origin.closes[0]!.slice(0, 1)).to.deep.equal([1006]);
    });

    it("a soft stop's GOAWAY(NO_ERROR) leaves the open WebSocket working, and it closes cleanly", async () => {
      const ws = await h2(`${f.wssUrl}/echo`);
      f.softStop();
      await sleep(300);
      expect(await echo(ws, 'after the GOAWAY')).to.deep.equal(['after the GOAWAY', false]);
      const closed = once<CloseArgs>(ws, 'close');
      ws.close(1000);
      expect((await closed).slice(0, 3)).to.deep.equal([1000, '', true]);
    });

    it("http2: 'prefer' over TLS picks h2; plain HTTP/1.1 through the same TLS port works too", async () => {
      const preferred = await connect(`${f.wssUrl}/echo`, { http2: 'prefer', tls: { ca: certificate!.cert } });
      opened.push(preferred);
      expect(preferred.response).to.have.property('httpVersion', '2');
      const h1 = await connect(`${f.wssUrl}/echo`, { tls: { ca: certificate!.cert } });
      opened.push(h1);
      expect(h1.response).to.have.property('statusCode', 101);
      expect(await echo(h1, 'over HTTP/1.1')).to.deep.equal(['over HTTP/1.1', false]);
    });

    it("an origin that ignores the upgrade and serves a page: HAProxy's 200 is success (RFC 8441 5), the page fails as frames: 1002", async () => {
      const page = http.createServer((_req, res) => res.end('a page, not a websocket'));
      const srv = await listen(page);
      closers.push(srv.close);
      const pageFront = await front(srv.port);
      const ws = await h2(`${pageFront.wsUrl}/echo`);
      const [code, , wasClean, cause] = await once<CloseArgs>(ws, 'close');
      // 'a' (0x61) read as a frame header has RSV2 and RSV3 set.
      expect({ code, wasClean, cause: cause?.code }).to.deep.equal({
        code: 1002,
        wasClean: false,
        cause: 'ERR_RESERVED_BITS',
      });
    });
  });
});
