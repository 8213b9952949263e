/**
 * Interop: a real browser (Debian's Chromium, driven headless by playwright-core) against
 * our server behind an http.Server. The page is served by the same server and opens a
 * WebSocket to it; Chromium always offers permessage-deflate. The page checks every echo
 * byte for byte and reports to the test through `window.result`.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import { handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { launchChromium, requireChromium, within, type Browser, type Page } from '../helpers/browser';
import { listen } from '../helpers/net';

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const CLIENT_CLOSE = { code: 4000, reason: 'finished: ünïcödé ✓' };
const SERVER_CLOSE = { code: 4001, reason: 'bye' };
const TRIGGER = 'close after this one';

/** What the page reports in `window.result`. */
interface PageResult {
  done: boolean;
  protocol: string | null;
  extensions: string | null;
  sent: { kind: 'text' | 'binary'; size: number }[];
  echoes: { kind: string; size: number; ok: boolean; gotBytes: number; firstMismatch: number }[];
  received: string[];
  close: { code: number; reason: string; wasClean: boolean } | null;
  errors: string[];
}

/**
 * The page. `mode=echo`: send text and binary of every size, check the echoes, close with
 * CLIENT_CLOSE. `mode=server-close`: send a few messages ending with TRIGGER, record the
 * echoes and the server's close. Text of `n` bytes is exactly n bytes of UTF-8, a
 * pseudo-random mix of 1- to 4-byte characters; binary mixes random and regular 1 KiB runs.
 */
function page(): string {
  const config = { sizes: SIZES, clientClose: CLIENT_CLOSE, trigger: TRIGGER };
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>wsproto browser interop</title></head>
<body><script>
'use strict';
const CONFIG = ${JSON.stringify(config)};
const mode = new URLSearchParams(location.search).get('mode');
const result = { done: false, protocol: null, extensions: null, sent: [], echoes: [], received: [], close: null, errors: [] };
window.result = result;
window.addEventListener('error', (e) => result.errors.push('page error: ' + e.message));

function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}
const ALPHABET = [0x61, 0x20, 0xe9, 0xdf, 0x20ac, 0x4e2d, 0x1f600, 0x1d11e, 0x0a, 0x7f, 0x7ff, 0x800, 0xfffd, 0x10ffff]
  .map((cp) => String.fromCodePoint(cp));
const utf8Length = (c) => { const cp = c.codePointAt(0); return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; };
function makeText(n, seed) {
  const next = prng(seed);
  const parts = [];
  let left = n;
  while (left > 0) {
    let c = ALPHABET[next() % ALPHABET.length];
    if (utf8Length(c) > left) c = 'x';
    parts.push(c);
    left -= utf8Length(c);
  }
  return parts.join('');
}
function makeBytes(n, seed) {
  const next = prng(seed);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = (i >> 10) & 1 ? i & 255 : next() & 255;
  return bytes;
}
function firstMismatch(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
const encoder = new TextEncoder();

const ws = new WebSocket('ws://' + location.host + '/socket', ['chat']);
ws.binaryType = 'arraybuffer';
ws.onerror = () => result.errors.push('websocket error event');
ws.onclose = (e) => {
  result.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
  result.done = true;
};

if (mode === 'echo') {
  const expected = [];
  ws.onopen = () => {
    result.protocol = ws.protocol;
    result.extensions = ws.extensions;
    CONFIG.sizes.forEach((n, i) => {
      const text = makeText(n, 1000 + i);
      if (encoder.encode(text).length !== n) result.errors.push('text of ' + n + ' bytes has the wrong length');
      expected.push({ kind: 'text', size: n, value: text });
      ws.send(text);
      result.sent.push({ kind: 'text', size: n });
      const bytes = makeBytes(n, 2000 + i);
      expected.push({ kind: 'binary', size: n, value: bytes });
      ws.send(bytes.buffer);
      result.sent.push({ kind: 'binary', size: n });
    });
  };
  ws.onmessage = (e) => {
    const want = expected[result.echoes.length];
    if (want === undefined) { result.errors.push('unexpected extra message'); return; }
    let ok = false, gotBytes = -1, mismatch = -2;
    if (want.kind === 'text' && typeof e.data === 'string') {
      const got = encoder.encode(e.data);
      gotBytes = got.length;
      mismatch = firstMismatch(got, encoder.encode(want.value));
      ok = mismatch === -1 && e.data === want.value;
    } else if (want.kind === 'binary' && e.data instanceof ArrayBuffer) {
      const got = new Uint8Array(e.data);
      gotBytes = got.length;
      mismatch = firstMismatch(got, want.value);
      ok = mismatch === -1;
    }
    result.echoes.push({ kind: typeof e.data === 'string' ? 'text' : 'binary', size: want.size, ok, gotBytes, firstMismatch: mismatch });
    if (result.echoes.length === expected.length) ws.close(CONFIG.clientClose.code, CONFIG.clientClose.reason);
  };
} else if (mode === 'server-close') {
  ws.onopen = () => {
    result.protocol = ws.protocol;
    result.extensions = ws.extensions;
    ws.send('one');
    ws.send(new Uint8Array([1, 2, 3]).buffer);
    ws.send(CONFIG.trigger);
  };
  ws.onmessage = (e) => {
    result.received.push(typeof e.data === 'string' ? 'text:' + e.data : 'binary:' + Array.from(new Uint8Array(e.data)).join(','));
  };
} else {
  result.errors.push('unknown mode ' + mode);
  result.done = true;
}
</script></body></html>
`;
}

type CloseArgs = [code: number, reason: string, wasClean: boolean];

interface Upgrade {
  offered: string | undefined;
  ws: WebSocketDuplex;
  closed: Promise<CloseArgs>;
  received: { binary: boolean; bytes: number }[];
}

/** An http.Server serving the page at / and WebSocket upgrades (echo, and a close on TRIGGER). */
async function startServer(deflate: boolean) {
  const upgrades: Upgrade[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '/').split('?')[0] === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    const ws = handleUpgrade(req, socket, head, {
      perMessageDeflate: deflate,
      selectSubprotocol: (offered) => (offered.includes('chat') ? 'chat' : null),
    });
    const up: Upgrade = {
      offered: req.headers['sec-websocket-extensions'],
      ws,
      received: [],
      closed: new Promise<CloseArgs>((resolve) =>
        ws.once('close', (code: number, reason: string, wasClean: boolean) => resolve([code, reason, wasClean])),
      ),
    };
    upgrades.push(up);
    ws.on('message', (data: string | Buffer, isBinary: boolean) => {
      up.received.push({ binary: isBinary, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length });
      ws.send(data, { binary: isBinary });
      if (!isBinary && data === TRIGGER) ws.close(SERVER_CLOSE.code, SERVER_CLOSE.reason);
    });
  });
  const srv = await listen(server);
  return { ...srv, upgrades };
}

/** Open the page in a fresh context, wait (bounded) for `window.result.done`, return it. */
async function runPage(browser: Browser, url: string): Promise<{ result: PageResult; log: string[] }> {
  const context = await browser.newContext();
  const log: string[] = [];
  try {
    const p: Page = await context.newPage();
    p.setDefaultTimeout(20000);
    p.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
    p.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
    await p.goto(url, { timeout: 10000, waitUntil: 'load' });
    try {
      await p.waitForFunction('window.result !== undefined && window.result.done === true', null, {
        timeout: 20000,
        polling: 50,
      });
    } finally {
      // On a timeout, still read what the page got so far for the failure message.
      log.push(`result: ${JSON.stringify(await p.evaluate('window.result').catch((e: Error) => e.message))}`);
    }
    const result = (await p.evaluate('window.result')) as PageResult;
    return { result, log };
  } finally {
    await within(context.close(), 10000, 'the browser context to close').catch(() => undefined);
  }
}

describe('interop: Chromium (headless, playwright-core) against our server', function () {
  this.timeout(30000);
  let browser: Browser | null = null;

  before(async function () {
    requireChromium(this);
    browser = await launchChromium();
  });

  after(async function () {
    this.timeout(15000);
    if (browser !== null) await within(browser.close(), 10000, 'the browser to close').catch(() => undefined);
    browser = null;
  });

  for (const deflate of [true, false]) {
    it(`echoes text and binary 0 B - 1 MiB byte for byte, compression ${deflate ? 'on' : 'off'}, browser closes with 4000`, async function () {
      const srv = await startServer(deflate);
      try {
        const { result, log } = await runPage(browser!, `http://127.0.0.1:${srv.port}/?mode=echo`);
        const info = log.join('\n');
        expect(result.errors, info).to.deep.equal([]);
        expect(srv.upgrades, info).to.have.length(1);
        const up = srv.upgrades[0]!;

        // Negotiation: Chromium offers permessage-deflate; we accept it when enabled.
        expect(up.offered ?? '', 'Chromium offers permessage-deflate').to.match(/^permessage-deflate\b/);
        expect(result.protocol).to.equal('chat');
        if (deflate) {
          expect(result.extensions, info).to.match(/^permessage-deflate\b/);
          expect(up.ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        } else {
          expect(result.extensions, info).to.equal('');
          expect(up.ws.extensions).to.deep.equal([]);
        }

        // What the server got, in order, with the right type and UTF-8 byte length.
        const sent = SIZES.flatMap((n) => [
          { binary: false, bytes: n },
          { binary: true, bytes: n },
        ]);
        expect(up.received, info).to.deep.equal(sent);

        // Every echo arrived, in order, with the right type, equal byte for byte.
        expect(result.sent).to.have.length(2 * SIZES.length);
        expect(result.echoes, info).to.have.length(2 * SIZES.length);
        result.echoes.forEach((echo, i) => {
          const want = result.sent[i]!;
          expect(echo, `echo #${i} (${want.kind}, ${want.size} bytes)`).to.deep.equal({
            kind: want.kind,
            size: want.size,
            ok: true,
            gotBytes: want.size,
            firstMismatch: -1,
          });
        });

        // The close handshake, as the browser saw it: our reply carries its code.
        expect(result.close, info).to.not.equal(null);
        expect(result.close!.code).to.equal(CLIENT_CLOSE.code);
        expect(result.close!.wasClean).to.equal(true);
        expect(['', CLIENT_CLOSE.reason]).to.include(result.close!.reason);

        // ... and as our stream saw it: the browser's code and reason, clean.
        const closed = await within(up.closed, 10000, "the server stream's 'close'");
        expect(closed).to.deep.equal([CLIENT_CLOSE.code, CLIENT_CLOSE.reason, true]);
      } finally {
        await srv.close();
      }
    });
  }

  it('sees a server-initiated close (4001 "bye") after the last echo, cleanly', async function () {
    const srv = await startServer(true);
    try {
      const { result, log } = await runPage(browser!, `http://127.0.0.1:${srv.port}/?mode=server-close`);
      const info = log.join('\n');
      expect(result.errors, info).to.deep.equal([]);
      expect(result.extensions, info).to.match(/^permessage-deflate\b/);
      // Every message sent before the close was echoed, the trigger's echo included.
      expect(result.received, info).to.deep.equal(['text:one', 'binary:1,2,3', `text:${TRIGGER}`]);
      expect(result.close, info).to.deep.equal({
        code: SERVER_CLOSE.code,
        reason: SERVER_CLOSE.reason,
        wasClean: true,
      });

      expect(srv.upgrades).to.have.length(1);
      const up = srv.upgrades[0]!;
      expect(up.received).to.deep.equal([
        { binary: false, bytes: 3 },
        { binary: true, bytes: 3 },
        { binary: false, bytes: TRIGGER.length },
      ]);
      const closed = await within(up.closed, 10000, "the server stream's 'close'");
      expect(closed).to.deep.equal([SERVER_CLOSE.code, SERVER_CLOSE.reason, true]);
    } finally {
      await srv.close();
    }
  });
});
