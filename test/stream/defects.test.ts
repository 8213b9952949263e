/**
 * Regression tests for the stream-layer defects of issue 12, each named after the defect it
 * pins. Real TCP on 127.0.0.1; every wait is bounded. None of the streams here has an
 * 'error' listener: the contract is that nothing a peer does emits 'error', so an 'error'
 * would surface as an uncaught exception and fail the test.
 */
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { pipeline } from 'node:stream';
import { WebSocket as WsClient, WebSocketServer } from 'ws';
import { RemoteProtocolError, WebSocketDuplex, connect, handleUpgrade } from '../../lib/index';
import { closeFrame, requestHead } from '../attacks/helpers';
import { listen, once, sleep, until } from '../helpers/net';

type Close = [code: number, reason: string, wasClean: boolean, cause: Error | null];
const KiB = 1024;
const MB = 1000 * 1000;

/** A `net` server that pipes each socket through a server stream, as the README's first server does. */
async function pipeServer(setup: (ws: WebSocketDuplex, socket: net.Socket) => void) {
  const streams: WebSocketDuplex[] = [];
  const closes: Close[] = [];
  const errors: Error[] = [];
  const srv = await listen(
    net.createServer((socket) => {
      const ws = new WebSocketDuplex('server');
      streams.push(ws);
      ws.on('close', (...args) => closes.push(args));
      ws.on('error', (error) => errors.push(error)); // pipeline listens too; record any
      setup(ws, socket);
      pipeline(socket, ws, socket, () => socket.destroy());
    }),
  );
  return { ...srv, streams, closes, errors };
}

/** An `http.Server` whose upgrades go to `handleUpgrade` (with `options`), plain requests get 426. */
async function upgradeServer(setup: (ws: WebSocketDuplex) => void, options: Parameters<typeof handleUpgrade>[3] = {}) {
  const closes: Close[] = [];
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const ws = handleUpgrade(req, socket, head, options);
    ws.on('close', (...args) => closes.push(args));
    setup(ws);
  });
  return { ...(await listen(server)), closes };
}

const digest = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');

describe('stream defects (issue 12 regressions)', function () {
  this.timeout(60000);

  describe('1. deadlock after a send burst', () => {
    const bursts = [
      { count: 5, size: 1 * MB },
      { count: 50, size: 100 * 1000 },
      { count: 200, size: 20 * 1000 },
      { count: 10000, size: 1000 },
    ];
    for (const { count, size } of bursts) {
      it(`${count} × ${size} B sent right after 'open' by both sides, then close(): every message arrives, clean 1000`, async () => {
        const serverGot: string[] = [];
        const serverSent: string[] = [];
        const srv = await pipeServer((ws) => {
          ws.on('message', (data) => serverGot.push(digest(data)));
          ws.on('open', () => {
            for (let i = 0; i < count; i++) {
              const payload = Buffer.alloc(size, i % 251);
              serverSent.push(digest(payload));
              ws.send(payload);
            }
          });
        });
        try {
          const client = await connect(`ws://127.0.0.1:${srv.port}/`);
          const clientGot: string[] = [];
          const clientSent: string[] = [];
          client.on('message', (data) => clientGot.push(digest(data)));
          for (let i = 0; i < count; i++) {
            const payload = Buffer.alloc(size, (i * 7) % 251);
            clientSent.push(digest(payload));
            client.send(payload);
          }
          await until(() => clientGot.length === count, 30000, `the client to get ${count} (has ${clientGot.length})`);
          client.close(1000, 'done');
          const [code, reason, wasClean] = await once<Close>(client, 'close', 30000);
          expect([code, reason, wasClean]).to.deep.equal([1000, 'done', true]);
          await until(() => srv.closes.length === 1, 10000, 'the server close');
          expect(srv.closes[0]!.slice(0, 3)).to.deep.equal([1000, 'done', true]);
          expect(serverGot).to.deep.equal(clientSent);
          expect(clientGot).to.deep.equal(serverSent);
        } finally {
          await srv.close();
        }
      });
    }

    it("the README's 'message' echo server, fed 2,000 × 16 KiB by a ws client that does not wait, returns all 2,000", async () => {
      const srv = await pipeServer((ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
      try {
        const client = new WsClient(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        const sent: string[] = [];
        const got: string[] = [];
        client.on('message', (data: Buffer) => got.push(digest(data)));
        for (let i = 0; i < 2000; i++) {
          const payload = Buffer.alloc(16 * KiB, i % 256);
          payload.writeUInt32BE(i, 0);
          sent.push(digest(payload));
          client.send(payload);
        }
        await until(() => got.length === 2000, 30000, `2,000 echoes (got ${got.length})`);
        expect(got).to.deep.equal(sent);
        client.close(1000);
        const [code] = await once<[number]>(client, 'close');
        expect(code).to.equal(1000);
      } finally {
        await srv.close();
      }
    });
  });

  describe('2. a peer must not crash the process', () => {
    it('one plain HTTP request to the net + WebSocketDuplex server: 400, close with the cause, no error', async () => {
      const srv = await pipeServer(() => undefined);
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        const received: Buffer[] = [];
        socket.on('data', (d: Buffer) => received.push(d));
        socket.on('error', () => undefined);
        let ended = false;
        socket.on('close', () => (ended = true));
        socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n');
        await until(() => srv.closes.length === 1 && ended, 10000, 'the server stream and the connection to close');
        // The response arrives whole before the connection ends (no reset cuts it).
        expect(Buffer.concat(received).toString('latin1')).to.match(/^HTTP\/1\.1 4\d\d [^]*\r\n\r\n/);
        const [code, , wasClean, cause] = srv.closes[0]!;
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect(cause).to.be.instanceOf(RemoteProtocolError);
        expect((cause as RemoteProtocolError).code).to.equal('ERR_BAD_HANDSHAKE');
        expect(srv.errors).to.deep.equal([]);
        socket.destroy();
      } finally {
        await srv.close();
      }
    });

    it("a connect() client without an 'error' listener survives ECONNRESET when the server is killed", async () => {
      const server = http.createServer();
      server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
        const ws = handleUpgrade(req, socket, head);
        ws.on('open', () => setTimeout(() => socket.resetAndDestroy(), 20));
      });
      const srv = await listen(server);
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        const [code, , wasClean, cause] = await once<Close>(client, 'close');
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect((cause as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
        expect(client.listenerCount('error')).to.equal(0);
      } finally {
        await srv.close();
      }
    });
  });

  describe("3. late 'message' listeners", () => {
    it('a listener added in the middle of a message first sees the next whole message, nothing of the earlier one', async () => {
      const srv = await pipeServer(() => undefined);
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        const server = srv.streams[0]!;
        await until(() => server.state === 'OPEN');
        // A fragmented binary message: its first frame arrives while nobody listens.
        const got: Array<[string | Buffer, boolean]> = [];
        const frames = client.app;
        frames.write({ type: 'bytes', data: Buffer.from('LEFT'), frameFinished: true, messageFinished: false });
        await sleep(50);
        server.on('message', (data, isBinary) => got.push([data, isBinary]));
        frames.write({ type: 'bytes', data: Buffer.from('OVER'), frameFinished: true, messageFinished: true });
        client.send('next');
        await until(() => got.length === 1, 5000, 'the next message');
        await sleep(50);
        expect(got).to.deep.equal([['next', false]]);
        client.close();
        await once(client, 'close');
      } finally {
        await srv.close();
      }
    });
  });

  describe('4. the cause of a failure reaches the application', () => {
    const violations = [
      {
        what: 'invalid UTF-8 in a text message',
        frame: [0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28],
        code: 1007,
        err: 'ERR_INVALID_UTF8',
      },
      { what: 'a reserved opcode', frame: [0x83, 0x80, 0, 0, 0, 0], code: 1002, err: 'ERR_RESERVED_OPCODE' },
      { what: 'an unmasked frame', frame: [0x81, 0x02, 0x68, 0x69], code: 1002, err: 'ERR_MASK_EXPECTED' },
      {
        what: 'a message over maxMessageSize',
        frame: [0x82, 0xfe, 0x04, 0x01, 0, 0, 0, 0],
        code: 1009,
        err: 'ERR_FRAME_TOO_BIG',
      },
    ];
    for (const { what, frame, code, err } of violations) {
      it(`${what}: the server reports ${code} ${err}, and its close frame to the peer carries the reason`, async () => {
        const srv = await upgradeServer(() => undefined, { maxMessageSize: 1024 });
        try {
          const socket = net.connect(srv.port, '127.0.0.1');
          socket.on('error', () => undefined);
          const received: Buffer[] = [];
          socket.on('data', (d: Buffer) => received.push(d));
          await once(socket, 'connect');
          socket.write(requestHead());
          await until(() => Buffer.concat(received).includes('\r\n\r\n'), 5000, 'the 101');
          socket.write(Buffer.from(frame));
          await until(() => srv.closes.length === 1 || received.length > 1, 5000, 'the close frame');
          await sleep(50);
          socket.end();
          await until(() => srv.closes.length === 1, 10000, 'the server close');
          const [gotCode, reason, wasClean, cause] = srv.closes[0]!;
          expect([gotCode, wasClean]).to.deep.equal([code, false]);
          expect((cause as RemoteProtocolError).code).to.equal(err);
          expect(reason).to.equal(cause!.message);
          const all = Buffer.concat(received);
          const body = all.subarray(all.indexOf('\r\n\r\n') + 4);
          expect(body[0]).to.equal(0x88);
          expect(body.readUInt16BE(2)).to.equal(code);
          expect(body.subarray(4, 2 + body[1]!).toString()).to.equal(reason.slice(0, 123));
        } finally {
          await srv.close();
        }
      });
    }

    it('a client receiving a deflate bomb reports 1009 ERR_MESSAGE_TOO_BIG with its reason', async () => {
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: true });
      await once(wss, 'listening');
      wss.on('connection', (peer) => peer.send(Buffer.alloc(8 * MB)));
      try {
        const port = (wss.address() as net.AddressInfo).port;
        const client = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true, maxMessageSize: MB });
        const [code, reason, wasClean, cause] = await once<Close>(client, 'close', 10000);
        expect([code, wasClean]).to.deep.equal([1009, false]);
        expect((cause as RemoteProtocolError).code).to.equal('ERR_MESSAGE_TOO_BIG');
        expect(reason).to.match(/after decompression/);
      } finally {
        for (const c of wss.clients) c.terminate();
        await new Promise((r) => wss.close(r));
      }
    });

    it('a peer that never answers our close: 1006 with cause ERR_CLOSE_TIMEOUT', async () => {
      const srv = await upgradeServer((ws) => ws.on('open', () => ws.close(1000, 'bye')), { closeTimeout: 200 });
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write(requestHead());
        await until(() => srv.closes.length === 1, 5000, 'the server close');
        const [code, , wasClean, cause] = srv.closes[0]!;
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect((cause as RemoteProtocolError).code).to.equal('ERR_CLOSE_TIMEOUT');
        socket.destroy();
      } finally {
        await srv.close();
      }
    });

    it('a clean close from the peer has no cause, and our reply echoes its code and reason', async () => {
      const srv = await upgradeServer(() => undefined);
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        const received: Buffer[] = [];
        socket.on('data', (d: Buffer) => received.push(d));
        await once(socket, 'connect');
        socket.write(requestHead());
        await until(() => Buffer.concat(received).includes('\r\n\r\n'), 5000, 'the 101');
        const close = closeFrame(4001, Buffer.from('see you'));
        socket.write(close);
        await once(socket, 'end');
        socket.end();
        await until(() => srv.closes.length === 1, 5000, 'the server close');
        expect(srv.closes[0]).to.deep.equal([4001, 'see you', true, null]);
        const all = Buffer.concat(received);
        // RFC 6455 5.5.1: the reply echoes the code (4001 = 0x0fa1) and, as wsproto does, the reason.
        const reply = Buffer.concat([Buffer.from([0x88, 0x09, 0x0f, 0xa1]), Buffer.from('see you')]);
        expect(all.subarray(all.indexOf('\r\n\r\n') + 4)).to.deep.equal(reply);
      } finally {
        await srv.close();
      }
    });
  });

  describe('5. keepalive is judged by what is received', () => {
    it('a server sending every 10 ms to a silent peer still pings it and drops it: 1006 ERR_PONG_TIMEOUT', async () => {
      let sender: NodeJS.Timeout | null = null;
      const srv = await upgradeServer(
        (ws) =>
          ws.on('open', () => {
            sender = setInterval(() => ws.send('tick'), 10);
          }),
        { pingInterval: 100, pongTimeout: 100 },
      );
      try {
        // A peer that completes the handshake, then reads but never sends anything again.
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        const received: Buffer[] = [];
        socket.on('data', (d: Buffer) => received.push(d));
        await once(socket, 'connect');
        socket.write(requestHead());
        await until(() => srv.closes.length === 1, 5000, 'the server to drop the silent peer');
        const [code, , wasClean, cause] = srv.closes[0]!;
        expect([code, wasClean]).to.deep.equal([1006, false]);
        expect((cause as RemoteProtocolError).code).to.equal('ERR_PONG_TIMEOUT');
        // The ping went out although the server was sending all along.
        const all = Buffer.concat(received);
        expect(all.includes(Buffer.from([0x89, 0x09, ...Buffer.from('keepalive')]))).to.equal(true);
        socket.destroy();
      } finally {
        if (sender !== null) clearInterval(sender);
        await srv.close();
      }
    });

    it('a peer that answers pings stays connected while both sides send', async () => {
      let sender: NodeJS.Timeout | null = null;
      const srv = await upgradeServer(
        (ws) =>
          ws.on('open', () => {
            sender = setInterval(() => ws.send('tick'), 10);
          }),
        { pingInterval: 50, pongTimeout: 100 },
      );
      try {
        const client = new WsClient(`ws://127.0.0.1:${srv.port}/`);
        let pings = 0;
        client.on('ping', () => pings++);
        await once(client, 'open');
        await sleep(600);
        expect(srv.closes).to.deep.equal([]);
        client.close(1000);
        await once(client, 'close');
        // ws answers pings; it does not send anything else, so the server pinged it.
        expect(pings).to.be.greaterThan(0);
      } finally {
        if (sender !== null) clearInterval(sender);
        await srv.close();
      }
    });
  });
});
