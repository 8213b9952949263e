/**
 * Interop, RFC 8441: a real browser (Debian's Chromium, headless via playwright-core) opens
 * `wss://` WebSockets over the HTTP/2 connection its page came on, when the server
 * advertises SETTINGS_ENABLE_CONNECT_PROTOCOL. The server is the usual application shape:
 * one `http2.createSecureServer` (with `allowHTTP1`) whose ordinary 'request' handler
 * serves the pages, and our `WebSocketServer` attached to it on a path. Chromium trusts the
 * test's self-signed certificate by its SPKI hash, and no other.
 *
 * The page runs a scripted exchange (`window.exchange(cfg)`, awaited by `page.evaluate`):
 * texts (exact UTF-8 byte lengths, 1- to 4-byte characters) and ArrayBuffers of every size
 * up to 1 MiB, then a close. Both sides record the SHA-256 of every message they sent and
 * received, so the test compares page→server and server→page byte for byte. A passive
 * 'stream' listener records the session and headers of every HTTP/2 stream: which session
 * the extended CONNECT came on is checked independently of what the library reports.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import * as http2 from 'node:http2';
import type * as tls from 'node:tls';
import { WebSocketServer, type WebSocketDuplex } from '../../lib/index';
import { launchChromium, requireChromium, trustCertificate, within, type Browser, type Page } from '../helpers/browser';
import { listen } from '../helpers/net';
import { makeCertificate } from '../helpers/proxies';

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const PAGE_CLOSE = { code: 4000, reason: 'bye' };
const SERVER_CLOSE = { code: 4001, reason: 'bye' };
const TRIGGER = 'close now, please';
const WS_PATH = '/ws';

/** One message as one side saw it: its kind, its byte length and the SHA-256 of its bytes (hex). */
interface Seen {
  kind: 'text' | 'binary';
  size: number;
  sha256: string;
}

/** What `window.exchange` returns (and keeps in `window.partial` while it runs). */
interface PageResult {
  protocol: string | null;
  extensions: string | null;
  sent: Seen[];
  echoed: Seen[];
  close: { code: number; reason: string; wasClean: boolean } | null;
  /** With `fetchAfter`: the status of a request made after the close. */
  after: number | null;
  errors: string[];
}

/** The page's script: `window.exchange(cfg)` opens a WebSocket to `cfg.path`, runs the exchange, resolves with a PageResult. */
const PAGE_SCRIPT = `'use strict';
window.partial = null;
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}
// One character of each UTF-8 length, plus a space: texts of an exact byte length.
const CHARS = ['a', ' ', '\\u00e9', '\\u20ac', '\\u{1f30d}'];
const utf8Length = (c) => { const cp = c.codePointAt(0); return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; };
function makeText(n, seed) {
  const next = prng(seed);
  let text = '';
  for (let left = n; left > 0; ) {
    let c = CHARS[next() % CHARS.length];
    if (utf8Length(c) > left) c = 'a';
    text += c;
    left -= utf8Length(c);
  }
  return text;
}
function makeBytes(n, seed) {
  const next = prng(seed);
  const bytes = new Uint8Array(n);
  // Random and regular 1 KiB runs, so that compression has something to do either way.
  for (let i = 0; i < n; i++) bytes[i] = (i >> 10) & 1 ? i & 255 : next() & 255;
  return bytes;
}
const encoder = new TextEncoder();
async function seen(kind, bytes) {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return { kind, size: bytes.length, sha256: Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('') };
}

window.exchange = async (cfg) => {
  const r = { protocol: null, extensions: null, sent: [], echoed: [], close: null, after: null, errors: [] };
  window.partial = r;
  const ws = new WebSocket('wss://' + location.host + cfg.path, cfg.protocols);
  ws.binaryType = 'arraybuffer';
  const inbox = [];
  let wake = null;
  ws.onmessage = (e) => { inbox.push(e.data); if (wake !== null) wake(); };
  ws.onerror = () => r.errors.push('websocket error event');
  const closed = new Promise((resolve) => {
    ws.onclose = (e) => {
      r.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
      resolve();
      if (wake !== null) wake();
    };
  });
  const opened = await new Promise((resolve) => { ws.onopen = () => resolve(true); closed.then(() => resolve(false)); });
  if (!opened) return r;
  r.protocol = ws.protocol;
  r.extensions = ws.extensions;

  for (const [i, n] of cfg.sizes.entries()) {
    const text = makeText(n, 1000 + i);
    ws.send(text);
    r.sent.push(await seen('text', encoder.encode(text)));
    const bytes = makeBytes(n, 2000 + i);
    ws.send(bytes.buffer);
    r.sent.push(await seen('binary', bytes));
  }
  while (r.echoed.length < r.sent.length && r.close === null) {
    if (inbox.length === 0) {
      await new Promise((resolve) => { wake = resolve; });
      wake = null;
      continue;
    }
    const data = inbox.shift();
    if (typeof data === 'string') r.echoed.push(await seen('text', encoder.encode(data)));
    else r.echoed.push(await seen('binary', new Uint8Array(data)));
  }
  if (r.close === null) {
    if (cfg.finish.by === 'page') ws.close(cfg.finish.code, cfg.finish.reason);
    else ws.send(cfg.finish.trigger);
  }
  await closed;
  if (inbox.length > 0) r.errors.push(inbox.length + ' messages after the echoes');
  // One more request once the WebSocket is gone: the server sees on which session it comes.
  if (cfg.fetchAfter) r.after = (await fetch('/after-close', { cache: 'no-store' })).status;
  return r;
};
`;

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsproto over HTTP/2</title></head>
<body><script>${PAGE_SCRIPT}</script></body></html>
`;

/** How a page ends its exchange: it closes, or it asks the server to. */
type Finish = { by: 'page'; code: number; reason: string } | { by: 'server'; trigger: string };

/** The SHA-256 record of a message, as the page makes it. */
function seenOf(data: string | Buffer, isBinary: boolean): Seen {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return {
    kind: isBinary ? 'binary' : 'text',
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

type CloseArgs = [code: number, reason: string, wasClean: boolean];

/** A WebSocket the server accepted, with what came with it. */
interface Accepted {
  ws: WebSocketDuplex;
  httpVersion: string;
  /** The HTTP/2 session it came on, as the request given to 'connection' tells (null over HTTP/1.1). */
  session: http2.Http2Session | null;
  received: Seen[];
  closed: Promise<CloseArgs>;
}

/** A stream of the HTTP/2 server, as a passive 'stream' listener saw it. */
interface H2Stream {
  session: http2.Http2Session;
  id: number;
  headers: http2.IncomingHttpHeaders;
}

/**
 * SETTINGS_ENABLE_CONNECT_PROTOCOL: given when the server is made; left to the
 * WebSocketServer (attaching turns it on); or turned off by the application after attaching.
 */
type ConnectProtocol = 'given' | 'by-attach' | 'off';

/**
 * An http2 secure server (allowHTTP1) serving the page from its 'request' handler, with our
 * WebSocketServer on WS_PATH: it echoes, and closes with SERVER_CLOSE on TRIGGER.
 */
async function startServer(
  certificate: { key: Buffer; cert: Buffer },
  connectProtocol: ConnectProtocol,
  deflate: boolean,
) {
  const alpn: string[] = []; // ALPN of every TLS connection, in order
  const sessions: http2.Http2Session[] = [];
  const streams: H2Stream[] = [];
  const pages: { httpVersion: string; session: http2.Http2Session | null }[] = [];
  const accepted: Accepted[] = [];

  const server = http2.createSecureServer(
    {
      key: certificate.key,
      cert: certificate.cert,
      allowHTTP1: true,
      ...(connectProtocol === 'given' ? { settings: { enableConnectProtocol: true } } : {}),
    },
    (req, res) => {
      if (req.method === 'GET' && req.url === '/') {
        pages.push({ httpVersion: req.httpVersion, session: req.stream?.session ?? null });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(PAGE);
      } else if (req.url === '/favicon.ico' || req.url === '/after-close') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    },
  );
  server.on('secureConnection', (socket: tls.TLSSocket) => alpn.push(String(socket.alpnProtocol)));
  // The session's own 'stream' event: the WebSocketServer claims extended CONNECT streams
  // from the server's 'stream' event, but every stream is still announced on its session.
  server.on('session', (session) => {
    sessions.push(session);
    session.on('stream', (stream, headers) => streams.push({ session, id: stream.id ?? -1, headers }));
  });

  const wss = new WebSocketServer({
    server,
    path: WS_PATH,
    perMessageDeflate: deflate,
    selectSubprotocol: (offered) => (offered.includes('chat') ? 'chat' : null),
  });
  if (connectProtocol === 'off') server.updateSettings({ enableConnectProtocol: false });
  wss.on('connection', (ws, req) => {
    const up: Accepted = {
      ws,
      httpVersion: req.httpVersion,
      session: 'session' in req ? req.session : null,
      received: [],
      closed: new Promise<CloseArgs>((resolve) =>
        ws.once('close', (code, reason, wasClean) => resolve([code, reason, wasClean])),
      ),
    };
    accepted.push(up);
    ws.on('message', (data, isBinary) => {
      up.received.push(seenOf(data, isBinary));
      if (!isBinary && data === TRIGGER) ws.close(SERVER_CLOSE.code, SERVER_CLOSE.reason);
      else ws.send(data, { binary: isBinary });
    });
  });

  const srv = await listen(server);
  return {
    port: srv.port,
    alpn,
    sessions,
    streams,
    pages,
    accepted,
    close: async () => {
      await within(wss.close({ timeout: 1000 }), 5000, 'the WebSocketServer to close').catch(() => undefined);
      await srv.close();
    },
  };
}

/** Open the page in a fresh context, run `exchanges` WebSockets at once, return their results (bounded). */
async function runPage(
  browser: Browser,
  url: string,
  cfg: { finish: Finish; sizes?: number[]; exchanges?: number; fetchAfter?: boolean },
): Promise<{ results: PageResult[]; info: () => string }> {
  const context = await browser.newContext();
  const log: string[] = [];
  const info = () => log.join('\n');
  try {
    const p: Page = await context.newPage();
    p.setDefaultTimeout(20000);
    p.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
    p.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    const response = await p.goto(url, { timeout: 10000, waitUntil: 'load' });
    expect(response?.status(), 'the page loads').to.equal(200);
    const pageCfg = {
      path: WS_PATH,
      protocols: ['chat'],
      sizes: cfg.sizes ?? SIZES,
      finish: cfg.finish,
      fetchAfter: cfg.fetchAfter ?? false,
    };
    const count = cfg.exchanges ?? 1;
    try {
      const results = (await within(
        p.evaluate(
          ([c, n]) => {
            const w = globalThis as unknown as { exchange: (c: unknown) => Promise<unknown> };
            return Promise.all(Array.from({ length: n }, () => w.exchange(c)));
          },
          [pageCfg, count] as const,
        ),
        30000,
        'the page to finish its exchange',
      )) as PageResult[];
      return { results, info };
    } catch (e) {
      // Still say what the page got so far.
      log.push(`partial: ${JSON.stringify(await p.evaluate('window.partial').catch((err: Error) => err.message))}`);
      throw new Error(`${(e as Error).message}\n${info()}`);
    }
  } finally {
    await within(context.close(), 10000, 'the browser context to close').catch(() => undefined);
  }
}

/** The page's echoes equal what it sent; the server received exactly what the page sent. */
function expectIntact(result: PageResult, up: Accepted, info: () => string, sizes = SIZES): void {
  expect(result.errors, info()).to.deep.equal([]);
  const kinds = sizes.flatMap((n) => [
    { kind: 'text', size: n },
    { kind: 'binary', size: n },
  ]);
  expect(
    result.sent.map(({ kind, size }) => ({ kind, size })),
    'what the page sent',
  ).to.deep.equal(kinds);
  expect(up.received.slice(0, result.sent.length), 'page → server, byte for byte').to.deep.equal(result.sent);
  expect(result.echoed, 'server → page, byte for byte').to.deep.equal(result.sent);
}

describe('interop: Chromium opens WebSockets over its HTTP/2 connection (RFC 8441 extended CONNECT)', function () {
  this.timeout(60000);
  let browser: Browser | null = null;
  let certificate: ReturnType<typeof makeCertificate> | null = null;

  before(async function () {
    requireChromium(this);
    certificate = makeCertificate();
    browser = await launchChromium([trustCertificate(certificate.cert)]);
  });

  after(async function () {
    this.timeout(15000);
    if (browser !== null) await within(browser.close(), 10000, 'the browser to close').catch(() => undefined);
    browser = null;
    certificate?.cleanup();
    certificate = null;
  });

  for (const deflate of [true, false]) {
    it(`echoes text and ArrayBuffers 0 B - 1 MiB both ways over the page's own h2 session, compression ${deflate ? 'on' : 'off'}; the page closes with 4000 "bye"`, async function () {
      const srv = await startServer(certificate!, 'given', deflate);
      try {
        const { results, info } = await runPage(browser!, `https://localhost:${srv.port}/`, {
          finish: { by: 'page', ...PAGE_CLOSE },
          fetchAfter: true,
        });
        const result = results[0]!;

        // One TLS connection, h2 by ALPN; the page and the WebSocket came on its one session.
        expect(srv.alpn, info()).to.deep.equal(['h2']);
        expect(srv.sessions).to.have.length(1);
        const session = srv.sessions[0]!;
        expect(srv.pages).to.deep.equal([{ httpVersion: '2.0', session }]);
        const connects = srv.streams.filter((s) => s.headers[':method'] === 'CONNECT');
        expect(connects, 'extended CONNECT streams').to.have.length(1);
        const connect = connects[0]!;
        expect(connect.session === session, 'the CONNECT came on the page session').to.equal(true);
        expect(connect.headers).to.include({
          ':protocol': 'websocket',
          ':scheme': 'https',
          ':path': WS_PATH,
          ':authority': `localhost:${srv.port}`,
          'sec-websocket-version': '13',
          'sec-websocket-protocol': 'chat',
          origin: `https://localhost:${srv.port}`,
        });
        // RFC 8441 4: no Sec-WebSocket-Key, no Upgrade / Connection over HTTP/2.
        expect(connect.headers).to.not.have.any.keys('sec-websocket-key', 'upgrade', 'connection');
        expect(connect.headers['sec-websocket-extensions'] ?? '', 'Chromium offers permessage-deflate').to.match(
          /^permessage-deflate\b/,
        );

        // What our server says about it.
        expect(srv.accepted, info()).to.have.length(1);
        const up = srv.accepted[0]!;
        expect(up.httpVersion).to.equal('2.0');
        expect(up.session === session, "the 'connection' request's stream is on the page session").to.equal(true);

        // Negotiation, as both sides see it.
        expect(result.protocol).to.equal('chat');
        expect(up.ws.protocol).to.equal('chat');
        if (deflate) {
          expect(result.extensions, info()).to.match(/^permessage-deflate\b/);
          expect(up.ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        } else {
          expect(result.extensions, info()).to.equal('');
          expect(up.ws.extensions).to.deep.equal([]);
        }

        expectIntact(result, up, info);
        expect(up.received, 'nothing after the echoes').to.have.length(result.sent.length);

        // The close, as the page saw it (our reply carries its code) and as our stream saw it.
        expect(result.close, info()).to.deep.include({ code: PAGE_CLOSE.code, wasClean: true });
        expect(['', PAGE_CLOSE.reason]).to.include(result.close!.reason);
        const closed = await within(up.closed, 10000, "the server stream's 'close'");
        expect(closed).to.deep.equal([PAGE_CLOSE.code, PAGE_CLOSE.reason, true]);
        // Closing the WebSocket ended its stream, not the session: the page's next request came on it.
        expect(result.after, info()).to.equal(204);
        const after = srv.streams.filter((s) => s.headers[':path'] === '/after-close');
        expect(after, 'the request after the close').to.have.length(1);
        expect(after[0]!.session === session, 'on the same session').to.equal(true);
        expect(srv.alpn, 'still one TLS connection').to.deep.equal(['h2']);
      } finally {
        await srv.close();
      }
    });
  }

  it('the server closes with 4001 "bye": the page gets code, reason and wasClean', async function () {
    const srv = await startServer(certificate!, 'given', true);
    try {
      const sizes = [0, 3, 70000];
      const { results, info } = await runPage(browser!, `https://localhost:${srv.port}/`, {
        sizes,
        finish: { by: 'server', trigger: TRIGGER },
      });
      const result = results[0]!;
      expect(srv.accepted, info()).to.have.length(1);
      const up = srv.accepted[0]!;
      expect(up.httpVersion).to.equal('2.0');
      expect(up.session === srv.sessions[0], info()).to.equal(true);
      expectIntact(result, up, info, sizes);
      expect(up.received.slice(result.sent.length), 'then the trigger').to.deep.equal([seenOf(TRIGGER, false)]);
      expect(result.close, info()).to.deep.equal({ ...SERVER_CLOSE, wasClean: true });
      const closed = await within(up.closed, 10000, "the server stream's 'close'");
      expect(closed).to.deep.equal([SERVER_CLOSE.code, SERVER_CLOSE.reason, true]);
    } finally {
      await srv.close();
    }
  });

  it('three WebSockets of one page share its h2 session, one extended CONNECT stream each', async function () {
    const srv = await startServer(certificate!, 'given', true);
    try {
      const sizes = [5, 1000, 100000];
      const { results, info } = await runPage(browser!, `https://localhost:${srv.port}/`, {
        sizes,
        exchanges: 3,
        finish: { by: 'page', ...PAGE_CLOSE },
      });
      expect(srv.alpn, info()).to.deep.equal(['h2']);
      expect(srv.sessions).to.have.length(1);
      const connects = srv.streams.filter((s) => s.headers[':method'] === 'CONNECT');
      expect(connects).to.have.length(3);
      expect(new Set(connects.map((s) => s.id)).size, 'distinct stream ids').to.equal(3);
      for (const s of connects) expect(s.session === srv.sessions[0]).to.equal(true);
      expect(srv.accepted, info()).to.have.length(3);
      // The same deterministic messages on every socket: each server socket got them all, intact.
      for (const [i, up] of srv.accepted.entries()) {
        expect(up.session === srv.sessions[0], `socket ${i} on the page session`).to.equal(true);
        expectIntact(results[i]!, up, info, sizes);
        const closed = await within(up.closed, 10000, `server socket ${i} to close`);
        expect(closed).to.deep.equal([PAGE_CLOSE.code, PAGE_CLOSE.reason, true]);
      }
    } finally {
      await srv.close();
    }
  });

  it('a server made without SETTINGS_ENABLE_CONNECT_PROTOCOL: attaching the WebSocketServer turns it on, Chromium uses extended CONNECT', async function () {
    const srv = await startServer(certificate!, 'by-attach', true);
    try {
      const sizes = [0, 126, 65536];
      const { results, info } = await runPage(browser!, `https://localhost:${srv.port}/`, {
        sizes,
        finish: { by: 'page', ...PAGE_CLOSE },
      });
      expect(srv.alpn, info()).to.deep.equal(['h2']);
      expect(srv.sessions).to.have.length(1);
      expect(srv.sessions[0]!.localSettings.enableConnectProtocol, 'advertised').to.equal(true);
      expect(srv.accepted, info()).to.have.length(1);
      const up = srv.accepted[0]!;
      expect(up.httpVersion).to.equal('2.0');
      expect(up.session === srv.sessions[0], 'on the page session').to.equal(true);
      expect(srv.streams.filter((s) => s.headers[':method'] === 'CONNECT')).to.have.length(1);
      expectIntact(results[0]!, up, info, sizes);
      const closed = await within(up.closed, 10000, "the server stream's 'close'");
      expect(closed).to.deep.equal([PAGE_CLOSE.code, PAGE_CLOSE.reason, true]);
    } finally {
      await srv.close();
    }
  });

  it('the application turns SETTINGS_ENABLE_CONNECT_PROTOCOL off: Chromium opens a second TLS connection (ALPN http/1.1) and upgrades there, same port, same WebSocketServer', async function () {
    const srv = await startServer(certificate!, 'off', true);
    try {
      const sizes = [0, 126, 65536];
      const { results, info } = await runPage(browser!, `https://localhost:${srv.port}/`, {
        sizes,
        finish: { by: 'page', ...PAGE_CLOSE },
      });
      const result = results[0]!;
      // The page came over h2; the WebSocket on a connection of its own, over HTTP/1.1.
      expect(srv.alpn, info()).to.deep.equal(['h2', 'http/1.1']);
      expect(srv.sessions).to.have.length(1);
      expect(srv.sessions[0]!.localSettings.enableConnectProtocol, 'not advertised').to.equal(false);
      expect(srv.pages).to.deep.equal([{ httpVersion: '2.0', session: srv.sessions[0] }]);
      expect(srv.streams.filter((s) => s.headers[':method'] === 'CONNECT')).to.deep.equal([]);
      expect(srv.accepted, info()).to.have.length(1);
      const up = srv.accepted[0]!;
      expect(up.httpVersion).to.equal('1.1');
      expect(up.session).to.equal(null);
      expect(result.extensions, info()).to.match(/^permessage-deflate\b/);
      expectIntact(result, up, info, sizes);
      expect(result.close, info()).to.deep.include({ code: PAGE_CLOSE.code, wasClean: true });
      const closed = await within(up.closed, 10000, "the server stream's 'close'");
      expect(closed).to.deep.equal([PAGE_CLOSE.code, PAGE_CLOSE.reason, true]);
    } finally {
      await srv.close();
    }
  });
});
