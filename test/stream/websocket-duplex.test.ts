/** The Duplex wrapper over real loopback sockets. */
import { expect } from 'chai';
import type { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { pipeline, Transform } from 'node:stream';
import WebSocket from 'ws';
import {
  BytesMessage,
  CloseConnection,
  connect,
  ConnectionState,
  LocalProtocolError,
  Ping,
  TextMessage,
  WebSocketDuplex,
  type WSEvent,
} from '../../lib/index';
import { acceptKey } from '../../lib/handshake/handshake';
import { listen, once, sleep, until } from '../helpers/net';

type CloseArgs = [number, string, boolean];

/** A bare net.Server whose sockets are wired with socket.pipe(ws).pipe(socket). */
async function pipeServer(setup: (ws: WebSocketDuplex, socket: net.Socket) => void, options = {}) {
  const streams: WebSocketDuplex[] = [];
  const closes: CloseArgs[] = [];
  const srv = await listen(
    net.createServer((socket) => {
      const ws = new WebSocketDuplex('server', options);
      streams.push(ws);
      ws.on('error', () => undefined);
      ws.on('close', (code, reason, wasClean) => {
        closes.push([code, reason, wasClean]);
        socket.destroy();
      });
      // A socket you pipe yourself is yours to watch: a peer that resets (a test's client
      // terminating with a ping unread) makes it emit 'error'.
      socket.on('error', () => undefined);
      setup(ws, socket);
      socket.pipe(ws).pipe(socket);
    }),
  );
  return { ...srv, streams, closes };
}

describe('WebSocketDuplex (the Duplex wrapper)', () => {
  it("is an EventEmitter with no inherited listener names (its listener table is the library's own)", () => {
    const duplex = new WebSocketDuplex('server', { handshakeTimeout: 0 });
    const ws = duplex as unknown as EventEmitter; // any event name
    for (const name of ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf']) {
      expect(ws.listenerCount(name), name).to.equal(0);
      expect(ws.emit(name), name).to.equal(false);
    }
    const seen: string[] = [];
    const one = () => seen.push('one');
    const two = () => seen.push('two');
    ws.on('toString', one);
    ws.on('toString', two);
    ws.once('constructor', () => seen.push('once'));
    expect(ws.eventNames()).to.deep.equal(['toString', 'constructor']);
    ws.emit('toString');
    ws.emit('constructor');
    ws.emit('constructor');
    ws.off('toString', one);
    ws.emit('toString');
    ws.off('toString', two);
    expect(seen).to.deep.equal(['one', 'two', 'once', 'two']);
    expect(ws.eventNames()).to.deep.equal([]);
    ws.on('message', one);
    expect(duplex.listenerCount('message')).to.equal(1);
    duplex.destroy();
  });

  it('socket.pipe(ws).pipe(socket): a ws client talks to an echo server', async () => {
    const srv = await pipeServer((ws) =>
      ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })),
    );
    try {
      const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
      await once(client, 'open');
      const got: Array<[string, boolean]> = [];
      client.on('message', (d, b) => got.push([d.toString(), b]));
      client.send('text ✓');
      client.send(Buffer.from('binary'));
      await until(() => got.length === 2);
      expect(got).to.deep.equal([
        ['text ✓', false],
        ['binary', true],
      ]);
      client.close(1000, 'bye');
      const [code] = await once<[number]>(client, 'close');
      expect(code).to.equal(1000);
      await until(() => srv.closes.length === 1);
      expect(srv.closes[0]).to.deep.equal([1000, 'bye', true]);
      expect(srv.streams[0]!.state).to.equal(ConnectionState.CLOSED);
    } finally {
      await srv.close();
    }
  });

  it('stream.pipeline(socket, ws, socket) with an object-mode transform on ws.app (uppercase echo)', async () => {
    const srv = await listen(
      net.createServer((socket) => {
        const ws = new WebSocketDuplex('server');
        const upper = new Transform({
          objectMode: true,
          transform(event: WSEvent, _enc, cb) {
            if (event instanceof TextMessage) cb(null, new TextMessage({ ...event, data: event.data.toUpperCase() }));
            else if (event instanceof BytesMessage) cb(null, event);
            else cb();
          },
        });
        pipeline(ws.app, upper, ws.app, () => undefined);
        pipeline(socket, ws, socket, () => undefined);
      }),
    );
    try {
      const client = await connect(`ws://127.0.0.1:${srv.port}/upper`);
      const messages: string[] = [];
      client.on('message', (d) => messages.push(String(d)));
      client.send('hello');
      client.send('world');
      await until(() => messages.length === 2);
      expect(messages).to.deep.equal(['HELLO', 'WORLD']);
      client.close();
      const [code, , clean] = await once<CloseArgs>(client, 'close');
      expect([code, clean]).to.deep.equal([1000, true]);
    } finally {
      await srv.close();
    }
  });

  it('for await (const event of ws.app) yields the events', async () => {
    const seen: string[] = [];
    const srv = await pipeServer((ws) => {
      void (async () => {
        for await (const event of ws.app as AsyncIterable<WSEvent>) {
          seen.push(event.type);
          if (event instanceof TextMessage && event.data === 'last') ws.close(1000, 'enough');
        }
        seen.push('end');
      })();
    });
    try {
      const client = await connect(`ws://127.0.0.1:${srv.port}/`);
      client.send('one');
      client.ping('p');
      client.send('last');
      const [code, reason, clean] = await once<CloseArgs>(client, 'close');
      expect([code, reason, clean]).to.deep.equal([1000, 'enough', true]);
      await until(() => seen.includes('end'));
      expect(seen).to.deep.equal(['request', 'text', 'ping', 'text', 'close', 'end']);
    } finally {
      await srv.close();
    }
  });

  it('automatic pong (and switching it off)', async () => {
    for (const autoPong of [true, false]) {
      const srv = await pipeServer(() => undefined, { autoPong });
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await once(client, 'open');
        const pong = once(client, 'pong', 300).then(
          () => true,
          () => false,
        );
        client.ping('x');
        expect(await pong).to.equal(autoPong);
        client.terminate();
      } finally {
        await srv.close();
      }
    }
  });

  describe('closing', () => {
    it('server-initiated: the server ends the transport first (RFC 6455 7.1.1), both sides clean', async () => {
      const srv = await pipeServer((ws) => ws.on('open', () => ws.close(4001, 'server says bye')));
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        const [code, reason, clean] = await once<CloseArgs>(client, 'close');
        expect([code, reason, clean]).to.deep.equal([4001, 'server says bye', true]);
        await until(() => srv.streams[0]!.destroyed);
      } finally {
        await srv.close();
      }
    });

    it('client-initiated: code and reason reach the server; both clean', async () => {
      const closes: CloseArgs[] = [];
      const srv = await pipeServer((ws) => ws.on('close', (code, reason, clean) => closes.push([code, reason, clean])));
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        client.close(3000, 'client bye');
        const [code, reason, clean] = await once<CloseArgs>(client, 'close');
        expect([code, reason, clean]).to.deep.equal([3000, 'client bye', true]);
        await until(() => closes.length === 1);
        expect(closes[0]).to.deep.equal([3000, 'client bye', true]);
      } finally {
        await srv.close();
      }
    });

    it('simultaneous close: both sides send close at once, both clean', async () => {
      const closes: CloseArgs[] = [];
      const srv = await pipeServer((ws) => {
        ws.on('message', () => ws.close(1001, 'srv'));
        ws.on('close', (code, reason, clean) => closes.push([code, reason, clean]));
      });
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        client.send('go');
        client.close(1000, 'cli');
        const [code, , clean] = await once<CloseArgs>(client, 'close');
        expect(clean).to.equal(true);
        // RFC 6455 7.1.5: the close code is the one in the close frame received.
        expect(code).to.equal(1001);
        await until(() => closes.length === 1);
        expect(closes[0]).to.deep.equal([1000, 'cli', true]);
      } finally {
        await srv.close();
      }
    });

    it('transport EOF mid-message: close 1006, not clean, partial data stays delivered', async () => {
      const events: WSEvent[] = [];
      const srv = await pipeServer((ws) => {
        const app = ws.app;
        app.on('data', (e: WSEvent) => events.push(e));
      });
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        // a 10-byte masked text frame, only 4 payload bytes sent
        socket.end(Buffer.from('818a0000000061626364', 'hex'));
        await until(() => srv.closes.length === 1);
        const [code, , clean] = srv.closes[0]!;
        expect([code, clean]).to.deep.equal([1006, false]);
        const text = events.filter((e): e is TextMessage => e instanceof TextMessage);
        expect(text.map((e) => e.data).join('')).to.equal('abcd');
        expect(events.at(-1)).to.be.instanceOf(CloseConnection);
      } finally {
        await srv.close();
      }
    });

    it('destroy() mid-handshake is clean: close 1006 once, no error, socket closed', async () => {
      let errors = 0;
      let closes = 0;
      const srv = await pipeServer((ws) => {
        ws.on('error', () => errors++);
        ws.on('close', () => closes++);
      });
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
        await until(() => srv.streams.length === 1);
        await sleep(20);
        srv.streams[0]!.destroy();
        await once(socket, 'close');
        expect([errors, closes]).to.deep.equal([0, 1]);
      } finally {
        await srv.close();
      }
    });

    it('messages sent after close are refused with a LocalProtocolError callback, never thrown', async () => {
      const srv = await pipeServer(() => undefined);
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        client.close();
        const error = await new Promise<Error | null | undefined>((r) => client.send('late', {}, r));
        expect(error).to.be.instanceOf(LocalProtocolError);
        await once(client, 'close');
      } finally {
        await srv.close();
      }
    });
  });

  describe('close replies and close timeouts', () => {
    it('autoCloseReply: false leaves the answer to the application', async () => {
      const srv = await pipeServer((ws) => {
        ws.on('message', () => ws.close(4002, 'from server'));
      });
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`, { autoCloseReply: false, closeTimeout: 300 });
        let sawClose = false;
        client.app.on('data', (e: WSEvent) => {
          if (e instanceof CloseConnection) {
            sawClose = true;
            expect(client.state).to.equal(ConnectionState.REMOTE_CLOSING);
            // answer late, by hand
            setTimeout(() => client.close(e.code), 50);
          }
        });
        client.send('go');
        const [code, , clean] = await once<CloseArgs>(client, 'close');
        expect(sawClose).to.equal(true);
        expect([code, clean]).to.deep.equal([4002, true]);
      } finally {
        await srv.close();
      }
    });

    it('closeTimeout: a peer that never answers our close is dropped; not clean', async () => {
      const srv = await listen(
        net.createServer((socket) => {
          socket.on('error', () => undefined);
          let buffered = '';
          socket.on('data', (d) => {
            buffered += d.toString('latin1');
            const key = /Sec-WebSocket-Key: (\S+)/i.exec(buffered)?.[1];
            if (key === undefined || !buffered.includes('\r\n\r\n')) return;
            socket.removeAllListeners('data');
            socket.write(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
                `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
            );
            socket.resume(); // reads, never answers
          });
        }),
      );
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`, { closeTimeout: 200 });
        client.close(1000, 'bye');
        const [code, reason, clean] = await once<CloseArgs>(client, 'close', 3000);
        // RFC 6455 7.1.5: no close frame received, so the connection close code is 1006.
        expect([code, clean]).to.deep.equal([1006, false]);
        expect(reason).to.match(/did not answer the close/);
      } finally {
        await srv.close();
      }
    });

    it('no listener leaks on the socket after many connections through one server', async () => {
      const sockets: net.Socket[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          sockets.push(socket);
          const ws = new WebSocketDuplex('server');
          ws.on('message', (d) => ws.send(d));
          ws.on('close', () => socket.destroy());
          socket.pipe(ws).pipe(socket);
        }),
      );
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.name);
      process.on('warning', onWarning);
      try {
        for (let i = 0; i < 20; i++) {
          const c = await connect(`ws://127.0.0.1:${srv.port}/`);
          const reply = once<[string]>(c, 'message');
          c.send(`n${i}`);
          expect((await reply)[0]).to.equal(`n${i}`);
          c.close();
          await once(c, 'close');
        }
        await until(() => sockets.every((s) => s.destroyed));
        // Each server socket carries only the listeners pipe() and net add, never more.
        for (const s of sockets) expect(s.listenerCount('data')).to.be.at.most(1);
        expect(warnings).to.deep.equal([]);
      } finally {
        process.off('warning', onWarning);
        await srv.close();
      }
    });
  });

  describe('timeouts (short real timers)', () => {
    it('handshakeTimeout drops a client that never finishes its request (slowloris)', async () => {
      const srv = await pipeServer(() => undefined, { handshakeTimeout: 150 });
      try {
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write('GET / HTTP/1.1\r\n');
        const started = Date.now();
        await once(socket, 'close', 3000);
        expect(Date.now() - started).to.be.below(2000);
        await until(() => srv.closes.length === 1);
        const [code, reason, clean] = srv.closes[0]!;
        expect([code, clean]).to.deep.equal([1006, false]);
        expect(reason).to.match(/timed out/);
      } finally {
        await srv.close();
      }
    });

    it('keepalive: pings after pingInterval; a peer that never pongs is dropped after pongTimeout', async () => {
      const srv = await pipeServer(() => undefined, { pingInterval: 80, pongTimeout: 80 });
      try {
        // A ws client answers pings: it stays connected past several intervals.
        const good = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        let pings = 0;
        good.on('ping', () => pings++);
        await once(good, 'open');
        await sleep(400);
        expect(pings).to.be.greaterThan(1);
        expect(good.readyState).to.equal(WebSocket.OPEN);
        good.terminate();
        // A raw socket that completes the handshake and then ignores everything.
        const mute = net.connect(srv.port, '127.0.0.1');
        mute.on('error', () => undefined); // the server resets it: that is the point
        await once(mute, 'connect');
        mute.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        mute.resume();
        await once(mute, 'close', 3000);
        await until(() => srv.closes.length === 2);
        expect(srv.closes[1]![2]).to.equal(false);
        expect(srv.closes[1]![1]).to.match(/pong/);
      } finally {
        await srv.close();
      }
    });
  });

  describe('backpressure', () => {
    it('nobody reads ws.app: the server stops reading the socket; buffered bytes stay bounded', async () => {
      let server: WebSocketDuplex | null = null;
      let rawSocket: net.Socket | null = null;
      const srv = await pipeServer(
        (ws, socket) => {
          server = ws;
          rawSocket = socket;
          void ws.app; // a reader exists but never reads
        },
        { appHighWaterMark: 4, highWaterMark: 16 * 1024 },
      );
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        const chunk = Buffer.alloc(16 * 1024, 7);
        let sent = 0;
        // Send up to 64 MiB, stopping when the client's socket stops draining.
        for (let i = 0; i < 4096; i++) {
          client.send(chunk);
          sent += chunk.length;
          if (client.bufferedAmount > 4 * 1024 * 1024) break;
        }
        await sleep(300);
        const s = server as unknown as WebSocketDuplex;
        const held =
          s.writableLength + s.app.readableLength * chunk.length + (rawSocket as unknown as net.Socket).readableLength;
        // The server holds at most its high-water marks (plus one TCP read), far below what was sent.
        expect(sent).to.be.greaterThan(4 * 1024 * 1024);
        expect(held).to.be.below(1024 * 1024);
        expect(client.bufferedAmount).to.be.greaterThan(1024 * 1024);
        // Reading resumes the flow.
        let received = 0;
        s.app.on('data', (e: WSEvent) => {
          if (e instanceof BytesMessage) received += e.data.length;
        });
        await until(() => received >= sent, 10000, 'all bytes to arrive after reading resumed');
        client.destroy();
      } finally {
        await srv.close();
      }
    });

    it('a slow socket holds the callbacks of ws.app writers', async () => {
      let server: WebSocketDuplex | null = null;
      const srv = await pipeServer(
        (ws) => {
          server = ws;
        },
        { highWaterMark: 16 * 1024 },
      );
      try {
        // A raw client that completes the handshake and then does not read.
        const socket = net.connect(srv.port, '127.0.0.1');
        socket.on('error', () => undefined);
        await once(socket, 'connect');
        socket.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        await until(() => server !== null && (server as WebSocketDuplex).state === 'OPEN');
        socket.pause();
        const s = server as unknown as WebSocketDuplex;
        let completed = 0;
        const payload = Buffer.alloc(64 * 1024);
        let writes = 0;
        for (; writes < 2000; writes++) {
          if (!s.app.write(new BytesMessage({ data: payload }), () => completed++)) break;
        }
        await sleep(300);
        // The writes stopped being accepted long before 2000 x 64 KiB, and callbacks wait.
        expect(writes).to.be.below(2000);
        const waiting = writes + 1 - completed;
        expect(waiting).to.be.greaterThan(0);
        expect(s.bufferedAmount).to.be.below(8 * 1024 * 1024);
        socket.resume();
        await until(() => completed === writes + 1, 10000, 'write callbacks after the socket drains');
        socket.destroy();
      } finally {
        await srv.close();
      }
    });
  });

  it('ws.app accepts events, strings and Buffers; refuses other objects', async () => {
    const srv = await pipeServer((ws) => {
      ws.on('open', () => {
        ws.app.write('str');
        ws.app.write(Buffer.from('buf'));
        ws.app.write(new Ping({ payload: Buffer.from('pp') }));
        ws.app.write(42 as unknown as string, (error) => {
          if (error) ws.send(`refused: ${(error as LocalProtocolError).code}`);
        });
      });
      ws.app.on('error', () => undefined);
    });
    try {
      const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
      const got: string[] = [];
      client.on('message', (d, b) => got.push(`${b ? 'bin' : 'txt'}:${d.toString()}`));
      client.on('ping', (d) => got.push(`ping:${d.toString()}`));
      await until(() => got.length >= 3);
      expect(got.slice(0, 3)).to.deep.equal(['txt:str', 'bin:buf', 'ping:pp']);
      client.terminate();
    } finally {
      await srv.close();
    }
  });

  describe('what users coming from ws expect', () => {
    it('pong(payload) sends an unsolicited pong (RFC 6455 5.5.3) that the peer sees', async () => {
      const srv = await pipeServer((ws) => ws.on('open', () => ws.pong('heartbeat')));
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`);
        const [payload] = await once<[Buffer]>(client, 'pong');
        expect(payload.toString()).to.equal('heartbeat');
        client.terminate();
      } finally {
        await srv.close();
      }
    });

    it('send(), ping() and pong() before the handshake completed throw ERR_INVALID_STATE, with or without a callback', () => {
      const ws = new WebSocketDuplex('client', { request: { host: 'x', target: '/' } });
      let called = false;
      const attempts: Array<() => unknown> = [
        () => ws.send('early'),
        () => ws.send('early', {}, () => (called = true)),
        () => ws.send(Buffer.from('early'), { binary: true }, () => (called = true)),
        () => ws.ping(),
        () => ws.ping('p', () => (called = true)),
        () => ws.pong(),
        () => ws.pong('p', () => (called = true)),
      ];
      for (const attempt of attempts) {
        expect(attempt).to.throw(LocalProtocolError).with.property('code', 'ERR_INVALID_STATE');
      }
      expect(called).to.equal(false);
      ws.terminate();
    });

    it('send() after the close started: false, and the callback gets ERR_INVALID_STATE (as ws does), no throw', async () => {
      const srv = await pipeServer(() => undefined);
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        client.close();
        const error = await new Promise<Error | null | undefined>((resolve) => {
          expect(client.send('late', {}, resolve)).to.equal(false);
        });
        expect(error).to.be.instanceOf(LocalProtocolError).with.property('code', 'ERR_INVALID_STATE');
        expect(client.pong('late')).to.equal(false);
        await once(client, 'close');
      } finally {
        await srv.close();
      }
    });

    it("protocol is '' when no subprotocol was agreed (as in ws and the browser), the name when one was", async () => {
      const srv = await pipeServer(() => undefined, {
        accept: (request: { subprotocols: readonly string[] }) => ({ subprotocol: request.subprotocols[0] ?? null }),
      });
      try {
        const plain = await connect(`ws://127.0.0.1:${srv.port}/`);
        expect(plain.protocol).to.equal('');
        const chat = await connect(`ws://127.0.0.1:${srv.port}/`, { subprotocols: ['chat'] });
        expect(chat.protocol).to.equal('chat');
        expect(chat.extensions).to.deep.equal([]);
        plain.terminate();
        chat.terminate();
        const [code, , wasClean] = await once<CloseArgs>(chat, 'close');
        expect([code, wasClean]).to.deep.equal([1006, false]);
      } finally {
        await srv.close();
      }
    });
  });
});
