/**
 * Mirror test for lib/stream/connect: what `connect()` rejects with when the connection
 * does not open (a rejection, a refused port, a server that never answers), and that
 * after it opened the network's failures end in 'close', never in 'error'.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import {
  connect,
  handleUpgrade,
  HandshakeRejectedError,
  LocalProtocolError,
  RemoteProtocolError,
  type ConnectHeaders,
} from '../../lib/index';
import { headerPairs } from '../../lib/stream/connect';
import { listen, once, sleep, until } from '../helpers/net';

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

    it('aborted during the handshake: rejects with an AbortError and destroys the socket', async () => {
      const sockets: net.Socket[] = [];
      const srv = await listen(
        net.createServer((socket) => {
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.resume(); // never answers
        }),
      );
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
});
