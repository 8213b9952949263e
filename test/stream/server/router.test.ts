/**
 * Mirror test for lib/stream/server/router: one 'upgrade' listener per HTTP server,
 * however many `WebSocketServer`s share it; an exact path wins over a server attached
 * without a path; a request no endpoint claims gets 404 unless the application listens
 * for 'upgrade' itself; the listener goes when the last endpoint goes. Routing by
 * example with fake requests, then with real servers and clients over 127.0.0.1.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type * as net from 'node:net';
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import {
  connect,
  HandshakeRejectedError,
  LocalProtocolError,
  WebSocketServer,
  type WebSocketDuplex,
} from '../../../lib/index';
import { addRoute, pathOf, refuse, removeRoute, type UpgradeTarget } from '../../../lib/stream/server/router';
import { listen, once } from '../../helpers/net';
import { rawRequest } from '../../helpers/raw-client';

/** A target that records the URLs it was handed. */
function recorder(): UpgradeTarget & { urls: string[] } {
  const urls: string[] = [];
  return { urls, handleUpgrade: (req) => urls.push(req.url ?? '') };
}

/** Emit an 'upgrade' for `url` on `server` (no network); returns what was written to the socket. */
function upgrade(server: http.Server, url: string): { written: () => string; socket: PassThrough } {
  const socket = new PassThrough();
  let out = '';
  socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
  server.emit('upgrade', { url } as http.IncomingMessage, socket, Buffer.alloc(0));
  return { written: () => out, socket };
}

/** The status code a client gets for `path`, or 101 when it opens (then closed again). */
async function statusFor(port: number, path: string): Promise<number> {
  const { socket, head } = await rawRequest(port, path);
  socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]);
}

describe('stream/server/router', () => {
  describe('pathOf (the query and fragment are ignored)', () => {
    const cases: Array<[string | undefined, string]> = [
      ['/chat', '/chat'],
      ['/chat?room=1', '/chat'],
      ['/chat#top', '/chat'],
      ['/chat?a=1#b', '/chat'],
      ['/?x', '/'],
      ['/a/b/', '/a/b/'],
      [undefined, '/'],
    ];
    for (const [url, path] of cases) {
      it(`${String(url)} -> ${path}`, () => expect(pathOf(url)).to.equal(path));
    }
  });

  describe('routing (fake requests)', () => {
    it('an exact path wins over the catch-all, whatever the order they were added in', () => {
      const server = http.createServer();
      const all = recorder();
      const a = recorder();
      const b = recorder();
      addRoute(server, undefined, all);
      addRoute(server, '/a', a);
      addRoute(server, '/b', b);
      for (const url of ['/a', '/a?x=1', '/b#f', '/', '/c', '/a/', '/A']) upgrade(server, url);
      expect(a.urls).to.deep.equal(['/a', '/a?x=1']);
      expect(b.urls).to.deep.equal(['/b#f']);
      expect(all.urls, 'paths compare exactly: /a/ and /A are not /a').to.deep.equal(['/', '/c', '/a/', '/A']);
      for (const t of [all, a, b]) removeRoute(server, t);
      expect(server.listenerCount('upgrade')).to.equal(0);
    });

    it('one listener for any number of endpoints; the last one out removes it', () => {
      const server = http.createServer();
      const targets = [recorder(), recorder(), recorder()];
      targets.forEach((t, i) => addRoute(server, `/${i}`, t));
      expect(server.listenerCount('upgrade')).to.equal(1);
      removeRoute(server, targets[0]!);
      removeRoute(server, targets[0]!); // again: nothing
      expect(server.listenerCount('upgrade')).to.equal(1);
      removeRoute(server, targets[1]!);
      removeRoute(server, targets[2]!);
      expect(server.listenerCount('upgrade')).to.equal(0);
      removeRoute(server, targets[2]!); // no router left: nothing
      // A new endpoint starts a new router.
      addRoute(server, '/0', targets[0]!);
      upgrade(server, '/0');
      expect(targets[0]!.urls).to.deep.equal(['/0']);
      removeRoute(server, targets[0]!);
    });

    it('a path or the catch-all taken twice throws, and leaves the first in place', () => {
      const server = http.createServer();
      const first = recorder();
      const all = recorder();
      addRoute(server, '/x', first);
      addRoute(server, undefined, all);
      // A misuse: LocalProtocolError ERR_INVALID_OPTION (style.md 9), as for the other options.
      for (const [path, message] of [
        ['/x', /already serves \/x/],
        [undefined, /already serves every path/],
      ] as const) {
        expect(() => addRoute(server, path, recorder()))
          .to.throw(LocalProtocolError, message)
          .with.property('code', 'ERR_INVALID_OPTION');
      }
      upgrade(server, '/x');
      upgrade(server, '/y');
      expect([first.urls, all.urls]).to.deep.equal([['/x'], ['/y']]);
      expect(server.listenerCount('upgrade')).to.equal(1);
      removeRoute(server, first);
      removeRoute(server, all);
      expect(server.listenerCount('upgrade')).to.equal(0);
    });

    it('routers are per HTTP server: the same path (and target) on two servers are two routes', () => {
      const server = http.createServer();
      const other = http.createServer();
      const t = recorder();
      addRoute(other, '/x', t);
      addRoute(server, '/x', t);
      upgrade(server, '/x');
      upgrade(other, '/x?2');
      expect(t.urls).to.deep.equal(['/x', '/x?2']);
      removeRoute(server, t);
      removeRoute(other, t);
      expect([server.listenerCount('upgrade'), other.listenerCount('upgrade')]).to.deep.equal([0, 0]);
    });

    it('unclaimed: 404 written by us, unless the application has its own upgrade listener', () => {
      const server = http.createServer();
      const a = recorder();
      addRoute(server, '/a', a);
      const lost = upgrade(server, '/nowhere');
      expect(lost.written()).to.match(/^HTTP\/1\.1 404 Not Found\r\n/);
      const own: string[] = [];
      const mine = (req: http.IncomingMessage) => own.push(req.url ?? '');
      server.on('upgrade', mine);
      const left = upgrade(server, '/nowhere');
      expect(left.written(), 'left to the application').to.equal('');
      expect(left.socket.writableEnded).to.equal(false);
      // EventEmitter calls every listener: the application's sees the claimed paths too.
      upgrade(server, '/a');
      expect(own).to.deep.equal(['/nowhere', '/a']);
      expect(a.urls).to.deep.equal(['/a']);
      removeRoute(server, a);
      expect(server.listeners('upgrade')).to.deep.equal([mine]);
    });
  });

  describe('refuse (the HTTP answer to an upgrade nobody takes)', () => {
    for (const [status, reason] of [
      [404, 'Not Found'],
      [426, 'Upgrade Required'],
      [503, 'Service Unavailable'],
      [500, 'Error'],
    ] as const) {
      it(`RFC 9112 4: ${status} ${reason}, byte for byte, then the socket ends`, async () => {
        const socket = new PassThrough();
        const chunks: Buffer[] = [];
        socket.on('data', (d: Buffer) => chunks.push(d));
        const ended = once(socket, 'end');
        refuse(socket, status, 'nope\n', status === 503 ? { 'Retry-After': '5' } : {});
        await ended;
        const extra = status === 503 ? 'Retry-After: 5\r\n' : '';
        expect(Buffer.concat(chunks).toString('latin1')).to.equal(
          `HTTP/1.1 ${status} ${reason}\r\n${extra}Content-Type: text/plain; charset=utf-8\r\n` +
            'Connection: close\r\nContent-Length: 5\r\n\r\nnope\n',
        );
      });
    }

    it('Content-Length counts bytes, not characters', async () => {
      const socket = new PassThrough();
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => chunks.push(d));
      refuse(socket, 404, 'é\n');
      await once(socket, 'end');
      expect(Buffer.concat(chunks).toString('utf8')).to.match(/Content-Length: 3\r\n\r\né\n$/);
    });
  });

  describe('WebSocketServers sharing one http.Server (real clients)', () => {
    it("'/a', '/b' and a catch-all each get only their requests (query ignored); plain pages still work", async () => {
      const server = http.createServer((_req, res) => res.end('a page\n'));
      const srv = await listen(server);
      const before = server.listenerCount('upgrade');
      const a = new WebSocketServer({ server, path: '/a' });
      const b = new WebSocketServer({ server, path: '/b' });
      const all = new WebSocketServer({ server });
      try {
        expect(server.listenerCount('upgrade')).to.equal(before + 1);
        const seen = new Map<WebSocketServer, string[]>([
          [a, []],
          [b, []],
          [all, []],
        ]);
        for (const [wss, urls] of seen) wss.on('connection', (_ws, req) => urls.push(req.url ?? ''));
        const clients: WebSocketDuplex[] = [];
        for (const path of ['/a?room=1', '/b', '/b?x', '/', '/c', '/a/b']) {
          clients.push(await connect(`ws://127.0.0.1:${srv.port}${path}`));
        }
        const viaWs = new WebSocket(`ws://127.0.0.1:${srv.port}/a?via=ws`);
        await once(viaWs, 'open');
        expect(seen.get(a)).to.deep.equal(['/a?room=1', '/a?via=ws']);
        expect(seen.get(b)).to.deep.equal(['/b', '/b?x']);
        expect(seen.get(all)).to.deep.equal(['/', '/c', '/a/b']);
        expect([a.clients.size, b.clients.size, all.clients.size]).to.deep.equal([2, 2, 3]);
        const page = await new Promise<string>((resolve) =>
          http.get(`http://127.0.0.1:${srv.port}/a`, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve(body));
          }),
        );
        expect(page).to.equal('a page\n');
        viaWs.close();
        await once(viaWs, 'close');
      } finally {
        await Promise.all([a.close(), b.close(), all.close()]);
        expect(server.listenerCount('upgrade'), 'back to what it was').to.equal(before);
        await srv.close();
      }
    });

    it('a path nobody serves gets 404 when there is no catch-all', async () => {
      const server = http.createServer();
      const srv = await listen(server);
      const a = new WebSocketServer({ server, path: '/a' });
      try {
        const error = await connect(`ws://127.0.0.1:${srv.port}/nowhere`).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).to.be.instanceOf(HandshakeRejectedError);
        expect((error as HandshakeRejectedError).statusCode).to.equal(404);
        expect(await statusFor(srv.port, '/a')).to.equal(101);
        expect(await statusFor(srv.port, '/b')).to.equal(404);
      } finally {
        await a.close();
        await srv.close();
      }
    });

    it("with an 'upgrade' listener of the application's own, unclaimed paths are left to it (no 404 from us)", async () => {
      const server = http.createServer();
      const own: string[] = [];
      // The application serves /legacy itself and ignores the paths a WebSocketServer claims.
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
        own.push(req.url ?? '');
        if (pathOf(req.url) === '/a') return;
        socket.end("HTTP/1.1 418 I'm a teapot\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      });
      const srv = await listen(server);
      const before = server.listenerCount('upgrade');
      const a = new WebSocketServer({ server, path: '/a' });
      try {
        expect(await statusFor(srv.port, '/legacy')).to.equal(418);
        expect(await statusFor(srv.port, '/a')).to.equal(101);
        expect(own).to.deep.equal(['/legacy', '/a']);
      } finally {
        await a.close();
        expect(server.listenerCount('upgrade')).to.equal(before);
        await srv.close();
      }
    });

    it('the same path twice on one http.Server throws; the first keeps serving; after both close no listener of ours is left', async () => {
      const server = http.createServer();
      const srv = await listen(server);
      const before = server.listenerCount('upgrade');
      const first = new WebSocketServer({ server, path: '/same' });
      const catchAll = new WebSocketServer({ server });
      try {
        expect(() => new WebSocketServer({ server, path: '/same' }))
          .to.throw(LocalProtocolError, /already serves \/same/)
          .with.property('code', 'ERR_INVALID_OPTION');
        expect(() => new WebSocketServer({ server }))
          .to.throw(LocalProtocolError, /already serves every path/)
          .with.property('code', 'ERR_INVALID_OPTION');
        expect(server.listenerCount('upgrade')).to.equal(before + 1);
        const ws = await connect(`ws://127.0.0.1:${srv.port}/same`);
        expect(first.clients.size).to.equal(1);
        expect(catchAll.clients.size).to.equal(0);
        await first.close();
        expect(ws.readyState).to.be.oneOf([2, 3]);
        // Once the first is gone the path is free again (the catch-all takes it meanwhile).
        expect(await statusFor(srv.port, '/same')).to.equal(101);
        const again = new WebSocketServer({ server, path: '/same' });
        await again.close();
      } finally {
        await first.close();
        await catchAll.close();
        expect(server.listenerCount('upgrade')).to.equal(before);
        await srv.close();
      }
    });
  });
});
