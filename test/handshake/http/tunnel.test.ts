/** The CONNECT exchange that opens a tunnel through a forward proxy (RFC 9110 9.3.6), sans I/O. */
import { expect } from 'chai';
import fc from 'fast-check';
import { RemoteProtocolError } from '../../../lib/errors';
import type { HeadLimits } from '../../../lib/handshake/http/head-parser';
import { MAX_REFUSAL_BODY, TunnelResponse, tunnelRequest, type TunnelAnswer } from '../../../lib/handshake/http/tunnel';
import { chunkings } from '../../helpers/bytes';
import { crlf, expectLocal } from '../../helpers/http';

/** What a proxy's answer comes to, comparable with deep equality (bytes as latin1 text). */
type Outcome =
  | { established: true; statusCode: number; headers: Array<readonly [string, string]>; after: string }
  | {
      established: false;
      statusCode: number;
      reason: string;
      headers: Array<readonly [string, string]>;
      body: string;
    }
  | { error: string };

/**
 * Feeds `chunks` (then EOF when `eof`) as a dialer does: until an answer comes. After a
 * 2xx, the rest of the bytes belong to the tunnel: `after` is its `trailing` and every
 * later chunk. After a refusal the connection is dropped: later bytes are not read.
 */
function settle(chunks: readonly Buffer[], eof: boolean, limits: HeadLimits = {}): Outcome {
  const response = new TunnelResponse(limits);
  let answer: TunnelAnswer | null = null;
  const after: Buffer[] = [];
  try {
    for (const chunk of chunks) {
      if (answer === null) {
        answer = response.push(chunk);
        if (answer?.established === true) after.push(answer.trailing);
      } else if (answer.established) {
        after.push(chunk);
      }
    }
    if (eof && answer === null) answer = response.push(null);
  } catch (error) {
    expect(error).to.be.instanceOf(RemoteProtocolError);
    return { error: (error as RemoteProtocolError).code };
  }
  if (answer === null) return { error: 'no answer' };
  const headers = answer.headers.map(([n, v]) => [n, v] as const);
  if (answer.established) {
    return { established: true, statusCode: answer.statusCode, headers, after: latin1(Buffer.concat(after)) };
  }
  return {
    established: false,
    statusCode: answer.statusCode,
    reason: answer.reason,
    headers,
    body: latin1(answer.body),
  };
}

const latin1 = (b: Buffer): string => b.toString('latin1');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Case {
  name: string;
  wire: Buffer;
  /** The proxy closes the connection after `wire`. */
  eof: boolean;
  expected: Outcome;
  limits?: HeadLimits;
}

const BIG = 'x'.repeat(MAX_REFUSAL_BODY + 100);
/** `BIG` as a chunked body, in chunks of 1000 bytes. */
const BIG_CHUNKED = `${Array.from({ length: Math.ceil(BIG.length / 1000) }, (_, i) => {
  const piece = BIG.slice(i * 1000, (i + 1) * 1000);
  return `${piece.length.toString(16)}\r\n${piece}\r\n`;
}).join('')}0\r\n\r\n`;

const CASES: Case[] = [
  {
    name: 'RFC 9110 9.3.6: 200, the bytes after the head are the tunnel’s (trailing)',
    wire: Buffer.concat([crlf(['HTTP/1.1 200 Connection established', '']), bytes('\x16\x03\x01 origin bytes')]),
    eof: false,
    expected: { established: true, statusCode: 200, headers: [], after: '\x16\x03\x01 origin bytes' },
  },
  {
    name: 'RFC 9110 9.3.6: a 2xx has no content: its Content-Length is ignored',
    wire: Buffer.concat([crlf(['HTTP/1.1 200 OK', 'Content-Length: 5', '']), bytes('hello, origin')]),
    eof: false,
    expected: { established: true, statusCode: 200, headers: [['Content-Length', '5']], after: 'hello, origin' },
  },
  {
    name: 'RFC 9110 9.3.6: any 2xx is the tunnel (201 with Transfer-Encoding: chunked, ignored)',
    wire: Buffer.concat([crlf(['HTTP/1.1 201 Created', 'Transfer-Encoding: chunked', '']), bytes('5\r\nhello')]),
    eof: false,
    expected: {
      established: true,
      statusCode: 201,
      headers: [['Transfer-Encoding', 'chunked']],
      after: '5\r\nhello',
    },
  },
  {
    name: 'RFC 9110 9.3.6: 299 is a 2xx too',
    wire: crlf(['HTTP/1.1 299 Whatever', '']),
    eof: false,
    expected: { established: true, statusCode: 299, headers: [], after: '' },
  },
  {
    name: 'tinyproxy’s exact answer: HTTP/1.0 200 Connection established',
    wire: bytes('HTTP/1.0 200 Connection established\r\nProxy-agent: tinyproxy/1.11.1\r\n\r\n'),
    eof: false,
    expected: { established: true, statusCode: 200, headers: [['Proxy-agent', 'tinyproxy/1.11.1']], after: '' },
  },
  {
    name: 'RFC 9110 15.2: interim 100 and 102 are skipped; the 200’s headers and trailing',
    wire: Buffer.concat([
      crlf(['HTTP/1.1 100 Continue', '', 'HTTP/1.1 102 Processing', 'X-Interim: 1', '']),
      crlf(['HTTP/1.1 200 Connection established', 'Via: 1.1 proxy', '']),
      bytes('tunnel'),
    ]),
    eof: false,
    expected: { established: true, statusCode: 200, headers: [['Via', '1.1 proxy']], after: 'tunnel' },
  },
  {
    name: 'RFC 9110 15.2: each interim head is held to maxHeadSize on its own',
    wire: crlf([
      'HTTP/1.1 100 Continue',
      '',
      'HTTP/1.1 100 Continue',
      '',
      'HTTP/1.1 100 Continue',
      '',
      'HTTP/1.1 200 OK',
      '',
    ]),
    eof: false,
    limits: { maxHeadSize: 30 },
    expected: { established: true, statusCode: 200, headers: [], after: '' },
  },
  {
    name: 'RFC 9110 15.5.8: 407 with Proxy-Authenticate and a Content-Length body (later bytes not read)',
    wire: Buffer.concat([
      crlf([
        'HTTP/1.1 407 Proxy Authentication Required',
        'Proxy-Authenticate: Basic realm="proxy"',
        'Content-Type: text/plain',
        'Content-Length: 13',
        '',
      ]),
      bytes('access deniedHTTP/1.1 200 OK\r\n\r\n'),
    ]),
    eof: false,
    expected: {
      established: false,
      statusCode: 407,
      reason: 'Proxy Authentication Required',
      headers: [
        ['Proxy-Authenticate', 'Basic realm="proxy"'],
        ['Content-Type', 'text/plain'],
        ['Content-Length', '13'],
      ],
      body: 'access denied',
    },
  },
  {
    name: 'RFC 9110 15.2: a 100 then a 407: the refusal is the 407',
    wire: crlf(['HTTP/1.1 100 Continue', '', 'HTTP/1.1 407 Proxy Authentication Required', 'Content-Length: 0', '']),
    eof: false,
    expected: {
      established: false,
      statusCode: 407,
      reason: 'Proxy Authentication Required',
      headers: [['Content-Length', '0']],
      body: '',
    },
  },
  {
    name: 'RFC 9112 6.3 (8): a 403 whose body lasts until EOF (Connection: close)',
    wire: Buffer.concat([crlf(['HTTP/1.1 403 Forbidden', 'Connection: close', '']), bytes('no tunnels to port 25')]),
    eof: true,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [['Connection', 'close']],
      body: 'no tunnels to port 25',
    },
  },
  {
    name: 'RFC 9112 7.1: a chunked refusal body (with a trailer)',
    wire: crlf([
      'HTTP/1.1 502 Bad Gateway',
      'Transfer-Encoding: chunked',
      '',
      '5',
      'hello',
      '6;ext=1',
      ' world',
      '0',
      'X-Trailer: t',
      '',
    ]),
    eof: false,
    expected: {
      established: false,
      statusCode: 502,
      reason: 'Bad Gateway',
      headers: [['Transfer-Encoding', 'chunked']],
      body: 'hello world',
    },
  },
  {
    name: 'a 3xx is a refusal too (a proxy’s redirect is not followed)',
    wire: crlf(['HTTP/1.1 302 Found', 'Location: http://login.example/', 'Content-Length: 0', '']),
    eof: false,
    expected: {
      established: false,
      statusCode: 302,
      reason: 'Found',
      headers: [
        ['Location', 'http://login.example/'],
        ['Content-Length', '0'],
      ],
      body: '',
    },
  },
  {
    name: 'a refusal with an empty reason phrase (RFC 9112 4)',
    wire: crlf(['HTTP/1.1 403 ', 'Content-Length: 2', '', 'no']),
    eof: false,
    expected: { established: false, statusCode: 403, reason: '', headers: [['Content-Length', '2']], body: 'no' },
  },
  {
    name: 'MAX_REFUSAL_BODY: a longer Content-Length body is kept up to the bound',
    wire: Buffer.concat([crlf(['HTTP/1.1 403 Forbidden', `Content-Length: ${BIG.length}`, '']), bytes(BIG)]),
    eof: false,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [['Content-Length', String(BIG.length)]],
      body: BIG.slice(0, MAX_REFUSAL_BODY),
    },
  },
  {
    name: 'MAX_REFUSAL_BODY: a longer chunked body is kept up to the bound',
    wire: Buffer.concat([crlf(['HTTP/1.1 403 Forbidden', 'Transfer-Encoding: chunked', '']), bytes(BIG_CHUNKED)]),
    eof: false,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [['Transfer-Encoding', 'chunked']],
      body: BIG.slice(0, MAX_REFUSAL_BODY),
    },
  },
  {
    name: 'MAX_REFUSAL_BODY: a longer body until EOF is kept up to the bound',
    wire: Buffer.concat([crlf(['HTTP/1.1 403 Forbidden', '']), bytes(BIG)]),
    eof: true,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [],
      body: BIG.slice(0, MAX_REFUSAL_BODY),
    },
  },
  {
    name: 'a malformed chunked body (no CRLF after the data) keeps what was read',
    wire: crlf(['HTTP/1.1 502 Bad Gateway', 'Transfer-Encoding: chunked', '', '5', 'helloXX', 'more']),
    eof: false,
    expected: {
      established: false,
      statusCode: 502,
      reason: 'Bad Gateway',
      headers: [['Transfer-Encoding', 'chunked']],
      body: 'hello',
    },
  },
  {
    name: 'a malformed chunked body (a bad chunk-size line) keeps what was read',
    wire: crlf(['HTTP/1.1 502 Bad Gateway', 'Transfer-Encoding: chunked', '', '5', 'hello', '3', 'abc', 'zz', 'more']),
    eof: false,
    expected: {
      established: false,
      statusCode: 502,
      reason: 'Bad Gateway',
      headers: [['Transfer-Encoding', 'chunked']],
      body: 'helloabc',
    },
  },
  {
    name: 'a malformed chunked body whose data holds LFs keeps what was read',
    wire: bytes('HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\n\n\r\n7\r\nline1\nb\n\r\n'),
    eof: false,
    expected: {
      established: false,
      statusCode: 502,
      reason: 'Bad Gateway',
      headers: [['Transfer-Encoding', 'chunked']],
      body: '\n\nline1\nb',
    },
  },
  {
    name: 'a Content-Length body cut short by EOF keeps what was read',
    wire: Buffer.concat([crlf(['HTTP/1.1 403 Forbidden', 'Content-Length: 100', '']), bytes('only this')]),
    eof: true,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [['Content-Length', '100']],
      body: 'only this',
    },
  },
  {
    name: 'RFC 9112 6.3 (5): an invalid Content-Length: the refusal stands without its body',
    wire: crlf(['HTTP/1.1 403 Forbidden', 'Content-Length: lots', '', 'ignored']),
    eof: false,
    expected: {
      established: false,
      statusCode: 403,
      reason: 'Forbidden',
      headers: [['Content-Length', 'lots']],
      body: '',
    },
  },
  {
    name: 'EOF before any byte: ERR_BAD_HTTP',
    wire: Buffer.alloc(0),
    eof: true,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'EOF inside the head: ERR_BAD_HTTP',
    wire: bytes('HTTP/1.1 200 Connection estab'),
    eof: true,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'EOF after an interim response only: ERR_BAD_HTTP',
    wire: crlf(['HTTP/1.1 100 Continue', '']),
    eof: true,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'a non-HTTP answer (an SSH banner): ERR_BAD_HTTP',
    wire: crlf(['SSH-2.0-OpenSSH_9.6', '']),
    eof: false,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'RFC 9112 2.3: an HTTP/2 status line: ERR_BAD_HTTP',
    wire: crlf(['HTTP/2 200', '']),
    eof: false,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'RFC 9112 2.2: a bare LF line ending: ERR_BAD_HTTP',
    wire: bytes('HTTP/1.1 200 OK\n\n'),
    eof: false,
    expected: { error: 'ERR_BAD_HTTP' },
  },
  {
    name: 'a head over maxHeadSize: ERR_HEAD_TOO_LARGE',
    wire: crlf(['HTTP/1.1 200 Connection established', `X-Padding: ${'p'.repeat(64)}`, '']),
    eof: false,
    limits: { maxHeadSize: 64 },
    expected: { error: 'ERR_HEAD_TOO_LARGE' },
  },
  {
    name: 'a head over the default 16 KiB: ERR_HEAD_TOO_LARGE',
    wire: crlf(['HTTP/1.1 407 Proxy Authentication Required', `X-Padding: ${'p'.repeat(16 * 1024)}`, '']),
    eof: false,
    expected: { error: 'ERR_HEAD_TOO_LARGE' },
  },
];

describe('handshake/http/tunnel', () => {
  describe('tunnelRequest (RFC 9110 9.3.6)', () => {
    it('RFC 9110 9.3.6, 7.2: CONNECT host:port HTTP/1.1 with Host the same authority, byte for byte', () => {
      expect(latin1(tunnelRequest('server.example.com:443'))).to.equal(
        latin1(crlf(['CONNECT server.example.com:443 HTTP/1.1', 'Host: server.example.com:443', ''])),
      );
      expect(latin1(tunnelRequest('127.0.0.1:8080'))).to.equal(
        latin1(crlf(['CONNECT 127.0.0.1:8080 HTTP/1.1', 'Host: 127.0.0.1:8080', ''])),
      );
    });

    it('RFC 3986 3.2.2: an IPv6 literal keeps its brackets in the target and in Host', () => {
      expect(latin1(tunnelRequest('[::1]:443'))).to.equal(
        latin1(crlf(['CONNECT [::1]:443 HTTP/1.1', 'Host: [::1]:443', ''])),
      );
      expect(latin1(tunnelRequest('[2001:db8::1]:8443'))).to.equal(
        latin1(crlf(['CONNECT [2001:db8::1]:8443 HTTP/1.1', 'Host: [2001:db8::1]:8443', ''])),
      );
    });

    it('RFC 9110 11.7.2: Proxy-Authorization and other headers follow Host, in order, as given', () => {
      const headers = [
        ['Proxy-Authorization', 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='],
        ['User-Agent', 'wsproto'],
      ] as const;
      expect(latin1(tunnelRequest('example.com:443', headers))).to.equal(
        latin1(
          crlf([
            'CONNECT example.com:443 HTTP/1.1',
            'Host: example.com:443',
            'Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
            'User-Agent: wsproto',
            '',
          ]),
        ),
      );
    });

    const badAuthorities: Array<[string, string]> = [
      ['without a port', 'example.com'],
      ['with an empty port', 'example.com:'],
      ['without a host', ':443'],
      ['with a letter in the port', 'example.com:44a'],
      ['with a six-digit port', 'example.com:100000'],
      ['with a path', 'example.com:443/chat'],
      ['with a path before the port', 'example.com/x:443'],
      ['with a query', 'example.com:443?x'],
      ['with user info', 'user@example.com:443'],
      ['with CRLF and a header after it', 'example.com:443\r\nX-Injected: 1'],
      ['with a bare LF', 'example.com\n:443'],
      ['with a CR', 'example.com:443\r'],
      ['with a space', 'example .com:443'],
      ['with a space before the version', 'example.com:443 HTTP/1.0'],
      ['with a tab', 'example.com\t:443'],
      ['an IPv6 literal without brackets', '::1:443'],
      ['an IPv6 literal without a port', '[::1]'],
      ['an IPv6 literal with a zone', '[fe80::1%25eth0]:443'],
      ['empty', ''],
    ];
    for (const [name, authority] of badAuthorities) {
      it(`RFC 9110 9.3.6: an authority ${name} is refused (ERR_INVALID_HEADER)`, () => {
        expectLocal(() => tunnelRequest(authority), 'ERR_INVALID_HEADER');
      });
    }

    const injections: Array<[string, readonly (readonly [string, string])[]]> = [
      ['CRLF in a value', [['Proxy-Authorization', 'Basic x\r\nX-Injected: 1']]],
      ['a bare LF in a value', [['X-Custom', 'a\nb']]],
      ['a NUL in a value', [['X-Custom', 'a\0b']]],
      ['U+010A in a value (its latin1 byte is LF)', [['X-Custom', 'a\u010Ab']]],
      ['CRLF in a name', [['X-Custom\r\nX-Injected', '1']]],
      ['a colon in a name', [['X-Custom:', '1']]],
      ['an empty name', [['', '1']]],
    ];
    for (const [name, headers] of injections) {
      it(`RFC 9112 5: header injection refused: ${name} (ERR_INVALID_HEADER)`, () => {
        expectLocal(() => tunnelRequest('example.com:443', headers), 'ERR_INVALID_HEADER');
      });
    }
  });

  describe('TunnelResponse (RFC 9110 9.3.6)', () => {
    for (const c of CASES) {
      it(`${c.name}, in every chunking`, () => {
        expect(settle([c.wire], c.eof, c.limits)).to.deep.equal(c.expected);
        for (const chunks of chunkings(c.wire)) {
          const got = settle(chunks, c.eof, c.limits);
          expect(got, `chunking ${chunks.map((x) => x.length).join('+')}`).to.deep.equal(c.expected);
        }
      });
    }

    it('RFC 9110 9.3.6: the 200’s trailing is the bytes after its head in the chunk that ended it', () => {
      const response = new TunnelResponse();
      expect(response.push(bytes('HTTP/1.1 200 Connection established\r\n'))).to.equal(null);
      const answer = response.push(bytes('\r\nfirst'));
      expect(answer).to.deep.include({ established: true, statusCode: 200 });
      expect(latin1((answer as { trailing: Buffer }).trailing)).to.equal('first');
    });

    it('RFC 9112 6.3 (8): a body until EOF has no answer before EOF; push(null) finishes it', () => {
      const response = new TunnelResponse();
      expect(response.push(crlf(['HTTP/1.1 403 Forbidden', 'Connection: close', '', 'no']))).to.equal(null);
      expect(response.push(bytes(' tunnels'))).to.equal(null);
      expect(response.push(Buffer.alloc(0))).to.equal(null);
      expect(response.push(null)).to.deep.include({ established: false, statusCode: 403 });
    });

    it('EOF before a head: RemoteProtocolError ERR_BAD_HTTP, closeCode 1006, no eventHint', () => {
      const response = new TunnelResponse();
      let caught: unknown;
      try {
        response.push(null);
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(RemoteProtocolError);
      expect(caught).to.deep.include({ code: 'ERR_BAD_HTTP', closeCode: 1006, eventHint: undefined });
      expect((caught as Error).message).to.match(/before it answered the CONNECT/);
    });

    it('a non-HTTP answer throws again on the next push (the parser keeps its error)', () => {
      const response = new TunnelResponse();
      expect(() => response.push(bytes('<html>\r\n')))
        .to.throw(RemoteProtocolError)
        .with.property('code', 'ERR_BAD_HTTP');
      expect(() => response.push(bytes('HTTP/1.1 200 OK\r\n\r\n')))
        .to.throw(RemoteProtocolError)
        .with.property('code', 'ERR_BAD_HTTP');
    });

    it('push after the answer returns the same answer (the tunnel’s bytes are not read)', () => {
      for (const wire of [
        crlf(['HTTP/1.1 200 Connection established', '', 'x']),
        crlf(['HTTP/1.1 407 Proxy Authentication Required', 'Content-Length: 2', '', 'no']),
      ]) {
        const response = new TunnelResponse();
        const answer = response.push(wire);
        expect(answer).to.not.equal(null);
        expect(response.push(bytes('HTTP/1.1 500 Oops\r\n\r\n'))).to.equal(answer);
        expect(response.push(bytes('garbage'))).to.equal(answer);
        expect(response.push(null)).to.equal(answer);
      }
    });

    it('a refusal body over MAX_REFUSAL_BODY: the answer is complete once the bound is read (the rest is not waited for)', () => {
      const response = new TunnelResponse();
      const head = crlf(['HTTP/1.1 403 Forbidden', `Content-Length: ${3 * MAX_REFUSAL_BODY}`, '']);
      expect(response.push(Buffer.concat([head, Buffer.alloc(MAX_REFUSAL_BODY - 1, 0x61)]))).to.equal(null);
      const answer = response.push(Buffer.alloc(MAX_REFUSAL_BODY, 0x62));
      expect(answer).to.deep.include({ established: false, statusCode: 403 });
      const expected = Buffer.concat([Buffer.alloc(MAX_REFUSAL_BODY - 1, 0x61), Buffer.from('b')]);
      expect((answer as { body: Buffer }).body.equals(expected)).to.equal(true);
    });

    it('property: a chunked refusal, ended or cut by a bad chunk-size line, keeps all its data in any chunking (fast-check)', () => {
      const head = 'HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n';
      fc.assert(
        fc.property(
          fc.array(fc.string({ unit: fc.constantFrom('a', '\r', '\n', ';', '0', 'z'), minLength: 1, maxLength: 12 }), {
            maxLength: 5,
          }),
          fc.oneof(
            fc.constant('0\r\n\r\n'), // the last chunk
            fc
              .string({ unit: fc.constantFrom('a', '\r', '\n', ';', '0', 'z', '=', ' '), maxLength: 12 })
              .map((g) => `z${g}`),
          ),
          fc.array(fc.nat(), { maxLength: 6 }),
          (pieces, garbage, cuts) => {
            const wire = bytes(
              `${head}${pieces.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('')}${garbage}`,
            );
            const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
            const chunks = [0, ...points].map((p, i) => wire.subarray(p, [...points, wire.length][i]));
            const whole = settle([wire], true);
            expect(settle(chunks, true)).to.deep.equal(whole);
            expect(
              settle(
                Array.from(wire, (b) => Buffer.from([b])),
                true,
              ),
            ).to.deep.equal(whole);
            expect(whole).to.deep.include({ established: false, body: pieces.join('') });
          },
        ),
        { numRuns: 500 },
      );
    });

    it('fuzz: any bytes in any chunking, then EOF: an answer or a RemoteProtocolError, nothing else', () => {
      const prefixes = [
        '',
        'HTTP/1.1 200 OK\r\n',
        'HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\n',
        'HTTP/1.0 1',
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(...prefixes),
          fc.uint8Array({ maxLength: 200 }),
          fc.array(fc.nat({ max: 240 }), { maxLength: 6 }),
          (prefix, tail, cuts) => {
            const wire = Buffer.concat([bytes(prefix), Buffer.from(tail)]);
            const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
            const chunks = [0, ...points].map((p, i) => wire.subarray(p, [...points, wire.length][i]));
            const got = settle(chunks, true, { maxHeadSize: 128 });
            if ('error' in got)
              return ['ERR_BAD_HTTP', 'ERR_HEAD_TOO_LARGE', 'ERR_TOO_MANY_HEADERS'].includes(got.error);
            return got.statusCode >= 200 && got.statusCode <= 999;
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
