/** Routing extended CONNECT streams of an http2 server (lib/stream/server/http2-router.ts). */
import { expect } from 'chai';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect, HandshakeRejectedError, LocalProtocolError, WebSocketServer } from '../../../lib/index';
import { isHttp2Server } from '../../../lib/stream/server/http2-router';
import { once } from '../../helpers/net';

async function listening(server: http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function status(url: string): Promise<number | string> {
  return connect(url, { http2: true }).then(
    async (ws) => {
      ws.close();
      await once(ws, 'close', 5000);
      return 'open';
    },
    (e: unknown) => (e instanceof HandshakeRejectedError ? e.statusCode : String(e)),
  );
}

describe('http2-router: extended CONNECT streams of an http2 server', () => {
  it('isHttp2Server tells http2 servers from http ones', () => {
    expect(isHttp2Server(http2.createServer())).to.equal(true);
    expect(isHttp2Server(http.createServer())).to.equal(false);
  });

  it('routes by exact path over the server without a path; turns on enableConnectProtocol; a path taken twice throws', async () => {
    const server = http2.createServer(); // no settings: attaching turns extended CONNECT on
    const a = new WebSocketServer({ server, path: '/a' });
    const any = new WebSocketServer({ server });
    expect(() => new WebSocketServer({ server, path: '/a' })).to.throw(LocalProtocolError, 'already serves /a');
    const seen: string[] = [];
    a.on('connection', () => seen.push('a'));
    any.on('connection', (_ws, req) => seen.push(`any ${req.url}`));
    const host = await listening(server);
    try {
      expect(await status(`ws://${host}/a?x=1`)).to.equal('open');
      expect(await status(`ws://${host}/b`)).to.equal('open');
      expect(seen).to.deep.equal(['a', 'any /b']);
    } finally {
      await a.close();
      await any.close();
      server.close();
    }
  });

  it('an unclaimed path: 404 beside a compatibility request handler (which would answer 405 itself)', async () => {
    const server = http2.createServer((_req, res) => res.end('page'));
    const wss = new WebSocketServer({ server, path: '/ws' });
    const host = await listening(server);
    try {
      expect(await status(`ws://${host}/nope`)).to.equal(404);
    } finally {
      await wss.close();
      server.close();
    }
  });

  it("an unclaimed path goes on to the application's own 'stream' listener", async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, path: '/ws' });
    let theirs = 0;
    server.on('stream', (stream) => {
      theirs++;
      stream.respond({ ':status': 418 });
      stream.end();
    });
    const host = await listening(server);
    try {
      expect(await status(`ws://${host}/theirs`)).to.equal(418);
      expect(await status(`ws://${host}/ws`)).to.equal('open');
      expect(theirs).to.equal(1);
    } finally {
      await wss.close();
      server.close();
    }
  });

  it('pages keep being served; after close() the server has its own emit back and streams go to it', async () => {
    const server = http2.createServer((_req, res) => res.end('page'));
    const original = server.emit;
    const wss = new WebSocketServer({ server, path: '/ws' });
    expect(server.emit).to.not.equal(original);
    const host = await listening(server);
    const session = http2.connect(`http://${host}`);
    try {
      const page = session.request({ ':path': '/' });
      const chunks: Buffer[] = [];
      page.on('data', (c: Buffer) => chunks.push(c));
      await once(page, 'end', 5000);
      expect(Buffer.concat(chunks).toString()).to.equal('page');
      await wss.close();
      expect(server.emit).to.equal(original);
    } finally {
      session.destroy();
      server.close();
    }
  });

  it('during shutdown a new extended CONNECT gets 503 with retry-after', async () => {
    const server = http2.createServer();
    const wss = new WebSocketServer({ server, path: '/ws' });
    const host = await listening(server);
    // A client that does not answer the server's close: the shutdown waits for it.
    const client = await connect(`ws://${host}/ws`, { http2: true, autoCloseReply: false });
    const clientClosed = once(client, 'close', 5000);
    try {
      const closing = wss.close({ timeout: 2000 });
      const refused = await connect(`ws://${host}/ws`, { http2: true }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(refused).to.be.instanceOf(HandshakeRejectedError);
      expect((refused as HandshakeRejectedError).statusCode).to.equal(503);
      expect((refused as HandshakeRejectedError).headers).to.deep.include(['retry-after', '5']);
      await closing;
      await clientClosed;
    } finally {
      server.close();
    }
  });
});
