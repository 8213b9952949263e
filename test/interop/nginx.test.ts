/**
 * Interop through a real reverse proxy: Debian's nginx, configured with the site file
 * the deployment guide shows (docs/nginx/wsproto.conf, loaded by test/helpers/nginx.ts),
 * in front of our server. Each client (ours, `connect`, and the `ws` package's) proves
 * through it: messages intact both ways, permessage-deflate end to end, close codes and
 * reasons both ways, a subprotocol, and what the server learns from the proxy's
 * forwarding headers. Then what nginx does on its own: a plain GET (passed to the
 * server, whose answer comes back), and `proxy_read_timeout` cutting an idle connection
 * unless keepalive pings cross it.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as net from 'node:net';
import WebSocket from 'ws';
import {
  connect,
  HandshakeRejectedError,
  WebSocketServer,
  type WebSocketDuplex,
  type WebSocketServerOptions,
} from '../../lib/index';
import { listen, once, sleep, until } from '../helpers/net';
import { nginxAvailable, startNginx, type RunningNginx } from '../helpers/nginx';
import { requirePeer } from '../helpers/peers';

type CloseArgs = [number, string, boolean, Error | null];
type Message = [string | Buffer, boolean];

const MiB = 1024 * 1024;

/** One connection as the server saw it. */
interface ServerSide {
  ws: WebSocketDuplex;
  req: http.IncomingMessage;
  /** The TCP connection from nginx (its byte counters show what crossed the wire). */
  socket: net.Socket;
  /** The next message the server receives (the server echoes it as well). */
  message(): Promise<Message>;
  closed: Promise<CloseArgs>;
}

/** Our server: echoes; 'close please' makes it close with 4001 'later'. */
interface Origin {
  port: number;
  /** The connections in the order they arrived; `next()` waits for the next one. */
  next(): Promise<ServerSide>;
  close(): Promise<void>;
}

/** A `WebSocketServer` listening on 127.0.0.1 (its own HTTP server) at /chat. */
async function startOrigin(options: WebSocketServerOptions = {}): Promise<Origin & { wss: WebSocketServer }> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    path: '/chat',
    perMessageDeflate: true,
    selectSubprotocol: (offered) => (offered.includes('chat') ? 'chat' : null),
    ...options,
  });
  const seen: ServerSide[] = [];
  wss.on('connection', (ws, req) => {
    ws.on('message', (data) => (data === 'close please' ? ws.close(4001, 'later') : ws.send(data)));
    const closed = new Promise<CloseArgs>((resolve) => ws.once('close', (...args: CloseArgs) => resolve(args)));
    const socket = req.socket;
    // Through nginx every request is an HTTP/1.1 upgrade.
    seen.push({
      ws,
      req: req as http.IncomingMessage,
      socket,
      closed,
      message: () => once<Message>(ws, 'message', 10000),
    });
  });
  await once(wss, 'listening');
  let taken = 0;
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    next: async () => {
      await until(() => seen.length > taken, 5000, 'the server to see the connection');
      return seen[taken++]!;
    },
    close: () => wss.close({ timeout: 1000 }),
  };
}

/** A client of either library, as the tests use it. */
interface TestClient {
  protocol: string;
  /** The names of the negotiated extensions. */
  extensions: string[];
  send(data: string | Buffer): void;
  /** The next message (text as a string). */
  message(): Promise<Message>;
  close(code: number, reason: string): void;
  /** code, reason, and wasClean where the library reports it (ws's client does not: null). */
  closed: Promise<{ code: number; reason: string; wasClean: boolean | null; cause: Error | null }>;
}

interface DialOptions {
  subprotocols?: string[];
  deflate?: boolean;
  headers?: Record<string, string>;
}

const clients: Array<{ name: string; dial(url: string, options?: DialOptions): Promise<TestClient> }> = [
  {
    name: 'our client (connect)',
    async dial(url, { subprotocols = [], deflate = false, headers = {} } = {}) {
      const ws = await connect(url, { subprotocols, perMessageDeflate: deflate, headers, handshakeTimeout: 5000 });
      const closed = new Promise<CloseArgs>((resolve) => ws.once('close', (...args: CloseArgs) => resolve(args)));
      return {
        protocol: ws.protocol,
        extensions: ws.extensions.map((e) => e.name),
        send: (data) => void ws.send(data),
        message: () => once<Message>(ws, 'message', 10000),
        close: (code, reason) => ws.close(code, reason),
        closed: closed.then(([code, reason, wasClean, cause]) => ({ code, reason, wasClean, cause })),
      };
    },
  },
  {
    name: "ws's client",
    async dial(url, { subprotocols = [], deflate = false, headers = {} } = {}) {
      const ws = new WebSocket(url, subprotocols, { perMessageDeflate: deflate, headers, handshakeTimeout: 5000 });
      await once(ws, 'open');
      const closed = new Promise<{ code: number; reason: string; wasClean: null; cause: null }>((resolve) =>
        ws.once('close', (code: number, reason: Buffer) =>
          resolve({ code, reason: reason.toString(), wasClean: null, cause: null }),
        ),
      );
      return {
        protocol: ws.protocol,
        extensions: ws.extensions
          .split(',')
          .map((e) => e.split(';')[0]!.trim())
          .filter((e) => e !== ''),
        send: (data) => ws.send(data),
        message: async () => {
          const [data, isBinary] = await once<[Buffer, boolean]>(ws, 'message', 10000);
          return [isBinary ? data : data.toString(), isBinary];
        },
        close: (code, reason) => ws.close(code, reason),
        closed,
      };
    },
  },
];

/** Sends `data`; resolves with what the server received and what came back. */
async function roundTrip(client: TestClient, server: ServerSide, data: string | Buffer) {
  const atServer = server.message();
  const back = client.message();
  client.send(data);
  return { atServer: await atServer, back: await back };
}

/** A JSON text of about `size` bytes that compresses well, as real traffic does. */
function compressibleJson(size: number): string {
  const items: string[] = [];
  let length = 2;
  for (let i = 0; length < size; i++) {
    const item = JSON.stringify({ id: i, user: `user-${i % 97}`, text: 'hello through nginx', ok: i % 3 === 0 });
    items.push(item);
    length += item.length + 1;
  }
  return `[${items.join(',')}]`;
}

const names = (ws: WebSocketDuplex) => ws.extensions.map((e) => e.name);

describe('interop: through nginx (reverse proxy, docs/nginx/wsproto.conf)', function () {
  this.timeout(30000);

  let origin: Origin;
  let nginx: RunningNginx;
  before(async function () {
    requirePeer(this, nginxAvailable(), 'nginx', 'apt-get install nginx');
    origin = await startOrigin();
    nginx = await startNginx(origin.port);
  });
  after(async () => {
    await nginx?.stop();
    await origin?.close();
  });

  for (const { name, dial } of clients) {
    describe(name, () => {
      it('a text message and a 1 MiB binary message arrive intact, each way (no extension)', async () => {
        const client = await dial(`${nginx.url}/chat`);
        const server = await origin.next();
        expect(client.extensions).to.deep.equal([]);
        expect(names(server.ws)).to.deep.equal([]);

        const text = 'héllo through nginx ✓ 🌍';
        const t = await roundTrip(client, server, text);
        expect(t.atServer).to.deep.equal([text, false]);
        expect(t.back).to.deep.equal([text, false]);

        const bytes = randomBytes(MiB);
        const b = await roundTrip(client, server, bytes);
        expect(b.atServer[1]).to.equal(true);
        expect(Buffer.compare(b.atServer[0] as Buffer, bytes)).to.equal(0);
        expect(b.back[1]).to.equal(true);
        expect(Buffer.compare(b.back[0] as Buffer, bytes)).to.equal(0);

        client.close(1000, 'done');
        expect((await client.closed).code).to.equal(1000);
        expect(await server.closed).to.deep.equal([1000, 'done', true, null]);
      });

      it('permessage-deflate is negotiated end to end; compressed 1 MiB messages arrive intact, a fraction of it on the wire', async () => {
        const client = await dial(`${nginx.url}/chat`, { deflate: true });
        const server = await origin.next();
        // nginx passes Sec-WebSocket-Extensions both ways: the two ends agree.
        expect(client.extensions).to.deep.equal(['permessage-deflate']);
        expect(names(server.ws)).to.deep.equal(['permessage-deflate']);

        const text = compressibleJson(MiB);
        const t = await roundTrip(client, server, text);
        expect(t.atServer).to.deep.equal([text, false]);
        expect(t.back).to.deep.equal([text, false]);

        const bytes = Buffer.alloc(MiB);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 251;
        const b = await roundTrip(client, server, bytes);
        expect(Buffer.compare(b.atServer[0] as Buffer, bytes)).to.equal(0);
        expect(Buffer.compare(b.back[0] as Buffer, bytes)).to.equal(0);

        // 2 MiB went each way between nginx and the server: compressed, it is far less.
        expect(server.socket.bytesRead).to.be.below(MiB / 4);
        expect(server.socket.bytesWritten).to.be.below(MiB / 4);

        client.close(1000, 'done');
        expect(await server.closed).to.deep.equal([1000, 'done', true, null]);
      });

      it("the client's close 4000 'bye' reaches the server intact; both ends close cleanly", async () => {
        const client = await dial(`${nginx.url}/chat`);
        const server = await origin.next();
        client.close(4000, 'bye');
        expect(await server.closed).to.deep.equal([4000, 'bye', true, null]);
        const closed = await client.closed;
        expect([closed.code, closed.reason]).to.deep.equal([4000, 'bye']); // the server's echo
        if (closed.wasClean !== null) expect(closed.wasClean).to.equal(true);
      });

      it("the server's close 4001 'later' reaches the client intact; both ends close cleanly", async () => {
        const client = await dial(`${nginx.url}/chat`);
        const server = await origin.next();
        client.send('close please');
        const closed = await client.closed;
        expect([closed.code, closed.reason]).to.deep.equal([4001, 'later']);
        if (closed.wasClean !== null) expect([closed.wasClean, closed.cause]).to.deep.equal([true, null]);
        expect(await server.closed).to.deep.equal([4001, 'later', true, null]);
      });

      it('a subprotocol is negotiated through nginx', async () => {
        const client = await dial(`${nginx.url}/chat`, { subprotocols: ['v2.chat', 'chat'] });
        const server = await origin.next();
        // ws joins the offer with ',', we with ', ': nginx passes either unchanged.
        expect(server.req.headers['sec-websocket-protocol']).to.match(/^v2\.chat, ?chat$/);
        expect(server.ws.protocol).to.equal('chat');
        expect(client.protocol).to.equal('chat');
        client.close(1000, '');
        await server.closed;
      });

      it("the server sees the client's address in X-Real-IP and X-Forwarded-For (appended to the client's own), and Host without the port", async () => {
        const client = await dial(`${nginx.url}/chat?room=1`, { headers: { 'X-Forwarded-For': '203.0.113.7' } });
        const server = await origin.next();
        const headers = server.req.headers;
        expect(headers['x-real-ip']).to.equal('127.0.0.1');
        expect(headers['x-forwarded-for']).to.equal('203.0.113.7, 127.0.0.1');
        expect(headers['x-forwarded-proto']).to.equal('http');
        // `proxy_set_header Host $host` sends the name without the port ($http_host would keep it).
        expect(headers.host).to.equal('127.0.0.1');
        expect(server.req.url).to.equal('/chat?room=1');
        client.close(1000, '');
        await server.closed;
      });
    });
  }

  it("a plain HTTP GET through nginx to the WebSocket path gets WebSocketServer's 426, passed through", async () => {
    const response = await fetch(`http://127.0.0.1:${nginx.port}/chat`);
    expect(response.status).to.equal(426);
    expect(response.headers.get('upgrade')).to.equal('websocket');
    expect(await response.text()).to.equal('this endpoint speaks WebSocket\n');
    expect(response.headers.get('server')).to.match(/^nginx/);
  });
});

describe('interop: nginx, one server each (proxy_read_timeout, plain requests, shutdown)', function () {
  this.timeout(30000);
  const TIMEOUT_MS = 2000;

  let origin: Origin | undefined;
  let nginx: RunningNginx | undefined;
  beforeEach(function () {
    requirePeer(this, nginxAvailable(), 'nginx', 'apt-get install nginx');
  });
  afterEach(async () => {
    await nginx?.stop();
    await origin?.close();
    nginx = origin = undefined;
  });

  it("proxy_read_timeout 2s cuts a connection idle both ways: the client's 'close' is 1006 with a cause, nginx logs why", async () => {
    origin = await startOrigin();
    nginx = await startNginx(origin.port, { readTimeout: `${TIMEOUT_MS / 1000}s` });
    const ws = await connect(`${nginx.url}/chat`);
    const server = await origin.next();
    const opened = Date.now();
    const [code, reason, wasClean, cause] = await once<CloseArgs>(ws, 'close', TIMEOUT_MS + 5000);
    const after = Date.now() - opened;
    expect(after).to.be.within(TIMEOUT_MS - 200, TIMEOUT_MS + 2000);
    expect([code, reason, wasClean]).to.deep.equal([1006, 'the transport ended without a close frame', false]);
    expect(cause).to.be.an('error');
    expect((cause as Error & { code?: string }).code).to.equal('ERR_ABNORMAL_CLOSURE');
    // The server's side of the proxy is cut the same way.
    const [serverCode, , serverClean, serverCause] = await server.closed;
    expect([serverCode, serverClean]).to.deep.equal([1006, false]);
    expect((serverCause as Error & { code?: string }).code).to.equal('ERR_ABNORMAL_CLOSURE');
    // At level info only: nginx's default error_log level (error) does not show it.
    await until(() => nginx!.output().includes('upstream timed out'), 2000, 'nginx to log the timeout');
    expect(nginx.output()).to.match(/\[info\] .*upstream timed out .* while proxying upgraded connection/);
    // The access log has the WebSocket once it ends: its status and its lifetime.
    await until(() => nginx!.accessLog().includes(' 101 '), 2000, 'nginx to log the request');
    expect(nginx.accessLog()).to.match(/"GET \/chat HTTP\/1.1" 101 upstream=101 time=2\.\d+/);
  });

  it("attached to an http.Server without a 'request' listener, nobody answers a plain GET: nginx gives 504 after proxy_read_timeout", async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    const srv = await listen(server);
    origin = {
      port: srv.port,
      next: () => Promise.reject(new Error('not used')),
      close: async () => {
        await wss.close();
        await srv.close();
      },
    };
    nginx = await startNginx(srv.port, { readTimeout: `${TIMEOUT_MS / 1000}s` });
    const started = Date.now();
    const response = await fetch(`http://127.0.0.1:${nginx.port}/chat`);
    expect(response.status).to.equal(504);
    expect(Date.now() - started).to.be.at.least(TIMEOUT_MS - 200);
    expect(nginx.output()).to.match(/upstream timed out .* while reading response header from upstream/);
  });

  it('with pingInterval 500 on the server, keepalive pings keep the connection open past 3× the timeout', async () => {
    origin = await startOrigin({ pingInterval: 500 });
    nginx = await startNginx(origin.port, { readTimeout: `${TIMEOUT_MS / 1000}s` });
    const ws = await connect(`${nginx.url}/chat`);
    const server = await origin.next();
    let pings = 0;
    ws.on('ping', () => pings++);
    let closedEarly: CloseArgs | null = null;
    ws.once('close', (...args: CloseArgs) => (closedEarly = args));
    await sleep(3 * TIMEOUT_MS);
    expect(closedEarly).to.equal(null);
    expect(pings).to.be.at.least(4);
    const reply = once<Message>(ws, 'message');
    ws.send('still here');
    expect(await reply).to.deep.equal(['still here', false]);
    ws.close(1000, 'done');
    expect(await server.closed).to.deep.equal([1000, 'done', true, null]);
    expect(nginx.output()).to.not.include('timed out');
  });

  it("WebSocketServer.close() through nginx: both clients (ours, ws's) get 1001 cleanly; then nginx answers 502", async () => {
    const started = await startOrigin();
    origin = started;
    nginx = await startNginx(started.port);
    const ours = await clients[0]!.dial(`${nginx.url}/chat`);
    const theirs = await clients[1]!.dial(`${nginx.url}/chat`);
    const servers = [await started.next(), await started.next()];
    await started.wss.close();
    for (const client of [ours, theirs]) {
      const closed = await client.closed;
      expect([closed.code, closed.reason]).to.deep.equal([1001, 'server shutting down']);
      if (closed.wasClean !== null) expect(closed.wasClean).to.equal(true);
    }
    for (const server of servers)
      expect((await server.closed).slice(0, 3)).to.deep.equal([1001, 'server shutting down', true]);
    // Until a server listens again, nginx refuses upgrades itself: clients must retry.
    const refused = await connect(`${nginx.url}/chat`).then(
      (ws) => {
        ws.terminate();
        return null;
      },
      (error: unknown) => error as HandshakeRejectedError,
    );
    expect(refused).to.be.instanceOf(HandshakeRejectedError);
    expect(refused!.statusCode).to.equal(502);
  });
});
