/**
 * Interop over real loopback TCP against `ws` (npm), a peer nobody here wrote: our
 * client <-> ws server and ws client <-> our server complete the handshake (with and
 * without subprotocols) and exchange text, binary, ping/pong and close.
 */
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  type WSEvent,
} from '../../lib/index';
import { requirePeer } from '../helpers/peers';
import { connectClient, listenServer } from '../helpers/socket-glue';

type WsModule = typeof import('ws');
let wsLib: WsModule | null = null;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded if present
  wsLib = require('ws') as WsModule;
} catch {
  wsLib = null;
}

const isText = (e: WSEvent): e is TextMessage => e instanceof TextMessage;
const isBytes = (e: WSEvent): e is BytesMessage => e instanceof BytesMessage;
const isClose = (e: WSEvent): e is CloseConnection => e instanceof CloseConnection;

describe('interop: ws (npm) over loopback TCP', function () {
  beforeEach(function () {
    requirePeer(this, wsLib !== null, 'ws', 'npm install (ws is a devDependency)');
  });

  describe('our client -> ws server', () => {
    let server: import('ws').WebSocketServer;
    let port: number;
    before(async function () {
      if (wsLib === null) return;
      server = new wsLib.WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        perMessageDeflate: false,
        handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
      });
      await new Promise((r) => server.once('listening', r));
      port = (server.address() as AddressInfo).port;
      server.on('connection', (sock) => {
        sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
        sock.on('ping', (data) => sock.send(`pinged:${data.toString()}`));
      });
    });
    after(() => server?.close());

    for (const subprotocols of [[], ['chat', 'other']]) {
      it(`handshake (subprotocols: [${subprotocols.join(', ')}]), text, binary, ping/pong, close`, async () => {
        const c = await connectClient(
          port,
          new Request({ host: `127.0.0.1:${port}`, target: '/echo', subprotocols }),
          {},
          (e, d) => {
            if (e instanceof Ping) d.send(e.response());
          },
        );
        const accept = await c.waitFor((e): e is AcceptConnection => e instanceof AcceptConnection);
        expect(accept.subprotocol).to.equal(subprotocols.length > 0 ? 'chat' : null);
        c.send(new TextMessage({ data: 'héllo ✓' }));
        expect((await c.waitFor(isText)).data).to.equal('héllo ✓');
        const blob = Buffer.alloc(70000);
        for (let i = 0; i < blob.length; i++) blob[i] = i & 0xff;
        c.send(new BytesMessage({ data: blob.subarray(0, 30000), messageFinished: false }));
        c.send(new BytesMessage({ data: blob.subarray(30000) }));
        const got: Buffer[] = [];
        while (true) {
          const e = await c.waitFor((x): x is BytesMessage => isBytes(x) && !got.includes(x.data));
          got.push(e.data);
          if (e.messageFinished) break;
        }
        expect(Buffer.concat(got).equals(blob)).to.equal(true);
        c.send(new Ping({ payload: Buffer.from('p1') }));
        const pong = await c.waitFor((e): e is Pong => e instanceof Pong);
        expect(pong.payload.toString()).to.equal('p1');
        expect((await c.waitFor((e): e is TextMessage => isText(e) && e.data.startsWith('pinged'))).data).to.equal(
          'pinged:p1',
        );
        c.send(new CloseConnection({ code: 1000, reason: 'bye' }));
        const close = await c.waitFor(isClose);
        expect(close.code).to.equal(1000);
        expect(c.ws.state).to.equal('CLOSED');
        c.socket.destroy();
      });
    }

    it('a rejected handshake (ws verifyClient -> 403) reaches us as RejectConnection + RejectData', async () => {
      const strict = new wsLib!.WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        verifyClient: (_info, done) => done(false, 403, 'Go away'),
      });
      await new Promise((r) => strict.once('listening', r));
      try {
        const p = (strict.address() as AddressInfo).port;
        const c = await connectClient(p, new Request({ host: `127.0.0.1:${p}`, target: '/' }));
        const reject = await c.waitFor((e): e is RejectConnection => e instanceof RejectConnection);
        expect([reject.statusCode, reject.hasBody]).to.deep.equal([403, true]);
        await c.waitFor((e) => e instanceof RejectData && e.bodyFinished);
        const body = Buffer.concat(c.events.filter((e): e is RejectData => e instanceof RejectData).map((e) => e.data));
        expect(body.toString()).to.equal('Go away');
        expect(c.ws.state).to.equal('CLOSED');
        c.socket.destroy();
      } finally {
        strict.close();
      }
    });
  });

  describe('ws client -> our server', () => {
    it('handshake with and without subprotocols, echo, ping/pong, server-initiated close', async () => {
      const srv = await listenServer((e, d) => {
        if (e instanceof Request)
          d.send(new AcceptConnection({ subprotocol: e.subprotocols.includes('chat') ? 'chat' : null }));
        else if (e instanceof TextMessage || e instanceof BytesMessage) {
          if (e instanceof TextMessage && e.data === 'close-me')
            d.send(new CloseConnection({ code: 4001, reason: 'asked' }));
          else d.send(e);
        } else if (e instanceof Ping) d.send(e.response());
        else if (e instanceof CloseConnection && d.ws.state === 'REMOTE_CLOSING') {
          d.send(e.response());
          d.socket.end();
        } else if (e instanceof CloseConnection) d.socket.end();
      });
      try {
        for (const protocols of [undefined, ['chat']]) {
          const client = new wsLib!.WebSocket(`ws://127.0.0.1:${srv.port}/`, protocols, { perMessageDeflate: false });
          await new Promise((resolve, reject) => {
            client.once('open', resolve);
            client.once('error', reject);
          });
          expect(client.protocol).to.equal(protocols ? 'chat' : '');
          const next = () =>
            new Promise<[Buffer, boolean]>((r) => client.once('message', (d, b) => r([d as Buffer, b])));
          let p = next();
          client.send('text ✓');
          expect((await p).map(String)).to.deep.equal(['text ✓', 'false']);
          p = next();
          client.send(Buffer.from([0, 1, 2, 255]));
          const [bin, isBinary] = await p;
          expect(isBinary).to.equal(true);
          expect([...bin]).to.deep.equal([0, 1, 2, 255]);
          const pong = new Promise<Buffer>((r) => client.once('pong', r));
          client.ping('abc');
          expect((await pong).toString()).to.equal('abc');
          const closed = new Promise<[number, string]>((r) =>
            client.once('close', (code, reason) => r([code, reason.toString()])),
          );
          client.send('close-me');
          expect(await closed).to.deep.equal([4001, 'asked']);
        }
        // client-initiated close
        const client = new wsLib!.WebSocket(`ws://127.0.0.1:${srv.port}/`);
        await new Promise((r) => client.once('open', r));
        const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
        client.close(1000, 'done');
        expect(await closed).to.equal(1000);
      } finally {
        await srv.close();
      }
    });

    it('a rejection from our server reaches ws as an unexpected-response status', async () => {
      const srv = await listenServer((e, d) => {
        if (e instanceof Request) {
          d.send(new RejectConnection({ statusCode: 403 }));
          d.socket.end();
        }
      });
      try {
        const client = new wsLib!.WebSocket(`ws://127.0.0.1:${srv.port}/`);
        const status = await new Promise<number>((resolve) => {
          client.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            res.destroy();
          });
          client.once('error', () => resolve(-1));
        });
        expect(status).to.equal(403);
      } finally {
        await srv.close();
      }
    });
  });
});
