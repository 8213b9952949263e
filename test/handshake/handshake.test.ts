import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import { RejectConnectionEvent } from '../../lib/events';
import type { Extension, ExtensionParams } from '../../lib/extensions/extension';
import {
  acceptHeaders,
  acceptKey,
  generateKey,
  isValidKey,
  negotiateExtensions,
  requestHeaders,
  validateRequest,
  validateResponse,
  type ClientOffer,
} from '../../lib/handshake/handshake';
import { HeadParser, type RequestHead, type ResponseHead } from '../../lib/handshake/http/head-parser';
import type { HeaderList } from '../../lib/handshake/http/headers';
import { reasonPhrase, serializeRequest, serializeResponse } from '../../lib/handshake/http/serialize';
import {
  RFC_REQUEST,
  RFC_REQUEST_HEADERS,
  RFC_RESPONSE,
  RFC_RESPONSE_HEADERS,
  crlf,
  expectLocal,
  expectRemote,
} from '../helpers/http';

// RFC 6455 1.3: "the client would send a |Sec-WebSocket-Key| header field with the value
// dGhlIHNhbXBsZSBub25jZQ== ... the server would ... return the value
// s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

const parseRequest = (bytes: Buffer): RequestHead => new HeadParser('request').push(bytes)!;
const parseResponse = (bytes: Buffer): ResponseHead => new HeadParser('response').push(bytes)!;

/** The RFC 6455 1.2 request with `drop` removed and `add` appended. */
function request(drop: string[] = [], add: HeaderList = [], method = 'GET', version = '1.1'): RequestHead {
  const lower = drop.map((n) => n.toLowerCase());
  const headers = RFC_REQUEST_HEADERS.filter(([n]) => !lower.includes(n.toLowerCase()));
  return { method, target: '/chat', version, headers: [...headers, ...add] };
}

/** A stand-in extension: accepts offers named `name`, answering with `answer`. */
function fakeExtension(
  name: string,
  answer: string | true | null = true,
): Extension & { finalized: ExtensionParams[] } {
  const finalized: ExtensionParams[] = [];
  return {
    name,
    rsvBits: 0,
    finalized,
    enabled: () => finalized.length > 0,
    offer: () => true,
    accept: () => answer,
    finalize: (response) => void finalized.push(response),
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

describe('handshake/handshake', () => {
  describe('keys (RFC 6455 1.3, 4.1, 4.2.2)', () => {
    it('RFC 6455 1.3: acceptKey of dGhlIHNhbXBsZSBub25jZQ== is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', () => {
      expect(acceptKey(RFC_KEY)).to.equal(RFC_ACCEPT);
    });

    it('RFC 6455 4.1: generateKey gives base64 of 16 fresh random bytes', () => {
      const keys = new Set<string>();
      for (let i = 0; i < 100; i++) {
        const key = generateKey();
        expect(isValidKey(key)).to.equal(true);
        expect(Buffer.from(key, 'base64').length).to.equal(16);
        keys.add(key);
      }
      expect(keys.size).to.equal(100);
    });

    it('RFC 6455 4.2.1 item 5: isValidKey wants base64 that decodes to exactly 16 bytes', () => {
      expect(isValidKey(RFC_KEY)).to.equal(true);
      expect(isValidKey('AAAAAAAAAAAAAAAAAAAAAA==')).to.equal(true);
      for (const bad of [
        '',
        'dGhlIHNhbXBsZSBub25jZQ', // padding missing
        'dGhlIHNhbXBsZSBub25jZQ=', // padding short
        'dGhlIHNhbXBsZSBub25jZQ== ', // trailing space
        'dGhlIHNhbXBsZSBub25jZSE=', // 17 bytes
        'dGhlIHNhbXBsZSBub25j', // 15 bytes
        'dGhlIHNhbXBsZSBub25jZQ-_', // base64url
        'dGhlIHNhbXBsZSBub25j!Q==',
      ]) {
        expect(isValidKey(bad), JSON.stringify(bad)).to.equal(false);
      }
    });
  });

  describe('server: validateRequest (RFC 6455 4.2.1)', () => {
    it('RFC 6455 1.2: the example request is valid; host, key and subprotocols come out', () => {
      expect(validateRequest(parseRequest(RFC_REQUEST))).to.deep.equal({
        host: 'server.example.com',
        key: RFC_KEY,
        subprotocols: ['chat', 'superchat'],
        extensions: [],
      });
    });

    it('RFC 6455 4.2.1 items 3-4: Upgrade and Connection tokens compare case-insensitively, in lists', () => {
      const head = request(
        ['Upgrade', 'Connection'],
        [
          ['Upgrade', 'WebSocket'],
          ['Connection', 'keep-alive, UPGRADE'],
        ],
      );
      expect(validateRequest(head).key).to.equal(RFC_KEY);
    });

    it('RFC 6455 9.1: offered extensions are parsed, in order', () => {
      const head = request([], [['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits, x-foo']]);
      expect(validateRequest(head).extensions).to.deep.equal([
        { name: 'permessage-deflate', params: [['client_max_window_bits', null]] },
        { name: 'x-foo', params: [] },
      ]);
    });

    // [title, head, status, code, message, headers of the rejection]
    const rejections: Array<[string, RequestHead, number, string, RegExp, HeaderList]> = [
      [
        'RFC 6455 4.1: a method other than GET',
        request([], [], 'POST'),
        405,
        'ERR_BAD_HANDSHAKE',
        /GET/,
        [['Allow', 'GET']],
      ],
      ['RFC 6455 4.1: HTTP/1.0', request([], [], 'GET', '1.0'), 505, 'ERR_BAD_HANDSHAKE', /1\.1 is needed/, []],
      ['RFC 6455 4.1: no Host', request(['Host']), 400, 'ERR_BAD_HANDSHAKE', /Host header is missing/, []],
      ['RFC 6455 4.1: two Hosts', request([], [['Host', 'b']]), 400, 'ERR_BAD_HANDSHAKE', /more than one Host/, []],
      [
        'RFC 6455 4.2.1 item 3: no Upgrade: websocket',
        request(['Upgrade']),
        426,
        'ERR_BAD_HANDSHAKE',
        /Upgrade header/,
        [
          ['Connection', 'Upgrade'],
          ['Upgrade', 'websocket'],
        ],
      ],
      [
        'RFC 6455 4.2.1 item 4: Connection without Upgrade',
        request(['Connection'], [['Connection', 'keep-alive']]),
        400,
        'ERR_BAD_HANDSHAKE',
        /Connection header/,
        [],
      ],
      [
        'RFC 6455 4.2.1 item 6: no Sec-WebSocket-Version',
        request(['Sec-WebSocket-Version']),
        426,
        'ERR_UNSUPPORTED_VERSION',
        /missing/,
        [['Sec-WebSocket-Version', '13']],
      ],
      [
        'RFC 6455 4.4: Sec-WebSocket-Version 8',
        request(['Sec-WebSocket-Version'], [['Sec-WebSocket-Version', '8']]),
        426,
        'ERR_UNSUPPORTED_VERSION',
        /unsupported Sec-WebSocket-Version 8; this server speaks 13/,
        [['Sec-WebSocket-Version', '13']],
      ],
      [
        'RFC 6455 4.2.1 item 5: no Sec-WebSocket-Key',
        request(['Sec-WebSocket-Key']),
        400,
        'ERR_BAD_HANDSHAKE',
        /Key header is missing/,
        [],
      ],
      [
        'RFC 6455 4.2.1 item 5: two Sec-WebSocket-Keys',
        request([], [['Sec-WebSocket-Key', RFC_KEY]]),
        400,
        'ERR_BAD_HANDSHAKE',
        /more than one Sec-WebSocket-Key/,
        [],
      ],
      [
        'RFC 6455 4.2.1 item 5: a key of 15 bytes',
        request(['Sec-WebSocket-Key'], [['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25j']]),
        400,
        'ERR_BAD_HANDSHAKE',
        /exactly 16 bytes/,
        [],
      ],
      [
        'RFC 6455 4.1: a subprotocol that is not a token',
        request(['Sec-WebSocket-Protocol'], [['Sec-WebSocket-Protocol', 'chat, "super chat"']]),
        400,
        'ERR_BAD_HANDSHAKE',
        /invalid subprotocol name/,
        [],
      ],
      [
        'RFC 6455 9.1: a malformed Sec-WebSocket-Extensions',
        request([], [['Sec-WebSocket-Extensions', 'permessage-deflate; =1']]),
        400,
        'ERR_BAD_EXTENSION',
        /malformed Sec-WebSocket-Extensions/,
        [],
      ],
    ];
    for (const [title, head, status, code, message, headers] of rejections) {
      it(`${title} -> ${status} ${code}`, () => {
        const err = expectRemote(() => validateRequest(head), code, status, message);
        expect((err.eventHint as RejectConnectionEvent).headers).to.deep.equal(headers);
      });
    }
  });

  describe('server: negotiateExtensions and acceptHeaders (RFC 6455 4.2.2, 9.1)', () => {
    it('RFC 6455 1.2: acceptHeaders for the example key and subprotocol serialize to the example 101 byte for byte', () => {
      const headers = acceptHeaders(RFC_KEY, 'chat', null, []);
      expect(headers).to.deep.equal(RFC_RESPONSE_HEADERS);
      expect(serializeResponse(101, reasonPhrase(101), headers).equals(RFC_RESPONSE)).to.equal(true);
    });

    it('RFC 6455 4.2.2: acceptHeaders adds the extensions header and extra headers, in that order', () => {
      expect(acceptHeaders(RFC_KEY, null, 'x-foo', [['X-Extra', '1']])).to.deep.equal([
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', RFC_ACCEPT],
        ['Sec-WebSocket-Extensions', 'x-foo'],
        ['X-Extra', '1'],
      ]);
    });

    it('RFC 6455 9.1: each supported extension accepts the first offer it can, names compared case-insensitively', () => {
      const foo = fakeExtension('x-foo', 'a=1');
      const bar = fakeExtension('x-bar');
      const declines = fakeExtension('x-no', null);
      const offers: ExtensionParams[] = [
        { name: 'X-BAR', params: [] },
        { name: 'x-no', params: [] },
        { name: 'x-foo', params: [['a', '1']] },
        { name: 'x-foo', params: [] },
      ];
      const { enabled, header } = negotiateExtensions([foo, declines, bar], offers);
      expect(enabled).to.deep.equal([foo, bar]);
      expect(header).to.equal('x-foo; a=1, x-bar');
    });

    it('RFC 6455 9.1: nothing offered or nothing accepted gives no header', () => {
      expect(negotiateExtensions([fakeExtension('x-foo')], [])).to.deep.equal({ enabled: [], header: null });
      expect(negotiateExtensions([], [{ name: 'x-foo', params: [] }])).to.deep.equal({ enabled: [], header: null });
    });
  });

  describe('client: requestHeaders (RFC 6455 4.1)', () => {
    it('RFC 6455 1.2: the request headers serialize to the example request (minus Origin) byte for byte', () => {
      const headers = requestHeaders(
        'server.example.com',
        RFC_KEY,
        ['chat', 'superchat'],
        [],
        [['Origin', 'http://example.com']],
      );
      const expected = crlf([
        'GET /chat HTTP/1.1',
        'Host: server.example.com',
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Protocol: chat, superchat',
        'Origin: http://example.com',
        '',
      ]);
      expect(serializeRequest('GET', '/chat', headers).toString('latin1')).to.equal(expected.toString('latin1'));
      expect(validateRequest(parseRequest(expected)).subprotocols).to.deep.equal(['chat', 'superchat']);
    });

    it('RFC 6455 9.1: extension offers are listed in order; an extension offering false is left out', () => {
      const withParams = { ...fakeExtension('x-foo'), offer: () => 'a; b="1"' };
      const silent = { ...fakeExtension('x-off'), offer: () => false };
      const headers = requestHeaders('h', RFC_KEY, [], [withParams, silent, fakeExtension('x-bar')], []);
      expect(headers.at(-1)).to.deep.equal(['Sec-WebSocket-Extensions', 'x-foo; a; b=1, x-bar']);
    });

    it('RFC 6455 4.1: a subprotocol that is not a token is refused before anything is sent', () => {
      expectLocal(() => requestHeaders('h', RFC_KEY, ['a b'], [], []), 'ERR_INVALID_SUBPROTOCOL', /"a b"/);
    });

    it('RFC 6455 9.1: an extension offer that is not extension-param syntax is refused', () => {
      const bad = { ...fakeExtension('x-foo'), offer: () => 'a=b c' };
      expectLocal(() => requestHeaders('h', RFC_KEY, [], [bad], []), 'ERR_INVALID_EXTENSION', /a=b c/);
    });
  });

  describe('client: validateResponse (RFC 6455 4.1)', () => {
    const offer = (extensions: Extension[] = []): ClientOffer => ({
      key: RFC_KEY,
      subprotocols: ['chat', 'superchat'],
      extensions,
    });

    /** The RFC 6455 1.2 101 with `drop` removed and `add` appended. */
    function response(drop: string[] = [], add: HeaderList = []): ResponseHead {
      const lower = drop.map((n) => n.toLowerCase());
      const headers = RFC_RESPONSE_HEADERS.filter(([n]) => !lower.includes(n.toLowerCase()));
      return { version: '1.1', statusCode: 101, reason: 'Switching Protocols', headers: [...headers, ...add] };
    }

    it('RFC 6455 1.2/1.3: the example 101 answers the example key; the subprotocol is chat', () => {
      expect(validateResponse(parseResponse(RFC_RESPONSE), offer())).to.deep.equal({
        subprotocol: 'chat',
        extensions: [],
      });
    });

    it('RFC 6455 4.1: no Sec-WebSocket-Protocol means no subprotocol', () => {
      expect(validateResponse(response(['Sec-WebSocket-Protocol']), offer()).subprotocol).to.equal(null);
    });

    it('RFC 6455 9.1: an accepted extension is finalized with the server parameters', () => {
      const foo = fakeExtension('x-foo');
      const got = validateResponse(response([], [['Sec-WebSocket-Extensions', 'X-Foo; a=1']]), offer([foo]));
      expect(got.extensions).to.deep.equal([foo]);
      expect(foo.finalized).to.deep.equal([{ name: 'X-Foo', params: [['a', '1']] }]);
    });

    const failures: Array<[string, ResponseHead, Extension[], string, RegExp]> = [
      ['RFC 6455 4.1 item 2: no Upgrade: websocket', response(['Upgrade']), [], 'ERR_BAD_HANDSHAKE', /Upgrade/],
      [
        'RFC 6455 4.1 item 3: no Connection: Upgrade',
        response(['Connection'], [['Connection', 'close']]),
        [],
        'ERR_BAD_HANDSHAKE',
        /Connection/,
      ],
      [
        'RFC 6455 4.1 item 4: a Sec-WebSocket-Accept for another key',
        response(['Sec-WebSocket-Accept'], [['Sec-WebSocket-Accept', acceptKey('AAAAAAAAAAAAAAAAAAAAAA==')]]),
        [],
        'ERR_BAD_HANDSHAKE',
        /does not match/,
      ],
      [
        'RFC 6455 4.1 item 4: no Sec-WebSocket-Accept',
        response(['Sec-WebSocket-Accept']),
        [],
        'ERR_BAD_HANDSHAKE',
        /does not match/,
      ],
      [
        'RFC 6455 4.1 item 6: a subprotocol we did not offer',
        response(['Sec-WebSocket-Protocol'], [['Sec-WebSocket-Protocol', 'mqtt']]),
        [],
        'ERR_BAD_HANDSHAKE',
        /did not offer/,
      ],
      [
        'RFC 6455 4.1 item 6: two subprotocols',
        response([], [['Sec-WebSocket-Protocol', 'superchat']]),
        [],
        'ERR_BAD_HANDSHAKE',
        /more than one subprotocol/,
      ],
      [
        'RFC 6455 4.1 item 5: an extension we did not offer',
        response([], [['Sec-WebSocket-Extensions', 'x-bar']]),
        [fakeExtension('x-foo')],
        'ERR_BAD_EXTENSION',
        /did not offer/,
      ],
      [
        'RFC 6455 9.1: the same extension accepted twice',
        response([], [['Sec-WebSocket-Extensions', 'x-foo, x-foo']]),
        [fakeExtension('x-foo')],
        'ERR_BAD_EXTENSION',
        /twice/,
      ],
    ];
    for (const [title, head, extensions, code, message] of failures) {
      it(`${title} fails the connection with ${code}`, () => {
        let caught: unknown;
        try {
          validateResponse(head, offer(extensions));
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(RemoteProtocolError);
        expect((caught as RemoteProtocolError).code).to.equal(code);
        expect((caught as RemoteProtocolError).message).to.match(message);
        // A client has nobody to send a rejection to.
        expect((caught as RemoteProtocolError).eventHint).to.equal(undefined);
        expect(caught).to.not.be.instanceOf(LocalProtocolError);
      });
    }
  });
});
