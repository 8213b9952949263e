/** handleUpgrade inside http.createServer, and connect() (ws:// and wss://). */
import { expect } from 'chai';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import WebSocket from 'ws';
import {
  connect,
  handleUpgrade,
  HandshakeRejectedError,
  LocalProtocolError,
  type WebSocketDuplex,
} from '../../lib/index';
import { acceptKey } from '../../lib/handshake/handshake';
import { listen, once, until } from '../helpers/net';
import { makeCertificate } from '../helpers/proxies';

type CloseArgs = [number, string, boolean];

function echoServer(options: Parameters<typeof handleUpgrade>[3] = {}) {
  const streams: WebSocketDuplex[] = [];
  const server = http.createServer((_req, res) => res.end('plain http\n'));
  server.on('upgrade', (req, socket, head) => {
    const ws = handleUpgrade(req, socket, head, options);
    streams.push(ws);
    ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  return { server, streams };
}

describe('handleUpgrade (http.Server "upgrade")', () => {
  it('a ws client and our connect() both talk to it; plain HTTP still works', async () => {
    const { server } = echoServer({ selectSubprotocol: (offered) => (offered.includes('b') ? 'b' : null) });
    const srv = await listen(server);
    try {
      const plain = await new Promise<string>((resolve) => {
        http.get(`http://127.0.0.1:${srv.port}/`, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        });
      });
      expect(plain).to.equal('plain http\n');

      const client = new WebSocket(`ws://127.0.0.1:${srv.port}/chat`, ['a', 'b']);
      await once(client, 'open');
      expect(client.protocol).to.equal('b');
      const reply = once<[Buffer]>(client, 'message');
      client.send('via ws');
      expect(String((await reply)[0])).to.equal('via ws');
      client.close();
      await once(client, 'close');

      const ours = await connect(`ws://127.0.0.1:${srv.port}/chat`, { subprotocols: ['b'] });
      expect(ours.protocol).to.equal('b');
      const msg = once<[string]>(ours, 'message');
      ours.send('via wsproto');
      expect((await msg)[0]).to.equal('via wsproto');
      ours.close();
      const [code, , clean] = await once<CloseArgs>(ours, 'close');
      expect([code, clean]).to.deep.equal([1000, true]);
    } finally {
      await srv.close();
    }
  });

  it('bytes that arrived with the head (the "head" argument) are fed first', async () => {
    const { server } = echoServer();
    const srv = await listen(server);
    try {
      const socket = net.connect(srv.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      // The request and a masked text frame "hi" in one write: Node hands the frame over as `head`.
      socket.write(
        Buffer.concat([
          Buffer.from(
            'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
          ),
          Buffer.from('818200000000' + '6869', 'hex'),
        ]),
      );
      let received = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
      await until(() => received.includes(Buffer.from('\r\n\r\n\x81\x02hi', 'latin1')));
      expect(received.toString('latin1')).to.match(/^HTTP\/1\.1 101 /);
      socket.destroy();
    } finally {
      await srv.close();
    }
  });

  it('verifyOrigin refusing: 403, and the stream closes without crashing', async () => {
    const { server, streams } = echoServer({ verifyOrigin: (origin) => origin === 'https://good.example' });
    const srv = await listen(server);
    try {
      const bad = new WebSocket(`ws://127.0.0.1:${srv.port}/`, { origin: 'https://evil.example' });
      const [, res] = await once<[unknown, http.IncomingMessage]>(bad, 'unexpected-response');
      expect(res.statusCode).to.equal(403);
      res.destroy();
      const good = new WebSocket(`ws://127.0.0.1:${srv.port}/`, { origin: 'https://good.example' });
      await once(good, 'open');
      good.terminate();
      await until(() => streams.length === 2);
    } finally {
      await srv.close();
    }
  });

  for (const [name, headers, status] of [
    ['a bad Sec-WebSocket-Version', { 'Sec-WebSocket-Version': '8' }, 426],
    ['a missing key', { 'Sec-WebSocket-Key': '' }, 400],
  ] as const) {
    it(`an invalid upgrade (${name}) gets ${status} with a reason in the body`, async () => {
      const { server } = echoServer();
      const srv = await listen(server);
      try {
        const base: Record<string, string> = Object.assign(
          {
            Host: 'x',
            Upgrade: 'websocket',
            Connection: 'Upgrade',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
            'Sec-WebSocket-Version': '13',
          },
          headers,
        );
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        const lines = Object.entries(base)
          .filter(([, v]) => v !== '')
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('');
        socket.write(`GET / HTTP/1.1\r\n${lines}\r\n`);
        let text = '';
        socket.on('data', (d) => (text += d.toString()));
        await once(socket, 'close');
        expect(text).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
        if (status === 426) expect(text).to.include('Sec-WebSocket-Version: 13\r\n');
        expect(text.split('\r\n\r\n')[1]).to.not.equal('');
      } finally {
        await srv.close();
      }
    });
  }
});

describe('connect()', () => {
  it('a rejected handshake rejects with HandshakeRejectedError carrying status, headers and body', async () => {
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      handleUpgrade(req, socket, head, { accept: () => ({ accept: false, statusCode: 401, body: 'who are you?' }) });
    });
    const srv = await listen(server);
    try {
      let error: unknown = null;
      try {
        await connect(`ws://127.0.0.1:${srv.port}/`);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(HandshakeRejectedError);
      const rejected = error as HandshakeRejectedError;
      expect(rejected.statusCode).to.equal(401);
      expect(rejected.body.toString()).to.equal('who are you?');
    } finally {
      await srv.close();
    }
  });

  it('an async accept hook decides', async () => {
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      const ws = handleUpgrade(req, socket, head, {
        accept: async (request) => {
          await new Promise((r) => setTimeout(r, 10));
          return request.target === '/ok' ? { subprotocol: null } : false;
        },
      });
      ws.on('message', (d) => ws.send(d));
    });
    const srv = await listen(server);
    try {
      const ok = await connect(`ws://127.0.0.1:${srv.port}/ok`);
      ok.close();
      const rejected = await connect(`ws://127.0.0.1:${srv.port}/nope`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(rejected).to.be.instanceOf(HandshakeRejectedError);
      expect((rejected as HandshakeRejectedError).statusCode).to.equal(403);
    } finally {
      await srv.close();
    }
  });

  it("regression: frames in the same read as the 101 reach listeners attached after 'await connect()'", async () => {
    const server = net.createServer((socket) => {
      let head = '';
      socket.on('data', (d) => {
        head += d.toString('latin1');
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(head)?.[1];
        if (!head.includes('\r\n\r\n') || key === undefined) return;
        // The 101 and two text frames in one write.
        socket.write(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
            ),
            Buffer.from(
              '8105' + Buffer.from('first').toString('hex') + '8106' + Buffer.from('second').toString('hex'),
              'hex',
            ),
          ]),
        );
      });
      socket.on('error', () => undefined);
    });
    const srv = await listen(server);
    try {
      const ws = await connect(`ws://127.0.0.1:${srv.port}/`);
      const got: string[] = [];
      ws.on('message', (d) => got.push(String(d)));
      await until(() => got.length === 2);
      expect(got).to.deep.equal(['first', 'second']);
      ws.destroy();
    } finally {
      await srv.close();
    }
  });

  it('refuses URLs that are not WebSocket URLs (ERR_INVALID_URL), before any connection', async () => {
    const error = await connect('ftp://127.0.0.1:1/').then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(LocalProtocolError);
    expect(error).to.have.property('code', 'ERR_INVALID_URL');
    expect(String(error)).to.match(/scheme ftp:/);
  });

  it('a connection refused rejects (no hang)', async () => {
    const probe = net.createServer();
    const { port, close } = await listen(probe);
    await close();
    const error = await connect(`ws://127.0.0.1:${port}/`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(error)).to.match(/ECONNREFUSED/);
  });

  it('wss:// with TLS (a self-signed certificate made for the test)', async () => {
    const certificate = makeCertificate();
    const { key, cert } = certificate;
    const server = https.createServer({ key, cert });
    server.on('upgrade', (req, socket, head) => {
      const ws = handleUpgrade(req, socket, head);
      ws.on('message', (d) => ws.send(`tls:${String(d)}`));
    });
    const srv = await listen(server);
    try {
      const ws = await connect(`wss://localhost:${srv.port}/`, { tls: { ca: cert } });
      const msg = once<[string]>(ws, 'message');
      ws.send('secure');
      expect((await msg)[0]).to.equal('tls:secure');
      ws.close();
      await once(ws, 'close');
      const untrusted = await connect(`wss://localhost:${srv.port}/`).then(
        () => null,
        (e: unknown) => e,
      );
      expect(String(untrusted)).to.match(/self.signed|certificate/i);
    } finally {
      await srv.close();
      certificate.cleanup();
    }
  });
});
