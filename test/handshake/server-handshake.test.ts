/** `ServerHandshake` on its own: the server side of the opening handshake (RFC 6455 4.2). */
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
  type WSEvent,
} from '../../lib/events';
import type { Extension } from '../../lib/extensions/extension';
import { MAX_EARLY_DATA, ServerHandshake } from '../../lib/handshake/server-handshake';
import type { HeadLimits } from '../../lib/handshake/http/head-parser';
import { chunkings, masked } from '../helpers/bytes';
import { RFC_REQUEST, RFC_RESPONSE, crlf, expectLocal, expectRemote } from '../helpers/http';

const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

interface Opened {
  extensions: readonly Extension[];
  trailing: Buffer;
}

/** A server handshake whose `onOpen` calls are recorded. */
function server(limits: HeadLimits = {}): { hs: ServerHandshake; opened: Opened[] } {
  const opened: Opened[] = [];
  const hs = new ServerHandshake(limits, (extensions, trailing) => void opened.push({ extensions, trailing }));
  return { hs, opened };
}

/** A server that has read `request` and delivered its `Request` event. */
function deciding(request: Buffer = RFC_REQUEST): { hs: ServerHandshake; opened: Opened[]; req: RequestEvent } {
  const s = server();
  s.hs.receiveData(request);
  const req = s.hs.nextEvent();
  expect(req).to.be.instanceOf(RequestEvent);
  return { ...s, req: req! };
}

/** A server whose request failed (version 7: a 426 hint). */
function failed(): { hs: ServerHandshake; error: RemoteProtocolError } {
  const { hs } = server();
  const bytes = Buffer.from(RFC_REQUEST.toString('latin1').replace('Version: 13', 'Version: 7'), 'latin1');
  const error = expectRemote(() => hs.receiveData(bytes), 'ERR_UNSUPPORTED_VERSION', 426);
  return { hs, error };
}

/** A fake extension accepting offers named `name` with the answer `answer`. */
function fakeExtension(name: string, answer: string | true): Extension {
  return {
    name,
    rsvBits: 0x40,
    enabled: () => true,
    offer: () => true,
    accept: () => answer,
    finalize: () => undefined,
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

const withHeader = (request: Buffer, line: string): Buffer =>
  Buffer.concat([request.subarray(0, request.length - 2), Buffer.from(`${line}\r\n\r\n`)]);

describe('handshake/server-handshake', () => {
  describe('reading the request (RFC 6455 4.2.1)', () => {
    it('RFC 6455 4.2.1: the RFC 1.2 request yields one Request, whole, byte by byte, at every split point', () => {
      for (const chunks of chunkings(RFC_REQUEST, 10)) {
        const { hs } = server();
        const events: WSEvent[] = [];
        for (const chunk of chunks) {
          hs.receiveData(chunk);
          for (let e = hs.nextEvent(); e !== null; e = hs.nextEvent()) events.push(e);
        }
        expect(events).to.have.length(1);
        const req = events[0] as RequestEvent;
        expect([req.host, req.target]).to.deep.equal(['server.example.com', '/chat']);
        expect(req.subprotocols).to.deep.equal(['chat', 'superchat']);
        expect(req.extensions).to.deep.equal([]);
        expect(req.extraHeaders).to.deep.include(['Origin', 'http://example.com']);
        expect(hs.state).to.equal(ConnectionState.CONNECTING);
      }
    });

    it('RFC 6455 4.2.1: bytes after the request, at every split point, are handed to onOpen exactly', () => {
      const early = Buffer.concat([masked({ opcode: 1, payload: 'early' }), masked({ opcode: 9, payload: 'p' })]);
      const data = Buffer.concat([RFC_REQUEST, early]);
      for (const chunks of chunkings(data, 10)) {
        const { hs, opened } = server();
        for (const chunk of chunks) hs.receiveData(chunk);
        expect(hs.nextEvent()).to.be.instanceOf(RequestEvent);
        expect(hs.nextEvent()).to.equal(null);
        hs.send(new AcceptConnectionEvent());
        expect(opened).to.have.length(1);
        expect(opened[0]!.trailing.toString('hex')).to.equal(early.toString('hex'));
      }
    });

    it('RFC 6455 4.2.1: a bad request fails with its hint; later bytes and EOF are ignored', () => {
      const { hs, error } = failed();
      expect(error.eventHint!.headers).to.deep.equal([['Sec-WebSocket-Version', '13']]);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      hs.receiveData(Buffer.from('more'));
      hs.receiveData(null);
      expect(hs.nextEvent()).to.equal(null);
    });

    it('RFC 9112 2.2: a malformed head fails with a 400 hint, and only its rejection may follow', () => {
      const { hs } = server();
      expectRemote(() => hs.receiveData(Buffer.from('GARBAGE\r\n\r\n')), 'ERR_BAD_HTTP', 400);
      hs.receiveData(Buffer.from('ignored'));
      expectLocal(() => hs.send(new AcceptConnectionEvent()), 'ERR_INVALID_STATE', /'accept' in state CONNECTING/);
      expect(hs.send(new RejectConnectionEvent({ statusCode: 400 })).toString()).to.equal(
        'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n',
      );
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 6455 4.2.1: EOF inside the head is a 1006 failure with a 400 hint, then CLOSED', () => {
      const { hs } = server();
      hs.receiveData(RFC_REQUEST.subarray(0, 20));
      const error = expectRemote(() => hs.receiveData(null), 'ERR_BAD_HANDSHAKE', 400, /closed during the opening/);
      expect(error.closeCode).to.equal(1006);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
      hs.receiveData(Buffer.from('late'));
      expectLocal(() => hs.send(new RejectConnectionEvent({ statusCode: 400 })), 'ERR_INVALID_STATE', /CLOSED/);
    });

    it('the head limits are checked when the handshake is built', () => {
      expectLocal(() => server({ maxHeadSize: 0 }), 'ERR_INVALID_OPTION', /maxHeadSize/);
      const { hs } = server({ maxHeaders: 3 });
      expectRemote(() => hs.receiveData(RFC_REQUEST), 'ERR_TOO_MANY_HEADERS', 431);
    });
  });

  describe('early data while the application decides', () => {
    it(`keeps up to MAX_EARLY_DATA (${MAX_EARLY_DATA}) bytes, in order, for onOpen`, () => {
      const { hs, opened } = deciding();
      hs.receiveData(Buffer.alloc(MAX_EARLY_DATA - 1, 0x61));
      hs.receiveData(Buffer.from('b'));
      hs.receiveData(null); // EOF while deciding is left to the application
      hs.send(new AcceptConnectionEvent());
      const trailing = opened[0]!.trailing;
      expect(trailing.length).to.equal(MAX_EARLY_DATA);
      expect(trailing.subarray(-2).toString()).to.equal('ab');
    });

    it('one byte more is refused with a 400 hint; what was kept stays, and accept still works', () => {
      const { hs, opened } = deciding();
      hs.receiveData(Buffer.alloc(MAX_EARLY_DATA));
      expectRemote(() => hs.receiveData(Buffer.alloc(1)), 'ERR_BAD_HANDSHAKE', 400, /too much data/);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      hs.send(new AcceptConnectionEvent());
      expect(opened[0]!.trailing.length).to.equal(MAX_EARLY_DATA);
    });
  });

  describe('accepting (RFC 6455 4.2.2)', () => {
    it('RFC 6455 4.2.2: accepting the RFC 1.2 request with "chat" writes the RFC 1.3 response, byte for byte', () => {
      const { hs, opened } = deciding();
      const out = hs.send(new AcceptConnectionEvent({ subprotocol: 'chat' }));
      expect(out.toString('latin1')).to.equal(RFC_RESPONSE.toString('latin1'));
      expect(opened).to.deep.equal([{ extensions: [], trailing: Buffer.alloc(0) }]);
      expect(hs.state).to.equal(ConnectionState.OPEN);
    });

    it('RFC 6455 4.2.2: no subprotocol, extra headers: the fields in order, byte for byte', () => {
      const { hs } = deciding();
      const out = hs.send(new AcceptConnectionEvent({ extraHeaders: [['Server', 'wsproto']] }));
      expect(out.toString('latin1')).to.equal(
        crlf([
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
          'Server: wsproto',
          '',
        ]).toString('latin1'),
      );
    });

    it('RFC 6455 4.2.2: a subprotocol the client did not offer is refused, and the handshake stays CONNECTING', () => {
      const { hs, opened } = deciding();
      expectLocal(() => hs.send(new AcceptConnectionEvent({ subprotocol: 'mqtt' })), 'ERR_INVALID_SUBPROTOCOL');
      expect([hs.state, opened.length]).to.deep.equal([ConnectionState.CONNECTING, 0]);
      hs.send(new AcceptConnectionEvent({ subprotocol: 'superchat' }));
      expect(hs.state).to.equal(ConnectionState.OPEN);
    });

    it('RFC 6455 9.1: the accepted extensions are named in the 101 and handed to onOpen', () => {
      const { hs, opened } = deciding(withHeader(RFC_REQUEST, 'Sec-WebSocket-Extensions: x-a, x-b; q=1'));
      const a = fakeExtension('x-a', true);
      const b = fakeExtension('x-b', 'q=1');
      const unoffered = fakeExtension('x-c', true);
      const out = hs.send(new AcceptConnectionEvent({ extensions: [unoffered, b, a] })).toString('latin1');
      expect(out).to.equal(
        crlf([
          'HTTP/1.1 101 Switching Protocols',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Accept: ${RFC_ACCEPT}`,
          'Sec-WebSocket-Extensions: x-b; q=1, x-a',
          '',
        ]).toString('latin1'),
      );
      expect(opened[0]!.extensions).to.deep.equal([b, a]);
    });

    it('when onOpen throws, nothing changes: the handshake is still deciding', () => {
      let fail = true;
      const hs = new ServerHandshake({}, () => {
        if (fail) throw new LocalProtocolError('no connection today', 'ERR_INVALID_OPTION');
      });
      hs.receiveData(Buffer.concat([RFC_REQUEST, Buffer.from('x')]));
      expectLocal(() => hs.send(new AcceptConnectionEvent()), 'ERR_INVALID_OPTION');
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      fail = false;
      hs.send(new AcceptConnectionEvent());
      expect(hs.state).to.equal(ConnectionState.OPEN);
    });

    it('after OPEN the data belongs to the Connection: receiveData is refused', () => {
      const { hs } = deciding();
      hs.send(new AcceptConnectionEvent());
      expectLocal(() => hs.receiveData(Buffer.from('x')), 'ERR_INVALID_STATE', /the Connection/);
    });
  });

  describe('rejecting (RFC 6455 4.2.2, RFC 9112 6.3)', () => {
    const cases: Array<[string, RejectConnectionEvent, string[], string]> = [
      [
        'no body: Content-Length: 0 is added',
        new RejectConnectionEvent({ statusCode: 403 }),
        ['HTTP/1.1 403 Forbidden', 'Content-Length: 0'],
        ConnectionState.CLOSED,
      ],
      [
        'no body, with a Content-Length given: kept as is',
        new RejectConnectionEvent({ statusCode: 404, headers: [['content-length', '0']] }),
        ['HTTP/1.1 404 Not Found', 'content-length: 0'],
        ConnectionState.CLOSED,
      ],
      [
        'a body with Content-Length: nothing added, REJECTING',
        new RejectConnectionEvent({ statusCode: 400, headers: [['Content-Length', '5']], hasBody: true }),
        ['HTTP/1.1 400 Bad Request', 'Content-Length: 5'],
        ConnectionState.REJECTING,
      ],
      [
        'a chunked body: nothing added, REJECTING',
        new RejectConnectionEvent({ statusCode: 500, headers: [['Transfer-Encoding', 'chunked']], hasBody: true }),
        ['HTTP/1.1 500 Internal Server Error', 'Transfer-Encoding: chunked'],
        ConnectionState.REJECTING,
      ],
      [
        'RFC 9112 6.3: a body without a length ends at close: Connection: close is added',
        new RejectConnectionEvent({ statusCode: 503, hasBody: true }),
        ['HTTP/1.1 503 Service Unavailable', 'Connection: close'],
        ConnectionState.REJECTING,
      ],
      [
        'a body without a length, with a Connection header given: kept as is',
        new RejectConnectionEvent({ statusCode: 503, headers: [['Connection', 'close, x']], hasBody: true }),
        ['HTTP/1.1 503 Service Unavailable', 'Connection: close, x'],
        ConnectionState.REJECTING,
      ],
    ];
    for (const [name, event, lines, state] of cases) {
      it(`${name}, byte for byte`, () => {
        const { hs } = deciding();
        expect(hs.send(event).toString('latin1')).to.equal(crlf([...lines, '']).toString('latin1'));
        expect(hs.state).to.equal(state);
      });
    }

    for (const status of [99, 101, 1000]) {
      it(`status ${status} cannot reject (ERR_INVALID_EVENT), and nothing changes`, () => {
        const { hs } = deciding();
        expectLocal(() => hs.send(new RejectConnectionEvent({ statusCode: status })), 'ERR_INVALID_EVENT');
        expect(hs.state).to.equal(ConnectionState.CONNECTING);
      });
    }

    it('RejectData passes the body through verbatim; bodyFinished ends in CLOSED', () => {
      const { hs } = deciding();
      hs.send(new RejectConnectionEvent({ statusCode: 400, headers: [['Content-Length', '4']], hasBody: true }));
      hs.receiveData(Buffer.from('ignored while rejecting'));
      expect(hs.send(new RejectDataEvent({ data: Buffer.from('no'), bodyFinished: false })).toString()).to.equal('no');
      expect(hs.state).to.equal(ConnectionState.REJECTING);
      expect(hs.send(new RejectDataEvent({ data: Buffer.from('pe') })).toString()).to.equal('pe');
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('the hint of a failed request can be sent as is (426 with the version we speak)', () => {
      const { hs, error } = failed();
      expect(hs.send(error.eventHint!).toString('latin1')).to.equal(
        crlf(['HTTP/1.1 426 Upgrade Required', 'Sec-WebSocket-Version: 13', 'Content-Length: 0', '']).toString(
          'latin1',
        ),
      );
    });
  });

  describe('what send() takes in each state', () => {
    const events: WSEvent[] = [
      new RequestEvent({ host: 'h', target: '/' }),
      new AcceptConnectionEvent(),
      new RejectConnectionEvent({ statusCode: 400 }),
      new RejectDataEvent({ data: Buffer.from('x') }),
      new TextMessageEvent({ data: 'x' }),
      new CloseConnectionEvent({ code: 1000 }),
    ];
    const phases: Array<[string, () => ServerHandshake, string, string[]]> = [
      ['reading', () => server().hs, 'CONNECTING', []],
      ['failed', () => failed().hs, 'CONNECTING', ['reject']],
      ['deciding', () => deciding().hs, 'CONNECTING', ['accept', 'reject']],
      [
        'rejecting',
        () => {
          const { hs } = deciding();
          hs.send(new RejectConnectionEvent({ statusCode: 400, hasBody: true }));
          return hs;
        },
        'REJECTING',
        ['reject-data'],
      ],
      [
        'closed',
        () => {
          const { hs } = deciding();
          hs.send(new RejectConnectionEvent({ statusCode: 400 }));
          return hs;
        },
        'CLOSED',
        [],
      ],
      [
        'open',
        () => {
          const { hs } = deciding();
          hs.send(new AcceptConnectionEvent());
          return hs;
        },
        'OPEN',
        [],
      ],
    ];
    for (const [phase, make, state, allowed] of phases) {
      it(`${phase} (${state}) takes ${allowed.length > 0 ? allowed.join(', ') : 'nothing'}`, () => {
        for (const event of events) {
          const hs = make();
          expect(hs.state).to.equal(state);
          if (allowed.includes(event.type)) {
            expect(hs.send(event)).to.be.instanceOf(Buffer);
          } else {
            expectLocal(
              () => hs.send(event),
              'ERR_INVALID_STATE',
              new RegExp(`^cannot send '${event.type}' in state ${state}$`),
            );
          }
        }
      });
    }
  });

  describe('initiateUpgradeConnection (a request parsed elsewhere)', () => {
    const raw = [
      'Host',
      'h',
      'Upgrade',
      'websocket',
      'Connection',
      'Upgrade',
      'Sec-WebSocket-Key',
      'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version',
      '13',
    ];

    it('takes Node rawHeaders (flat) or pairs; bytes received afterwards are early data', () => {
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
      for (const headers of [raw, pairs]) {
        const { hs, opened } = server();
        hs.initiateUpgradeConnection(headers, '/path?q=1', 'GET', '1.1');
        const req = hs.nextEvent()!;
        expect([req.target, req.host]).to.deep.equal(['/path?q=1', 'h']);
        hs.receiveData(Buffer.from('frame'));
        expect(hs.send(new AcceptConnectionEvent()).toString()).to.include(`Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n`);
        expect(opened[0]!.trailing.toString()).to.equal('frame');
      }
    });

    it('an odd rawHeaders list (ERR_INVALID_HEADER) or a bad request leaves only a rejection', () => {
      const odd = server().hs;
      expectLocal(() => odd.initiateUpgradeConnection(['Host'], '/', 'GET', '1.1'), 'ERR_INVALID_HEADER');
      expect(odd.send(new RejectConnectionEvent({ statusCode: 400 })).toString()).to.match(/^HTTP\/1\.1 400 /);

      const bad = server().hs;
      expectRemote(() => bad.initiateUpgradeConnection(raw, '/', 'POST', '1.1'), 'ERR_BAD_HANDSHAKE', 405);
      expectLocal(() => bad.send(new AcceptConnectionEvent()), 'ERR_INVALID_STATE');
    });

    it('only before any request: afterwards it is refused with the state', () => {
      const { hs } = deciding();
      expectLocal(
        () => hs.initiateUpgradeConnection(raw, '/', 'GET', '1.1'),
        'ERR_INVALID_STATE',
        /^cannot initiate an upgrade in state CONNECTING$/,
      );
    });
  });
});
