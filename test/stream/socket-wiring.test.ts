/**
 * Mirror test for lib/stream/socket-wiring: `wireSocket(ws, socket)` over real TCP on
 * 127.0.0.1. Transport failures end the stream in 'close' (1006, with the cause), never
 * in 'error'; after a clean close the socket is destroyed only once it flushed.
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { RemoteProtocolError, WebSocketDuplex, type WebSocketDuplexOptions } from '../../lib/index';
import { readBuffers } from '../../lib/stream/client/read-buffers';
import { wireSocket } from '../../lib/stream/socket-wiring';
import { masked } from '../helpers/bytes';
import { listen, once, until } from '../helpers/net';

type CloseArgs = [number, string, boolean, Error | null];

/** A TCP server whose sockets are wired to server streams; `onOpen` gets each open stream and its socket. */
async function wiredServer(
  onOpen: (ws: WebSocketDuplex, socket: net.Socket) => void,
  options: WebSocketDuplexOptions = {},
) {
  const streams: Array<{ ws: WebSocketDuplex; socket: net.Socket; closed: Promise<CloseArgs>; errors: Error[] }> = [];
  const srv = await listen(
    net.createServer({ allowHalfOpen: true }, (socket) => {
      const ws = new WebSocketDuplex('server', options);
      const errors: Error[] = [];
      ws.on('error', (e) => errors.push(e)); // recorded, so that a wrong 'error' fails an assertion
      const closed = once<CloseArgs>(ws, 'close');
      streams.push({ ws, socket, closed, errors });
      ws.on('open', () => onOpen(ws, socket));
      wireSocket(ws, socket);
    }),
  );
  return { ...srv, streams };
}

/** A client stream wired to a fresh TCP connection to `port`. */
function wiredClient(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const ws = new WebSocketDuplex('client', { request: { host: `127.0.0.1:${port}`, target: '/' } });
  const errors: Error[] = [];
  ws.on('error', (e) => errors.push(e));
  const closed = once<CloseArgs>(ws, 'close');
  wireSocket(ws, socket);
  return { ws, socket, closed, errors };
}

const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

describe('stream/socket-wiring', () => {
  it("the peer resets the connection: 'close' 1006 with the ECONNRESET as its cause, no 'error'", async () => {
    // After the handshake: the server resets when the client's first message arrives.
    const srv = await wiredServer((ws, socket) => ws.on('message', () => socket.resetAndDestroy()));
    try {
      const client = wiredClient(srv.port);
      await once(client.ws, 'open');
      client.ws.send('reset me');
      const [code, , wasClean, cause] = await client.closed;
      expect(code).to.equal(1006);
      expect(wasClean).to.equal(false);
      expect(cause).to.be.instanceOf(Error);
      expect((cause as NodeJS.ErrnoException).code).to.equal('ECONNRESET');
      expect(client.errors).to.deep.equal([]);
      expect(client.socket.destroyed).to.equal(true);
    } finally {
      await srv.close();
    }
  });

  it("a socket that closes without ending its input: 'close' 1006 with cause ERR_TRANSPORT", async () => {
    // The server destroys its own socket (no error, no EOF from the peer).
    const srv = await wiredServer((_ws, socket) => socket.destroy());
    try {
      const client = wiredClient(srv.port);
      await client.closed;
      await until(() => srv.streams.length === 1);
      const { closed, errors } = srv.streams[0]!;
      const [code, , wasClean, cause] = await closed;
      expect(code).to.equal(1006);
      expect(wasClean).to.equal(false);
      expect(cause).to.be.instanceOf(RemoteProtocolError);
      expect((cause as RemoteProtocolError).code).to.equal('ERR_TRANSPORT');
      expect(errors).to.deep.equal([]);
    } finally {
      await srv.close();
    }
  });

  it('the peer ends its input after the close handshake: clean, no cause, both sockets destroyed', async () => {
    const srv = await wiredServer(() => undefined);
    try {
      const client = wiredClient(srv.port);
      await once(client.ws, 'open');
      client.ws.close(1000, 'bye');
      const [code, reason, wasClean, cause] = await client.closed;
      expect([code, reason, wasClean, cause]).to.deep.equal([1000, 'bye', true, null]);
      const server = srv.streams[0]!;
      expect(await server.closed).to.deep.equal([1000, 'bye', true, null]);
      await until(() => client.socket.destroyed && server.socket.destroyed, 5000, 'both sockets destroyed');
    } finally {
      await srv.close();
    }
  });

  it('after a clean close the socket is destroyed only once it flushed: a slow peer still gets all of it and the close frame', async () => {
    // The server sends 8 MiB and answers the peer's close; the peer reads nothing for a
    // while, so at the stream's 'close' the socket still has bytes to flush.
    const big = Buffer.alloc(8 * 1024 * 1024, 0x5a);
    const srv = await wiredServer((ws) => ws.send(big));
    try {
      const peer = net.connect({ host: '127.0.0.1', port: srv.port, allowHalfOpen: true });
      await once(peer, 'connect');
      peer.write(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      const received: Buffer[] = [];
      const paused = new Promise<void>((resolve) =>
        peer.on('data', (d: Buffer) => {
          received.push(d);
          if (received.length > 1) return;
          // At the first bytes (the 101): stop reading, send close 1000, then EOF.
          peer.pause();
          peer.end(masked({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) }));
          resolve();
        }),
      );
      await paused;
      await until(() => srv.streams.length === 1);
      const server = srv.streams[0]!;
      let flushedAtClose: boolean | null = null;
      server.ws.on('close', () => {
        flushedAtClose = server.socket.writableFinished;
      });
      await new Promise((r) => setTimeout(r, 150));
      peer.resume();
      const peerEnded = once(peer, 'end', 10000);
      const [code, , wasClean, cause] = await server.closed;
      expect([code, wasClean, cause]).to.deep.equal([1000, true, null]);
      await peerEnded;
      const all = Buffer.concat(received);
      expect(all.subarray(all.length - CLOSE_1000.length)).to.deep.equal(CLOSE_1000);
      const head = all.indexOf('\r\n\r\n') + 4;
      // 101 head, then the 8 MiB message (127-length frame header of 10 bytes), then the close.
      expect(all.length - head).to.equal(10 + big.length + CLOSE_1000.length);
      await until(() => server.socket.destroyed, 6000, 'the server socket destroyed');
      // The case this test is about: the socket had not flushed yet when the stream closed.
      expect(flushedAtClose).to.equal(false);
      peer.destroy();
    } finally {
      await srv.close();
    }
  });

  it('wires every connection with the same listener functions (no closures per connection), one of each, and does not read the wire face', () => {
    const make = () => {
      const socket = new Duplex({ read() {}, write: (_c, _e, cb: () => void) => cb() });
      const ws = new WebSocketDuplex('server');
      wireSocket(ws, socket);
      return { socket, ws };
    };
    const a = make();
    const b = make();
    for (const event of ['data', 'end', 'error', 'close', 'drain']) {
      expect(a.socket.listeners(event), `socket '${event}'`).to.have.length(1);
      expect(a.socket.listeners(event)[0]).to.equal(b.socket.listeners(event)[0]);
    }
    // The stream tells the wiring of its close itself: no listener of ours on it (a user's
    // 'close' listener is then the only one, not an array of two).
    expect(a.ws.listenerCount('close')).to.equal(0);
    // The output goes to the socket directly: nothing reads the wire face.
    expect(a.ws.listenerCount('data')).to.equal(0);
    a.ws.destroy();
    b.ws.destroy();
  });

  it("the stream's close lets the socket go: wired at once, and wired after its output had already ended", async () => {
    const wired = () => {
      const socket = new Duplex({ read() {}, write: (_c, _e, cb: () => void) => cb() });
      const ws = new WebSocketDuplex('server', { handshakeTimeout: 0 });
      return { socket, ws };
    };
    const early = wired();
    wireSocket(early.ws, early.socket);
    early.ws.destroy();
    await once(early.ws, 'close');
    expect(early.socket.destroyed, 'wired at once').to.equal(true);

    // Output over before the wiring (a deadline while a client was still connecting): the
    // wiring sends nothing, yet still hears of the close.
    const late = wired();
    late.ws.push(null);
    late.ws.resume();
    await once(late.ws, 'end');
    expect(late.ws.readableEnded).to.equal(true);
    wireSocket(late.ws, late.socket);
    late.ws.destroy();
    await once(late.ws, 'close');
    expect(late.socket.destroyed, 'wired after the output ended').to.equal(true);
  });

  describe("a wired socket's reads go straight to the stream (its push)", () => {
    /** Counts the 'data' events `socket` emits, without listening (a listener would change the path). */
    function countDataEvents(socket: net.Socket): { count: number } {
      const counter = { count: 0 };
      const emit = socket.emit.bind(socket);
      socket.emit = (name: string | symbol, ...args: unknown[]) => {
        if (name === 'data') counter.count++;
        return emit(name, ...args);
      };
      return counter;
    }

    it("once the stream reads the socket, no chunk passes through 'data' (server socket, client socket with our read buffers); messages intact and in order", async () => {
      const serverData: Array<{ count: number }> = [];
      const srv = await listen(
        net.createServer((socket) => {
          serverData.push(countDataEvents(socket));
          const ws = new WebSocketDuplex('server');
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
          wireSocket(ws, socket);
        }),
      );
      try {
        const socket = net.connect({ host: '127.0.0.1', port: srv.port, onread: readBuffers() });
        const clientData = countDataEvents(socket);
        const ws = new WebSocketDuplex('client', { request: { host: `127.0.0.1:${srv.port}`, target: '/' } });
        const got: string[] = [];
        ws.on('message', (data) => got.push(String(data)));
        wireSocket(ws, socket);
        await once(ws, 'open');
        const sent = Array.from({ length: 200 }, (_, i) => `message ${i} ${'x'.repeat(i * 97)}`);
        for (const text of sent) ws.send(text);
        await until(() => got.length === sent.length);
        expect(got).to.deep.equal(sent);
        expect(clientData.count, "client: no 'data' event").to.equal(0);
        expect(serverData[0]!.count, "server: no 'data' event").to.equal(0);
        ws.close(1000);
        await once(ws, 'close');
      } finally {
        await srv.close();
      }
    });

    it("another 'data' listener on the socket still gets every chunk, and the stream too", async () => {
      const seen: Buffer[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          const ws = new WebSocketDuplex('server');
          ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
          wireSocket(ws, socket);
          socket.on('data', (chunk: Buffer) => seen.push(chunk));
        }),
      );
      try {
        const client = wiredClient(srv.port);
        const got: string[] = [];
        client.ws.on('message', (data) => got.push(String(data)));
        await once(client.ws, 'open');
        for (let i = 0; i < 20; i++) client.ws.send(`m${i}`);
        await until(() => got.length === 20);
        expect(got).to.deep.equal(Array.from({ length: 20 }, (_, i) => `m${i}`));
        // Everything the client wrote (its request, then its frames) reached the other listener.
        expect(Buffer.concat(seen).length).to.equal(client.socket.bytesWritten);
        client.ws.close(1000);
        await client.closed;
      } finally {
        await srv.close();
      }
    });

    it('a socket the stream does not read yet buffers its chunks, and they come first when it starts (readLater)', async () => {
      let startReading: () => void = () => undefined;
      const opened: WebSocketDuplex[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          const ws = new WebSocketDuplex('server');
          opened.push(ws);
          startReading = wireSocket(ws, socket, true);
        }),
      );
      try {
        const socket = net.connect({ host: '127.0.0.1', port: srv.port });
        await once(socket, 'connect');
        const request =
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
        socket.write(request);
        socket.write(masked({ opcode: 0x1, payload: Buffer.from('first') }));
        await until(() => opened.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 50)); // the bytes arrive while nobody reads
        const got: string[] = [];
        opened[0]!.on('message', (data) => got.push(String(data)));
        startReading();
        await until(() => got.length === 1);
        socket.write(masked({ opcode: 0x1, payload: Buffer.from('second') }));
        await until(() => got.length === 2);
        expect(got).to.deep.equal(['first', 'second']);
        socket.destroy();
      } finally {
        await srv.close();
      }
    });

    it('a Duplex that is not a Node socket keeps its own push (its chunks may come from inside _read)', () => {
      const fake = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
      const ws = new WebSocketDuplex('client', { request: { host: 'example', target: '/' } });
      ws.on('error', () => undefined);
      wireSocket(ws, fake);
      expect(Object.prototype.hasOwnProperty.call(fake, 'push')).to.equal(false);
      ws.destroy();
    });
  });
});
