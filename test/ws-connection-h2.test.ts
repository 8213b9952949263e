/**
 * `WSConnection` with `http2: true` (RFC 8441): the handshake through header lists, then
 * the same `Connection` as after an HTTP/1.1 handshake. The conversations below are run
 * twice, once after each handshake, with the same masking keys, and must give the same
 * bytes and the same events: RFC 8441 5 changes the opening handshake and nothing else.
 */
import { expect } from 'chai';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  PerMessageDeflate,
  Ping,
  RejectConnection,
  RejectData,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionEvent,
  type Extension,
  type MaskKeyGenerator,
  type PerMessageDeflateOptions,
  type WSConnectionOptions,
  type WSEvent,
} from '../lib/index';
import { drainPool } from '../lib/extensions/zlib-backend';
import { masked } from './helpers/bytes';

/** A fresh, deterministic masking key source: each pair gets the same keys in the same order. */
function keys(): MaskKeyGenerator {
  let n = 0;
  return () => {
    n++;
    return Uint8Array.of(n & 0xff, (n * 7) & 0xff, (n * 13 + 1) & 0xff, 0x5a);
  };
}

interface Setup {
  /** permessage-deflate options of each side, or null for no extension. */
  clientDeflate: PerMessageDeflateOptions | null;
  serverDeflate: PerMessageDeflateOptions | null;
  options?: WSConnectionOptions;
}

interface Pair {
  client: WSConnection;
  server: WSConnection;
  request: Request;
  accept: AcceptConnection;
}

const deflates = (options: PerMessageDeflateOptions | null): Extension[] =>
  options === null ? [] : [new PerMessageDeflate(options)];

function only<T extends WSEvent>(ws: WSConnection): T {
  const events = [...ws.events()];
  expect(events).to.have.length(1);
  return events[0] as T;
}

/** A client and a server after an HTTP/1.1 handshake (RFC 6455 4). */
function openH1(setup: Setup): Pair {
  const client = new WSConnection(ConnectionType.CLIENT, { ...setup.options, maskKey: keys() });
  const server = new WSConnection(ConnectionType.SERVER, setup.options);
  server.receiveData(
    client.send(
      new Request({
        host: 'example.com',
        target: '/chat',
        subprotocols: ['chat'],
        extensions: deflates(setup.clientDeflate),
      }),
    ),
  );
  const request = only<Request>(server);
  client.receiveData(
    server.send(new AcceptConnection({ subprotocol: 'chat', extensions: deflates(setup.serverDeflate) })),
  );
  return { client, server, request, accept: only<AcceptConnection>(client) };
}

/** The same pair after an HTTP/2 handshake (RFC 8441 4, 5). */
function openH2(setup: Setup): Pair {
  const client = new WSConnection(ConnectionType.CLIENT, { ...setup.options, http2: true, maskKey: keys() });
  const server = new WSConnection(ConnectionType.SERVER, { ...setup.options, http2: true });
  server.receiveHeaders(
    client.sendHeaders(
      new Request({
        host: 'example.com',
        target: '/chat',
        subprotocols: ['chat'],
        extensions: deflates(setup.clientDeflate),
      }),
    ),
  );
  const request = only<Request>(server);
  client.receiveHeaders(
    server.sendHeaders(new AcceptConnection({ subprotocol: 'chat', extensions: deflates(setup.serverDeflate) })),
  );
  return { client, server, request, accept: only<AcceptConnection>(client) };
}

type Side = 'client' | 'server';
type Step = [Side, ConnectionEvent];

/** What a step put on the wire, what the peer made of it, and the peer's automatic replies. */
interface Exchange {
  wire: string;
  received: unknown[];
  replies: string;
  repliesReceived: unknown[];
}

function describeEvent(e: WSEvent): unknown {
  switch (e.type) {
    case 'text':
      return ['text', e.data, e.messageFinished];
    case 'bytes':
      return ['bytes', e.data.toString('hex'), e.messageFinished];
    case 'ping':
    case 'pong':
      return [e.type, e.payload.toString('hex')];
    case 'close':
      return ['close', e.code, e.reason];
    default:
      return [e.type];
  }
}

/** Run the steps over `pair`: each event is sent, fed whole to the peer, its replies fed back. */
function converse(pair: Pair, steps: Step[]): Exchange[] {
  return steps.map(([from, event]) => {
    const sender = from === 'client' ? pair.client : pair.server;
    const peer = from === 'client' ? pair.server : pair.client;
    const wire = sender.send(event).toString('hex'); // before the peer unmasks it in place
    peer.receiveData(Buffer.from(wire, 'hex'));
    const received = [...peer.events()].map(describeEvent);
    const replies = Buffer.concat(peer.dataToSend()).toString('hex');
    if (replies.length > 0) sender.receiveData(Buffer.from(replies, 'hex'));
    const repliesReceived = [...sender.events()].map(describeEvent);
    return { wire, received, replies, repliesReceived };
  });
}

/** Run the conversation after both handshakes, each from an empty zlib pool. */
function both(setup: Setup, steps: () => Step[]): { h1: Exchange[]; h2: Exchange[]; h1Pair: Pair; h2Pair: Pair } {
  drainPool();
  const h1Pair = openH1(setup);
  const h1 = converse(h1Pair, steps());
  drainPool();
  const h2Pair = openH2(setup);
  const h2 = converse(h2Pair, steps());
  drainPool();
  return { h1, h2, h1Pair, h2Pair };
}

const LONG = 'The quick brown fox jumps over the lazy dog. '.repeat(60); // 2700 bytes: above the threshold

const MESSAGES = (): Step[] => [
  ['client', new TextMessage({ data: 'Hello' })],
  ['server', new TextMessage({ data: 'Hello back' })],
  ['client', new BytesMessage({ data: Buffer.from([0, 1, 2, 0xfe, 0xff]) })],
  ['server', new BytesMessage({ data: Buffer.alloc(300, 0xab) })],
  ['client', new TextMessage({ data: LONG })],
  ['client', new TextMessage({ data: LONG })],
  ['server', new TextMessage({ data: LONG })],
  ['server', new TextMessage({ data: LONG })],
  ['client', new TextMessage({ data: 'caf\u00e9 \u{1f600}', compress: true })],
  ['client', new TextMessage({ data: 'part one, ', messageFinished: false })],
  ['client', new TextMessage({ data: 'part two' })],
  ['server', new Ping({ payload: Buffer.from('ping') })],
];

/** The first byte of each frame written in hex: FIN, RSV1 and the opcode. */
const firstByte = (record: Exchange): number => parseInt(record.wire.slice(0, 2), 16);
const RSV1 = 0x40;

describe('WSConnection over HTTP/2 (RFC 8441)', () => {
  describe('the handshake through WSConnection', () => {
    it('RFC 8441 4, 5: Request and AcceptConnection carry the same choices as over HTTP/1.1', () => {
      const setup: Setup = { clientDeflate: {}, serverDeflate: {} };
      const { h1Pair, h2Pair } = both(setup, () => []);
      for (const pair of [h1Pair, h2Pair]) {
        expect([pair.request.host, pair.request.target, pair.request.subprotocols]).to.deep.equal([
          'example.com',
          '/chat',
          ['chat'],
        ]);
        expect(pair.request.extensions).to.deep.equal([
          { name: 'permessage-deflate', params: [['client_max_window_bits', null]] },
        ]);
        expect(pair.accept.subprotocol).to.equal('chat');
        expect(pair.accept.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        expect([pair.client.state, pair.server.state]).to.deep.equal([ConnectionState.OPEN, ConnectionState.OPEN]);
      }
      expect([h1Pair.client.http2, h2Pair.client.http2, h2Pair.server.http2]).to.deep.equal([false, true, true]);
    });

    it('RFC 8441 4: the client sends the extended CONNECT, the server answers 200, as header lists', () => {
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true, scheme: 'http' });
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      const request = client.sendHeaders(new Request({ host: 'h:8080', target: '/x?y', subprotocols: ['a', 'b'] }));
      expect(request).to.deep.equal([
        [':method', 'CONNECT'],
        [':protocol', 'websocket'],
        [':scheme', 'http'],
        [':path', '/x?y'],
        [':authority', 'h:8080'],
        ['sec-websocket-version', '13'],
        ['sec-websocket-protocol', 'a, b'],
      ]);
      server.receiveHeaders(request);
      expect([...server.events()].map((e) => e.type)).to.deep.equal(['request']);
      const response = server.sendHeaders(new AcceptConnection({ subprotocol: 'b' }));
      expect(response).to.deep.equal([
        [':status', '200'],
        ['sec-websocket-protocol', 'b'],
      ]);
      client.receiveHeaders(response, false);
      const [accept] = [...client.events()] as AcceptConnection[];
      expect(accept!.subprotocol).to.equal('b');
      expect(client.state).to.equal(ConnectionState.OPEN);
    });

    it('RFC 8441 5: frames the client sends before the 200 reach the Connection once the server accepts', () => {
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true });
      server.receiveHeaders(client.sendHeaders(new Request({ host: 'h', target: '/' })));
      server.receiveData(masked({ opcode: 1, payload: 'early' }));
      expect([...server.events()].map((e) => e.type)).to.deep.equal(['request']);
      server.sendHeaders(new AcceptConnection());
      const events = [...server.events()];
      expect(events.map((e) => e.type)).to.deep.equal(['text']);
      expect((events[0] as TextMessage).data).to.equal('early');
    });

    it('RFC 8441 4: a bad request throws with the hint; the hint goes back through sendHeaders; CLOSED', () => {
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      let hint: RejectConnection | undefined;
      try {
        server.receiveHeaders([
          [':method', 'CONNECT'],
          [':protocol', 'websocket'],
          [':scheme', 'https'],
          [':path', '/'],
          [':authority', 'h'],
          ['sec-websocket-version', '8'],
        ]);
      } catch (error) {
        expect(error).to.be.instanceOf(RemoteProtocolError);
        expect((error as RemoteProtocolError).code).to.equal('ERR_UNSUPPORTED_VERSION');
        hint = (error as RemoteProtocolError).eventHint;
      }
      expect(hint).to.be.instanceOf(RejectConnection);
      expect(server.sendHeaders(hint!)).to.deep.equal([
        [':status', '400'],
        ['sec-websocket-version', '13'],
      ]);
      expect(server.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 9113 8.1: a refusal with a body, both ways: RejectConnection, RejectData, END_STREAM, CLOSED', () => {
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true, maxRejectBodySize: 8 });
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      server.receiveHeaders(client.sendHeaders(new Request({ host: 'h', target: '/' })));
      expect([...server.events()].map((e) => e.type)).to.deep.equal(['request']);
      client.receiveHeaders(
        server.sendHeaders(
          new RejectConnection({ statusCode: 403, headers: [['Content-Type', 'text/plain']], hasBody: true }),
        ),
        false,
      );
      expect(server.state).to.equal(ConnectionState.REJECTING);
      client.receiveData(server.send(new RejectData({ data: Buffer.from('nope'), bodyFinished: true })));
      client.receiveData(null);
      expect(server.state).to.equal(ConnectionState.CLOSED);
      const events = [...client.events()];
      expect(events.map((e) => e.type)).to.deep.equal(['reject', 'reject-data', 'reject-data']);
      expect((events[0] as RejectConnection).headers).to.deep.equal([
        [':status', '403'],
        ['content-type', 'text/plain'],
      ]);
      expect(events.slice(1).map((e) => (e as RejectData).data.toString())).to.deep.equal(['nope', '']);
      expect(client.state).to.equal(ConnectionState.CLOSED);
    });

    it('regression, RFC 9113 8.5: a server cannot "reject" with 200, which our own client would read as the WebSocket opening', () => {
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      server.receiveHeaders(
        new WSConnection(ConnectionType.CLIENT, { http2: true }).sendHeaders(new Request({ host: 'h', target: '/' })),
      );
      expect(() => server.sendHeaders(new RejectConnection({ statusCode: 200, hasBody: true })))
        .to.throw(LocalProtocolError, /2xx/)
        .with.property('code', 'ERR_INVALID_EVENT');
      // What would have happened: a 200 opens the client.
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true });
      client.sendHeaders(new Request({ host: 'h', target: '/' }));
      client.receiveHeaders([[':status', '200']], false);
      expect(client.state).to.equal(ConnectionState.OPEN);
    });
  });

  describe('the Connection after an HTTP/2 handshake is the one after an HTTP/1.1 handshake', () => {
    const setups: Array<[string, Setup, (h1: Exchange[]) => void]> = [
      [
        'RFC 6455 5: no extension: texts, binaries, fragments and a ping, frames byte for byte',
        { clientDeflate: null, serverDeflate: null },
        (records) => {
          // RFC 6455 5.7's "Hello", masked with the first key 01 07 0e 5a; the server's reply unmasked.
          expect(records[0]!.wire).to.equal('8185 01070e5a 496262366e'.replace(/ /g, ''));
          expect(records[1]!.wire).to.equal('810a' + Buffer.from('Hello back').toString('hex'));
          expect(records.every((r) => (firstByte(r) & RSV1) === 0)).to.equal(true);
        },
      ],
      [
        'RFC 7692 7: permessage-deflate with context takeover: the second long message is smaller than the first',
        { clientDeflate: {}, serverDeflate: {} },
        (records) => {
          expect(firstByte(records[4]!) & RSV1).to.equal(RSV1);
          expect(firstByte(records[0]!) & RSV1).to.equal(0); // below the threshold
          expect(records[5]!.wire.length).to.be.lessThan(records[4]!.wire.length);
          expect(records[7]!.wire.length).to.be.lessThan(records[6]!.wire.length);
        },
      ],
      [
        'RFC 7692 7.1.1: permessage-deflate with no_context_takeover both ways: equal long messages, equal frames',
        {
          clientDeflate: { clientNoContextTakeover: true, serverNoContextTakeover: true },
          serverDeflate: {},
        },
        (records) => {
          expect(firstByte(records[4]!) & RSV1).to.equal(RSV1);
          // The server's frames are unmasked, so with no context they repeat exactly.
          expect(records[7]!.wire).to.equal(records[6]!.wire);
          expect(records[5]!.wire.length).to.equal(records[4]!.wire.length);
        },
      ],
      [
        'RFC 7692 7.1.2: permessage-deflate with small windows (server_max_window_bits=9, client 10)',
        { clientDeflate: { serverMaxWindowBits: 9, clientMaxWindowBits: 10 }, serverDeflate: {} },
        (records) => {
          expect(firstByte(records[6]!) & RSV1).to.equal(RSV1);
        },
      ],
    ];
    for (const [name, setup, check] of setups) {
      it(name, () => {
        const { h1, h2, h1Pair, h2Pair } = both(setup, MESSAGES);
        expect(h2).to.deep.equal(h1);
        check(h1);
        // What each side received, in order: every message intact.
        expect(h1.map((r) => r.received)).to.deep.equal([
          [['text', 'Hello', true]],
          [['text', 'Hello back', true]],
          [['bytes', '000102feff', true]],
          [['bytes', 'ab'.repeat(300), true]],
          [['text', LONG, true]],
          [['text', LONG, true]],
          [['text', LONG, true]],
          [['text', LONG, true]],
          [['text', 'caf\u00e9 \u{1f600}', true]],
          [['text', 'part one, ', false]],
          [['text', 'part two', true]],
          [['ping', Buffer.from('ping').toString('hex')]],
        ]);
        expect(h2Pair.accept.extraHeaders).to.not.deep.equal(h1Pair.accept.extraHeaders); // the heads did differ
      });
    }

    it('RFC 6455 5.5.1: the client closes, the server replies; same frames, both CLOSED', () => {
      const steps = (): Step[] => [
        ['client', new TextMessage({ data: 'last' })],
        ['client', new CloseConnection({ code: 1000, reason: 'bye' })],
        ['server', new CloseConnection({ code: 1000, reason: 'bye' })],
      ];
      const { h1, h2, h2Pair } = both({ clientDeflate: {}, serverDeflate: {} }, steps);
      expect(h2).to.deep.equal(h1);
      expect(h1.map((r) => r.received)).to.deep.equal([
        [['text', 'last', true]],
        [['close', 1000, 'bye']],
        [['close', 1000, 'bye']],
      ]);
      expect(h1[2]!.wire).to.equal('8805' + '03e8' + Buffer.from('bye').toString('hex'));
      expect([h2Pair.client.state, h2Pair.server.state]).to.deep.equal([
        ConnectionState.CLOSED,
        ConnectionState.CLOSED,
      ]);
    });

    it('RFC 6455 5.5.1: the server closes, the client replies (autoCloseReply, autoPong pass through); same frames', () => {
      const steps = (): Step[] => [
        ['server', new Ping({ payload: Buffer.from('are you there') })],
        ['server', new TextMessage({ data: LONG })],
        ['server', new CloseConnection({ code: 1001, reason: 'going away' })],
      ];
      const setup: Setup = {
        clientDeflate: { serverNoContextTakeover: true },
        serverDeflate: {},
        options: { autoPong: true, autoCloseReply: true },
      };
      const { h1, h2, h2Pair } = both(setup, steps);
      expect(h2).to.deep.equal(h1);
      // The automatic pong and close reply were written by the client and read by the server.
      expect(h1[0]!.repliesReceived).to.deep.equal([['pong', Buffer.from('are you there').toString('hex')]]);
      expect(h1[2]!.repliesReceived).to.deep.equal([['close', 1001, 'going away']]);
      expect(h1[2]!.replies.slice(0, 4)).to.equal('888c'); // masked close, 12 bytes of body
      expect([h2Pair.client.state, h2Pair.server.state]).to.deep.equal([
        ConnectionState.CLOSED,
        ConnectionState.CLOSED,
      ]);
    });

    it('RFC 8441 5: the Connection options pass through (maxMessageSize: 1009 after an h2 handshake)', () => {
      const { h1, h2 } = both(
        { clientDeflate: null, serverDeflate: null, options: { maxMessageSize: 4 } },
        (): Step[] => [['client', new TextMessage({ data: 'too long' })]],
      );
      expect(h2).to.deep.equal(h1);
      const [close] = h1[0]!.received as unknown[][];
      expect([h1[0]!.received.length, close![0], close![1]]).to.deep.equal([1, 'close', 1009]);
      expect(h2[0]!.replies).to.equal(''); // no autoCloseReply asked for
    });
  });

  describe('misuse', () => {
    it('RFC 6455 4: receiveHeaders and sendHeaders on an HTTP/1.1 WSConnection throw ERR_INVALID_STATE', () => {
      for (const type of [ConnectionType.CLIENT, ConnectionType.SERVER]) {
        const ws = new WSConnection(type);
        expect(ws.http2).to.equal(false);
        expect(() => ws.receiveHeaders([[':status', '200']]))
          .to.throw(LocalProtocolError, 'receiveHeaders is for HTTP/2 connections (http2: true)')
          .with.property('code', 'ERR_INVALID_STATE');
        expect(() => ws.sendHeaders(new Request({ host: 'h', target: '/' })))
          .to.throw(LocalProtocolError, 'sendHeaders is for HTTP/2 connections (http2: true)')
          .with.property('code', 'ERR_INVALID_STATE');
        expect(ws.state).to.equal(ConnectionState.CONNECTING);
      }
    });

    it('RFC 8441 4: initiateUpgradeConnection on an HTTP/2 server (or client) throws ERR_INVALID_STATE', () => {
      for (const type of [ConnectionType.SERVER, ConnectionType.CLIENT]) {
        const ws = new WSConnection(type, { http2: true });
        expect(() => ws.initiateUpgradeConnection([['Host', 'h']], '/'))
          .to.throw(LocalProtocolError, 'initiateUpgradeConnection is for HTTP/1.1 servers')
          .with.property('code', 'ERR_INVALID_STATE');
      }
    });

    it('RFC 8441 4: over HTTP/2 the heads go through sendHeaders: send(Request) and send(AcceptConnection) say so', () => {
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true });
      expect(() => client.send(new Request({ host: 'h', target: '/' })))
        .to.throw(LocalProtocolError, /over HTTP\/2 the request goes through sendHeaders/)
        .with.property('code', 'ERR_INVALID_STATE');
      const server = new WSConnection(ConnectionType.SERVER, { http2: true });
      server.receiveHeaders(client.sendHeaders(new Request({ host: 'h', target: '/' })));
      expect(() => server.send(new AcceptConnection()))
        .to.throw(LocalProtocolError, /over HTTP\/2 heads go through sendHeaders/)
        .with.property('code', 'ERR_INVALID_STATE');
      expect(() => server.send(new TextMessage({ data: 'x' }))).to.throw(LocalProtocolError, /state CONNECTING/);
    });

    it('RFC 8441 5: once OPEN, sendHeaders and receiveHeaders are refused with ERR_INVALID_STATE', () => {
      const { client, server } = openH2({ clientDeflate: null, serverDeflate: null });
      expect(() => server.sendHeaders(new AcceptConnection()))
        .to.throw(LocalProtocolError, 'cannot send headers in state OPEN')
        .with.property('code', 'ERR_INVALID_STATE');
      expect(() => client.sendHeaders(new Request({ host: 'h', target: '/' })))
        .to.throw(LocalProtocolError, 'cannot send headers in state OPEN')
        .with.property('code', 'ERR_INVALID_STATE');
      expect(() => client.receiveHeaders([[':status', '200']]))
        .to.throw(LocalProtocolError, /state OPEN/)
        .with.property('code', 'ERR_INVALID_STATE');
      expect(() => server.receiveHeaders([[':method', 'CONNECT']]))
        .to.throw(LocalProtocolError, /state OPEN/)
        .with.property('code', 'ERR_INVALID_STATE');
    });

    it("RFC 8441 4: a client's :scheme is https unless told otherwise", () => {
      const client = new WSConnection(ConnectionType.CLIENT, { http2: true });
      expect(client.sendHeaders(new Request({ host: 'h', target: '/' }))[2]).to.deep.equal([':scheme', 'https']);
    });
  });
});
