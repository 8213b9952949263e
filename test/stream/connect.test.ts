/**
 * Mirror test for lib/stream/connect: what `connect()` rejects with when the connection
 * does not open (a rejection, a refused port, a server that never answers), and that
 * after it opened the network's failures end in 'close', never in 'error'.
 */
import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  connect,
  ConnectError,
  handleUpgrade,
  HandshakeRejectedError,
  LocalProtocolError,
  RemoteProtocolError,
  type ConnectHeaders,
} from '../../lib/index';
import { acceptKey } from '../../lib/handshake/handshake';
import { headerPairs } from '../../lib/stream/connect';
import { makeCertificate } from '../helpers/proxies';
import { listen, once, sleep, until } from '../helpers/net';
import { backTo, baselineNow } from '../helpers/resources';

type CloseArgs = [number, string, boolean, Error | null];

/** A raw TCP server that answers any request head with `response`, then ends. */
function rawResponder(response: string) {
  return net.createServer((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) socket.end(response);
    });
    socket.on('error', () => undefined);
  });
}

/** A port nothing listens on (a server was there a moment ago). */
async function closedPort(): Promise<number> {
  const srv = await listen(net.createServer());
  await srv.close();
  return srv.port;
}

describe('stream/connect', () => {
  it('a 403 rejects with HandshakeRejectedError carrying the status, the headers and the body', async () => {
    const srv = await listen(
      rawResponder(
        'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Reason: not on the list\r\n' +
          'Content-Length: 13\r\n\r\nnot for you\r\n',
      ),
    );
    try {
      const error = await connect(`ws://127.0.0.1:${srv.port}/`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(HandshakeRejectedError);
      const rejected = error as HandshakeRejectedError;
      expect(rejected.name).to.equal('HandshakeRejectedError');
      expect(rejected.statusCode).to.equal(403);
      expect(rejected.message).to.contain('403');
      expect(rejected.headers).to.deep.include(['X-Reason', 'not on the list']);
      expect(Buffer.isBuffer(rejected.body)).to.equal(true);
      expect(rejected.body.toString()).to.equal('not for you\r\n');
    } finally {
      await srv.close();
    }
  });

  it('a closed port rejects with the cause (code ECONNREFUSED)', async () => {
    const port = await closedPort();
    const error = await connect(`ws://127.0.0.1:${port}/`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(Error);
    expect((error as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
  });

  it('a TCP server that never answers: rejects with ERR_HANDSHAKE_TIMEOUT (handshakeTimeout: 200) and drops the connection', async () => {
    const serverSockets: net.Socket[] = [];
    const srv = await listen(
      net.createServer((socket) => {
        serverSockets.push(socket);
        socket.on('error', () => undefined);
        socket.resume(); // read (and ignore) the request, so that the client's EOF is seen
      }),
    );
    try {
      const started = Date.now();
      const error = await connect(`ws://127.0.0.1:${srv.port}/`, { handshakeTimeout: 200 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(RemoteProtocolError);
      expect((error as RemoteProtocolError).code).to.equal('ERR_HANDSHAKE_TIMEOUT');
      expect(Date.now() - started).to.be.at.least(150); // not before the deadline
      // The client let go of the connection: the server sees it end.
      expect(serverSockets).to.have.length(1);
      const socket = serverSockets[0]!;
      if (!socket.readableEnded) await once(socket, 'end');
    } finally {
      await srv.close();
    }
  });

  it("a client without an 'error' listener survives the server resetting the connection after open: 'close' 1006, cause ECONNRESET", async () => {
    const server = http.createServer((_req, res) => res.end());
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const ws = handleUpgrade(req, socket, head);
      ws.on('message', () => socket.resetAndDestroy());
    });
    const srv = await listen(server);
    try {
      // No 'error' listener here: an 'error' emitted would be thrown (and fail the test).
      const ws = await connect(`ws://127.0.0.1:${srv.port}/`);
      const closed = once<CloseArgs>(ws, 'close');
      ws.send('reset me');
      const [code, , wasClean, cause] = await closed;
      expect(code).to.equal(1006);
      expect(wasClean).to.equal(false);
      expect(cause).to.be.instanceOf(Error);
      expect((cause as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
      expect(ws.destroyed).to.equal(true);
    } finally {
      await srv.close();
    }
  });

  describe('headers: pairs or an object (as ws takes them)', () => {
    it('headerPairs: an object (string or list values), pairs, a Map', () => {
      expect(headerPairs({ Origin: 'https://a.example', 'X-A': ['1', '2'] })).to.deep.equal([
        ['Origin', 'https://a.example'],
        ['X-A', '1'],
        ['X-A', '2'],
      ]);
      expect(headerPairs([['X-B', 'b']])).to.deep.equal([['X-B', 'b']]);
      expect(headerPairs(new Map([['X-C', 'c']]))).to.deep.equal([['X-C', 'c']]);
      expect(headerPairs(undefined)).to.deep.equal([]);
      for (const bad of [{ 'X-N': 1 }, { 'X-L': ['ok', 2] }]) {
        expect(() => headerPairs(bad as unknown as ConnectHeaders))
          .to.throw(LocalProtocolError)
          .with.property('code', 'ERR_INVALID_HEADER');
      }
    });

    it('an object and pairs both reach the server (regression: an object threw "extra is not iterable")', async () => {
      const seen: string[][] = [];
      const server = http.createServer();
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        seen.push(req.rawHeaders);
        handleUpgrade(req, socket, head);
      });
      const srv = await listen(server);
      try {
        const forms: ConnectHeaders[] = [
          { Origin: 'https://app.example', 'X-A': ['1', '2'] },
          [
            ['Origin', 'https://app.example'],
            ['X-A', '1'],
            ['X-A', '2'],
          ],
        ];
        for (const headers of forms) {
          const ws = await connect(`ws://127.0.0.1:${srv.port}/`, { headers });
          ws.close();
          await once(ws, 'close');
        }
        for (const raw of seen) {
          const pairs: string[] = [];
          for (let i = 0; i < raw.length; i += 2)
            if (/^(origin|x-a)$/i.test(raw[i]!)) pairs.push(`${raw[i]}: ${raw[i + 1]}`);
          expect(pairs).to.deep.equal(['Origin: https://app.example', 'X-A: 1', 'X-A: 2']);
        }
      } finally {
        await srv.close();
      }
    });

    it('a header value that is not a string rejects with ERR_INVALID_HEADER before any connection', async () => {
      const error = await connect('ws://127.0.0.1:1/', {
        headers: { 'X-N': 5 } as unknown as ConnectHeaders,
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(LocalProtocolError);
      expect(error).to.have.property('code', 'ERR_INVALID_HEADER');
    });
  });

  describe('signal (AbortSignal)', () => {
    const isAbortError = (error: unknown, reason: unknown) => {
      expect(error).to.be.instanceOf(Error);
      expect(error).to.have.property('name', 'AbortError');
      expect(error).to.have.property('code', 'ABORT_ERR');
      expect((error as Error).cause).to.equal(reason);
    };

    it('already aborted: rejects with an AbortError at once, and opens no connection', async () => {
      let connections = 0;
      const srv = await listen(net.createServer(() => connections++));
      try {
        const controller = new AbortController();
        controller.abort();
        const error = await connect(`ws://127.0.0.1:${srv.port}/`, { signal: controller.signal }).then(
          () => null,
          (e: unknown) => e,
        );
        isAbortError(error, controller.signal.reason);
        await sleep(50);
        expect(connections).to.equal(0);
      } finally {
        await srv.close();
      }
    });

    it('aborted during the handshake: rejects with an AbortError, destroys the socket, leaves no timer or listener', async () => {
      const sockets: net.Socket[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.resume(); // never answers
        }),
      );
      const baseline = await baselineNow();
      try {
        const controller = new AbortController();
        const pending = connect(`ws://127.0.0.1:${srv.port}/`, { signal: controller.signal }).then(
          () => null,
          (e: unknown) => e,
        );
        await until(() => sockets.length === 1);
        const reason = new Error('changed my mind');
        controller.abort(reason);
        isAbortError(await pending, reason);
        const socket = sockets[0]!;
        if (!socket.readableEnded) await once(socket, 'end');
        // Nothing left behind: no listener on the signal, no socket or timer of the attempt.
        expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
        socket.destroy();
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it('aborted after open: nothing happens (the stream stays open)', async () => {
      const server = http.createServer();
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const ws = handleUpgrade(req, socket, head);
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
      const srv = await listen(server);
      try {
        const controller = new AbortController();
        const ws = await connect(`ws://127.0.0.1:${srv.port}/`, { signal: controller.signal });
        controller.abort();
        const echo = once<[string]>(ws, 'message');
        ws.send('still here');
        expect((await echo)[0]).to.equal('still here');
        expect(ws.readyState).to.equal(ws.OPEN);
        ws.close();
        const [code, , wasClean] = await once<CloseArgs>(ws, 'close');
        expect([code, wasClean]).to.deep.equal([1000, true]);
      } finally {
        await srv.close();
      }
    });
  });

  describe('the 101 response, interim responses, URLs', () => {
    it('RFC 9110 15.2: 100 and 103 Early Hints before the 101 are skipped; ws.response is the 101, ws.url the URL', async () => {
      const srv = await listen(
        net.createServer((socket) => {
          let head = '';
          socket.on('error', () => undefined);
          socket.on('data', (d: Buffer) => {
            head += d.toString('latin1');
            if (!head.includes('\r\n\r\n')) return;
            const key = /sec-websocket-key: (\S+)/i.exec(head)![1]!;
            socket.write(
              'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n',
            );
            socket.write(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Accept: ${acceptKey(key)}\r\nX-Served-By: raw\r\n\r\n`,
            );
            socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // "hi", right after the head
          });
        }),
      );
      try {
        const ws = await connect(`ws://127.0.0.1:${srv.port}/path?q=1`);
        const [data] = await once<[string]>(ws, 'message');
        expect(data).to.equal('hi');
        expect(ws.url).to.equal(`ws://127.0.0.1:${srv.port}/path?q=1`);
        expect(ws.response!.statusCode).to.equal(101);
        expect(ws.response!.headers).to.deep.include(['X-Served-By', 'raw']);
        expect(ws.response!.headers.some(([n]) => n === 'Link')).to.equal(false);
        ws.terminate();
      } finally {
        await srv.close();
      }
    });

    it('http:// is taken as ws://; a URL with a fragment is refused (ERR_INVALID_URL) before any connection', async () => {
      const srv = await echoServer();
      try {
        const ws = await connect(`http://127.0.0.1:${srv.port}/x`);
        expect(ws.url).to.equal(`ws://127.0.0.1:${srv.port}/x`);
        ws.terminate();
        const error = await connect(`ws://127.0.0.1:${srv.port}/#frag`).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LocalProtocolError).with.property('code', 'ERR_INVALID_URL');
        expect(srv.requests).to.have.length(1);
      } finally {
        await srv.close();
      }
    });

    it('an IPv6 literal: ws://[::1]:PORT/ connects to ::1 and sends Host [::1]:PORT', async function () {
      const server = http.createServer();
      const hosts: string[] = [];
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        hosts.push(req.headers.host!);
        handleUpgrade(req, socket, head).on('message', function (this: unknown, d) {
          (this as { send(x: unknown): void }).send(d);
        });
      });
      try {
        await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '::1', resolve));
      } catch {
        this.skip(); // no IPv6 loopback on this machine
      }
      const { port } = server.address() as net.AddressInfo;
      try {
        const ws = await connect(`ws://[::1]:${port}/`);
        ws.send('six');
        expect((await once<[string]>(ws, 'message'))[0]).to.equal('six');
        expect(hosts).to.deep.equal([`[::1]:${port}`]);
        ws.close();
        await once(ws, 'close');
      } finally {
        await new Promise((r) => server.close(r));
      }
    });

    it('credentials in the URL are sent as Authorization: Basic (as ws does); an explicit Authorization header wins', async () => {
      const srv = await echoServer();
      try {
        const a = await connect(`ws://al%40ice:s3cr%3At@127.0.0.1:${srv.port}/`);
        a.terminate();
        const b = await connect(`ws://al:pw@127.0.0.1:${srv.port}/`, { headers: { authorization: 'Bearer t0k' } });
        b.terminate();
        expect(srv.requests.map((r) => r.headers.authorization)).to.deep.equal([
          `Basic ${Buffer.from('al@ice:s3cr:t').toString('base64')}`,
          'Bearer t0k',
        ]);
        expect(a.url).to.equal(`ws://127.0.0.1:${srv.port}/`); // ws.url never shows the credentials
      } finally {
        await srv.close();
      }
    });

    it('ws+unix: a unix socket (ws+unix:/path/to.sock:/request?path), Host localhost', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-unix-'));
      const file = path.join(dir, 'app.sock');
      const server = http.createServer();
      const seen: string[] = [];
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        seen.push(`${req.headers.host} ${req.url}`);
        const ws = handleUpgrade(req, socket, head);
        ws.on('message', (d) => ws.send(`unix:${String(d)}`));
      });
      await new Promise<void>((r) => server.listen(file, r));
      try {
        const ws = await connect(`ws+unix:${file}:/chat?room=1`);
        ws.send('hello');
        expect((await once<[string]>(ws, 'message'))[0]).to.equal('unix:hello');
        expect(seen).to.deep.equal(['localhost /chat?room=1']);
        ws.close();
        await once(ws, 'close');
      } finally {
        await new Promise((r) => server.close(r));
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("createConnection: the caller's transport carries the handshake; Host is still the URL's", async () => {
      const srv = await echoServer();
      try {
        const targets: string[] = [];
        const ws = await connect('ws://service.internal:9000/api', {
          createConnection: (target) => {
            targets.push(`${target.host}:${target.port} ${String(target.secure)}`);
            return net.connect(srv.port, '127.0.0.1');
          },
        });
        ws.send('via');
        expect((await once<[string]>(ws, 'message'))[0]).to.equal('via');
        expect(targets).to.deep.equal(['service.internal:9000 false']);
        expect(srv.requests.map((r) => `${r.headers.host} ${r.url}`)).to.deep.equal(['service.internal:9000 /api']);
        ws.close();
        await once(ws, 'close');
      } finally {
        await srv.close();
      }
    });
  });

  describe('connectTimeout and handshakeTimeout are separate clocks', () => {
    it('a TLS server that never answers the ClientHello: ConnectError ERR_CONNECT_TIMEOUT at connectTimeout, nothing left open', async () => {
      const sockets: net.Socket[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.resume();
        }),
      );
      try {
        const error = await connect(`wss://localhost:${srv.port}/`, {
          connectTimeout: 150,
          handshakeTimeout: 60000,
        }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ConnectError);
        expect(error).to.have.property('code', 'ERR_CONNECT_TIMEOUT');
        expect((error as ConnectError).url).to.equal(`wss://localhost:${srv.port}/`);
        await until(
          () => sockets.length === 1 && sockets[0]!.readableEnded,
          3000,
          'the server to see the connection end',
        );
      } finally {
        for (const s of sockets) s.destroy();
        await srv.close();
      }
    });

    it('the handshake has its own clock: a slow 101 within handshakeTimeout opens even past connectTimeout', async () => {
      const srv = await echoServer(300); // answers 300 ms late
      try {
        const ws = await connect(`ws://127.0.0.1:${srv.port}/`, { connectTimeout: 100, handshakeTimeout: 5000 });
        expect(ws.readyState).to.equal(ws.OPEN);
        ws.terminate();
      } finally {
        await srv.close();
      }
    });
  });

  describe('redirects (followRedirects)', () => {
    it('off by default: a 302 rejects with HandshakeRejectedError carrying the Location', async () => {
      const srv = await redirector(() => [302, '/elsewhere']);
      try {
        const error = await connect(`ws://127.0.0.1:${srv.port}/`).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(HandshakeRejectedError);
        const e = error as HandshakeRejectedError;
        expect([e.statusCode, e.code, e.url]).to.deep.equal([
          302,
          'ERR_HANDSHAKE_REJECTED',
          `ws://127.0.0.1:${srv.port}/`,
        ]);
        expect(e.headers).to.deep.include(['Location', '/elsewhere']);
      } finally {
        await srv.close();
      }
    });

    for (const status of [301, 302, 303, 307, 308]) {
      it(`RFC 9110 15.4: ${status} is followed (to another server), and ws.url is the final URL`, async () => {
        const target = await echoServer();
        const srv = await redirector((url) => (url === '/' ? [status, `ws://127.0.0.1:${target.port}/final`] : null));
        try {
          const ws = await connect(`ws://127.0.0.1:${srv.port}/`, { followRedirects: true });
          expect(ws.url).to.equal(`ws://127.0.0.1:${target.port}/final`);
          ws.terminate();
        } finally {
          await srv.close();
          await target.close();
        }
      });
    }

    it('a chain: same-origin hops keep Authorization and Cookie, a cross-origin hop drops them and the URL credentials', async () => {
      const b = await echoServer();
      const a = await redirector((url) => (url === '/one' ? [307, '/two'] : [302, `http://127.0.0.1:${b.port}/three`]));
      try {
        const ws = await connect(`ws://user:pw@127.0.0.1:${a.port}/one`, {
          followRedirects: true,
          headers: { Cookie: 'sid=1', Origin: 'https://app.example', 'X-Custom': 'kept' },
        });
        expect(ws.url).to.equal(`ws://127.0.0.1:${b.port}/three`);
        const basic = `Basic ${Buffer.from('user:pw').toString('base64')}`;
        expect(a.requests.map((r) => [r.url, r.headers.authorization, r.headers.cookie])).to.deep.equal([
          ['/one', basic, 'sid=1'],
          ['/two', basic, 'sid=1'],
        ]);
        const last = b.requests[0]!.headers;
        expect([last.authorization, last.cookie, last.origin, last['x-custom']]).to.deep.equal([
          undefined,
          undefined,
          'https://app.example',
          'kept',
        ]);
        ws.terminate();
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('maxRedirects bounds a loop: ConnectError ERR_TOO_MANY_REDIRECTS after maxRedirects + 1 requests', async () => {
      const srv = await redirector(() => [302, '/again']);
      try {
        const error = await connect(`ws://127.0.0.1:${srv.port}/`, { followRedirects: true, maxRedirects: 3 }).catch(
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(ConnectError).with.property('code', 'ERR_TOO_MANY_REDIRECTS');
        expect(srv.requests).to.have.length(4);
      } finally {
        await srv.close();
      }
    });

    it('never from wss: to ws: (ERR_INSECURE_REDIRECT), and the ws: server is never contacted', async () => {
      const plain = await echoServer();
      const certificate = makeCertificate();
      const server = https.createServer({ key: certificate.key, cert: certificate.cert });
      server.on('upgrade', (_req: http.IncomingMessage, socket: net.Socket) => {
        socket.end(
          `HTTP/1.1 301 Moved Permanently\r\nLocation: ws://127.0.0.1:${plain.port}/\r\nContent-Length: 0\r\n\r\n`,
        );
      });
      const srv = await listen(server);
      try {
        const error = await connect(`wss://localhost:${srv.port}/`, {
          followRedirects: true,
          tls: { ca: certificate.cert },
        }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ConnectError).with.property('code', 'ERR_INSECURE_REDIRECT');
        expect(plain.requests).to.have.length(0);
      } finally {
        await srv.close();
        await plain.close();
        certificate.cleanup();
      }
    });

    it('a redirect without a Location: ConnectError ERR_BAD_REDIRECT', async () => {
      const srv = await redirector(() => [302, null]);
      try {
        const error = await connect(`ws://127.0.0.1:${srv.port}/`, { followRedirects: true }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(ConnectError).with.property('code', 'ERR_BAD_REDIRECT');
      } finally {
        await srv.close();
      }
    });

    it('the signal aborts between hops: the second server sees its connection end, AbortError', async () => {
      const hung: net.Socket[] = [];
      const second = await listen(
        net.createServer((socket) => {
          hung.push(socket);
          socket.on('error', () => undefined);
          socket.resume();
        }),
      );
      const first = await redirector(() => [302, `ws://127.0.0.1:${second.port}/`]);
      try {
        const controller = new AbortController();
        const pending = connect(`ws://127.0.0.1:${first.port}/`, {
          followRedirects: true,
          signal: controller.signal,
        }).catch((e: unknown) => e);
        await until(() => hung.length === 1);
        controller.abort();
        expect(await pending).to.have.property('name', 'AbortError');
        await until(() => hung[0]!.readableEnded, 3000, 'the second connection to end');
      } finally {
        for (const s of hung) s.destroy();
        await first.close();
        await second.close();
      }
    });

    it('maxRedirects must be a non-negative integer (ERR_INVALID_OPTION)', async () => {
      const error = await connect('ws://127.0.0.1:1/', { maxRedirects: -1 }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(LocalProtocolError).with.property('code', 'ERR_INVALID_OPTION');
    });
  });
});

interface Recorded {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** An HTTP server whose upgrades are echo WebSockets (answered `delay` ms late); it records each request. */
async function echoServer(delay = 0) {
  const requests: Recorded[] = [];
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    requests.push({ url: req.url!, headers: req.headers });
    const answer = () => {
      const ws = handleUpgrade(req, socket, head);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  const srv = await listen(server);
  return { port: srv.port, requests, close: () => srv.close() };
}

/** An HTTP server that answers upgrades with `route(url)`: [status, Location or null], or null for an echo WebSocket. */
async function redirector(route: (url: string) => [number, string | null] | null) {
  const requests: Recorded[] = [];
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    requests.push({ url: req.url!, headers: req.headers });
    const answer = route(req.url!);
    if (answer === null) {
      handleUpgrade(req, socket, head);
      return;
    }
    const [status, location] = answer;
    const where = location === null ? '' : `Location: ${location}\r\n`;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${where}Content-Length: 0\r\n\r\n`);
  });
  const srv = await listen(server);
  return { port: srv.port, requests, close: () => srv.close() };
}
