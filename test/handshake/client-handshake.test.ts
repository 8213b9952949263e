/** `ClientHandshake` on its own: the client side of the opening handshake (RFC 6455 4.1). */
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
  type RequestInit,
  type WSEvent,
} from '../../lib/events';
import type { Extension, ExtensionParams } from '../../lib/extensions/extension';
import { ClientHandshake, type ClientHandshakeOptions } from '../../lib/handshake/client-handshake';
import { acceptKey } from '../../lib/handshake/handshake';
import { chunkings } from '../helpers/bytes';
import { HELLO_FRAME, crlf, expectLocal } from '../helpers/http';

interface Opened {
  extensions: readonly Extension[];
  trailing: Buffer;
}

/** A client handshake whose `onOpen` calls are recorded. */
function client(options: ClientHandshakeOptions = {}): { hs: ClientHandshake; opened: Opened[] } {
  const opened: Opened[] = [];
  const hs = new ClientHandshake(options, (extensions, trailing) => void opened.push({ extensions, trailing }));
  return { hs, opened };
}

/** A client that has sent its request; `out` is the request, `key` its nonce. */
function requested(init: Partial<RequestInit> = {}, options: ClientHandshakeOptions = {}) {
  const c = client(options);
  const out = c.hs.send(new RequestEvent({ host: 'server.example.com', target: '/chat', ...init })).toString('latin1');
  const key = /\r\nSec-WebSocket-Key: (\S+)\r\n/.exec(out)![1]!;
  return { ...c, out, key };
}

/** A 101 for `key`, with the header lines `extra`, without the named headers. */
function switching(key: string, extra: string[] = [], omit: string[] = []): Buffer {
  const fields = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKey(key)],
  ].filter(([n]) => !omit.includes(n!));
  return crlf(['HTTP/1.1 101 Switching Protocols', ...fields.map(([n, v]) => `${n}: ${v}`), ...extra, '']);
}

function drain(hs: ClientHandshake): WSEvent[] {
  const out: WSEvent[] = [];
  for (let e = hs.nextEvent(); e !== null; e = hs.nextEvent()) out.push(e);
  return out;
}

function remote(fn: () => unknown, code: string, message?: RegExp): RemoteProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(RemoteProtocolError);
    const e = error as RemoteProtocolError;
    expect(e.code).to.equal(code);
    expect(e.eventHint).to.equal(undefined); // a client has nothing to send back
    if (message) expect(e.message).to.match(message);
    return e;
  }
  throw new Error('expected a RemoteProtocolError');
}

/** A stand-in extension that offers `x-test; mode=fast` and records what it is finalized with. */
function fakeExtension(): Extension & { finalized: ExtensionParams[] } {
  const finalized: ExtensionParams[] = [];
  return {
    name: 'x-test',
    rsvBits: 0x40,
    finalized,
    enabled: () => finalized.length > 0,
    offer: () => 'mode=fast',
    accept: () => null,
    finalize: (response) => void finalized.push(response),
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

describe('handshake/client-handshake', () => {
  describe('the request (RFC 6455 4.1)', () => {
    it('RFC 6455 4.1: the RFC 1.2 request, byte for byte, with a fresh 16-byte key', () => {
      const { out, key } = requested({
        subprotocols: ['chat', 'superchat'],
        extraHeaders: [['Origin', 'http://example.com']],
      });
      expect(Buffer.from(key, 'base64')).to.have.length(16);
      expect(out).to.equal(
        crlf([
          'GET /chat HTTP/1.1',
          'Host: server.example.com',
          'Upgrade: websocket',
          'Connection: Upgrade',
          `Sec-WebSocket-Key: ${key}`,
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Protocol: chat, superchat',
          'Origin: http://example.com',
          '',
        ]).toString('latin1'),
      );
      expect(requested().key).to.not.equal(key);
    });

    it('RFC 6455 4.1, 9.1: extensions are offered from their Extension objects, not as strings', () => {
      const { out } = requested({ extensions: [fakeExtension()] });
      expect(out).to.include('\r\nSec-WebSocket-Extensions: x-test; mode=fast\r\n');
      const { hs } = client();
      expectLocal(
        () => hs.send(new RequestEvent({ host: 'h', target: '/', extensions: ['permessage-deflate'] })),
        'ERR_INVALID_EXTENSION',
      );
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      expect(hs.send(new RequestEvent({ host: 'h', target: '/' }))).to.be.instanceOf(Buffer); // still unsent
    });

    it('a request that cannot be written (CR/LF) leaves the client free to send another', () => {
      const { hs } = client();
      expectLocal(() => hs.send(new RequestEvent({ host: 'h\r\nX: y', target: '/' })), 'ERR_INVALID_HEADER');
      expect(hs.send(new RequestEvent({ host: 'h', target: '/' })).toString()).to.match(/^GET \/ HTTP\/1\.1\r\n/);
    });

    const events: WSEvent[] = [
      new RequestEvent({ host: 'h', target: '/' }),
      new AcceptConnectionEvent(),
      new RejectConnectionEvent({ statusCode: 400 }),
      new RejectDataEvent({ data: Buffer.from('x') }),
      new TextMessageEvent({ data: 'x' }),
      new CloseConnectionEvent({ code: 1000 }),
    ];
    it('send() takes the Request once, first, and nothing else', () => {
      for (const event of events) {
        const { hs } = client();
        if (event.type === 'request') continue;
        expectLocal(
          () => hs.send(event),
          'ERR_INVALID_STATE',
          new RegExp(`^cannot send '${event.type}' in state CONNECTING$`),
        );
      }
      const { hs } = requested();
      for (const event of events) {
        expectLocal(
          () => hs.send(event),
          'ERR_INVALID_STATE',
          new RegExp(`^cannot send '${event.type}' in state CONNECTING$`),
        );
      }
    });

    it('data before the Request is a LocalProtocolError; EOF then is ignored', () => {
      const { hs } = client();
      expectLocal(() => hs.receiveData(Buffer.from('HTTP/1.1')), 'ERR_INVALID_STATE', /send the Request before/);
      hs.receiveData(null);
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
    });
  });

  describe('the 101 (RFC 6455 4.1)', () => {
    it('RFC 6455 4.1: a valid 101 then a frame, at every split point: one AcceptConnection, the frame bytes exactly', () => {
      // The key is random, so the chunkings are computed from a sample of the same length.
      const sample = Buffer.concat([switching('x'.repeat(24), ['Sec-WebSocket-Protocol: chat']), HELLO_FRAME]);
      for (const chunks of chunkings(sample, 5)) {
        const { hs, opened, key } = requested({ subprotocols: ['chat'] });
        const bytes = Buffer.concat([switching(key, ['Sec-WebSocket-Protocol: chat']), HELLO_FRAME]);
        expect(bytes.length).to.equal(sample.length);
        const events: WSEvent[] = [];
        const after: Buffer[] = []; // what the Connection would be fed once open
        let at = 0;
        for (const { length } of chunks) {
          const piece = bytes.subarray(at, at + length);
          at += length;
          if (opened.length > 0) after.push(piece);
          else hs.receiveData(piece);
          events.push(...drain(hs));
        }
        expect(events).to.have.length(1);
        const accept = events[0] as AcceptConnectionEvent;
        expect(accept).to.be.instanceOf(AcceptConnectionEvent);
        expect([accept.subprotocol, accept.extensions]).to.deep.equal(['chat', []]);
        expect(accept.extraHeaders).to.deep.include(['Sec-WebSocket-Protocol', 'chat']);
        expect(opened).to.have.length(1);
        expect(Buffer.concat([opened[0]!.trailing, ...after]).toString('hex')).to.equal(HELLO_FRAME.toString('hex'));
        expect(hs.state).to.equal(ConnectionState.OPEN);
      }
    });

    it('RFC 6455 9.1: an accepted extension is finalized with the response and handed to onOpen', () => {
      const ext = fakeExtension();
      const { hs, opened, key } = requested({ extensions: [ext] });
      hs.receiveData(switching(key, ['Sec-WebSocket-Extensions: x-test; mode=fast']));
      expect(ext.finalized).to.deep.equal([{ name: 'x-test', params: [['mode', 'fast']] }]);
      expect((drain(hs)[0] as AcceptConnectionEvent).extensions).to.deep.equal([ext]);
      expect(opened[0]!.extensions).to.deep.equal([ext]);
    });

    const failures: Array<[string, (key: string) => Buffer, string]> = [
      ['a wrong Sec-WebSocket-Accept', () => switching('dGhlIHNhbXBsZSBub25jZQ=='), 'ERR_BAD_HANDSHAKE'],
      ['no Upgrade: websocket', (k) => switching(k, [], ['Upgrade']), 'ERR_BAD_HANDSHAKE'],
      ['no Connection: Upgrade', (k) => switching(k, [], ['Connection']), 'ERR_BAD_HANDSHAKE'],
      ['no Sec-WebSocket-Accept', (k) => switching(k, [], ['Sec-WebSocket-Accept']), 'ERR_BAD_HANDSHAKE'],
      ['two Sec-WebSocket-Accept', (k) => switching(k, [`Sec-WebSocket-Accept: ${acceptKey(k)}`]), 'ERR_BAD_HANDSHAKE'],
      ['a subprotocol we did not offer', (k) => switching(k, ['Sec-WebSocket-Protocol: mqtt']), 'ERR_BAD_HANDSHAKE'],
      ['an extension we did not offer', (k) => switching(k, ['Sec-WebSocket-Extensions: x-no']), 'ERR_BAD_EXTENSION'],
    ];
    for (const [name, make, code] of failures) {
      it(`RFC 6455 4.1: ${name} fails the handshake (${code}); EOF afterwards is ignored`, () => {
        const { hs, opened, key } = requested({ subprotocols: ['chat'] });
        remote(() => hs.receiveData(make(key)), code);
        expect([hs.state, opened.length, drain(hs).length]).to.deep.equal([ConnectionState.CONNECTING, 0, 0]);
        hs.receiveData(null);
      });
    }

    describe('RFC 9110 15.2: interim 1xx responses are read and skipped', () => {
      const interim = crlf([
        'HTTP/1.1 100 Continue',
        '',
        'HTTP/1.1 103 Early Hints',
        'Link: </style.css>; rel=preload; as=style',
        '',
      ]);

      it("100 and 103 before the 101, in every chunking: one AcceptConnection with the 101's headers", () => {
        const wireFor = (key: string) => Buffer.concat([interim, switching(key, ['X-Final: yes'])]);
        // Every key's accept value has the same length: one chunking fits every request's wire.
        for (const chunks of chunkings(wireFor(requested().key), 10)) {
          const { hs, key, opened } = requested();
          const wire = wireFor(key);
          let at = 0;
          for (const chunk of chunks) {
            hs.receiveData(wire.subarray(at, at + chunk.length));
            at += chunk.length;
          }
          const events = drain(hs);
          expect(events.map((e) => e.type)).to.deep.equal(['accept']);
          expect((events[0] as AcceptConnectionEvent).extraHeaders).to.deep.include(['X-Final', 'yes']);
          expect([opened.length, hs.state]).to.deep.equal([1, ConnectionState.OPEN]);
        }
      });

      it('the bytes after the 101 in the same chunk as the interim responses go to the Connection', () => {
        const { hs, key, opened } = requested();
        hs.receiveData(Buffer.concat([interim, switching(key), HELLO_FRAME]));
        expect(opened.map((o) => o.trailing)).to.deep.equal([HELLO_FRAME]);
      });

      it('a 1xx then a 403: the rejection is the 403, with its body', () => {
        const { hs } = requested();
        hs.receiveData(Buffer.concat([interim, crlf(['HTTP/1.1 403 Forbidden', 'Content-Length: 2', '', 'no'])]));
        const events = drain(hs);
        expect(events.map((e) => e.type)).to.deep.equal(['reject', 'reject-data', 'reject-data']);
        expect((events[0] as RejectConnectionEvent).statusCode).to.equal(403);
        expect(String((events[1] as RejectDataEvent).data)).to.equal('no');
      });

      it('each interim head is held to maxHeadSize on its own (ERR_HEAD_TOO_LARGE)', () => {
        const { hs } = requested({}, { maxHeadSize: 200 });
        hs.receiveData(crlf(['HTTP/1.1 103 Early Hints', `Link: <${'a'.repeat(150)}>`, '']));
        expect(() => hs.receiveData(crlf(['HTTP/1.1 103 Early Hints', `Link: <${'b'.repeat(250)}>`, ''])))
          .to.throw(RemoteProtocolError)
          .with.property('code', 'ERR_HEAD_TOO_LARGE');
      });

      it('EOF after an interim response: the handshake did not complete (1006)', () => {
        const { hs } = requested();
        hs.receiveData(interim);
        expect(remote(() => hs.receiveData(null), 'ERR_BAD_HANDSHAKE', /closed during/).closeCode).to.equal(1006);
      });
    });

    it('EOF inside the response head: a 1006 failure without a hint, then CLOSED', () => {
      const { hs, key } = requested();
      hs.receiveData(switching(key).subarray(0, 30));
      expect(remote(() => hs.receiveData(null), 'ERR_BAD_HANDSHAKE', /closed during/).closeCode).to.equal(1006);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
      hs.receiveData(Buffer.from('late'));
    });

    it('a response head over maxHeadSize fails (ERR_HEAD_TOO_LARGE)', () => {
      const { hs, key } = requested({}, { maxHeadSize: 64 });
      expect(() => hs.receiveData(switching(key)))
        .to.throw(RemoteProtocolError)
        .with.property('code', 'ERR_HEAD_TOO_LARGE');
    });

    it('when onOpen throws, the AcceptConnection stays queued and the client is not OPEN', () => {
      const hs = new ClientHandshake({}, () => {
        throw new LocalProtocolError('no connection today', 'ERR_INVALID_OPTION');
      });
      const key = /Sec-WebSocket-Key: (\S+)\r\n/.exec(
        hs.send(new RequestEvent({ host: 'h', target: '/' })).toString(),
      )![1]!;
      expectLocal(() => hs.receiveData(switching(key)), 'ERR_INVALID_OPTION');
      expect(hs.state).to.equal(ConnectionState.CONNECTING);
      expect(drain(hs).map((e) => e.type)).to.deep.equal(['accept']);
    });

    it('after OPEN the data belongs to the Connection: receiveData is refused', () => {
      const { hs, key } = requested();
      hs.receiveData(switching(key));
      expect(hs.state).to.equal(ConnectionState.OPEN);
      expectLocal(() => hs.receiveData(HELLO_FRAME), 'ERR_INVALID_STATE', /the Connection/);
      expectLocal(() => hs.send(new TextMessageEvent({ data: 'x' })), 'ERR_INVALID_STATE', /in state OPEN/);
    });
  });

  describe('a rejection (RFC 6455 4.1: any status other than 101)', () => {
    it('RFC 6455 4.1: RejectConnection, then the body by Content-Length at every split point, then CLOSED', () => {
      const data = crlf(['HTTP/1.1 403 Forbidden', 'Content-Length: 9', 'Content-Type: text/plain', '', 'forbidden']);
      const response = data.subarray(0, data.length - 2); // the body has no CRLF
      for (const chunks of chunkings(response, 5)) {
        const { hs } = requested();
        const events: WSEvent[] = [];
        for (const chunk of chunks) {
          hs.receiveData(chunk);
          events.push(...drain(hs));
        }
        const reject = events[0] as RejectConnectionEvent;
        expect(reject).to.be.instanceOf(RejectConnectionEvent);
        expect([reject.statusCode, reject.hasBody]).to.deep.equal([403, true]);
        expect(reject.headers).to.deep.equal([
          ['Content-Length', '9'],
          ['Content-Type', 'text/plain'],
        ]);
        const data = events.slice(1) as RejectDataEvent[];
        expect(Buffer.concat(data.map((e) => e.data)).toString()).to.equal('forbidden');
        expect(data.map((e) => e.bodyFinished).filter(Boolean)).to.have.length(1);
        expect([data.at(-1)!.bodyFinished, data.at(-1)!.data.length]).to.deep.equal([true, 0]);
        expect(hs.state).to.equal(ConnectionState.CLOSED);
        hs.receiveData(Buffer.from('ignored'));
      }
    });

    it('RFC 9112 7.1: a chunked body is decoded', () => {
      const { hs } = requested();
      hs.receiveData(
        crlf(['HTTP/1.1 400 Bad Request', 'Transfer-Encoding: chunked', '', '3', 'abc', '2', 'de', '0', '']),
      );
      const events = drain(hs);
      expect(Buffer.concat(events.slice(1).map((e) => (e as RejectDataEvent).data)).toString()).to.equal('abcde');
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('RFC 9112 6.3: a body without a length lasts until EOF; REJECTING until then', () => {
      const { hs } = requested();
      hs.receiveData(crlf(['HTTP/1.1 302 Found', 'Location: /elsewhere', '']));
      expect(hs.state).to.equal(ConnectionState.REJECTING);
      hs.receiveData(Buffer.from('moved'));
      hs.receiveData(null);
      const events = drain(hs);
      expect(events.map((e) => e.type)).to.deep.equal(['reject', 'reject-data', 'reject-data']);
      expect((events[1] as RejectDataEvent).data.toString()).to.equal('moved');
      expect((events[2] as RejectDataEvent).bodyFinished).to.equal(true);
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    it('EOF before a declared length is reached fails (ERR_BAD_HTTP), CLOSED', () => {
      const { hs } = requested();
      hs.receiveData(Buffer.concat([crlf(['HTTP/1.1 500 Oops', 'Content-Length: 10', '']), Buffer.from('short')]));
      remote(() => hs.receiveData(null), 'ERR_BAD_HTTP');
      expect(hs.state).to.equal(ConnectionState.CLOSED);
    });

    for (const head of [
      ['HTTP/1.1 404 Not Found', 'Content-Length: 0'],
      ['HTTP/1.1 204 No Content'],
      ['HTTP/1.1 304 Not Modified'],
    ]) {
      it(`RFC 9112 6.3: "${head[0]}" has no body: one RejectConnection, CLOSED at once`, () => {
        const { hs } = requested();
        hs.receiveData(crlf([...head, '']));
        const events = drain(hs);
        expect(events).to.have.length(1);
        expect((events[0] as RejectConnectionEvent).hasBody).to.equal(false);
        expect(hs.state).to.equal(ConnectionState.CLOSED);
      });
    }

    it('maxRejectBodySize bounds the body: a larger Content-Length fails at the head, a larger chunked body on the way', () => {
      const big = requested({}, { maxRejectBodySize: 4 });
      remote(() => big.hs.receiveData(crlf(['HTTP/1.1 403 Forbidden', 'Content-Length: 5', ''])), 'ERR_BODY_TOO_LARGE');

      const chunked = requested({}, { maxRejectBodySize: 4 });
      chunked.hs.receiveData(crlf(['HTTP/1.1 403 Forbidden', 'Transfer-Encoding: chunked', '', '3', 'abc']));
      expect(chunked.hs.state).to.equal(ConnectionState.REJECTING);
      remote(() => chunked.hs.receiveData(crlf(['3', 'def'])), 'ERR_BODY_TOO_LARGE');
    });
  });
});
