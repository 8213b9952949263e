/**
 * examples/http2: one port serving a page and WebSockets over HTTP/2 (RFC 8441) and
 * HTTP/1.1 at once, as its users meet it: our client over h2 and `ws` over HTTP/1.1 to
 * the same port, the page fetched over both versions, the self-signed certificate it
 * makes and the hints it prints, client.ts's many WebSockets on one session, SIGTERM,
 * and a real Chromium whose WebSocket rides the page's HTTP/2 connection.
 */
import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { connect } from '../lib/index';
import { launchChromium, requireChromium, trustCertificate, within, type Browser } from './helpers/browser';
import { startExample, stopExample, type RunningExample } from './helpers/examples';
import { once, until } from './helpers/net';
import { makeCertificate } from './helpers/proxies';

// Below the example's SHUTDOWN_MS (2000), after which it drops what did not close.
const EXIT_BOUND_MS = 1500;

/** The https:// origin the example prints (waits for it). */
async function originOf(ex: RunningExample): Promise<string> {
  const pattern = /^http2: (https:\/\/127\.0\.0\.1:\d+)\/ \(page\)/m;
  await until(() => pattern.test(ex.output()), 15000, `the example to print its URL (stderr: ${ex.errors()})`);
  return pattern.exec(ex.output())![1]!;
}

/** Every message an emitter ('message' (data, isBinary)) receives, in order, awaitable one by one. */
function inbox(emitter: NodeJS.EventEmitter): () => Promise<[Buffer | string, boolean]> {
  const got: [Buffer | string, boolean][] = [];
  emitter.on('message', (data: Buffer | string, isBinary: boolean) => got.push([data, isBinary]));
  return async () => {
    await until(() => got.length > 0, 5000, 'a message');
    return got.shift()!;
  };
}

/** GET `path` over HTTP/2 on `session`: status, content-type, body. */
function h2Get(session: http2.ClientHttp2Session, path: string) {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const request = session.request({ ':path': path });
    let body = '';
    let head: http2.IncomingHttpHeaders = {};
    request.setEncoding('utf8');
    request.on('response', (headers) => (head = headers));
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => resolve({ status: Number(head[':status']), type: String(head['content-type']), body }));
    request.on('error', reject);
    request.end();
  });
}

/** GET `url` over HTTPS/1.1 (no ALPN: the server's allowHTTP1 path) with `agent`. */
function h1Get(url: string, agent: https.Agent) {
  return new Promise<{ status: number; version: string; body: string }>((resolve, reject) => {
    https
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, version: res.httpVersion, body }));
      })
      .on('error', reject);
  });
}

describe('examples/http2: a page and WebSockets over HTTP/2 and HTTP/1.1 on one port', function () {
  this.timeout(60000);
  let certificate: ReturnType<typeof makeCertificate>;
  let dir: string;
  let files: string[];

  before(() => {
    certificate = makeCertificate();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-example-http2-'));
    files = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    fs.writeFileSync(files[0]!, certificate.cert);
    fs.writeFileSync(files[1]!, certificate.key);
  });

  after(() => {
    certificate.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const withGivenCertificate = () => startExample('http2', ['--cert', files[0]!, '--key', files[1]!]);

  it('--cert/--key: our client over h2 gets welcome 2.0, `ws` over HTTP/1.1 gets 1.1, both echo; the page over h2 and HTTP/1.1', async () => {
    const ex = withGivenCertificate();
    const ca = certificate.cert;
    const agent = new https.Agent({ ca, keepAlive: true });
    let session: http2.ClientHttp2Session | null = null;
    try {
      const origin = await originOf(ex);
      expect(ex.output()).to.include(`certificate: ${files[0]}`);
      expect(ex.output()).to.not.include('self-signed');
      const url = `${origin.replace('https:', 'wss:')}/echo`;

      // HTTP/2: an extended CONNECT on a session of its own.
      const h2 = await connect(url, { http2: true, tls: { ca }, perMessageDeflate: true });
      const nextH2 = inbox(h2);
      expect(h2.response?.httpVersion).to.equal('2');
      expect(h2.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
      const [welcome2] = await nextH2();
      expect(JSON.parse(String(welcome2))).to.deep.equal({ type: 'welcome', id: 1, httpVersion: '2.0', session: 1 });

      // HTTP/1.1: `ws` offers no ALPN; allowHTTP1 serves its Upgrade on the same port.
      const h1 = new WebSocket(url, { ca });
      const nextH1 = inbox(h1);
      await once(h1, 'open');
      expect(h1.extensions).to.match(/^permessage-deflate/);
      const [welcome1] = await nextH1();
      expect(JSON.parse(String(welcome1))).to.deep.equal({
        type: 'welcome',
        id: 2,
        httpVersion: '1.1',
        session: null,
      });

      // Echoes, text and binary, as they were sent.
      h2.send('über h2');
      h2.send(Buffer.from([0, 1, 2, 255]));
      h1.send('over 1.1');
      h1.send(Buffer.from([9, 8, 7]));
      expect(await nextH2()).to.deep.equal(['über h2', false]);
      expect(await nextH2()).to.deep.equal([Buffer.from([0, 1, 2, 255]), true]);
      const [text1, textIsBinary] = await nextH1();
      expect([String(text1), textIsBinary]).to.deep.equal(['over 1.1', false]);
      expect(await nextH1()).to.deep.equal([Buffer.from([9, 8, 7]), true]);
      expect(ex.output()).to.include('open    #1 over HTTP/2.0 (h2 session 1) from 127.0.0.1');
      expect(ex.output()).to.include('open    #2 over HTTP/1.1 from 127.0.0.1');

      // The page, over HTTP/2 (node:http2) and over HTTP/1.1 (https): the same page; 404 elsewhere.
      session = http2.connect(origin, { ca });
      const page = await h2Get(session, '/');
      expect(page.status).to.equal(200);
      expect(page.type).to.equal('text/html; charset=utf-8');
      expect(page.body).to.include('<title>wsproto: WebSocket over HTTP/2</title>');
      expect(page.body).to.include('new WebSocket(`wss://${location.host}/echo`)');
      expect((await h2Get(session, '/nothing')).status).to.equal(404);
      const page1 = await h1Get(`${origin}/`, agent);
      expect(page1).to.deep.equal({ status: 200, version: '1.1', body: page.body });

      // A page of another site is refused (Origin checked against :authority / Host).
      const foreign = connect(url, { http2: true, tls: { ca }, headers: { origin: 'https://evil.test' } });
      await foreign.then(
        () => expect.fail('a foreign Origin was accepted'),
        (e: { statusCode?: number }) => expect(e.statusCode).to.equal(403),
      );
      const own = await connect(url, { http2: true, tls: { ca }, headers: { origin } });
      expect(JSON.parse(String((await inbox(own)())[0])).httpVersion).to.equal('2.0');
      own.close();

      h2.close(1000, 'done');
      h1.close(1000, 'done');
      await Promise.all([once(h2, 'close'), once(h1, 'close')]);
      await until(() => ex.output().includes('0 open'), 5000, 'the server to log the closes');
      expect(ex.output()).to.match(/close {3}#1 1000 done \(clean\)/);
      expect(ex.output()).to.match(/close {3}#2 1000 done \(clean\)/);
    } finally {
      session?.close();
      agent.destroy();
      await stopExample(ex.child);
    }
  });

  it('a self-signed certificate made at start: printed with the hints; client.ts runs --clients 4 on one session, which stays open; SIGTERM exits 0 and removes it', async () => {
    const ex = startExample('http2');
    try {
      const origin = await originOf(ex);
      const out = ex.output();
      const made = /^self-signed certificate: (\S+\/cert\.pem) \(removed on exit\)/m.exec(out);
      expect(made, out).to.not.equal(null);
      const certFile = made![1]!;
      const cert = fs.readFileSync(certFile);
      expect(new X509Certificate(cert).subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1');
      // The hints: the Chromium SPKI pin of this certificate, curl, and the client.
      expect(out).to.include(`  chromium ${trustCertificate(cert)} ${origin}/\n`);
      expect(out).to.include(`  curl --cacert ${certFile} ${origin}/`);
      const url = `${origin.replace('https:', 'wss:')}/echo`;
      expect(out).to.include(`  node dist/examples/http2/client.js --ca ${certFile} ${url}\n`);

      const client = startExample('http2/client.js', ['--ca', certFile, '--clients', '4', url]);
      const [code] = await once<[number | null]>(client.child, 'exit', 15000);
      expect(code, client.errors()).to.equal(0);
      // The server numbers its sessions: all four WebSockets came on its first, one after another.
      expect(client.output().trim().split('\n')).to.deep.equal([
        ...[1, 2, 3, 4].map(
          (i) => `client ${i}: WebSocket #${i} over HTTP/2.0, the server's h2 session 1; echo: hello from client ${i}`,
        ),
        'closed 4 WebSocket(s); the session is still open',
        'GET / on the same session: 200',
      ]);
      expect(client.errors()).to.equal('');
      for (const i of [1, 2, 3, 4]) expect(ex.output()).to.include(`open    #${i} over HTTP/2.0 (h2 session 1)`);

      const exited = once<[number | null]>(ex.child, 'exit', 10000);
      ex.child.kill('SIGTERM');
      expect((await exited)[0], ex.errors()).to.equal(0);
      expect(fs.existsSync(path.dirname(certFile)), 'the temporary directory is removed').to.equal(false);
    } finally {
      await stopExample(ex.child);
    }
  });

  it('SIGTERM with WebSockets open over h2 and HTTP/1.1 and idle page connections of both: 1001 to each, exit 0', async () => {
    const ex = withGivenCertificate();
    const ca = certificate.cert;
    const agent = new https.Agent({ ca, keepAlive: true });
    try {
      const origin = await originOf(ex);
      const url = `${origin.replace('https:', 'wss:')}/echo`;
      // A browser's connections: a page session (h2) and a keep-alive HTTP/1.1 connection, idle.
      const session = http2.connect(origin, { ca });
      session.on('error', () => undefined);
      expect((await h2Get(session, '/')).status).to.equal(200);
      expect((await h1Get(`${origin}/`, agent)).status).to.equal(200);
      // A WebSocket on that page session, one on a session of its own, one over HTTP/1.1.
      const onPage = await connect(url, { http2: session, tls: { ca } });
      const own = await connect(url, { http2: true, tls: { ca } });
      const h1 = new WebSocket(url, { ca });
      await once(h1, 'open');
      await until(() => ex.output().includes('3 open'), 5000, 'three WebSockets');
      const closes = [onPage, own, h1].map((ws) => once<[number, Buffer | string]>(ws, 'close', 10000));
      const exited = once<[number | null]>(ex.child, 'exit', 10000);
      const sent = Date.now();
      ex.child.kill('SIGTERM');
      for (const [code, reason] of await Promise.all(closes)) {
        expect([code, String(reason)]).to.deep.equal([1001, 'server shutting down']);
      }
      expect((await exited)[0], ex.errors()).to.equal(0);
      // Promptly: the idle page session got a GOAWAY and closed, not dropped after the example's 2 s.
      expect(Date.now() - sent).to.be.below(EXIT_BOUND_MS);
      expect(ex.output()).to.include('SIGTERM: closing 3 WebSocket(s) with 1001');
      expect(ex.output()).to.include('closed: exiting');
      await until(() => session.closed || session.destroyed, 5000, 'the page session to close');
    } finally {
      agent.destroy();
      await stopExample(ex.child);
    }
  });

  describe('in Chromium', () => {
    let browser: Browser | null = null;

    before(async function () {
      requireChromium(this);
      browser = await launchChromium([trustCertificate(certificate.cert)]);
    });

    after(async function () {
      this.timeout(15000);
      if (browser !== null) await within(browser.close(), 10000, 'the browser to close').catch(() => undefined);
      browser = null;
    });

    it('the page comes over h2, its WebSocket rides that HTTP/2 connection and echoes; SIGTERM shows 1001 on the page', async () => {
      const ex = withGivenCertificate();
      const context = await browser!.newContext();
      const log: string[] = [];
      const info = () => `${log.join('\n')}\nserver:\n${ex.output()}${ex.errors()}`;
      const text = (selector: string) => `document.querySelector(${JSON.stringify(selector)}).textContent`;
      try {
        const origin = await originOf(ex);
        const p = await context.newPage();
        p.setDefaultTimeout(10000);
        p.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
        p.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
        const waitFor = (expression: string, what: string) =>
          p.waitForFunction(expression, null, { timeout: 10000, polling: 50 }).catch((e: Error) => {
            throw new Error(`${what}: ${e.message}\n${info()}`);
          });
        await p.goto(`${origin}/`, { timeout: 10000, waitUntil: 'load' });
        await waitFor(`${text('#ws-version')} !== '?'`, 'the welcome');
        expect(await p.textContent('#page-protocol'), info()).to.equal('h2');
        expect(await p.textContent('#ws-version'), info()).to.equal('HTTP/2.0');
        expect(await p.textContent('#session')).to.equal('(h2 session 1)');
        expect(await p.textContent('#state')).to.equal('open');
        expect(await p.textContent('#extensions')).to.match(/^permessage-deflate/);
        // One session on the server: the page's, and the WebSocket's stream on it.
        expect(ex.output(), info()).to.include('open    #1 over HTTP/2.0 (h2 session 1) from 127.0.0.1');

        await p.fill('#text', 'hello over h2');
        await p.click('#send');
        await waitFor(`[...document.querySelectorAll('#log .echo')].length === 1`, 'the echo');
        expect(await p.textContent('#log .echo')).to.equal('echo: hello over h2');

        const exited = once<[number | null]>(ex.child, 'exit', 10000);
        ex.child.kill('SIGTERM');
        await waitFor(`${text('#state')}.startsWith('closed')`, 'the close');
        expect(await p.textContent('#state')).to.equal('closed (1001 server shutting down)');
        expect((await exited)[0], info()).to.equal(0);
      } finally {
        await within(context.close(), 10000, 'the browser context to close').catch(() => undefined);
        await stopExample(ex.child);
      }
    });
  });
});
