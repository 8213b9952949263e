/**
 * `H2ServerHandshake` and `H2ClientHandshake` on their own: the RFC 8441 opening
 * handshake over an HTTP/2 stream, phase by phase (see the diagram at the top of
 * lib/handshake/h2-handshake.ts).
 */
import { expect } from 'chai';
import { ConnectionState } from '../../lib/connection';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import {
  AcceptConnectionEvent,
  CloseConnectionEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  TextMessageEvent,
  type Headers,
  type RequestInit,
  type WSEvent,
} from '../../lib/events';
import type { Extension, ExtensionParams } from '../../lib/extensions/extension';
import { PerMessageDeflate } from '../../lib/extensions/permessage-deflate';
import { H2ClientHandshake, H2ServerHandshake, type H2ClientHandshakeOptions } from '../../lib/handshake/h2-handshake';
import type { HeaderList } from '../../lib/handshake/http/headers';
import { MAX_EARLY_DATA } from '../../lib/handshake/server-handshake';
import { masked } from '../helpers/bytes';
import { HELLO_FRAME, expectLocal, expectRemote } from '../helpers/http';

interface Opened {
  extensions: readonly Extension[];
  trailing: Buffer;
}

/** RFC 6455 1.2's request as an RFC 8441 extended CONNECT. */
const REQUEST: HeaderList = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat'],
  [':authority', 'server.example.com'],
  ['sec-websocket-version', '13'],
  ['origin', 'http://example.com'],
  ['sec-websocket-protocol', 'chat, superchat'],
];

function server(onOpen?: (extensions: readonly Extension[], trailing: Buffer) => void) {
  const opened: Opened[] = [];
  const hs = new H2ServerHandshake(onOpen ?? ((extensions, trailing) => void opened.push({ extensions, trailing })));
  return { hs, opened };
}

/** A server that has received `headers` and delivered its Request. */
function deciding(headers: Headers = REQUEST) {
  const s = server();
  s.hs.receiveHeaders(headers, false);
  const req = s.hs.nextEvent();
  expect(req).to.be.instanceOf(RequestEvent);
  expect(s.hs.nextEvent()).to.equal(null);
  return { ...s, req: req as RequestEvent };
}

/** A server whose request was a GET (a 405 hint). */
function failed() {
  const s = server();
  const error = expectRemote(
    () =>
      s.hs.receiveHeaders(
        REQUEST.map(([n, v]) => [n, n === ':method' ? 'GET' : v]),
        false,
      ),
    'ERR_BAD_HANDSHAKE',
    405,
  );
  return { ...s, error };
}

function client(options: H2ClientHandshakeOptions = {}) {
  const opened: Opened[] = [];
  const hs = new H2ClientHandshake(options, (extensions, trailing) => void opened.push({ extensions, trailing }));
  return { hs, opened };
}

/** A client that has sent its extended CONNECT. */
function requested(init: Partial<RequestInit> = {}, options: H2ClientHandshakeOptions = {}) {
  const c = client(options);
  const out = c.hs.sendHeaders(new RequestEvent({ host: 'server.example.com', target: '/chat', ...init }));
  return { ...c, out };
}

function drain(hs: H2ServerHandshake | H2ClientHandshake): WSEvent[] {
  const out: WSEvent[] = [];
  for (let e = hs.nextEvent(); e !== null; e = hs.nextEvent()) out.push(e);
  return out;
}

/**
 * Asserts a RemoteProtocolError with `code` and no hint (a client has nothing to send
 * back); `hinted` skips that check (the shared Sec-WebSocket-Extensions parser adds one).
 */
function remote(fn: () => unknown, code: string, message?: RegExp, hinted = false): RemoteProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(RemoteProtocolError);
  const e = caught as RemoteProtocolError;
  expect(e.code).to.equal(code);
  if (!hinted) expect(e.eventHint).to.equal(undefined);
  if (message) expect(e.message).to.match(message);
  return e;
}

/** A stand-in extension offering `x-test; mode=fast` and recording what it is finalized with. */
function fakeExtension(): Extension & { finalized: ExtensionParams[] } {
  const finalized: ExtensionParams[] = [];
  return {
    name: 'x-test',
    rsvBits: 0x40,
    finalized,
    enabled: () => finalized.length > 0,
    offer: () => 'mode=fast',
    accept: () => 'mode=fast',
    finalize: (response) => void finalized.push(response),
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

const ALL_EVENTS: WSEvent[] = [
  new RequestEvent({ host: 'h', target: '/' }),
  new AcceptConnectionEvent(),
  new RejectConnectionEvent({ statusCode: 403 }),
  new RejectDataEvent({ data: Buffer.from('x') }),
  new TextMessageEvent({ data: 'x' }),
  new CloseConnectionEvent({ code: 1000 }),
];

describe('handshake/h2-handshake', () => {
  describe('server: the extended CONNECT (RFC 8441 4)', () => {
    it('RFC 8441 4: valid HEADERS yield one Request: host = :authority, target = :path, the offers; CONNECTING', () => {
      const { hs, req } = deciding([
        ...REQUEST,
        ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
      ]);
      expect([req.host, req.target, req.subprotocols]).to.deep.equal([
        'server.example.com',
        '/chat',
        ['chat', 'superchat'],
      ]);
      expect(req.extensions).to.deep.equal([
        { name: 'permessage-deflate', params: [['client_max_window_bits', null]] },
      ]);
      // The fields as received, pseudo-fields included (the application may want :scheme).
      expect(req.extraHeaders).to.deep.equal([
        ...REQUEST,
        ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
      ]);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
    });

    it("RFC 8441 4: Node's flat rawHeaders give the same Request as pairs", () => {
      const { req } = deciding(REQUEST.flat() as unknown as Headers);
      expect([req.host, req.target, req.subprotocols]).to.deep.equal([
        'server.example.com',
        '/chat',
        ['chat', 'superchat'],
      ]);
      expect(req.extraHeaders).to.deep.equal(REQUEST);
    });

    it('RFC 8441 4: a bad request throws with its hint, stays CONNECTING, and only a rejection may follow', () => {
      const { hs, error } = failed();
      expect(error.eventHint!.headers).to.deep.equal([['allow', 'CONNECT']]);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      expect(drain(hs)).to.deep.equal([]);
      expectLocal(
        () => hs.receiveHeaders(REQUEST, false),
        'ERR_INVALID_STATE',
        /^cannot receive request headers in state CONNECTING$/,
      );
      expectLocal(
        () => hs.sendHeaders(new AcceptConnectionEvent()),
        'ERR_INVALID_STATE',
        /'accept' headers in state CONNECTING/,
      );
      hs.receiveData(Buffer.from('ignored'));
      hs.receiveData(null);
      expect(hs.sendHeaders(error.eventHint!)).to.deep.equal([
        [':status', '405'],
        ['allow', 'CONNECT'],
      ]);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 8441 4, RFC 9113 8.5: END_STREAM on the request HEADERS is refused with 400 (a tunnel needs the stream open)', () => {
      const { hs, opened } = server();
      expectRemote(() => hs.receiveHeaders(REQUEST, true), 'ERR_BAD_HANDSHAKE', 400, /ended its stream/);
      expect(drain(hs)).to.deep.equal([]);
      expectLocal(() => hs.sendHeaders(new AcceptConnectionEvent()), 'ERR_INVALID_STATE');
      expect(hs.sendHeaders(new RejectConnectionEvent({ statusCode: 400 }))).to.deep.equal([[':status', '400']]);
      expect(opened).to.deep.equal([]);
    });

    it('RFC 8441 4: END_STREAM on a request that is also invalid reports the request rule (405)', () => {
      const { hs } = server();
      expectRemote(() => hs.receiveHeaders([[':method', 'GET']], true), 'ERR_BAD_HANDSHAKE', 405);
    });

    it('RFC 8441 4: an odd rawHeaders list (ERR_INVALID_HEADER, as over HTTP/1.1) leaves only a rejection', () => {
      const { hs } = server();
      expectLocal(() => hs.receiveHeaders([':method'], false), 'ERR_INVALID_HEADER', /even length/);
      expect(hs.sendHeaders(new RejectConnectionEvent({ statusCode: 400 }))).to.deep.equal([[':status', '400']]);
    });
  });

  describe('server: early DATA while the application decides', () => {
    it(`RFC 8441 5: keeps up to MAX_EARLY_DATA (${MAX_EARLY_DATA}) bytes, in order, for onOpen`, () => {
      const { hs, opened } = deciding();
      hs.receiveData(Buffer.alloc(MAX_EARLY_DATA - 2, 0x61));
      hs.receiveData(Buffer.alloc(0));
      hs.receiveData(Buffer.from('bc'));
      hs.receiveData(null); // END_STREAM while deciding is left to the application
      hs.sendHeaders(new AcceptConnectionEvent());
      expect(opened).to.have.length(1);
      const trailing = opened[0]!.trailing;
      expect(trailing.length).to.equal(MAX_EARLY_DATA);
      expect(trailing.subarray(-3).toString()).to.equal('abc');
    });

    it('RFC 8441 5: a whole masked frame sent early reaches onOpen byte for byte', () => {
      const frames = Buffer.concat([masked({ opcode: 1, payload: 'early' }), masked({ opcode: 9, payload: 'p' })]);
      const { hs, opened } = deciding();
      hs.receiveData(frames.subarray(0, 3));
      hs.receiveData(frames.subarray(3));
      hs.sendHeaders(new AcceptConnectionEvent());
      expect(opened[0]!.trailing.toString('hex')).to.equal(frames.toString('hex'));
    });

    it('RFC 8441 5: one byte over MAX_EARLY_DATA is refused with a 400 hint; what was kept stays, and accept still works', () => {
      const { hs, opened } = deciding();
      hs.receiveData(Buffer.alloc(MAX_EARLY_DATA));
      expectRemote(() => hs.receiveData(Buffer.alloc(1)), 'ERR_BAD_HANDSHAKE', 400, /too much data/);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      hs.sendHeaders(new AcceptConnectionEvent());
      expect(opened[0]!.trailing.length).to.equal(MAX_EARLY_DATA);
    });

    it('RFC 8441 5: a single chunk over MAX_EARLY_DATA is refused as well', () => {
      const { hs } = deciding();
      expectRemote(() => hs.receiveData(Buffer.alloc(MAX_EARLY_DATA + 1)), 'ERR_BAD_HANDSHAKE', 400);
    });

    it('RFC 9113 8.1: early data is dropped by a rejection', () => {
      const { hs, opened } = deciding();
      hs.receiveData(Buffer.from('early'));
      hs.sendHeaders(new RejectConnectionEvent({ statusCode: 403 }));
      hs.receiveData(Buffer.from('more, ignored'));
      expect(opened).to.deep.equal([]);
    });
  });

  describe('server: accepting (RFC 8441 5)', () => {
    it('RFC 8441 5: 200 with the chosen subprotocol; onOpen gets no extensions and no early data; OPEN', () => {
      const { hs, opened } = deciding();
      expect(hs.sendHeaders(new AcceptConnectionEvent({ subprotocol: 'chat' }))).to.deep.equal([
        [':status', '200'],
        ['sec-websocket-protocol', 'chat'],
      ]);
      expect(opened).to.deep.equal([{ extensions: [], trailing: Buffer.alloc(0) }]);
      expect(hs.state).to.equal(ConnectionState.OPEN);
      expect(drain(hs)).to.deep.equal([]);
    });

    it('RFC 8441 5, RFC 7692 7.1: permessage-deflate is negotiated as over HTTP/1.1 and named in the 200', () => {
      const { hs, opened } = deciding([
        ...REQUEST,
        [
          'sec-websocket-extensions',
          'x-unknown, permessage-deflate; client_max_window_bits; server_max_window_bits=10',
        ],
      ]);
      const deflate = new PerMessageDeflate();
      const out = hs.sendHeaders(
        new AcceptConnectionEvent({ extensions: [deflate], extraHeaders: [['Server', 'wsproto']] }),
      );
      expect(out).to.deep.equal([
        [':status', '200'],
        // The default memory mode asks the client for a 12-bit window (it offered the parameter).
        ['sec-websocket-extensions', 'permessage-deflate; server_max_window_bits=10; client_max_window_bits=12'],
        ['server', 'wsproto'],
      ]);
      expect(opened[0]!.extensions).to.deep.equal([deflate]);
      expect(deflate.enabled()).to.equal(true);
    });

    it('RFC 6455 4.2.2: a subprotocol the client did not offer is refused (ERR_INVALID_SUBPROTOCOL); still deciding', () => {
      const { hs, opened } = deciding();
      expectLocal(() => hs.sendHeaders(new AcceptConnectionEvent({ subprotocol: 'mqtt' })), 'ERR_INVALID_SUBPROTOCOL');
      expect([hs.state, opened.length]).to.deep.equal([ConnectionState.CONNECTING, 0]);
      expect(hs.sendHeaders(new AcceptConnectionEvent({ subprotocol: 'superchat' }))[1]).to.deep.equal([
        'sec-websocket-protocol',
        'superchat',
      ]);
    });

    it('RFC 9113 8.2.1: extra fields that cannot be sent (CR/LF) are refused; still deciding', () => {
      const { hs, opened } = deciding();
      expectLocal(
        () => hs.sendHeaders(new AcceptConnectionEvent({ extraHeaders: [['x', 'a\r\nb']] })),
        'ERR_INVALID_HEADER',
      );
      expect([hs.state, opened.length]).to.deep.equal([ConnectionState.CONNECTING, 0]);
    });

    it('RFC 8441 5: when onOpen throws, nothing changes: the handshake is still deciding, early data kept', () => {
      let fail = true;
      const trailing: Buffer[] = [];
      const { hs } = server((_extensions, t) => {
        if (fail) throw new LocalProtocolError('no connection today', 'ERR_INVALID_OPTION');
        trailing.push(t);
      });
      hs.receiveHeaders(REQUEST, false);
      hs.receiveData(Buffer.from('x'));
      expectLocal(() => hs.sendHeaders(new AcceptConnectionEvent()), 'ERR_INVALID_OPTION');
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      fail = false;
      hs.sendHeaders(new AcceptConnectionEvent());
      expect([hs.state, trailing.map(String)]).to.deep.equal([ConnectionState.OPEN, ['x']]);
    });

    it('RFC 8441 5: after OPEN the DATA belongs to the Connection: receiveData is refused', () => {
      const { hs } = deciding();
      hs.sendHeaders(new AcceptConnectionEvent());
      expectLocal(
        () => hs.receiveData(Buffer.from('x')),
        'ERR_INVALID_STATE',
        /^cannot receive data on the handshake in state OPEN$/,
      );
    });
  });

  describe('server: rejecting (RFC 9113 8.1)', () => {
    it('RFC 9113 8.1: without a body: the header list, CLOSED (END_STREAM goes with it)', () => {
      const { hs } = deciding();
      expect(
        hs.sendHeaders(new RejectConnectionEvent({ statusCode: 403, headers: [['Content-Type', 'text/plain']] })),
      ).to.deep.equal([
        [':status', '403'],
        ['content-type', 'text/plain'],
      ]);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 9113 8.1: with a body: REJECTING, RejectData bytes verbatim as DATA, bodyFinished ends in CLOSED', () => {
      const { hs } = deciding();
      hs.sendHeaders(new RejectConnectionEvent({ statusCode: 404, hasBody: true }));
      expect(hs.state).to.equal(ConnectionState.REJECTING);
      hs.receiveData(Buffer.from('ignored while rejecting'));
      expect(hs.send(new RejectDataEvent({ data: Buffer.from('no'), bodyFinished: false })).toString()).to.equal('no');
      expect(hs.state).to.equal(ConnectionState.REJECTING);
      expect(hs.send(new RejectDataEvent({ data: Buffer.from('pe') })).toString()).to.equal('pe');
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    for (const status of [99, 100, 101, 103, 199, 1000]) {
      it(`RFC 9113 8.1.1: status ${status} is not a final answer: ERR_INVALID_EVENT, nothing changes`, () => {
        const { hs } = deciding();
        expectLocal(
          () => hs.sendHeaders(new RejectConnectionEvent({ statusCode: status })),
          'ERR_INVALID_EVENT',
          new RegExp(`${status}`),
        );
        expect(hs.state).to.equal(ConnectionState.CONNECTING);
        expect(hs.sendHeaders(new AcceptConnectionEvent())).to.deep.equal([[':status', '200']]);
      });
    }

    for (const status of [200, 204, 299]) {
      it(`RFC 8441 5, RFC 9113 8.5: status ${status} would open the tunnel, so it cannot reject (ERR_INVALID_EVENT)`, () => {
        const { hs } = deciding();
        expectLocal(
          () => hs.sendHeaders(new RejectConnectionEvent({ statusCode: status })),
          'ERR_INVALID_EVENT',
          /2xx/,
        );
        expect(hs.state).to.equal(ConnectionState.CONNECTING);
      });
    }

    it('RFC 9113 8.1: 300 and 999 can reject', () => {
      for (const status of [300, 999]) {
        expect(deciding().hs.sendHeaders(new RejectConnectionEvent({ statusCode: status }))).to.deep.equal([
          [':status', String(status)],
        ]);
      }
    });
  });

  describe('server: what each phase takes', () => {
    const phases: Array<[string, () => H2ServerHandshake, string, string[], string[]]> = [
      // [phase, make, state, event types sendHeaders takes, event types send takes]
      ['reading', () => server().hs, 'CONNECTING', [], []],
      ['failed', () => failed().hs, 'CONNECTING', ['reject'], []],
      ['deciding', () => deciding().hs, 'CONNECTING', ['accept', 'reject'], []],
      [
        'rejecting',
        () => {
          const { hs } = deciding();
          hs.sendHeaders(new RejectConnectionEvent({ statusCode: 403, hasBody: true }));
          return hs;
        },
        'REJECTING',
        [],
        ['reject-data'],
      ],
      [
        'closed',
        () => {
          const { hs } = deciding();
          hs.sendHeaders(new RejectConnectionEvent({ statusCode: 403 }));
          return hs;
        },
        'CLOSED',
        [],
        [],
      ],
      [
        'open',
        () => {
          const { hs } = deciding();
          hs.sendHeaders(new AcceptConnectionEvent());
          return hs;
        },
        'OPEN',
        [],
        [],
      ],
    ];
    for (const [phase, make, state, headersTaken, sendTaken] of phases) {
      it(`RFC 8441 4, 5: ${phase} (${state}): sendHeaders takes ${headersTaken.join(', ') || 'nothing'}, send takes ${sendTaken.join(', ') || 'nothing'}`, () => {
        for (const event of ALL_EVENTS) {
          const a = make();
          expect(a.state).to.equal(state);
          if (headersTaken.includes(event.type)) expect(a.sendHeaders(event)[0]![0]).to.equal(':status');
          else {
            expectLocal(
              () => a.sendHeaders(event),
              'ERR_INVALID_STATE',
              new RegExp(`^cannot send '${event.type}' headers in state ${state}$`),
            );
            expect(a.state).to.equal(state);
          }
          const b = make();
          if (sendTaken.includes(event.type)) expect(b.send(event)).to.be.instanceOf(Buffer);
          else {
            const hint =
              event.type === 'accept' || event.type === 'reject'
                ? ' \\(over HTTP/2 heads go through sendHeaders\\)'
                : '';
            expectLocal(
              () => b.send(event),
              'ERR_INVALID_STATE',
              new RegExp(`^cannot send '${event.type}'${hint} in state ${state}$`),
            );
            expect(b.state).to.equal(state);
          }
        }
        const c = make();
        if (phase === 'reading') c.receiveHeaders(REQUEST, false);
        else {
          expectLocal(
            () => c.receiveHeaders(REQUEST, false),
            'ERR_INVALID_STATE',
            new RegExp(`^cannot receive request headers in state ${state}$`),
          );
        }
      });
    }

    it('RFC 8441 4: reading: DATA or END_STREAM before the request HEADERS is refused with ERR_INVALID_STATE', () => {
      const { hs } = server();
      expectLocal(
        () => hs.receiveData(Buffer.from('x')),
        'ERR_INVALID_STATE',
        /before the request headers in state CONNECTING/,
      );
      expectLocal(() => hs.receiveData(null), 'ERR_INVALID_STATE', /before the request headers/);
      hs.receiveHeaders(REQUEST, false);
      expect(drain(hs).map((e) => e.type)).to.deep.equal(['request']);
    });

    it('RFC 9113 8.1: failed, rejecting, closed: DATA and END_STREAM are ignored', () => {
      for (const [phase, make] of phases.filter(([p]) => ['failed', 'rejecting', 'closed'].includes(p))) {
        const hs = make();
        const before = hs.state;
        hs.receiveData(Buffer.from('x'));
        hs.receiveData(null);
        expect([phase, hs.state, drain(hs)]).to.deep.equal([phase, before, []]);
      }
    });
  });

  describe('client: the extended CONNECT (RFC 8441 4)', () => {
    it('RFC 8441 4, 5: sendHeaders gives the header list, byte for byte; CONNECTING', () => {
      const { hs, out } = requested({
        subprotocols: ['chat', 'superchat'],
        extraHeaders: [['Origin', 'http://example.com']],
      });
      expect(out).to.deep.equal([
        [':method', 'CONNECT'],
        [':protocol', 'websocket'],
        [':scheme', 'https'],
        [':path', '/chat'],
        [':authority', 'server.example.com'],
        ['sec-websocket-version', '13'],
        ['sec-websocket-protocol', 'chat, superchat'],
        ['origin', 'http://example.com'],
      ]);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
    });

    it("RFC 8441 4: the scheme option gives :scheme (http for ws:), 'https' by default", () => {
      expect(requested({}, { scheme: 'http' }).out[2]).to.deep.equal([':scheme', 'http']);
      expect(requested({}, {}).out[2]).to.deep.equal([':scheme', 'https']);
    });

    it('RFC 6455 4.1, 9.1: extensions are offered from Extension objects; a string is refused and the client stays idle', () => {
      expect(requested({ extensions: [fakeExtension()] }).out).to.deep.include([
        'sec-websocket-extensions',
        'x-test; mode=fast',
      ]);
      const { hs } = client();
      expectLocal(
        () => hs.sendHeaders(new RequestEvent({ host: 'h', target: '/', extensions: ['permessage-deflate'] })),
        'ERR_INVALID_EXTENSION',
      );
      expectLocal(
        () => hs.sendHeaders(new RequestEvent({ host: 'h', target: '/', extensions: [{ name: 'x', params: [] }] })),
        'ERR_INVALID_EXTENSION',
      );
      expect(hs.sendHeaders(new RequestEvent({ host: 'h', target: '/' }))[0]).to.deep.equal([':method', 'CONNECT']);
    });

    it('RFC 9113 8.2.1: a request that cannot be sent (CR/LF) leaves the client free to send another', () => {
      const { hs } = client();
      expectLocal(() => hs.sendHeaders(new RequestEvent({ host: 'h\r\nx: y', target: '/' })), 'ERR_INVALID_HEADER');
      expectLocal(
        () => hs.sendHeaders(new RequestEvent({ host: 'h', target: '/', extraHeaders: [['x', '\n']] })),
        'ERR_INVALID_HEADER',
      );
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      expect(hs.sendHeaders(new RequestEvent({ host: 'h', target: '/' }))[4]).to.deep.equal([':authority', 'h']);
    });

    it('RFC 8441 4: sendHeaders takes the Request once, first, and nothing else', () => {
      for (const event of ALL_EVENTS.filter((e) => e.type !== 'request')) {
        expectLocal(
          () => client().hs.sendHeaders(event),
          'ERR_INVALID_STATE',
          new RegExp(`^cannot send '${event.type}' headers in state CONNECTING$`),
        );
      }
      const { hs } = requested();
      for (const event of ALL_EVENTS) {
        expectLocal(
          () => hs.sendHeaders(event),
          'ERR_INVALID_STATE',
          new RegExp(`^cannot send '${event.type}' headers in state CONNECTING$`),
        );
      }
    });

    it('RFC 8441 4: send takes nothing: the request goes through sendHeaders, and says so', () => {
      for (const hs of [client().hs, requested().hs]) {
        for (const event of ALL_EVENTS) {
          const hint = event.type === 'request' ? ' \\(over HTTP/2 the request goes through sendHeaders\\)' : '';
          expectLocal(
            () => hs.send(event),
            'ERR_INVALID_STATE',
            new RegExp(`^cannot send '${event.type}'${hint} in state CONNECTING$`),
          );
        }
      }
    });

    it('RFC 8441 4: before the request: response HEADERS and DATA are refused (ERR_INVALID_STATE); END_STREAM is ignored', () => {
      const { hs } = client();
      expectLocal(
        () => hs.receiveHeaders([[':status', '200']], false),
        'ERR_INVALID_STATE',
        /^cannot receive response headers in state CONNECTING$/,
      );
      expectLocal(() => hs.receiveData(Buffer.from('x')), 'ERR_INVALID_STATE', /before the response headers/);
      hs.receiveData(Buffer.alloc(0));
      hs.receiveData(null);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      expect(hs.sendHeaders(new RequestEvent({ host: 'h', target: '/' }))).to.have.length(6);
    });
  });

  describe('client: the response (RFC 8441 5)', () => {
    it('RFC 8441 5: a 200 opens: one AcceptConnection with the choice and the fields as received; onOpen; OPEN', () => {
      const { hs, opened } = requested({ subprotocols: ['chat'] });
      const headers: HeaderList = [
        [':status', '200'],
        ['sec-websocket-protocol', 'chat'],
        ['server', 'x'],
      ];
      hs.receiveHeaders(headers, false);
      const events = drain(hs);
      expect(events).to.have.length(1);
      const accept = events[0] as AcceptConnectionEvent;
      expect(accept).to.be.instanceOf(AcceptConnectionEvent);
      expect([accept.subprotocol, accept.extensions, accept.extraHeaders]).to.deep.equal(['chat', [], headers]);
      expect(opened).to.deep.equal([{ extensions: [], trailing: Buffer.alloc(0) }]);
      expect(hs.state).to.equal(ConnectionState.OPEN);
    });

    it("RFC 8441 5: Node's flat rawHeaders work as pairs", () => {
      const { hs } = requested({ subprotocols: ['chat'] });
      hs.receiveHeaders([':status', '200', 'sec-websocket-protocol', 'chat'], false);
      expect((drain(hs)[0] as AcceptConnectionEvent).subprotocol).to.equal('chat');
    });

    for (const status of ['201', '204', '299']) {
      it(`RFC 8441 5, RFC 9113 8.5: a ${status} opens as well (any 2xx)`, () => {
        const { hs } = requested();
        hs.receiveHeaders([[':status', status]], false);
        expect(drain(hs).map((e) => e.type)).to.deep.equal(['accept']);
        expect(hs.state).to.equal(ConnectionState.OPEN);
      });
    }

    it('RFC 9110 15.2: interim 100 and 103 are skipped; the 200 after them opens', () => {
      const { hs, opened } = requested();
      hs.receiveHeaders([[':status', '100']], false);
      hs.receiveHeaders(
        [
          [':status', '103'],
          ['link', '</a.css>; rel=preload'],
        ],
        false,
      );
      expect([drain(hs), hs.state, opened.length]).to.deep.equal([[], ConnectionState.CONNECTING, 0]);
      hs.receiveHeaders(
        [
          [':status', '200'],
          ['x-final', 'yes'],
        ],
        false,
      );
      const events = drain(hs);
      expect(events.map((e) => e.type)).to.deep.equal(['accept']);
      expect((events[0] as AcceptConnectionEvent).extraHeaders).to.deep.equal([
        [':status', '200'],
        ['x-final', 'yes'],
      ]);
    });

    it('RFC 9113 8.1: an interim response with END_STREAM is malformed (ERR_BAD_HTTP)', () => {
      const { hs } = requested();
      remote(() => hs.receiveHeaders([[':status', '103']], true), 'ERR_BAD_HTTP', /END_STREAM/);
      expectLocal(() => hs.receiveHeaders([[':status', '200']], false), 'ERR_INVALID_STATE');
    });

    it('RFC 9113 8.6: a 101 does not exist in HTTP/2 (ERR_BAD_HTTP)', () => {
      const { hs } = requested();
      remote(() => hs.receiveHeaders([[':status', '101']], false), 'ERR_BAD_HTTP', /101/);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
    });

    it('RFC 8441 5, RFC 6455 9.1: an offered extension accepted by the server is finalized and handed to onOpen', () => {
      const ext = fakeExtension();
      const { hs, opened } = requested({ extensions: [ext] });
      hs.receiveHeaders(
        [
          [':status', '200'],
          ['sec-websocket-extensions', 'x-test; mode=fast'],
        ],
        false,
      );
      expect(ext.finalized).to.deep.equal([{ name: 'x-test', params: [['mode', 'fast']] }]);
      expect((drain(hs)[0] as AcceptConnectionEvent).extensions).to.deep.equal([ext]);
      expect(opened[0]!.extensions).to.deep.equal([ext]);
    });

    const bad: Array<[string, Headers, string, RegExp]> = [
      ['RFC 9113 8.3.2: no :status', [['sec-websocket-protocol', 'chat']], 'ERR_BAD_HTTP', /no valid :status/],
      [
        'RFC 9113 8.3.2: :status twice',
        [
          [':status', '200'],
          [':status', '200'],
        ],
        'ERR_BAD_HTTP',
        /:status/,
      ],
      ['RFC 9113 8.3.2: a :status of two digits', [[':status', '20']], 'ERR_BAD_HTTP', /:status/],
      ['RFC 9113 8.3.2: a :status that is not a number', [[':status', 'OK']], 'ERR_BAD_HTTP', /:status/],
      [
        'RFC 6455 4.1: a subprotocol the client did not offer',
        [
          [':status', '200'],
          ['sec-websocket-protocol', 'mqtt'],
        ],
        'ERR_BAD_HANDSHAKE',
        /mqtt/,
      ],
      [
        'RFC 6455 4.1: two subprotocols',
        [
          [':status', '200'],
          ['sec-websocket-protocol', 'chat, chat'],
        ],
        'ERR_BAD_HANDSHAKE',
        /more than one/,
      ],
      [
        'RFC 6455 9.1: an extension the client did not offer',
        [
          [':status', '200'],
          ['sec-websocket-extensions', 'permessage-deflate'],
        ],
        'ERR_BAD_EXTENSION',
        /did not offer/,
      ],
      [
        'RFC 6455 9.1: a malformed sec-websocket-extensions',
        [
          [':status', '200'],
          ['sec-websocket-extensions', ';'],
        ],
        'ERR_BAD_EXTENSION',
        /malformed/,
      ],
    ];
    for (const [name, headers, code, message] of bad) {
      it(`${name}: RemoteProtocolError ${code}, no onOpen, and no second response is taken`, () => {
        const { hs, opened } = requested({ subprotocols: ['chat'] });
        remote(() => hs.receiveHeaders(headers, false), code, message, /malformed/.test(name));
        expect([hs.state, opened.length, drain(hs)]).to.deep.equal([ConnectionState.CONNECTING, 0, []]);
        expectLocal(() => hs.receiveHeaders([[':status', '200']], false), 'ERR_INVALID_STATE');
      });
    }

    it('RFC 8441 5: after OPEN the DATA belongs to the Connection: receiveData and receiveHeaders are refused', () => {
      const { hs } = requested();
      hs.receiveHeaders([[':status', '200']], false);
      expectLocal(
        () => hs.receiveData(HELLO_FRAME),
        'ERR_INVALID_STATE',
        /^cannot receive data on the handshake in state OPEN$/,
      );
      expectLocal(() => hs.receiveHeaders([[':status', '200']], false), 'ERR_INVALID_STATE', /state OPEN/);
      expectLocal(
        () => hs.sendHeaders(new RequestEvent({ host: 'h', target: '/' })),
        'ERR_INVALID_STATE',
        /state OPEN/,
      );
    });

    it('RFC 8441 5: while waiting, empty DATA is ignored, DATA bytes are refused, END_STREAM is a 1006 failure', () => {
      const { hs } = requested();
      hs.receiveData(Buffer.alloc(0));
      expectLocal(
        () => hs.receiveData(Buffer.from('x')),
        'ERR_INVALID_STATE',
        /before the response headers in state CONNECTING/,
      );
      const error = remote(
        () => hs.receiveData(null),
        'ERR_BAD_HANDSHAKE',
        /stream ended during the opening handshake/,
      );
      expect(error.closeCode).to.equal(1006);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });
  });

  describe('client: a refusal and its body (RFC 9113 8.1)', () => {
    it('RFC 9113 8.1: a 403 is a RejectConnection, its DATA RejectData events, END_STREAM the last one; CLOSED', () => {
      const { hs } = requested();
      const headers: HeaderList = [
        [':status', '403'],
        ['content-type', 'text/plain'],
      ];
      hs.receiveHeaders(headers, false);
      expect(hs.state).to.equal(ConnectionState.REJECTING);
      hs.receiveData(Buffer.from('for'));
      hs.receiveData(Buffer.alloc(0));
      hs.receiveData(Buffer.from('bidden'));
      hs.receiveData(null);
      const events = drain(hs);
      expect(events.map((e) => e.type)).to.deep.equal(['reject', 'reject-data', 'reject-data', 'reject-data']);
      const reject = events[0] as RejectConnectionEvent;
      expect([reject.statusCode, reject.headers, reject.hasBody]).to.deep.equal([403, headers, true]);
      const data = events.slice(1) as RejectDataEvent[];
      expect(data.map((d) => [d.data.toString(), d.bodyFinished])).to.deep.equal([
        ['for', false],
        ['bidden', false],
        ['', true],
      ]);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 9113 8.1: END_STREAM on the HEADERS: no body, hasBody false, CLOSED at once; a late END_STREAM adds nothing', () => {
      const { hs } = requested();
      hs.receiveHeaders([[':status', '404']], true);
      hs.receiveData(null);
      const events = drain(hs);
      expect(events).to.have.length(1);
      expect([
        (events[0] as RejectConnectionEvent).statusCode,
        (events[0] as RejectConnectionEvent).hasBody,
      ]).to.deep.equal([404, false]);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
      expectLocal(() => hs.receiveData(Buffer.from('x')), 'ERR_INVALID_STATE', /CLOSED/);
    });

    it('RFC 9113 8.1: the body is bounded by maxRejectBodySize: exactly the limit passes, one byte more is ERR_BODY_TOO_LARGE', () => {
      const { hs } = requested({}, { maxRejectBodySize: 10 });
      hs.receiveHeaders([[':status', '500']], false);
      hs.receiveData(Buffer.alloc(4));
      hs.receiveData(Buffer.alloc(6));
      remote(() => hs.receiveData(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE', /maxRejectBodySize/);
      expect(drain(hs).map((e) => e.type)).to.deep.equal(['reject', 'reject-data', 'reject-data']);
      expect(hs.state).to.equal(ConnectionState.CONNECTING); // failed: nothing more is read
      hs.receiveData(null);
      expect(drain(hs)).to.deep.equal([]);
    });

    it('RFC 9113 8.1: maxRejectBodySize 0 refuses any body byte; the default is 1 MiB', () => {
      const zero = requested({}, { maxRejectBodySize: 0 }).hs;
      zero.receiveHeaders([[':status', '500']], false);
      remote(() => zero.receiveData(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE');
      const { hs } = requested();
      hs.receiveHeaders([[':status', '500']], false);
      hs.receiveData(Buffer.alloc(1024 * 1024));
      remote(() => hs.receiveData(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE');
    });

    it('RFC 9110 15.2: a 1xx before a refusal is skipped; the refusal is the final status', () => {
      const { hs } = requested();
      hs.receiveHeaders([[':status', '100']], false);
      hs.receiveHeaders(
        [
          [':status', '401'],
          ['www-authenticate', 'Basic'],
        ],
        true,
      );
      const events = drain(hs);
      expect(events.map((e) => e.type)).to.deep.equal(['reject']);
      expect((events[0] as RejectConnectionEvent).statusCode).to.equal(401);
    });

    it('RFC 8441 5: a refusal does not check the WebSocket fields: a 400 naming an unoffered subprotocol is still a RejectConnection', () => {
      const { hs } = requested();
      hs.receiveHeaders(
        [
          [':status', '400'],
          ['sec-websocket-version', '13'],
          ['sec-websocket-protocol', 'x'],
        ],
        true,
      );
      expect((drain(hs)[0] as RejectConnectionEvent).statusCode).to.equal(400);
    });
  });
});
