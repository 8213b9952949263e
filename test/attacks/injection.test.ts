/**
 * Attack: header injection through values an application passes on from users (extra
 * headers, subprotocols, rejection headers, close reasons), at the stream API level over
 * real loopback sockets. CR, LF and friends are refused with `LocalProtocolError` before
 * anything reaches the wire; a close reason travels inside a length-delimited frame, so
 * it cannot inject anything (it is delivered verbatim, cut to 123 bytes).
 */
import { expect } from 'chai';
import * as net from 'node:net';
import { connect, LocalProtocolError, type Headers } from '../../lib/index';
import { listen, once, until } from '../helpers/net';
import { Attacker, httpServer, netServer } from './helpers';

const INJECTIONS = [
  'a\r\nInjected: yes',
  'a\nInjected: yes',
  'a\rInjected: yes',
  'a\0b',
  'caf\u0100',
  'x\u010aInjected: yes',
];

/**
 * A plain TCP server that records what arrives (to prove nothing was sent). One serves
 * the whole file: connect() leaks its socket when it refuses a request (see the
 * regression test below), and a leaked socket whose server goes away errors with
 * nobody listening, which would crash the run; so the sink stays up until every leaked
 * connection has been accepted, and closing it then ends them quietly.
 */
class Sink {
  readonly received: Buffer[] = [];
  readonly sockets: net.Socket[] = [];
  port = 0;
  calls = 0;
  #close: () => Promise<void> = async () => {};

  async start(): Promise<void> {
    const server = net.createServer((s) => {
      this.sockets.push(s);
      s.on('data', (d: Buffer) => this.received.push(d));
      s.on('error', () => undefined);
    });
    const srv = await listen(server);
    this.port = srv.port;
    this.#close = srv.close;
  }

  /** What arrived from connections accepted from now on. */
  mark(): () => string {
    const from = this.received.length;
    return () => Buffer.concat(this.received.slice(from)).toString('latin1');
  }

  connect(options: Parameters<typeof connect>[1]): Promise<unknown> {
    this.calls++;
    return connect(`ws://127.0.0.1:${this.port}/`, options).then(
      () => null,
      (e: unknown) => e,
    );
  }

  async stop(): Promise<void> {
    await until(() => this.sockets.length >= this.calls, 500).catch(() => undefined);
    await this.#close();
  }
}

describe('attack: header injection through user-supplied values', function () {
  this.timeout(20_000);
  const sink = new Sink();
  before(() => sink.start());
  after(() => sink.stop());

  for (const value of INJECTIONS) {
    it(`connect(): an extra header value ${JSON.stringify(value)} is refused before anything is sent`, async () => {
      const sent = sink.mark();
      const error = await sink.connect({ headers: [['X-User', value]] });
      expect(error).to.be.instanceOf(LocalProtocolError);
      expect((error as LocalProtocolError).code).to.equal('ERR_INVALID_HEADER');
      await new Promise((r) => setTimeout(r, 20));
      expect(sent()).to.equal('');
    });
  }

  const badNames: Headers = [
    ['X-A\r\nInjected', 'v'],
    ['X A', 'v'],
    ['X:A', 'v'],
    ['', 'v'],
  ];
  for (const header of badNames) {
    it(`connect(): a header name ${JSON.stringify(header[0])} is refused`, async () => {
      const sent = sink.mark();
      const error = await sink.connect({ headers: [header] });
      expect(error).to.be.instanceOf(LocalProtocolError);
      await new Promise((r) => setTimeout(r, 20));
      expect(sent()).to.equal('');
    });
  }

  for (const name of ['chat\r\nInjected: yes', 'a b', 'a,b', '']) {
    it(`connect(): a subprotocol ${JSON.stringify(name)} is refused`, async () => {
      const sent = sink.mark();
      const error = await sink.connect({ subprotocols: [name] });
      expect(error).to.be.instanceOf(LocalProtocolError);
      expect((error as LocalProtocolError).code).to.equal('ERR_INVALID_SUBPROTOCOL');
      await new Promise((r) => setTimeout(r, 20));
      expect(sent()).to.equal('');
    });
  }

  it('connect(): a refused request leaves no socket open (regression: the TCP connection leaked)', async () => {
    // Pins a bug: connect() opens the socket before the request is validated; when the
    // WebSocketDuplex constructor throws LocalProtocolError, the promise rejects but the
    // socket is never destroyed and has no 'error' listener: it connects and stays open,
    // idle, with no timeout, and if the server is unreachable or goes away, its
    // ECONNREFUSED / ECONNRESET is an uncaught exception that kills the process.
    const before = sink.sockets.length;
    await sink.connect({ headers: [['X-User', 'a\r\nInjected: yes']] });
    await sink.connect({ subprotocols: ['a\r\nb'] });
    const open = () => sink.sockets.slice(before).filter((s) => !s.destroyed && !s.readableEnded).length;
    await new Promise((r) => setTimeout(r, 100));
    await until(() => open() === 0, 2000, `the refused connections to be closed (${open()} open)`);
  });

  for (const value of INJECTIONS) {
    it(`handleUpgrade accept(): extraHeaders value ${JSON.stringify(value)} is refused, no 101 is sent`, async () => {
      const server = await httpServer({ accept: () => ({ extraHeaders: [['X-Echo', value]] }) });
      try {
        const attacker = await Attacker.connect(server.port);
        attacker.socket.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        await until(() => attacker.closed, 5000, 'the connection to be dropped');
        expect(attacker.received.toString('latin1')).to.not.include('Injected');
        expect(attacker.received.toString('latin1')).to.not.match(/^HTTP\/1\.1 101/);
        // The application's bad decision is its failure: the client got 500, the server
        // stream's 'close' carries the error as its cause, and no 'error' was emitted.
        expect(attacker.received.toString('latin1')).to.match(/^HTTP\/1\.1 500/);
        await until(() => server.causes.length > 0, 5000, 'the close on the server stream');
        expect(server.causes[0]).to.be.instanceOf(LocalProtocolError);
        expect((server.causes[0] as LocalProtocolError).code).to.equal('ERR_INVALID_HEADER');
        expect(server.errors).to.deep.equal([]);
      } finally {
        await server.close();
      }
    });
  }

  it('handleUpgrade: a subprotocol picked from user input with CR/LF is refused (not offered)', async () => {
    const server = await httpServer({ selectSubprotocol: () => 'chat\r\nInjected: yes' });
    try {
      const attacker = await Attacker.connect(server.port);
      attacker.socket.write(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: chat\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await until(() => attacker.closed, 5000, 'the connection to be dropped');
      expect(attacker.received.toString('latin1')).to.not.include('Injected');
      await until(() => server.causes.length > 0, 5000, 'the close on the server stream');
      expect(server.causes[0]).to.be.instanceOf(LocalProtocolError);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('WebSocketDuplex reject(): headers with CR/LF throw LocalProtocolError, nothing is sent', async () => {
    let thrown: unknown = null;
    const server = await netServer({}, (ws) => {
      ws.on('request', () => {
        try {
          ws.reject(403, 'no', [['X-Reason', 'a\r\nInjected: yes']]);
        } catch (error) {
          thrown = error;
          ws.destroy();
        }
      });
    });
    try {
      const attacker = await Attacker.connect(server.port);
      attacker.socket.write(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      await until(() => attacker.closed, 5000, 'the connection to be dropped');
      expect(thrown).to.be.instanceOf(LocalProtocolError);
      expect(attacker.received.toString('latin1')).to.not.include('Injected');
    } finally {
      await server.close();
    }
  });

  it('close(): a reason with CR/LF stays inside the close frame (verbatim, cut to 123 bytes); bad codes throw', async () => {
    const server = await netServer();
    try {
      const client = await connect(`ws://127.0.0.1:${server.port}/`);
      expect(() => client.close(1006, 'x')).to.throw(LocalProtocolError);
      expect(() => client.close(999)).to.throw(LocalProtocolError);
      const reason = `bye\r\nInjected: yes\r\n\r\n${'é'.repeat(100)}`;
      client.close(4000, reason);
      const [code] = await once<[number, string, boolean]>(client, 'close');
      expect(code).to.equal(4000);
      await until(() => server.closes.length === 1, 5000, 'the server-side close');
      // 22 bytes of ASCII and 50 two-byte characters: 122 bytes (a 51st would not fit in 123).
      expect(server.closes[0]![1]).to.equal(reason.slice(0, 22 + 50));
    } finally {
      await server.close();
    }
  });
});
