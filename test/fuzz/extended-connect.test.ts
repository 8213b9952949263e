/**
 * Fuzz: the RFC 8441 opening handshake through `WSConnection` with `http2: true`.
 *
 * 1. A server given any header list (names in any case, pseudo-fields in any order, any
 *    values) either queues one `Request` or throws `RemoteProtocolError` whose `eventHint`
 *    refuses with 400, 405 or 501, never anything else; the hint can be sent back.
 * 2. Any request our client can write is accepted by our server with the same host,
 *    target, subprotocols and extension offers, and the pair then opens and talks.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  AcceptConnection,
  PerMessageDeflate,
  RejectConnection,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type Extension,
  type WSEvent,
} from '../../lib/index';
import { fuzzParams } from './config';

type Header = [string, string];

const tokenChars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const lowerTokenChars = tokenChars.replace(/[A-Z]/g, '');
const token = fc.string({ unit: fc.constantFrom(...tokenChars), minLength: 1, maxLength: 10 });
const lowerToken = fc.string({ unit: fc.constantFrom(...lowerTokenChars), minLength: 1, maxLength: 10 });

const PSEUDO = [':method', ':protocol', ':scheme', ':path', ':authority'];

/** Names: the pseudo-fields, the WebSocket and forbidden fields, tokens in any case, rarely anything. */
const anyName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PSEUDO, ':status', ':METHOD', ':') },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'sec-websocket-version',
      'sec-websocket-protocol',
      'sec-websocket-extensions',
      'sec-websocket-key',
      'Sec-WebSocket-Version',
      'host',
      'te',
      'connection',
      'upgrade',
      'keep-alive',
      'transfer-encoding',
      'origin',
    ),
  },
  { weight: 4, arbitrary: token },
  { weight: 1, arbitrary: token.map((t) => `:${t}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** Values: the meaningful ones, printable text, rarely CR, LF, NUL or edge whitespace. */
const anyValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'CONNECT',
      'GET',
      'websocket',
      'WebSocket',
      'https',
      'http',
      '/chat',
      '*',
      '',
      '13',
      '8',
      '13, 8',
      'trailers',
      'gzip',
      'chat, superchat',
      'a/b',
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate;;',
      'server.example.com',
    ),
  },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(token, fc.constantFrom('\r', '\n', '\0', ' ', '\t', '\u00e9', '\u010a')), { maxLength: 5 })
      .map((parts) => parts.join('')),
  },
);

/** Mostly `usual`, sometimes `other`. */
const mostly = <T>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>, odds = 4): fc.Arbitrary<T> =>
  fc.oneof({ weight: odds, arbitrary: usual }, { weight: 1, arbitrary: other });

const VALID_PSEUDO: Header[] = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat'],
  [':authority', 'server.example.com'],
];

/**
 * A valid request's fields, pseudo-fields in any order, sometimes with fields dropped,
 * values changed, or extra fields (mostly lower-case tokens) anywhere.
 */
const nearlyValid: fc.Arbitrary<Header[]> = fc
  .record({
    pseudo: mostly(
      fc.shuffledSubarray(VALID_PSEUDO, { minLength: 5 }),
      fc.shuffledSubarray(VALID_PSEUDO, { minLength: 3 }),
    ),
    version: mostly(fc.constant<Header[]>([['sec-websocket-version', '13']]), fc.constant<Header[]>([]), 8),
    offers: fc.subarray([
      ['sec-websocket-protocol', 'chat, superchat'],
      ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
    ] as Header[]),
    changes: mostly(
      fc.constant<Array<[number, string]>>([]),
      fc.array(fc.tuple(fc.nat(), anyValue), { minLength: 1, maxLength: 2 }),
      2,
    ),
    extra: mostly(
      fc.constant<Array<[number, Header]>>([]),
      fc.array(fc.tuple(fc.nat(), fc.tuple(mostly(lowerToken, anyName, 2), anyValue)), { minLength: 1, maxLength: 3 }),
      1,
    ),
  })
  .map(({ pseudo, version, offers, changes, extra }) => {
    const headers: Header[] = [...pseudo, ...version, ...offers].map(([n, v]) => [n, v]);
    for (const [at, value] of changes) headers[at % headers.length]![1] = value;
    for (const [at, field] of extra) headers.splice(at % (headers.length + 1), 0, field);
    return headers;
  });

const anyHeaders = fc.oneof(
  { weight: 3, arbitrary: nearlyValid },
  { weight: 1, arbitrary: fc.array(fc.tuple(anyName, anyValue), { maxLength: 10 }) },
);

// ---- valid requests ----

const authority = fc
  .tuple(
    fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((a) => `[${a}]`),
    ),
    fc.option(fc.integer({ min: 1, max: 65535 })),
  )
  .map(([host, port]) => (port === null ? host : `${host}:${port}`));

const path = fc
  .tuple(fc.webPath(), fc.option(fc.webQueryParameters()))
  .map(([p, q]) => (p.startsWith('/') ? p : `/${p}`) + (q === null ? '' : `?${q}`));

const deflateOptions = fc.record(
  {
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 9, max: 15 }),
    clientMaxWindowBits: fc.oneof(fc.boolean(), fc.integer({ min: 9, max: 15 })),
  },
  { requiredKeys: [] },
);

/** A stand-in extension offering `params` (or nothing, `true`). */
function fakeExtension(name: string, params: string | true): Extension {
  return {
    name,
    rsvBits: 0x20,
    enabled: () => false,
    offer: () => params,
    accept: () => null,
    finalize: () => undefined,
    inboundHeader: () => 0,
    inboundPayload: (data) => data,
    inboundComplete: () => null,
    outbound: (_opcode, rsv, data) => ({ rsv, data }),
  };
}

const fakeOffer = fc
  .tuple(
    lowerToken.filter((n) => n !== 'permessage-deflate'),
    fc.array(fc.tuple(lowerToken, fc.option(token)), { maxLength: 3 }),
  )
  .map(([name, params]) => ({
    name,
    params: params.map(([n, v]): [string, string | null] => [n, v]),
  }));

/** Extra request fields: any token name (upper case too, Host, connection-specific ones), printable values. */
const extraHeader: fc.Arbitrary<Header> = fc.tuple(
  fc.oneof(
    token.filter((n) => !n.toLowerCase().startsWith('sec-websocket-')),
    fc.constantFrom('Host', 'Connection', 'Upgrade', 'Keep-Alive', 'TE', 'Transfer-Encoding', 'Origin'),
  ),
  fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 20 }), fc.constantFrom('trailers', ' trailers ', '  ')),
);

const validRequest = fc.record({
  scheme: fc.constantFrom('http' as const, 'https' as const),
  host: authority,
  target: path,
  subprotocols: fc.array(token, { maxLength: 4 }),
  deflate: fc.array(deflateOptions, { maxLength: 2 }),
  fakes: fc.array(fakeOffer, { maxLength: 2 }),
  extraHeaders: fc.array(extraHeader, { maxLength: 5 }),
  choice: fc.nat(),
});

function label(e: WSEvent): string {
  return e.type;
}

describe('fuzz: the RFC 8441 handshake (extended CONNECT)', () => {
  it('RFC 8441 4, RFC 9113 8.2, 8.3: any header list gives a Request or a RemoteProtocolError refusing with 400, 405 or 501', () => {
    fc.assert(
      fc.property(anyHeaders, fc.boolean(), (headers, endStream) => {
        const ws = new WSConnection('server', { http2: true });
        try {
          ws.receiveHeaders(headers, endStream);
        } catch (error) {
          if (!(error instanceof RemoteProtocolError)) throw error;
          expect(error.eventHint, error.message).to.be.instanceOf(RejectConnection);
          const hint = error.eventHint as RejectConnection;
          expect(hint.statusCode, error.message).to.be.oneOf([400, 405, 501]);
          expect(error.code).to.be.oneOf(['ERR_BAD_HANDSHAKE', 'ERR_UNSUPPORTED_VERSION', 'ERR_BAD_EXTENSION']);
          expect([...ws.events()]).to.deep.equal([]);
          // The hint is the answer to send: it always goes out, and closes the handshake.
          const out = ws.sendHeaders(hint);
          expect(out[0]).to.deep.equal([':status', String(hint.statusCode)]);
          expect(ws.state).to.equal('CLOSED');
          return;
        }
        expect(endStream, 'END_STREAM on the request is refused').to.equal(false);
        const events = [...ws.events()];
        expect(events.map(label)).to.deep.equal(['request']);
        const req = events[0] as Request;
        // What was accepted really is an extended CONNECT for a WebSocket.
        expect(headers).to.deep.include([':method', 'CONNECT']);
        expect(headers).to.deep.include([':protocol', 'websocket']);
        expect(headers).to.deep.include([':authority', req.host]);
        expect(headers).to.deep.include([':path', req.target]);
        expect(req.target.startsWith('/')).to.equal(true);
        expect(headers.filter(([n]) => n === 'sec-websocket-version')).to.deep.equal([['sec-websocket-version', '13']]);
        for (const [name, value] of headers) {
          expect(name, 'a lower-case name').to.equal(name.toLowerCase());
          expect(/[\0\r\n]|^[ \t]|[ \t]$/.test(value), `the value of ${name}`).to.equal(false);
        }
      }),
      fuzzParams('extended-connect: any header list', 400),
    );
  });

  it('RFC 8441 4, 5: any request our client writes is accepted by our server with the same host, target and offers', () => {
    fc.assert(
      fc.property(validRequest, (r) => {
        const extensions: Extension[] = [
          ...r.deflate.map((o) => new PerMessageDeflate(o)),
          ...r.fakes.map((f) =>
            fakeExtension(
              f.name,
              f.params.length === 0 ? true : f.params.map(([n, v]) => (v === null ? n : `${n}=${v}`)).join('; '),
            ),
          ),
        ];
        const client = new WSConnection('client', { http2: true, scheme: r.scheme });
        const server = new WSConnection('server', { http2: true });
        const request = client.sendHeaders(
          new Request({
            host: r.host,
            target: r.target,
            subprotocols: r.subprotocols,
            extensions,
            extraHeaders: r.extraHeaders,
          }),
        );
        server.receiveHeaders(request, false);
        const events = [...server.events()];
        expect(events.map(label)).to.deep.equal(['request']);
        const req = events[0] as Request;
        expect([req.host, req.target, req.subprotocols]).to.deep.equal([r.host, r.target, r.subprotocols]);
        expect(req.extraHeaders).to.deep.include([':scheme', r.scheme]);
        expect(req.extensions.map((e) => (typeof e === 'string' ? e : e.name))).to.deep.equal([
          ...r.deflate.map(() => 'permessage-deflate'),
          ...r.fakes.map((f) => f.name),
        ]);
        // The extras that may travel (RFC 9113 8.2.2, 8.3.1) arrive lower-cased and trimmed, in order.
        const dropped = ['host', 'connection', 'upgrade', 'keep-alive', 'transfer-encoding'];
        const sent = r.extraHeaders
          .map(([n, v]): Header => [n.toLowerCase(), v.trim()])
          .filter(([n, v]) => !dropped.includes(n) && (n !== 'te' || v.toLowerCase() === 'trailers'));
        const regular = req.extraHeaders.filter(([n]) => !n.startsWith(':') && !n.startsWith('sec-websocket-'));
        expect(regular).to.deep.equal(sent);
        // The pair opens and a message goes each way.
        const subprotocol = r.subprotocols.length === 0 ? null : r.subprotocols[r.choice % r.subprotocols.length]!;
        const response = server.sendHeaders(
          new AcceptConnection({ subprotocol, extensions: [new PerMessageDeflate()] }),
        );
        client.receiveHeaders(response, false);
        const accept = [...client.events()] as AcceptConnection[];
        expect(accept.map(label)).to.deep.equal(['accept']);
        expect(accept[0]!.subprotocol).to.equal(subprotocol);
        expect(accept[0]!.extensions.map((e) => e.name)).to.deep.equal(
          r.deflate.length > 0 ? ['permessage-deflate'] : [],
        );
        server.receiveData(client.send(new TextMessage({ data: r.target, compress: true })));
        client.receiveData(server.send(new TextMessage({ data: r.host, compress: true })));
        expect([...server.events()].map((e) => (e as TextMessage).data)).to.deep.equal([r.target]);
        expect([...client.events()].map((e) => (e as TextMessage).data)).to.deep.equal([r.host]);
      }),
      fuzzParams('extended-connect: valid requests', 200),
    );
  });
});
