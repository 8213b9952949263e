/**
 * The RFC 8441 opening handshake as pure rules over header lists: the client's extended
 * CONNECT, the server's checks of it (RFC 8441 4 and 5, RFC 9113 8.2, 8.3 and 8.5), the
 * 200 and the refusals, and the client's checks of the response.
 */
import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import { RejectConnectionEvent, type Headers } from '../../lib/events';
import type { Extension, ExtensionParams } from '../../lib/extensions/extension';
import { PerMessageDeflate } from '../../lib/extensions/permessage-deflate';
import {
  connectAcceptHeaders,
  connectRejectHeaders,
  connectRequestHeaders,
  http2Fields,
  responseStatus,
  validateConnect,
  validateConnectResponse,
} from '../../lib/handshake/extended-connect';
import type { HeaderList } from '../../lib/handshake/http/headers';
import { expectLocal, expectRemote } from '../helpers/http';

/** A valid extended CONNECT for a WebSocket: RFC 6455 1.2's request, carried as RFC 8441 4 asks. */
const REQUEST: HeaderList = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat'],
  [':authority', 'server.example.com'],
  ['sec-websocket-version', '13'],
  ['sec-websocket-protocol', 'chat, superchat'],
  ['origin', 'http://example.com'],
];

/** REQUEST with the field `name` removed. */
const without = (name: string, list: HeaderList = REQUEST): HeaderList => list.filter(([n]) => n !== name);
/** REQUEST with the value of `name` replaced. */
const replaced = (name: string, value: string): HeaderList =>
  REQUEST.map(([n, v]): [string, string] => [n, n === name ? value : v]);
/** REQUEST with regular fields appended. */
const plus = (...fields: Array<[string, string]>): HeaderList => [...REQUEST, ...fields];

/** A stand-in extension offering `offer` and recording what it is finalized with. */
function fakeExtension(name: string, offer: string | boolean): Extension & { finalized: ExtensionParams[] } {
  const finalized: ExtensionParams[] = [];
  return {
    name,
    rsvBits: 0x20,
    finalized,
    enabled: () => finalized.length > 0,
    offer: () => offer,
    accept: () => null,
    finalize: (response) => void finalized.push(response),
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

/** The client's request for server.example.com/chat with `extra` fields and the given offer. */
const request = (
  extra: Headers = [],
  subprotocols: string[] = [],
  extensions: Extension[] = [],
  scheme: 'http' | 'https' = 'https',
): HeaderList => connectRequestHeaders(scheme, 'server.example.com', '/chat', subprotocols, extensions, extra);

const PSEUDO: HeaderList = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat'],
  [':authority', 'server.example.com'],
];

/** Asserts the refusal of `headers`: the status, the code, the hint's headers exactly. */
function refused(
  headers: Headers,
  status: number,
  hint: Headers = [],
  code = 'ERR_BAD_HANDSHAKE',
  message?: RegExp,
): RemoteProtocolError {
  const error = expectRemote(() => validateConnect(headers), code, status, message);
  expect(error.eventHint!.headers).to.deep.equal(hint);
  return error;
}

describe('handshake/extended-connect', () => {
  describe("the client's extended CONNECT (connectRequestHeaders)", () => {
    it('RFC 8441 4, 5: the pseudo-fields, then version 13, byte for byte; no key, no Upgrade, no Host', () => {
      expect(request()).to.deep.equal([...PSEUDO, ['sec-websocket-version', '13']]);
    });

    it('RFC 8441 5, RFC 6455 4.1: the subprotocols as one sec-websocket-protocol field, in order', () => {
      expect(request([], ['chat', 'superchat'])).to.deep.equal([
        ...PSEUDO,
        ['sec-websocket-version', '13'],
        ['sec-websocket-protocol', 'chat, superchat'],
      ]);
    });

    it('RFC 8441 4: :scheme is http for a ws: URI', () => {
      expect(request([], [], [], 'http')[2]).to.deep.equal([':scheme', 'http']);
    });

    it('RFC 8441 5, RFC 7692 7.1: permessage-deflate offers with their parameters, in order, after the subprotocols', () => {
      const extensions = [
        new PerMessageDeflate({
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 9,
          clientNoContextTakeover: true,
          serverNoContextTakeover: true,
        }),
        new PerMessageDeflate(),
        fakeExtension('x-silent', false),
        fakeExtension('x-bare', true),
      ];
      expect(request([['Origin', 'http://example.com']], ['chat'], extensions)).to.deep.equal([
        ...PSEUDO,
        ['sec-websocket-version', '13'],
        ['sec-websocket-protocol', 'chat'],
        [
          'sec-websocket-extensions',
          'permessage-deflate; client_max_window_bits=9; server_max_window_bits=10; client_no_context_takeover; ' +
            'server_no_context_takeover, permessage-deflate; client_max_window_bits, x-bare',
        ],
        ['origin', 'http://example.com'],
      ]);
    });

    it('RFC 9113 8.2.1: extra fields come last, names lower-cased, values, order and repeats kept', () => {
      const extra: Headers = [
        ['Origin', 'http://example.com'],
        ['User-Agent', 'wsproto/0.1'],
        ['X-Multi', 'a'],
        ['x-MULTI', 'b'],
        ['Cookie', 'a=1; b="2"'],
      ];
      expect(request(extra).slice(6)).to.deep.equal([
        ['origin', 'http://example.com'],
        ['user-agent', 'wsproto/0.1'],
        ['x-multi', 'a'],
        ['x-multi', 'b'],
        ['cookie', 'a=1; b="2"'],
      ]);
    });

    it('RFC 9113 8.3.1: a Host field in any case is dropped, :authority stands for it', () => {
      const out = request([
        ['Host', 'other.example'],
        ['HOST', 'x'],
        ['host', 'server.example.com'],
        ['x-a', '1'],
      ]);
      expect(out).to.deep.equal([...PSEUDO, ['sec-websocket-version', '13'], ['x-a', '1']]);
    });

    it('RFC 9113 8.2.2: connection-specific fields are dropped; te: trailers is kept, te: gzip dropped', () => {
      const extra: Headers = [
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Connection', 'keep-alive'],
        ['Transfer-Encoding', 'chunked'],
        ['TE', 'trailers'],
        ['te', 'gzip'],
        ['te', 'trailers, deflate'],
        ['x-kept', '1'],
      ];
      expect(request(extra).slice(6)).to.deep.equal([
        ['te', 'trailers'],
        ['x-kept', '1'],
      ]);
    });

    it('RFC 9113 8.2.1: leading and trailing whitespace of extra values is not sent', () => {
      expect(request([['Origin', ' \thttp://example.com\t ']]).slice(6)).to.deep.equal([
        ['origin', 'http://example.com'],
      ]);
    });

    it('RFC 9113 8.2.1: CR, LF or NUL in an extra value is refused with ERR_INVALID_HEADER', () => {
      for (const value of ['a\r\nx-injected: 1', 'a\nb', 'a\rb', 'a\0b']) {
        expectLocal(() => request([['Origin', value]]), 'ERR_INVALID_HEADER', /origin|Origin/);
      }
    });

    it('RFC 9113 8.2.1: an extra name that is not a token, or a pseudo-field, is refused with ERR_INVALID_HEADER', () => {
      for (const name of ['', 'x y', 'x:y', ':status', ':authority', 'caf\u00e9', 'a\r\nb']) {
        expectLocal(() => request([[name, 'v']]), 'ERR_INVALID_HEADER', /not a token/);
      }
    });

    it('RFC 9113 8.3.1: an empty authority or path, or one with CR, LF, NUL or spaces, is refused', () => {
      for (const authority of ['', 'a b', 'a\r\nb', 'a\0', '\thost']) {
        expectLocal(
          () => connectRequestHeaders('https', authority, '/', [], [], []),
          'ERR_INVALID_HEADER',
          /invalid authority/,
        );
      }
      for (const path of ['', 'chat', '*', '/a b', '/a\r\nx: y', '/\0', 'http://h/']) {
        expectLocal(() => connectRequestHeaders('https', 'h', path, [], [], []), 'ERR_INVALID_HEADER', /invalid path/);
      }
    });

    it('RFC 6455 4.1: a subprotocol that is not a token is refused with ERR_INVALID_SUBPROTOCOL', () => {
      for (const name of ['a b', 'a,b', '', 'chat\r\n']) {
        expectLocal(() => request([], ['chat', name]), 'ERR_INVALID_SUBPROTOCOL');
      }
    });

    it('RFC 6455 9.1: an extension offer that does not parse is refused with ERR_INVALID_EXTENSION', () => {
      expectLocal(() => request([], [], [fakeExtension('x-bad', 'a=")')]), 'ERR_INVALID_EXTENSION');
    });
  });

  describe('http2Fields (RFC 9113 8.2)', () => {
    it('RFC 9113 8.2.1: names lower-cased, order and repeats kept, values untouched inside', () => {
      expect(
        http2Fields([
          ['Content-Type', 'text/plain; charset=UTF-8'],
          ['X-A', 'One  Two'],
          ['x-a', 'three'],
        ]),
      ).to.deep.equal([
        ['content-type', 'text/plain; charset=UTF-8'],
        ['x-a', 'One  Two'],
        ['x-a', 'three'],
      ]);
    });

    it('RFC 9113 8.2.2: each connection-specific field is dropped, in any case', () => {
      for (const name of ['Connection', 'KEEP-ALIVE', 'proxy-connection', 'Transfer-Encoding', 'Upgrade']) {
        expect(
          http2Fields([
            [name, 'x'],
            ['a', 'b'],
          ]),
          name,
        ).to.deep.equal([['a', 'b']]);
      }
    });

    it('RFC 9113 8.2.1: a value that is not a string is refused with ERR_INVALID_HEADER', () => {
      expectLocal(() => http2Fields([['a', 1 as unknown as string]]), 'ERR_INVALID_HEADER', /invalid value/);
    });
  });

  describe("the server's 200 (connectAcceptHeaders, RFC 8441 5)", () => {
    it('RFC 8441 5: no choice, no extra: :status 200 alone (no Upgrade, no Sec-WebSocket-Accept)', () => {
      expect(connectAcceptHeaders(null, null, [])).to.deep.equal([[':status', '200']]);
    });

    it('RFC 8441 5, RFC 6455 4.2.2: :status, the subprotocol, the extensions, then the extra fields lower-cased', () => {
      const out = connectAcceptHeaders('chat', 'permessage-deflate; server_max_window_bits=10', [
        ['Server', 'wsproto'],
        ['Set-Cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]);
      expect(out).to.deep.equal([
        [':status', '200'],
        ['sec-websocket-protocol', 'chat'],
        ['sec-websocket-extensions', 'permessage-deflate; server_max_window_bits=10'],
        ['server', 'wsproto'],
        ['set-cookie', 'a=1'],
        ['set-cookie', 'b=2'],
      ]);
    });

    it('RFC 6455 4.2.2: sec-websocket-protocol and -extensions in the extra fields are not repeated', () => {
      const out = connectAcceptHeaders('chat', 'x-bare', [
        ['Sec-WebSocket-Protocol', 'chat'],
        ['SEC-WEBSOCKET-EXTENSIONS', 'x-other'],
        ['sec-websocket-protocol', 'superchat'],
        ['x-after', '1'],
      ]);
      expect(out).to.deep.equal([
        [':status', '200'],
        ['sec-websocket-protocol', 'chat'],
        ['sec-websocket-extensions', 'x-bare'],
        ['x-after', '1'],
      ]);
    });

    it('RFC 9113 8.2.2: connection-specific extra fields are dropped; CR/LF is refused with ERR_INVALID_HEADER', () => {
      expect(
        connectAcceptHeaders(null, null, [
          ['Connection', 'Upgrade'],
          ['Upgrade', 'websocket'],
          ['x', 'y'],
        ]),
      ).to.deep.equal([
        [':status', '200'],
        ['x', 'y'],
      ]);
      expectLocal(() => connectAcceptHeaders(null, null, [['x', 'a\r\nb: c']]), 'ERR_INVALID_HEADER');
      expectLocal(() => connectAcceptHeaders(null, null, [[':status', '101']]), 'ERR_INVALID_HEADER');
    });
  });

  describe('refusals (connectRejectHeaders)', () => {
    it('RFC 9113 8.3.2: :status first, then the fields lower-cased', () => {
      expect(
        connectRejectHeaders(403, [
          ['Content-Type', 'text/plain'],
          ['WWW-Authenticate', 'Basic'],
        ]),
      ).to.deep.equal([
        [':status', '403'],
        ['content-type', 'text/plain'],
        ['www-authenticate', 'Basic'],
      ]);
    });

    it('RFC 8441 5: every hint of validateConnect becomes a header list as it stands (405 + allow, 400 + version)', () => {
      const hint = (headers: Headers): HeaderList => {
        const h = validateConnectError(headers).eventHint as RejectConnectionEvent;
        return connectRejectHeaders(h.statusCode, h.headers);
      };
      expect(hint(replaced(':method', 'GET'))).to.deep.equal([
        [':status', '405'],
        ['allow', 'CONNECT'],
      ]);
      expect(hint(replaced('sec-websocket-version', '8'))).to.deep.equal([
        [':status', '400'],
        ['sec-websocket-version', '13'],
      ]);
      expect(hint(replaced(':protocol', 'connect-udp'))).to.deep.equal([[':status', '501']]);
      expect(hint(without(':path'))).to.deep.equal([[':status', '400']]);
    });

    it('RFC 9113 8.2.2: connection-specific fields of a refusal are dropped, CR/LF refused', () => {
      expect(connectRejectHeaders(404, [['Connection', 'close']])).to.deep.equal([[':status', '404']]);
      expectLocal(() => connectRejectHeaders(404, [['x', '\n']]), 'ERR_INVALID_HEADER');
    });
  });

  describe('validateConnect: a valid request (RFC 8441 4, 5)', () => {
    it('RFC 8441 4: host, scheme, path, the regular fields and the offers come out', () => {
      const valid = validateConnect(plus(['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits']));
      expect(valid).to.deep.equal({
        host: 'server.example.com',
        scheme: 'https',
        path: '/chat',
        fields: [
          ['sec-websocket-version', '13'],
          ['sec-websocket-protocol', 'chat, superchat'],
          ['origin', 'http://example.com'],
          ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
        ],
        subprotocols: ['chat', 'superchat'],
        extensions: [{ name: 'permessage-deflate', params: [['client_max_window_bits', null]] }],
      });
    });

    it('RFC 8441 4: pseudo-fields in any order; scheme http; a path with a query', () => {
      const headers: HeaderList = [
        [':authority', 'h:8080'],
        [':path', '/a/b?c=d&e'],
        [':protocol', 'websocket'],
        [':scheme', 'http'],
        [':method', 'CONNECT'],
        ['sec-websocket-version', '13'],
      ];
      const valid = validateConnect(headers);
      expect([valid.host, valid.scheme, valid.path, valid.subprotocols, valid.extensions]).to.deep.equal([
        'h:8080',
        'http',
        '/a/b?c=d&e',
        [],
        [],
      ]);
    });

    it('RFC 8441 5: a Sec-WebSocket-Key (or -Accept) is not processed: the request is valid without a key', () => {
      const valid = validateConnect(plus(['sec-websocket-key', 'not even base64']));
      expect(valid).to.not.have.property('key');
      expect(valid.fields).to.deep.include(['sec-websocket-key', 'not even base64']);
    });

    it('RFC 9113 8.2.2: te: trailers is allowed (in any case)', () => {
      expect(validateConnect(plus(['te', 'trailers'])).host).to.equal('server.example.com');
      expect(validateConnect(plus(['te', 'Trailers'])).host).to.equal('server.example.com');
    });

    it('RFC 9113 8.3.1: a host field equal to :authority is allowed', () => {
      expect(validateConnect(plus(['host', 'server.example.com'])).host).to.equal('server.example.com');
    });

    it('RFC 6455 4.2.1: repeated sec-websocket-protocol fields make one list', () => {
      const valid = validateConnect([
        ...without('sec-websocket-protocol'),
        ['sec-websocket-protocol', 'a'],
        ['sec-websocket-protocol', 'b, c'],
      ]);
      expect(valid.subprotocols).to.deep.equal(['a', 'b', 'c']);
    });
  });

  describe('validateConnect: each rejection rule, with its status, code and hint', () => {
    const cases: Array<[string, HeaderList, number, Headers, string, RegExp]> = [
      // the method and the protocol
      [
        'RFC 8441 4: GET instead of CONNECT: 405 with allow',
        replaced(':method', 'GET'),
        405,
        [['allow', 'CONNECT']],
        'ERR_BAD_HANDSHAKE',
        /must be CONNECT, not GET/,
      ],
      [
        'RFC 8441 4: connect in lower case: 405 (methods are case-sensitive)',
        replaced(':method', 'connect'),
        405,
        [['allow', 'CONNECT']],
        'ERR_BAD_HANDSHAKE',
        /not connect/,
      ],
      [
        'RFC 9113 8.3.1: no :method: 405',
        without(':method'),
        405,
        [['allow', 'CONNECT']],
        'ERR_BAD_HANDSHAKE',
        /\(none\)/,
      ],
      [
        'RFC 8441 4: a CONNECT without :protocol: 400',
        without(':protocol'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /without :protocol/,
      ],
      [
        'RFC 8441 4: :protocol connect-udp: 501',
        replaced(':protocol', 'connect-udp'),
        501,
        [],
        'ERR_BAD_HANDSHAKE',
        /"connect-udp" is not supported/,
      ],
      ['RFC 8441 4: an empty :protocol: 501', replaced(':protocol', ''), 501, [], 'ERR_BAD_HANDSHAKE', /not supported/],
      // the other pseudo-fields
      ['RFC 8441 4: no :scheme: 400', without(':scheme'), 400, [], 'ERR_BAD_HANDSHAKE', /lacks :scheme$/],
      ['RFC 8441 4: no :path: 400', without(':path'), 400, [], 'ERR_BAD_HANDSHAKE', /lacks :path$/],
      ['RFC 9113 8.5: no :authority: 400', without(':authority'), 400, [], 'ERR_BAD_HANDSHAKE', /lacks :authority$/],
      [
        'RFC 8441 4: none of the three: 400 naming all',
        without(':scheme', without(':path', without(':authority'))),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /lacks :scheme, :path, :authority/,
      ],
      [
        'RFC 9113 8.3.1: :scheme ftp: 400',
        replaced(':scheme', 'ftp'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /scheme must be https or http, not ftp/,
      ],
      ['RFC 9113 8.3.1: :scheme wss: 400', replaced(':scheme', 'wss'), 400, [], 'ERR_BAD_HANDSHAKE', /not wss/],
      ['RFC 9113 8.3.1: an empty :path: 400', replaced(':path', ''), 400, [], 'ERR_BAD_HANDSHAKE', /invalid :path ""/],
      [
        'RFC 9113 8.3.1: a :path without its slash: 400',
        replaced(':path', 'chat'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid :path "chat"/,
      ],
      [
        'RFC 9113 8.3.1: :path * (only for OPTIONS): 400',
        replaced(':path', '*'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid :path "\*"/,
      ],
      [
        'RFC 9113 8.3.1: an absolute URI as :path: 400',
        replaced(':path', 'https://h/chat'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid :path/,
      ],
      [
        'RFC 9113 8.5: an empty :authority: 400',
        replaced(':authority', ''),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /empty :authority/,
      ],
      // pseudo-field placement (RFC 9113 8.3)
      [
        'RFC 9113 8.3: a pseudo-field after a regular field: 400',
        [...without(':authority'), [':authority', 'server.example.com']],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /:authority after a regular field/,
      ],
      [
        'RFC 9113 8.3: an unknown pseudo-field: 400',
        [[':foo', 'x'], ...REQUEST],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /unknown pseudo-header field :foo/,
      ],
      [
        'RFC 9113 8.3: a response pseudo-field in a request: 400',
        [[':status', '200'], ...REQUEST],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /unknown pseudo-header field :status/,
      ],
      [
        'RFC 9113 8.3: a pseudo-field in upper case: 400',
        [[':PATH', '/'], ...REQUEST],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /unknown pseudo-header field :PATH/,
      ],
      [
        'RFC 9113 8.3: a pseudo-field twice: 400',
        [[':path', '/other'], ...REQUEST],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /:path appears twice/,
      ],
      // regular field names (RFC 9113 8.2.1)
      [
        'RFC 9113 8.2.1: an upper-case field name: 400',
        plus(['Origin', 'x']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /"Origin" is not a lower-case token/,
      ],
      [
        'RFC 9113 8.2.1: a version field in mixed case: 400, not a version refusal',
        [...without('sec-websocket-version'), ['Sec-WebSocket-Version', '13']],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /not a lower-case token/,
      ],
      [
        'RFC 9113 8.2.1: an empty field name: 400',
        plus(['', 'x']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /"" is not a lower-case token/,
      ],
      [
        'RFC 9113 8.2.1: a field name with a space: 400',
        plus(['x y', 'x']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /not a lower-case token/,
      ],
      // field values (RFC 9113 8.2.1)
      [
        'RFC 9113 8.2.1: CR LF in a field value: 400',
        plus(['x-a', 'a\r\nx-b: c']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /x-a has an invalid value/,
      ],
      [
        'RFC 9113 8.2.1: NUL in a field value: 400',
        plus(['x-a', 'a\0']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid value/,
      ],
      [
        'RFC 9113 8.2.1: a value with leading whitespace: 400',
        plus(['x-a', ' a']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid value/,
      ],
      [
        'RFC 9113 8.2.1: a value with trailing whitespace: 400',
        plus(['x-a', 'a\t']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid value/,
      ],
      [
        'RFC 9113 8.2.1: LF in :path: 400',
        replaced(':path', '/chat\nx'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /:path has an invalid value/,
      ],
      [
        'RFC 9113 8.2.1: CR LF in :authority: 400',
        replaced(':authority', 'h\r\nx: y'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /:authority has an invalid value/,
      ],
      // connection-specific fields (RFC 9113 8.2.2)
      [
        'RFC 9113 8.2.2: connection: 400',
        plus(['connection', 'Upgrade']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /connection-specific field connection/,
      ],
      [
        'RFC 9113 8.2.2: upgrade: 400',
        plus(['upgrade', 'websocket']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /connection-specific field upgrade/,
      ],
      [
        'RFC 9113 8.2.2: keep-alive: 400',
        plus(['keep-alive', 'timeout=5']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /field keep-alive/,
      ],
      [
        'RFC 9113 8.2.2: proxy-connection: 400',
        plus(['proxy-connection', 'close']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /field proxy-connection/,
      ],
      [
        'RFC 9113 8.2.2: transfer-encoding: 400',
        plus(['transfer-encoding', 'chunked']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /field transfer-encoding/,
      ],
      [
        'RFC 9113 8.2.2: te: gzip: 400',
        plus(['te', 'gzip']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /connection-specific field te/,
      ],
      [
        'RFC 9113 8.2.2: te: trailers, gzip: 400',
        plus(['te', 'trailers, gzip']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /field te/,
      ],
      // Host (RFC 9113 8.3.1)
      [
        'RFC 9113 8.3.1: a host field that differs from :authority: 400',
        plus(['host', 'evil.example']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /host field differs from :authority/,
      ],
      [
        'RFC 9113 8.3.1: a second host field that differs: 400',
        plus(['host', 'server.example.com'], ['host', 'x']),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /differs/,
      ],
      // the version (RFC 8441 5, RFC 6455 4.2.1 item 6 and 4.4)
      [
        'RFC 8441 5: no sec-websocket-version: 400 with version 13',
        without('sec-websocket-version'),
        400,
        [['sec-websocket-version', '13']],
        'ERR_UNSUPPORTED_VERSION',
        /missing/,
      ],
      [
        'RFC 6455 4.4: version 8: 400 with version 13',
        replaced('sec-websocket-version', '8'),
        400,
        [['sec-websocket-version', '13']],
        'ERR_UNSUPPORTED_VERSION',
        /unsupported sec-websocket-version 8; this server speaks 13/,
      ],
      [
        'RFC 6455 4.4: version "13, 8": 400 with version 13',
        replaced('sec-websocket-version', '13, 8'),
        400,
        [['sec-websocket-version', '13']],
        'ERR_UNSUPPORTED_VERSION',
        /13, 8/,
      ],
      [
        'RFC 6455 4.4: version 13 twice: 400 with version 13',
        plus(['sec-websocket-version', '13']),
        400,
        [['sec-websocket-version', '13']],
        'ERR_UNSUPPORTED_VERSION',
        /13, 13/,
      ],
      // the offers (RFC 8441 5 keeps RFC 6455 4.2.1 items 8 and 9)
      [
        'RFC 6455 4.2.1: a subprotocol that is not a token: 400',
        replaced('sec-websocket-protocol', 'chat, a/b'),
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /invalid subprotocol name "a\/b"/,
      ],
      [
        'RFC 6455 9.1: a malformed sec-websocket-extensions: 400',
        plus(['sec-websocket-extensions', 'permessage-deflate;;']),
        400,
        [],
        'ERR_BAD_EXTENSION',
        /malformed Sec-WebSocket-Extensions/,
      ],
    ];
    for (const [name, headers, status, hint, code, message] of cases) {
      it(name, () => void refused(headers, status, hint, code, message));
    }

    it('RFC 8441 4, RFC 9113 8.3: the first broken rule decides (placement, names, method, protocol, the rest, version)', () => {
      // A pseudo-field after a regular one beats a wrong method.
      refused(
        [
          ['x', 'y'],
          [':method', 'GET'],
        ],
        400,
        [],
        'ERR_BAD_HANDSHAKE',
        /after a regular field/,
      );
      // An upper-case name beats a wrong method.
      refused([...replaced(':method', 'GET'), ['X', 'y']], 400, [], 'ERR_BAD_HANDSHAKE', /lower-case token/);
      // The method beats a missing :protocol, which beats missing :path.
      refused(without(':protocol', replaced(':method', 'POST')), 405, [['allow', 'CONNECT']]);
      refused(without(':path', without(':protocol')), 400, [], 'ERR_BAD_HANDSHAKE', /without :protocol/);
      // A wrong protocol beats a missing :path and a wrong version.
      refused(without(':path', replaced(':protocol', 'h2c')), 501);
      // The request shape beats the version.
      refused(without('sec-websocket-version', replaced(':scheme', 'ftp')), 400, [], 'ERR_BAD_HANDSHAKE', /scheme/);
    });

    it('RFC 8441 4: an empty header list is refused with 405', () => {
      refused([], 405, [['allow', 'CONNECT']]);
    });

    it("RFC 8441 5: the refusal is a RemoteProtocolError (the peer's fault), not a LocalProtocolError", () => {
      const error = validateConnectError(replaced(':method', 'GET'));
      expect(error).to.be.instanceOf(RemoteProtocolError);
      expect(error).to.not.be.instanceOf(LocalProtocolError);
    });
  });

  describe('responseStatus (RFC 9113 8.3.2)', () => {
    it('RFC 9113 8.3.2: three digits give the status', () => {
      expect(responseStatus([[':status', '200']])).to.equal(200);
      expect(
        responseStatus([
          ['x', 'y'],
          [':status', '404'],
        ]),
      ).to.equal(404);
      expect(responseStatus([[':status', '100']])).to.equal(100);
      expect(responseStatus([[':status', '999']])).to.equal(999);
    });

    it('RFC 9113 8.3.2: missing, twice, or not three digits gives null', () => {
      for (const headers of [
        [],
        [['status', '200']],
        [
          [':status', '200'],
          [':status', '200'],
        ],
        [[':status', '20']],
        [[':status', '2000']],
        [[':status', '099']],
        [[':status', ' 200']],
        [[':status', '2OO']],
        [[':status', '']],
      ] as Headers[]) {
        expect(responseStatus(headers), JSON.stringify(headers)).to.equal(null);
      }
    });
  });

  describe("validateConnectResponse: the client's checks (RFC 8441 5, RFC 6455 4.1)", () => {
    it('RFC 8441 5: no Sec-WebSocket-Accept is needed; an offered subprotocol and extension are taken', () => {
      const ext = fakeExtension('x-test', 'mode=fast');
      const out = validateConnectResponse(
        [
          [':status', '200'],
          ['sec-websocket-protocol', 'superchat'],
          ['sec-websocket-extensions', 'x-test; mode=fast'],
        ],
        { subprotocols: ['chat', 'superchat'], extensions: [ext] },
      );
      expect(out.subprotocol).to.equal('superchat');
      expect(out.extensions).to.deep.equal([ext]);
      expect(ext.finalized).to.deep.equal([{ name: 'x-test', params: [['mode', 'fast']] }]);
    });

    it('RFC 8441 5: a bare 200 chooses nothing', () => {
      expect(validateConnectResponse([[':status', '200']], { subprotocols: ['chat'], extensions: [] })).to.deep.equal({
        subprotocol: null,
        extensions: [],
      });
    });

    const bad: Array<[string, Headers, string, RegExp]> = [
      [
        'RFC 6455 4.1: a subprotocol not offered',
        [['sec-websocket-protocol', 'mqtt']],
        'ERR_BAD_HANDSHAKE',
        /mqtt, which we did not offer/,
      ],
      [
        'RFC 6455 4.1: two subprotocols',
        [['sec-websocket-protocol', 'chat, superchat']],
        'ERR_BAD_HANDSHAKE',
        /more than one/,
      ],
      [
        'RFC 6455 9.1: an extension not offered',
        [['sec-websocket-extensions', 'x-other']],
        'ERR_BAD_EXTENSION',
        /x-other, which we did not offer/,
      ],
      [
        'RFC 6455 9.1: the same extension twice',
        [['sec-websocket-extensions', 'x-test, x-test']],
        'ERR_BAD_EXTENSION',
        /twice/,
      ],
    ];
    for (const [name, headers, code, message] of bad) {
      it(`${name}: RemoteProtocolError ${code} without a hint`, () => {
        const offer = { subprotocols: ['chat', 'superchat'], extensions: [fakeExtension('x-test', true)] };
        let caught: unknown;
        try {
          validateConnectResponse([[':status', '200'], ...headers], offer);
        } catch (error) {
          caught = error;
        }
        expect(caught).to.be.instanceOf(RemoteProtocolError);
        const error = caught as RemoteProtocolError;
        expect([error.code, error.eventHint]).to.deep.equal([code, undefined]);
        expect(error.message).to.match(message);
      });
    }
  });
});

/** The error validateConnect throws for `headers`. */
function validateConnectError(headers: Headers): RemoteProtocolError {
  try {
    validateConnect(headers);
  } catch (error) {
    if (error instanceof RemoteProtocolError) return error;
    throw error;
  }
  throw new Error('expected validateConnect to throw');
}
