/**
 * The event classes (lib/events.ts): fields, defaults, the literal `type` each carries,
 * views rather than copies of the bytes given, and the `response()` of Ping and
 * CloseConnection.
 */
import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import {
  AcceptConnectionEvent,
  BytesMessageEvent,
  CloseConnectionEvent,
  PingEvent,
  PongEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  TextMessageEvent,
  type WSEvent,
} from '../lib/events';
import * as api from '../lib/index';
import { PerMessageDeflate } from '../lib/extensions/permessage-deflate';

describe('events', () => {
  describe('Request', () => {
    it('host and target; no extensions, headers or subprotocols by default', () => {
      const e = new RequestEvent({ host: 'example.com', target: '/chat' });
      expect(e.type).to.equal('request');
      expect([e.host, e.target]).to.deep.equal(['example.com', '/chat']);
      expect([e.extensions, e.extraHeaders, e.subprotocols]).to.deep.equal([[], [], []]);
    });

    it('keeps the lists it is given, in order', () => {
      const ext = new PerMessageDeflate();
      const e = new RequestEvent({
        host: 'h',
        target: '/',
        extensions: [ext, 'x-custom; a=1', { name: 'y', params: [['b', null]] }],
        extraHeaders: [['Origin', 'http://h']],
        subprotocols: ['chat', 'superchat'],
      });
      expect(e.extensions[0]).to.equal(ext);
      expect(e.extensions.slice(1)).to.deep.equal(['x-custom; a=1', { name: 'y', params: [['b', null]] }]);
      expect(e.extraHeaders).to.deep.equal([['Origin', 'http://h']]);
      expect(e.subprotocols).to.deep.equal(['chat', 'superchat']);
    });
  });

  describe('AcceptConnection', () => {
    it('no subprotocol (null), no extensions, no headers by default', () => {
      const e = new AcceptConnectionEvent();
      expect(e.type).to.equal('accept');
      expect([e.subprotocol, e.extensions, e.extraHeaders]).to.deep.equal([null, [], []]);
    });

    it('keeps the fields it is given', () => {
      const ext = new PerMessageDeflate();
      const e = new AcceptConnectionEvent({ subprotocol: 'chat', extensions: [ext], extraHeaders: [['X-A', '1']] });
      expect(e.subprotocol).to.equal('chat');
      expect(e.extensions).to.deep.equal([ext]);
      expect(e.extraHeaders).to.deep.equal([['X-A', '1']]);
      expect(new AcceptConnectionEvent({ subprotocol: null }).subprotocol).to.equal(null);
    });
  });

  describe('RejectConnection', () => {
    it('400, no headers, no body by default', () => {
      const e = new RejectConnectionEvent();
      expect(e.type).to.equal('reject');
      expect([e.statusCode, e.headers, e.hasBody]).to.deep.equal([400, [], false]);
    });

    it('keeps the fields it is given', () => {
      const e = new RejectConnectionEvent({ statusCode: 403, headers: [['Content-Length', '2']], hasBody: true });
      expect([e.statusCode, e.headers, e.hasBody]).to.deep.equal([403, [['Content-Length', '2']], true]);
    });
  });

  describe('RejectData', () => {
    it('the body chunk as a Buffer view (no copy); the last chunk by default', () => {
      const bytes = new Uint8Array([0x6e, 0x6f, 0x21, 0x3f]).subarray(1, 3);
      const e = new RejectDataEvent({ data: bytes });
      expect(e.type).to.equal('reject-data');
      expect(Buffer.isBuffer(e.data)).to.equal(true);
      expect(e.data.toString()).to.equal('o!');
      bytes[0] = 0x4f;
      expect(e.data.toString()).to.equal('O!');
      expect(e.bodyFinished).to.equal(true);
      expect(new RejectDataEvent({ data: bytes, bodyFinished: false }).bodyFinished).to.equal(false);
    });

    it('a Buffer is kept as is', () => {
      const data = Buffer.from('body');
      expect(new RejectDataEvent({ data }).data).to.equal(data);
    });
  });

  describe('CloseConnection', () => {
    it('code; empty reason and null errorCode by default', () => {
      const e = new CloseConnectionEvent({ code: 1000 });
      expect(e.type).to.equal('close');
      expect([e.code, e.reason, e.errorCode]).to.deep.equal([1000, '', null]);
    });

    it('keeps an errorCode (set by the core on a failure)', () => {
      const e = new CloseConnectionEvent({ code: 1009, reason: 'big', errorCode: 'ERR_MESSAGE_TOO_BIG' });
      expect([e.code, e.reason, e.errorCode]).to.deep.equal([1009, 'big', 'ERR_MESSAGE_TOO_BIG']);
      expect(new CloseConnectionEvent({ code: 1000, errorCode: null }).errorCode).to.equal(null);
    });

    it('does not check the code when made (only when sent)', () => {
      expect(new CloseConnectionEvent({ code: 1006 }).code).to.equal(1006);
    });

    it('RFC 6455 5.5.1: response() echoes code and reason, as wsproto, and drops the errorCode', () => {
      for (const [code, reason] of [
        [1000, ''],
        [1001, 'going away'],
        [4000, 'ünïcode ✓'],
        [1005, ''],
      ] as const) {
        const e = new CloseConnectionEvent({ code, reason, errorCode: 'ERR_PROTOCOL' });
        const r = e.response();
        expect(r).to.be.instanceOf(CloseConnectionEvent).and.not.equal(e);
        expect([r.type, r.code, r.reason, r.errorCode]).to.deep.equal(['close', code, reason, null]);
      }
    });
  });

  describe('TextMessage', () => {
    it('data; a whole message by default; no compression preference', () => {
      const e = new TextMessageEvent({ data: 'Hello' });
      expect(e.type).to.equal('text');
      expect([e.data, e.frameFinished, e.messageFinished, e.compress]).to.deep.equal(['Hello', true, true, undefined]);
    });

    it('keeps the flags it is given', () => {
      const e = new TextMessageEvent({ data: '', frameFinished: false, messageFinished: false, compress: false });
      expect([e.data, e.frameFinished, e.messageFinished, e.compress]).to.deep.equal(['', false, false, false]);
    });
  });

  describe('BytesMessage', () => {
    it('data as a Buffer view (no copy); a whole message by default; no compression preference', () => {
      const bytes = new Uint8Array([1, 2, 3]);
      const e = new BytesMessageEvent({ data: bytes });
      expect(e.type).to.equal('bytes');
      expect(Buffer.isBuffer(e.data)).to.equal(true);
      expect(e.data.buffer).to.equal(bytes.buffer);
      expect([e.frameFinished, e.messageFinished, e.compress]).to.deep.equal([true, true, undefined]);
    });

    it('keeps the flags it is given', () => {
      const data = Buffer.from('x');
      const e = new BytesMessageEvent({ data, frameFinished: false, messageFinished: false, compress: true });
      expect(e.data).to.equal(data);
      expect([e.frameFinished, e.messageFinished, e.compress]).to.deep.equal([false, false, true]);
    });
  });

  describe('Ping and Pong', () => {
    for (const Cls of [PingEvent, PongEvent]) {
      it(`${Cls === PingEvent ? 'Ping' : 'Pong'}: empty payload by default, a view of the bytes given`, () => {
        const empty = new Cls();
        expect(empty.type).to.equal(Cls === PingEvent ? 'ping' : 'pong');
        expect(Buffer.isBuffer(empty.payload)).to.equal(true);
        expect(empty.payload.length).to.equal(0);
        const bytes = new Uint8Array([9, 8, 7]);
        expect(new Cls({ payload: bytes }).payload.buffer).to.equal(bytes.buffer);
      });
    }

    it('RFC 6455 5.5.3: Ping.response() is a Pong with the same payload', () => {
      const ping = new PingEvent({ payload: Buffer.from('Hello') });
      const pong = ping.response();
      expect(pong).to.be.instanceOf(PongEvent);
      expect(pong.type).to.equal('pong');
      expect(pong.payload.toString()).to.equal('Hello');
      expect(new PingEvent().response().payload.length).to.equal(0);
    });
  });

  it('the package root exports the classes under wsproto names', () => {
    expect([
      api.Request,
      api.AcceptConnection,
      api.RejectConnection,
      api.RejectData,
      api.CloseConnection,
      api.TextMessage,
      api.BytesMessage,
      api.Ping,
      api.Pong,
    ]).to.deep.equal([
      RequestEvent,
      AcceptConnectionEvent,
      RejectConnectionEvent,
      RejectDataEvent,
      CloseConnectionEvent,
      TextMessageEvent,
      BytesMessageEvent,
      PingEvent,
      PongEvent,
    ]);
  });

  it('`switch (event.type)` narrows the WSEvent union, every member has a distinct literal', () => {
    const describeEvent = (event: WSEvent): string => {
      switch (event.type) {
        case 'request':
          return event.target;
        case 'accept':
          return String(event.subprotocol);
        case 'reject':
          return String(event.statusCode);
        case 'reject-data':
          return event.data.toString();
        case 'close':
          return String(event.code);
        case 'text':
          return event.data;
        case 'bytes':
          return event.data.toString('hex');
        case 'ping':
        case 'pong':
          return event.payload.toString('hex');
        default: {
          const never: never = event;
          return never;
        }
      }
    };
    expectTypeOf<WSEvent['type']>().toEqualTypeOf<
      'request' | 'accept' | 'reject' | 'reject-data' | 'close' | 'text' | 'bytes' | 'ping' | 'pong'
    >();
    expect(describeEvent(new CloseConnectionEvent({ code: 1000 }))).to.equal('1000');
    expect(describeEvent(new RequestEvent({ host: 'h', target: '/t' }))).to.equal('/t');
  });
});
