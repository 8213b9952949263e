/**
 * Mirror test for lib/stream/connect: what `connect()` rejects with when the connection
 * does not open (a rejection, a refused port, a server that never answers), and that
 * after it opened the network's failures end in 'close', never in 'error'.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import { connect, handleUpgrade, HandshakeRejectedError, RemoteProtocolError } from '../../lib/index';
import { listen, once } from '../helpers/net';

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

  it('a TCP server that never answers: rejects with ERR_HANDSHAKE_TIMEOUT (timeout: 200) and drops the connection', async () => {
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
      const error = await connect(`ws://127.0.0.1:${srv.port}/`, { timeout: 200 }).then(
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
});
