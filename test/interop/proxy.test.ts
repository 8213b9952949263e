/**
 * Interop through real forward proxies: `connect()` with its `proxy` option through
 * Debian's tinyproxy (an HTTP CONNECT proxy nobody here wrote) to our server and to
 * `ws`'s, over ws:// and wss:// (TLS to the origin inside the tunnel); credentials and
 * refusals (407, 401, 403); an https:// proxy (HAProxy terminating TLS in front of
 * tinyproxy: TLS inside TLS); and `proxy: 'env'` with HTTP(S)_PROXY and NO_PROXY.
 *
 * How a test knows the path taken: tinyproxy logs each request line it reads
 * (`CONNECT 127.0.0.1:PORT HTTP/1.1`), and every origin listens on its own port, so the
 * line names the connection. A test that must prove a direct connection names a proxy
 * on a closed port: going through it would fail with ECONNREFUSED.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as dns from 'node:dns';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { WebSocketServer } from 'ws';
import {
  connect,
  handleUpgrade,
  ProxyRejectedError,
  WebSocketServer as OurServer,
  type ConnectOptions,
  type WebSocketDuplex,
} from '../../lib/index';
import { listen, once, until } from '../helpers/net';
import { requirePeer } from '../helpers/peers';
import {
  haproxyAvailable,
  makeCertificate,
  startTinyproxy,
  startTlsFront,
  tinyproxyAvailable,
  type RunningProxy,
} from '../helpers/proxies';

type Certificate = { key: Buffer; cert: Buffer };
type CloseArgs = [number, string, boolean, Error | null];
type MessageArgs = [string | Buffer, boolean];

/** An origin server on 127.0.0.1 (or `host`) and what it saw. */
interface Origin {
  port: number;
  /** The SNI of each TLS connection, as `tlsSocket.servername` gives it (false: none sent). */
  servernames: Array<string | false | null>;
  /** The extensions each of our server streams negotiated, by name. */
  extensions: string[][];
  close(): Promise<void>;
}

/**
 * Our echo server (`handleUpgrade`, permessage-deflate on) over http, or https with
 * `certificate`. The text 'close please' makes it close with 4001 'bye'.
 */
async function startOrigin(certificate?: Certificate, host = '127.0.0.1'): Promise<Origin> {
  const server = certificate === undefined ? http.createServer() : https.createServer(certificate);
  const servernames: Origin['servernames'] = [];
  const extensions: string[][] = [];
  server.on('secureConnection', (socket: tls.TLSSocket) => servernames.push(socket.servername));
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const ws = handleUpgrade(req, socket, head, { perMessageDeflate: true });
    ws.on('open', () => extensions.push(ws.extensions.map((e) => e.name)));
    ws.on('message', (data) => (data === 'close please' ? ws.close(4001, 'bye') : ws.send(data)));
  });
  const srv = await listen(server, host);
  return { port: srv.port, servernames, extensions, close: srv.close };
}

/** A `ws` (npm) echo server over http, or https with `certificate`. */
async function startWsOrigin(certificate?: Certificate): Promise<{ port: number; close(): Promise<void> }> {
  const server = certificate === undefined ? http.createServer() : https.createServer(certificate);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary })));
  const srv = await listen(server);
  return {
    port: srv.port,
    close: async () => {
      wss.close();
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

/** Text and binary echo intact, then a clean close 1000 (through the same tunnel). */
async function expectEchoAndClose(ws: WebSocketDuplex): Promise<void> {
  expect(await echo(ws, 'hello through the tunnel')).to.deep.equal(['hello through the tunnel', false]);
  const bytes = randomBytes(64 * 1024);
  const [data, isBinary] = await echo(ws, bytes);
  expect(isBinary).to.equal(true);
  expect(Buffer.compare(data as Buffer, bytes)).to.equal(0);
  const closed = once<CloseArgs>(ws, 'close');
  ws.close(1000, 'done');
  const [code, reason, wasClean] = await closed;
  expect([code, reason, wasClean]).to.deep.equal([1000, 'done', true]);
}

/** The rejection of `promise` (fails if it resolves; a stream it opened is closed). */
async function failure(promise: Promise<WebSocketDuplex>): Promise<Error & { code?: string }> {
  return promise.then(
    (ws) => {
      ws.terminate();
      throw new Error('expected connect() to reject, it opened');
    },
    (error: unknown) => error as Error,
  );
}

/** A port nothing listens on (a server was there a moment ago). */
async function closedPort(): Promise<number> {
  const srv = await listen(net.createServer());
  await srv.close();
  return srv.port;
}

/** A TCP relay to 127.0.0.1:`targetPort` that records what clients send through it. */
async function startWiretap(targetPort: number): Promise<{ url: string; sent(): string; close(): Promise<void> }> {
  const sent: Buffer[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => sent.push(chunk));
    client.pipe(upstream).pipe(client);
    for (const [one, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      one.on('error', () => other.destroy());
      one.on('close', () => other.destroy());
    }
  });
  const srv = await listen(server);
  return { url: `http://127.0.0.1:${srv.port}`, sent: () => Buffer.concat(sent).toString('latin1'), close: srv.close };
}

/** Wait until tinyproxy has logged the CONNECT request line for `authority`. */
function loggedConnect(proxy: RunningProxy, authority: string): Promise<void> {
  const line = `CONNECT ${authority} HTTP/1.1`;
  return until(() => proxy.output().includes(line), 2000, `tinyproxy to log "${line}"`);
}

describe('interop: through a real forward proxy (tinyproxy, HAProxy)', function () {
  this.timeout(10000);
  let certificate: Certificate & { cleanup(): void };

  before(function () {
    requirePeer(this, tinyproxyAvailable(), 'tinyproxy', 'apt-get install tinyproxy');
    certificate = makeCertificate();
  });
  after(() => certificate?.cleanup());

  describe('ws:// and wss:// through tinyproxy', () => {
    let proxy: RunningProxy;
    before(async () => {
      proxy = await startTinyproxy();
    });
    after(() => proxy?.stop());

    it("ws:// to our server: text and 1 MiB binary echo intact, permessage-deflate negotiated, the server's close 4001 'bye' arrives, tinyproxy logged the CONNECT", async () => {
      const origin = await startOrigin();
      try {
        const ws = await connect(`ws://127.0.0.1:${origin.port}/chat`, { proxy: proxy.url, perMessageDeflate: true });
        await loggedConnect(proxy, `127.0.0.1:${origin.port}`);
        expect(ws.response?.statusCode).to.equal(101);
        expect(ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        expect(await echo(ws, 'héllo ✓')).to.deep.equal(['héllo ✓', false]);
        const mebibyte = randomBytes(1 << 20);
        const [data, isBinary] = await echo(ws, mebibyte);
        expect(isBinary).to.equal(true);
        expect((data as Buffer).length).to.equal(1 << 20);
        expect(Buffer.compare(data as Buffer, mebibyte)).to.equal(0);
        expect(origin.extensions).to.deep.equal([['permessage-deflate']]);
        const closed = once<CloseArgs>(ws, 'close');
        ws.send('close please');
        expect(await closed).to.deep.equal([4001, 'bye', true, null]);
      } finally {
        await origin.close();
      }
    });

    it("ws:// to a closed port behind the proxy: ProxyRejectedError 500 'Unable to connect' (the proxy's refusal, not ECONNREFUSED)", async () => {
      const port = await closedPort();
      const error = await failure(connect(`ws://127.0.0.1:${port}/`, { proxy: proxy.url }));
      expect(error).to.be.instanceOf(ProxyRejectedError);
      const rejected = error as ProxyRejectedError;
      expect(rejected.statusCode).to.equal(500);
      expect(rejected.body.toString()).to.contain('Tinyproxy was unable to connect to the remote web server.');
      await loggedConnect(proxy, `127.0.0.1:${port}`);
    });

    it('ws:// to a ws (npm) server: text and binary echo intact', async () => {
      const origin = await startWsOrigin();
      try {
        const ws = await connect(`ws://127.0.0.1:${origin.port}/`, { proxy: proxy.url });
        await loggedConnect(proxy, `127.0.0.1:${origin.port}`);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it('wss:// to a ws (npm) https server: TLS to the origin inside the tunnel, text and binary echo intact', async () => {
      const origin = await startWsOrigin(certificate);
      try {
        const ws = await connect(`wss://localhost:${origin.port}/`, {
          proxy: proxy.url,
          tls: { ca: certificate.cert },
        });
        await loggedConnect(proxy, `localhost:${origin.port}`);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it('wss:// over HTTP/2 (RFC 8441) through the tunnel: ALPN h2 inside it, 1 MiB echo intact; prefer rides h2 too', async () => {
      const server = http2.createSecureServer({ key: certificate.key, cert: certificate.cert, allowHTTP1: true });
      const wss = new OurServer({ server, path: '/h2' });
      const versions: string[] = [];
      wss.on('connection', (ws, req) => {
        versions.push(req.httpVersion);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      const srv = await listen(server as unknown as net.Server);
      try {
        for (const http2Option of [true, 'prefer'] as const) {
          const ws = await connect(`wss://localhost:${srv.port}/h2`, {
            proxy: proxy.url,
            http2: http2Option,
            tls: { ca: certificate.cert },
          });
          await loggedConnect(proxy, `localhost:${srv.port}`);
          expect(ws.response?.httpVersion).to.equal('2');
          const mebibyte = randomBytes(1 << 20);
          const [data] = await echo(ws, mebibyte);
          expect(Buffer.compare(data as Buffer, mebibyte)).to.equal(0);
          const closed = once<CloseArgs>(ws, 'close');
          ws.close(4000, 'done');
          expect(await closed).to.deep.equal([4000, 'done', true, null]);
        }
        expect(versions).to.deep.equal(['2.0', '2.0']);
      } finally {
        await wss.close();
        await srv.close();
      }
    });

    it("wss://localhost to our https server with tls.ca: echo intact, and the origin saw SNI 'localhost'", async () => {
      const origin = await startOrigin(certificate);
      try {
        const ws = await connect(`wss://localhost:${origin.port}/`, {
          proxy: proxy.url,
          tls: { ca: certificate.cert },
        });
        await loggedConnect(proxy, `localhost:${origin.port}`);
        expect(origin.servernames).to.deep.equal(['localhost']);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it('wss:// without tls.ca: rejects with the self-signed certificate error (the tunnel does not weaken certificate checks)', async () => {
      const origin = await startOrigin(certificate);
      try {
        const error = await failure(connect(`wss://localhost:${origin.port}/`, { proxy: proxy.url }));
        expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
        await loggedConnect(proxy, `localhost:${origin.port}`); // the tunnel was open: TLS refused
        expect(origin.extensions).to.deep.equal([]);
      } finally {
        await origin.close();
      }
    });

    it('wss://127.0.0.1: no SNI is sent (an IP literal), and the certificate verifies through its IP SAN', async () => {
      const origin = await startOrigin(certificate);
      try {
        const ws = await connect(`wss://127.0.0.1:${origin.port}/`, {
          proxy: proxy.url,
          tls: { ca: certificate.cert },
        });
        await loggedConnect(proxy, `127.0.0.1:${origin.port}`);
        expect(origin.servernames).to.deep.equal([false]);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it("wss://127.0.0.2 (not in the certificate, the proxy's 127.0.0.1 is): ERR_TLS_CERT_ALTNAME_INVALID, the origin's name is checked", async () => {
      const origin = await startOrigin(certificate, '127.0.0.2');
      try {
        const error = await failure(
          connect(`wss://127.0.0.2:${origin.port}/`, { proxy: proxy.url, tls: { ca: certificate.cert } }),
        );
        expect(error.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
        expect(error.message).to.contain('127.0.0.2');
        await loggedConnect(proxy, `127.0.0.2:${origin.port}`);
      } finally {
        await origin.close();
      }
    });
  });

  describe('proxy credentials (tinyproxy BasicAuth)', () => {
    const user = 'alice';
    const password = 'pw-s3cret.9';
    let proxy: RunningProxy;
    let origin: Origin;
    let proxyUrl: (credentials: string) => string;
    before(async () => {
      proxy = await startTinyproxy({ basicAuth: { user, password } });
      origin = await startOrigin();
      proxyUrl = (credentials) => `http://${credentials}127.0.0.1:${proxy.port}`;
    });
    after(async () => {
      await origin?.close();
      await proxy?.stop();
    });

    it("the proxy URL's user:pass (Proxy-Authorization: Basic) opens the tunnel: echo intact", async () => {
      const ws = await connect(`ws://127.0.0.1:${origin.port}/`, { proxy: proxyUrl(`${user}:${password}@`) });
      await expectEchoAndClose(ws);
    });

    it('no credentials: ProxyRejectedError 407 with Proxy-Authenticate: Basic in its headers', async () => {
      const url = `ws://127.0.0.1:${origin.port}/`;
      const error = await failure(connect(url, { proxy: proxy.url }));
      expect(error).to.be.instanceOf(ProxyRejectedError);
      const rejected = error as ProxyRejectedError;
      expect(rejected.code).to.equal('ERR_PROXY_REJECTED');
      expect(rejected.statusCode).to.equal(407);
      const challenge = rejected.headers.filter(([name]) => name.toLowerCase() === 'proxy-authenticate');
      expect(challenge).to.have.length(1);
      expect(challenge[0]![1]).to.match(/^Basic realm=/);
      expect(rejected.body.toString()).to.contain('This proxy requires authentication.');
      expect(rejected.proxy).to.equal(`${proxy.url}/`);
      expect(rejected.url).to.equal(url);
    });

    it('wrong credentials: ProxyRejectedError 401 (tinyproxy 1.11.1; 407 from later releases), the password nowhere in the error', async () => {
      const wrong = 'not-the-pw.7';
      const error = await failure(connect(`ws://127.0.0.1:${origin.port}/`, { proxy: proxyUrl(`${user}:${wrong}@`) }));
      expect(error).to.be.instanceOf(ProxyRejectedError);
      const rejected = error as ProxyRejectedError;
      expect(rejected.statusCode).to.be.oneOf([401, 407]);
      expect(rejected.proxy).to.equal(`${proxy.url}/`);
      for (const text of [rejected.proxy, rejected.message, String(rejected), rejected.url, rejected.stack ?? '']) {
        expect(text).to.not.contain(wrong);
        expect(text).to.not.contain(user);
      }
    });

    it("proxyHeaders' own Proxy-Authorization wins over the URL's credentials: exactly one reaches tinyproxy (RFC 9110 5.3)", async () => {
      const tap = await startWiretap(proxy.port);
      try {
        const right = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
        const ws = await connect(`ws://127.0.0.1:${origin.port}/`, {
          proxy: tap.url.replace('//', `//${user}:not-the-pw.7@`),
          proxyHeaders: { 'Proxy-Authorization': right },
        });
        await expectEchoAndClose(ws);
        const head = tap.sent().split('\r\n\r\n')[0]!.split('\r\n');
        expect(head[0]).to.equal(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1`);
        expect(head.filter((line) => /^proxy-authorization:/i.test(line))).to.deep.equal([
          `Proxy-Authorization: ${right}`,
        ]);
      } finally {
        await tap.close();
      }
    });
  });

  describe('refusal by ConnectPort', () => {
    it("CONNECT to a port outside ConnectPort 443: ProxyRejectedError 403 with tinyproxy's explanation in the body", async () => {
      const proxy = await startTinyproxy({ connectPorts: [443] });
      const origin = await startOrigin();
      try {
        const url = `ws://127.0.0.1:${origin.port}/`;
        const error = await failure(connect(url, { proxy: proxy.url }));
        expect(error).to.be.instanceOf(ProxyRejectedError);
        const rejected = error as ProxyRejectedError;
        expect(rejected.statusCode).to.equal(403);
        expect(rejected.message).to.contain('403');
        expect(rejected.headers).to.deep.include(['Server', 'tinyproxy/1.11.1']);
        expect(rejected.body.toString()).to.contain('The CONNECT method not allowed with the port you tried to use.');
        expect(rejected.url).to.equal(url);
        expect(origin.extensions).to.deep.equal([]);
      } finally {
        await origin.close();
        await proxy.stop();
      }
    });
  });

  describe('an https:// proxy: HAProxy terminating TLS in front of tinyproxy', () => {
    let proxy: RunningProxy;
    let front: RunningProxy;
    before(async function () {
      requirePeer(this, haproxyAvailable(), 'HAProxy', 'apt-get install haproxy');
      proxy = await startTinyproxy();
      front = await startTlsFront(proxy.port, certificate);
    });
    after(async () => {
      await front?.stop();
      await proxy?.stop();
    });

    it('wss:// origin through it (TLS to the origin inside TLS to the proxy; proxyTls.ca, tls.ca): echo intact', async () => {
      const origin = await startOrigin(certificate);
      try {
        const ws = await connect(`wss://localhost:${origin.port}/`, {
          proxy: front.url,
          proxyTls: { ca: certificate.cert },
          tls: { ca: certificate.cert },
        });
        await loggedConnect(proxy, `localhost:${origin.port}`);
        expect(origin.servernames).to.deep.equal(['localhost']);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it('ws:// origin through it (proxyTls.ca): echo intact', async () => {
      const origin = await startOrigin();
      try {
        const ws = await connect(`ws://127.0.0.1:${origin.port}/`, {
          proxy: front.url,
          proxyTls: { ca: certificate.cert },
        });
        await loggedConnect(proxy, `127.0.0.1:${origin.port}`);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it("https://localhost proxy: the lookup option resolves the proxy's name too (as for an http:// proxy), echo intact", async () => {
      const origin = await startOrigin();
      try {
        const looked: string[] = [];
        const lookup: net.LookupFunction = (hostname, options, callback) => {
          looked.push(hostname);
          dns.lookup(hostname, options, callback);
        };
        const ws = await connect(`ws://127.0.0.1:${origin.port}/`, {
          proxy: `https://localhost:${front.port}`,
          proxyTls: { ca: certificate.cert },
          lookup,
        });
        await loggedConnect(proxy, `127.0.0.1:${origin.port}`);
        expect(looked).to.deep.equal(['localhost']);
        await expectEchoAndClose(ws);
      } finally {
        await origin.close();
      }
    });

    it("without proxyTls.ca: rejects with the proxy's self-signed certificate error, and no CONNECT is sent", async () => {
      const origin = await startOrigin(certificate);
      try {
        const error = await failure(
          connect(`wss://localhost:${origin.port}/`, { proxy: front.url, tls: { ca: certificate.cert } }),
        );
        expect(error.code).to.equal('DEPTH_ZERO_SELF_SIGNED_CERT');
        expect(proxy.output()).to.not.contain(`CONNECT localhost:${origin.port}`);
        expect(origin.servernames).to.deep.equal([]);
      } finally {
        await origin.close();
      }
    });
  });

  describe("proxy: 'env' (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)", () => {
    const VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
    let saved: Array<[string, string | undefined]> = [];
    let proxy: RunningProxy;
    let plain: Origin;
    let secure: Origin;
    let nowhere: string; // a proxy URL on a closed port
    const env: ConnectOptions = { proxy: 'env' };

    before(async () => {
      proxy = await startTinyproxy();
      plain = await startOrigin();
      secure = await startOrigin(certificate);
      nowhere = `http://127.0.0.1:${await closedPort()}`;
    });
    after(async () => {
      await plain?.close();
      await secure?.close();
      await proxy?.stop();
    });
    beforeEach(() => {
      saved = VARIABLES.map((name) => [name, process.env[name]]);
      for (const name of VARIABLES) delete process.env[name];
    });
    afterEach(() => {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('HTTP_PROXY carries ws:// and HTTPS_PROXY carries wss://: both through tinyproxy, echo intact', async () => {
      process.env.HTTP_PROXY = proxy.url;
      process.env.HTTPS_PROXY = proxy.url;
      const ws = await connect(`ws://127.0.0.1:${plain.port}/`, env);
      await loggedConnect(proxy, `127.0.0.1:${plain.port}`);
      await expectEchoAndClose(ws);
      const wss = await connect(`wss://localhost:${secure.port}/`, { ...env, tls: { ca: certificate.cert } });
      await loggedConnect(proxy, `localhost:${secure.port}`);
      await expectEchoAndClose(wss);
    });

    it('http_proxy and https_proxy (lower case) win over the upper-case names (at a closed port)', async () => {
      process.env.http_proxy = proxy.url;
      process.env.HTTP_PROXY = nowhere;
      process.env.https_proxy = proxy.url;
      process.env.HTTPS_PROXY = nowhere;
      await expectEchoAndClose(await connect(`ws://127.0.0.1:${plain.port}/`, env));
      await expectEchoAndClose(
        await connect(`wss://localhost:${secure.port}/`, { ...env, tls: { ca: certificate.cert } }),
      );
    });

    it('HTTP_PROXY at a closed port: ECONNREFUSED; with NO_PROXY=127.0.0.1 the same connect() goes direct and works', async () => {
      process.env.HTTP_PROXY = nowhere;
      const url = `ws://127.0.0.1:${plain.port}/`;
      expect((await failure(connect(url, env))).code).to.equal('ECONNREFUSED');
      process.env.NO_PROXY = '127.0.0.1';
      await expectEchoAndClose(await connect(url, env));
    });

    it('HTTPS_PROXY at a closed port: ECONNREFUSED; with no_proxy=localhost (lower case) wss://localhost goes direct and works', async () => {
      process.env.HTTPS_PROXY = nowhere;
      const url = `wss://localhost:${secure.port}/`;
      const options = { ...env, tls: { ca: certificate.cert } };
      expect((await failure(connect(url, options))).code).to.equal('ECONNREFUSED');
      process.env.no_proxy = 'example.com, localhost';
      await expectEchoAndClose(await connect(url, options));
    });

    it("without proxy: 'env' the variables are ignored: HTTP_PROXY and HTTPS_PROXY at a closed port, both connect directly", async () => {
      process.env.HTTP_PROXY = nowhere;
      process.env.http_proxy = nowhere;
      process.env.HTTPS_PROXY = nowhere;
      process.env.https_proxy = nowhere;
      await expectEchoAndClose(await connect(`ws://127.0.0.1:${plain.port}/`));
      await expectEchoAndClose(await connect(`wss://localhost:${secure.port}/`, { tls: { ca: certificate.cert } }));
    });
  });
});
