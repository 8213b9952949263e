/**
 * Attack: slowloris, over real loopback sockets. A client that sends its handshake one
 * byte every 20 ms, or never finishes it, is dropped at `handshakeTimeout` while a normal
 * client is served meanwhile. Behind `handleUpgrade`, Node's HTTP server owns the
 * request head (its `headersTimeout` cuts a slow head), and `handshakeTimeout` cuts a
 * handshake whose accept decision never comes.
 */
import { expect } from 'chai';
import { connect } from '../../lib/index';
import { once, sleep, until } from '../helpers/net';
import { Attacker, httpServer, netServer, requestHead } from './helpers';

const HANDSHAKE_TIMEOUT = 300;

/** Send `bytes` one at a time, every `everyMs`, until done or the socket closes. Returns bytes sent. */
async function dribble(attacker: Attacker, bytes: Buffer, everyMs: number): Promise<number> {
  let sent = 0;
  while (sent < bytes.length && !attacker.closed && !attacker.socket.destroyed) {
    attacker.socket.write(bytes.subarray(sent, sent + 1));
    sent++;
    await sleep(everyMs);
  }
  return sent;
}

describe('attack: slowloris', function () {
  this.timeout(20_000);

  it('WebSocketDuplex server: a byte-per-20-ms handshake and an unfinished head are cut; a normal client is served', async () => {
    const server = await netServer({ handshakeTimeout: HANDSHAKE_TIMEOUT });
    try {
      const head = requestHead();
      const slow = await Attacker.connect(server.port);
      const stuck = await Attacker.connect(server.port);
      stuck.socket.write('GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never more
      const dribbling = dribble(slow, head, 20);

      // Meanwhile a normal client connects, gets an echo and closes cleanly.
      const client = await connect(`ws://127.0.0.1:${server.port}/`);
      const echo = once<[string]>(client, 'message');
      client.send('still served');
      expect((await echo)[0]).to.equal('still served');
      client.close();
      const [code, , clean] = await once<[number, string, boolean]>(client, 'close');
      expect([code, clean]).to.deep.equal([1000, true]);

      const sent = await dribbling;
      await until(() => slow.closed && stuck.closed, 5000, 'both slow clients to be cut');
      // Cut before the head was done (it takes ~3 s at this pace): no response at all.
      expect(sent, 'bytes of the head the slow client got to send').to.be.below(head.length);
      expect(slow.receivedBytes).to.equal(0);
      expect(stuck.receivedBytes).to.equal(0);
      await until(() => server.closes.length === 3, 5000, 'three server-side closes');
      // A timeout is reported by 'close' with its cause, never by 'error'.
      expect(server.errors).to.deep.equal([]);
      const timeouts = server.causes.filter((e) => (e as { code?: string } | null)?.code === 'ERR_HANDSHAKE_TIMEOUT');
      expect(timeouts, 'handshake timeouts on the server').to.have.length(2);
      expect(server.closes.filter(([c]) => c === 1006)).to.have.length(2);
    } finally {
      await server.close();
    }
  });

  it('handleUpgrade: an accept decision that never comes is cut at handshakeTimeout', async () => {
    const server = await httpServer({
      handshakeTimeout: HANDSHAKE_TIMEOUT,
      accept: (request) => (request.target === '/hang' ? new Promise<boolean>(() => undefined) : true),
    });
    try {
      const hanging = await Attacker.connect(server.port);
      hanging.socket.write(requestHead().toString('latin1').replace('GET /chat', 'GET /hang'));
      const client = await connect(`ws://127.0.0.1:${server.port}/`);
      const echo = once<[string]>(client, 'message');
      client.send('served');
      expect((await echo)[0]).to.equal('served');
      client.close();
      await until(() => hanging.closed, 5000, 'the undecided handshake to be cut');
      expect(hanging.receivedBytes, 'no 101 for an undecided handshake').to.equal(0);
    } finally {
      await server.close();
    }
  });

  it("handleUpgrade: Node's headersTimeout cuts a slow head before any upgrade (408)", async () => {
    const server = await httpServer(
      {},
      { headersTimeout: HANDSHAKE_TIMEOUT, requestTimeout: HANDSHAKE_TIMEOUT, connectionsCheckingInterval: 50 },
    );
    try {
      const head = requestHead();
      const slow = await Attacker.connect(server.port);
      const dribbling = dribble(slow, head, 20);
      const client = await connect(`ws://127.0.0.1:${server.port}/`);
      const echo = once<[string]>(client, 'message');
      client.send('served');
      expect((await echo)[0]).to.equal('served');
      client.close();
      const sent = await dribbling;
      await until(() => slow.closed, 5000, 'the slow head to be cut');
      expect(sent).to.be.below(head.length);
      expect(slow.received.toString('latin1')).to.match(/^(HTTP\/1\.1 408 |$)/);
      expect(server.streams, 'no upgrade happened for the slow head').to.have.length(1);
    } finally {
      await server.close();
    }
  });
});
