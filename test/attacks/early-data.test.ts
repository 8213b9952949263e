/**
 * A client that sends a frame right after its request, before the server has decided
 * (RFC 6455 4.1 says a client waits for the 101, but a peer may not). Whatever the
 * peer does, the server must not fail with a `LocalProtocolError` (README: "never caused
 * by the peer"): wsproto keeps such bytes and hands them to the connection once the
 * request is accepted, and so does this library when the decision is synchronous.
 *
 * The asynchronous cases pin a bug: `WSConnection.receiveData()` on a server that has
 * delivered its `Request` and not yet answered throws LocalProtocolError "the request
 * head was already received", and `WebSocketDuplex` (which does not hold the wire while
 * an async `accept` runs) fails the connection with it.
 */
import { expect } from 'chai';
import { AcceptConnection, LocalProtocolError, WSConnection } from '../../lib/index';
import { masked } from '../helpers/bytes';
import { sleep, until } from '../helpers/net';
import { Attacker, httpServer, netServer, requestHead } from './helpers';

const early = masked({ opcode: 0x1, payload: 'early' });

describe('attack: data before the handshake decision', function () {
  this.timeout(20_000);

  it('sans-I/O: bytes after the Request, before accept, are kept for the connection (as wsproto does)', () => {
    const ws = new WSConnection('server');
    ws.receiveData(requestHead());
    expect([...ws.events()].map((e) => e.type)).to.deep.equal(['request']);
    let thrown: unknown = null;
    try {
      ws.receiveData(Buffer.from(early));
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'receiveData threw').to.equal(null);
    ws.send(new AcceptConnection());
    const events = [...ws.events()];
    expect(events.map((e) => (e.type === 'text' ? e.data : e.type))).to.deep.equal(['early']);
  });

  for (const decision of ['sync', 'async'] as const) {
    it(`handleUpgrade, ${decision} accept: a frame in the same packet as the request is delivered after the 101`, async () => {
      const server = await httpServer({
        accept: decision === 'sync' ? () => true : async () => (await sleep(50), true),
      });
      try {
        const attacker = await Attacker.connect(server.port);
        attacker.socket.write(Buffer.concat([requestHead(), early]));
        await until(() => attacker.frames.length > 0 || attacker.closed, 5000, 'an echo');
        expect(attacker.head?.status).to.equal(101);
        expect(server.errors.filter((e) => e instanceof LocalProtocolError)).to.deep.equal([]);
        expect(attacker.frames[0]?.payload.toString()).to.equal('early');
      } finally {
        await server.close();
      }
    });
  }

  it('WebSocketDuplex, async accept: a frame in a later packet, before the decision, is delivered after the 101', async () => {
    const server = await netServer({ accept: async () => (await sleep(100), true) });
    try {
      const attacker = await Attacker.connect(server.port);
      attacker.socket.write(requestHead());
      await until(() => server.streams.length === 1, 5000, 'the server stream');
      await sleep(20);
      attacker.socket.write(early);
      await until(() => attacker.frames.length > 0 || attacker.closed, 5000, 'an echo');
      expect(server.errors.filter((e) => e instanceof LocalProtocolError)).to.deep.equal([]);
      expect(attacker.frames[0]?.payload.toString()).to.equal('early');
    } finally {
      await server.close();
    }
  });
});
