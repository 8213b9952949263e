import { expect } from 'chai';
import { RemoteProtocolError } from '../../../lib/errors';
import type { RejectConnectionEvent } from '../../../lib/events';
import {
  DEFAULT_MAX_HEAD_SIZE,
  DEFAULT_MAX_HEADERS,
  HeadParser,
  type HeadKind,
  type HeadLimits,
  type HeadOf,
} from '../../../lib/handshake/http/head-parser';
import { getHeader } from '../../../lib/handshake/http/headers';
import { chunkings, hex, rng } from '../../helpers/bytes';
import {
  HELLO_FRAME,
  RFC_REQUEST,
  RFC_REQUEST_HEADERS,
  RFC_RESPONSE,
  RFC_RESPONSE_HEADERS,
  crlf,
  expectLocal,
  expectRemote,
} from '../../helpers/http';

/** Feeds chunks until the head completes; returns the head and every byte after it. */
function parseChunks<K extends HeadKind>(
  kind: K,
  chunks: readonly Buffer[],
  limits: HeadLimits = {},
): { head: HeadOf<K> | null; trailing: Buffer } {
  const parser = new HeadParser(kind, limits);
  let head: HeadOf<K> | null = null;
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    if (head !== null) {
      rest.push(chunk);
      continue;
    }
    head = parser.push(chunk);
    if (head !== null) rest.push(parser.takeTrailing());
  }
  return { head, trailing: Buffer.concat(rest) };
}

/** Every chunking of `data` must produce the same head and trailing bytes as `expected`. */
function expectInvariant<K extends HeadKind>(kind: K, data: Buffer, expected: HeadOf<K>, trailing: Buffer): void {
  let runs = 0;
  for (const chunks of chunkings(data)) {
    const got = parseChunks(kind, chunks);
    expect(got.head, `chunking ${chunks.map((c) => c.length).join('+')}`).to.deep.equal(expected);
    expect(got.trailing.equals(trailing)).to.equal(true);
    runs++;
  }
  expect(runs).to.be.greaterThan(data.length); // whole + byte-by-byte + every split + random
}

describe('handshake/http/head-parser', () => {
  describe('HeadParser: vectors', () => {
    it('RFC 6455 1.2: parses the example opening handshake request exactly', () => {
      const parser = new HeadParser('request');
      const head = parser.push(RFC_REQUEST);
      expect(head).to.deep.equal({ method: 'GET', target: '/chat', version: '1.1', headers: RFC_REQUEST_HEADERS });
      expect(parser.done).to.equal(true);
      expect(parser.headBytes).to.equal(RFC_REQUEST.length);
      expect(parser.takeTrailing().length).to.equal(0);
    });

    it('RFC 6455 1.2/1.3: parses the example 101 response exactly, with the accept value of 1.3', () => {
      const parser = new HeadParser('response');
      const head = parser.push(RFC_RESPONSE);
      expect(head).to.deep.equal({
        version: '1.1',
        statusCode: 101,
        reason: 'Switching Protocols',
        headers: RFC_RESPONSE_HEADERS,
      });
      expect(getHeader(head!.headers, 'sec-websocket-accept')).to.equal('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    });

    it('RFC 6455 1.2: replays the request whole, byte by byte and at every split point', () => {
      expectInvariant(
        'request',
        RFC_REQUEST,
        { method: 'GET', target: '/chat', version: '1.1', headers: RFC_REQUEST_HEADERS },
        Buffer.alloc(0),
      );
    });

    it('RFC 6455 1.2 + 5.7: a frame in the same bytes as the 101 is returned by takeTrailing at every chunking', () => {
      const data = Buffer.concat([RFC_RESPONSE, HELLO_FRAME]);
      expectInvariant(
        'response',
        data,
        { version: '1.1', statusCode: 101, reason: 'Switching Protocols', headers: RFC_RESPONSE_HEADERS },
        HELLO_FRAME,
      );
    });

    it('RFC 9112 3: request with trailing bytes after the head, at every chunking', () => {
      const trailing = Buffer.from('\r\nGARBAGE', 'latin1');
      expectInvariant(
        'request',
        Buffer.concat([RFC_REQUEST, trailing]),
        { method: 'GET', target: '/chat', version: '1.1', headers: RFC_REQUEST_HEADERS },
        trailing,
      );
    });

    it('RFC 9112 5.1: OWS around values is trimmed, inner whitespace kept, empty values allowed', () => {
      const data = crlf(['GET / HTTP/1.1', 'A:   x  y \t', 'B:\tz', 'Empty:', 'Spaces:    ', '']);
      const head = new HeadParser('request').push(data);
      expect(head!.headers).to.deep.equal([
        ['A', 'x  y'],
        ['B', 'z'],
        ['Empty', ''],
        ['Spaces', ''],
      ]);
    });

    it('RFC 9110 5.5: obs-text octets in values are kept, decoded as latin1', () => {
      const data = Buffer.concat([crlf(['GET / HTTP/1.1']), Buffer.from('X: caf', 'latin1'), hex('e9 0d 0a 0d 0a')]);
      const head = new HeadParser('request').push(data);
      expect(head!.headers).to.deep.equal([['X', 'caf\u00e9']]);
    });

    it('RFC 9112 3: request-target forms with query strings and absolute-form are kept verbatim', () => {
      for (const target of ['/chat?room=1&x=%20', 'http://example.com:8080/a', '*', 'example.com:443']) {
        const head = new HeadParser('request').push(crlf([`OPTIONS ${target} HTTP/1.1`, '']));
        expect(head!.target).to.equal(target);
      }
    });

    it('RFC 9112 2.3: HTTP/1.0 parses (the version is reported, the handshake layer decides)', () => {
      expect(new HeadParser('request').push(crlf(['GET / HTTP/1.0', '']))!.version).to.equal('1.0');
    });

    it('RFC 9112 2.2: empty lines before the request-line are ignored, at every chunking', () => {
      const data = Buffer.concat([Buffer.from('\r\n\r\n'), RFC_REQUEST]);
      expectInvariant(
        'request',
        data,
        { method: 'GET', target: '/chat', version: '1.1', headers: RFC_REQUEST_HEADERS },
        Buffer.alloc(0),
      );
    });

    it('RFC 9112 4: a status-line with an empty reason, with or without the SP before it', () => {
      for (const line of ['HTTP/1.1 403 ', 'HTTP/1.1 403']) {
        const head = new HeadParser('response').push(crlf([line, 'Content-Length: 0', '']));
        expect(head).to.deep.equal({ version: '1.1', statusCode: 403, reason: '', headers: [['Content-Length', '0']] });
      }
    });

    it('RFC 9112 4: a reason phrase may hold spaces, HTAB and obs-text', () => {
      const data = Buffer.concat([Buffer.from('HTTP/1.1 400 Bad\tRequest '), hex('ff'), Buffer.from('\r\n\r\n')]);
      expect(new HeadParser('response').push(data)!.reason).to.equal('Bad\tRequest \u00ff');
    });

    it('RFC 9112 5: a head with no header fields at all', () => {
      expect(new HeadParser('request').push(crlf(['GET / HTTP/1.1', '']))).to.deep.equal({
        method: 'GET',
        target: '/',
        version: '1.1',
        headers: [],
      });
    });

    it('push returns null until the final CRLF arrives', () => {
      const parser = new HeadParser('request');
      expect(parser.push(RFC_REQUEST.subarray(0, RFC_REQUEST.length - 1))).to.equal(null);
      expect(parser.done).to.equal(false);
      expect(parser.push(RFC_REQUEST.subarray(RFC_REQUEST.length - 1))).to.not.equal(null);
    });

    it('accepts a Uint8Array that is not a Buffer', () => {
      const bytes = new Uint8Array(RFC_REQUEST);
      expect(new HeadParser('request').push(bytes)!.method).to.equal('GET');
    });

    it('takeTrailing returns the trailing bytes once', () => {
      const parser = new HeadParser('response');
      parser.push(Buffer.concat([RFC_RESPONSE, HELLO_FRAME]));
      expect(parser.takeTrailing().equals(HELLO_FRAME)).to.equal(true);
      expect(parser.takeTrailing().length).to.equal(0);
    });

    it('push after the head is complete is a LocalProtocolError', () => {
      const parser = new HeadParser('request');
      parser.push(RFC_REQUEST);
      expectLocal(() => parser.push(Buffer.from('x')), 'ERR_INVALID_STATE', /already complete/);
    });

    it('rejects invalid limits and kinds with ERR_INVALID_OPTION', () => {
      expectLocal(() => new HeadParser('request', { maxHeadSize: 0 }), 'ERR_INVALID_OPTION', /maxHeadSize/);
      expectLocal(() => new HeadParser('request', { maxHeaders: 1.5 }), 'ERR_INVALID_OPTION', /maxHeaders/);
      expectLocal(() => new HeadParser('other' as HeadKind), 'ERR_INVALID_OPTION', /kind/);
    });
  });

  describe('HeadParser: rejections', () => {
    // [title, kind, bytes, code, status, message]
    const cases: Array<[string, HeadKind, string, string, number, RegExp]> = [
      [
        'RFC 9112 2.2: bare LF ending the request-line',
        'request',
        'GET / HTTP/1.1\nHost: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /bare LF/,
      ],
      [
        'RFC 9112 2.2: bare LF ending a header line',
        'request',
        'GET / HTTP/1.1\r\nHost: a\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /bare LF/,
      ],
      [
        'RFC 9112 2.2: bare LF as the final empty line',
        'request',
        'GET / HTTP/1.1\r\nHost: a\r\n\n',
        'ERR_BAD_HTTP',
        400,
        /bare LF/,
      ],
      [
        'RFC 9112 2.2: bare CR inside a header value',
        'request',
        'GET / HTTP/1.1\r\nA: x\ry\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /bare CR/,
      ],
      [
        'RFC 9112 2.2: bare CR inside the request-line',
        'request',
        'GET /\r HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /request-target/,
      ],
      [
        'RFC 9112 2.2: whitespace between the start-line and the first field',
        'request',
        'GET / HTTP/1.1\r\n Host: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /obs-fold/,
      ],
      [
        'RFC 9112 5.2: obs-fold continuation line (SP)',
        'request',
        'GET / HTTP/1.1\r\nA: x\r\n y\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /obs-fold/,
      ],
      [
        'RFC 9112 5.2: obs-fold continuation line (HTAB)',
        'response',
        'HTTP/1.1 101 OK\r\nA: x\r\n\ty\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /obs-fold/,
      ],
      [
        'RFC 9112 5.1: whitespace between header name and colon',
        'request',
        'GET / HTTP/1.1\r\nHost : a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /whitespace between header name and colon/,
      ],
      [
        'RFC 9112 5.1: HTAB between header name and colon',
        'response',
        'HTTP/1.1 101 OK\r\nUpgrade\t: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /whitespace between header name and colon/,
      ],
      [
        'RFC 9110 5.6.2: header name with a non-tchar',
        'request',
        'GET / HTTP/1.1\r\nHo@st: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /header name contains an invalid character: 0x40/,
      ],
      [
        'RFC 9110 5.6.2: header name with a non-ASCII octet',
        'request',
        'GET / HTTP/1.1\r\nH\u00e9: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /header name contains an invalid character: 0xe9/,
      ],
      [
        'RFC 9110 5.1: empty header name',
        'request',
        'GET / HTTP/1.1\r\n: a\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /header name is empty/,
      ],
      [
        'RFC 9112 5: header line without a colon',
        'request',
        'GET / HTTP/1.1\r\nHost\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /no colon/,
      ],
      [
        'RFC 9110 5.5: NUL in a header value',
        'request',
        'GET / HTTP/1.1\r\nA: x\0y\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /header A value contains an invalid character: 0x00/,
      ],
      [
        'RFC 9110 5.5: a CTL (0x01) in a header value',
        'response',
        'HTTP/1.1 101 OK\r\nA: \u0001\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /0x01/,
      ],
      [
        'RFC 9110 5.5: DEL in a header value',
        'request',
        'GET / HTTP/1.1\r\nA: x\u007f\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /0x7f/,
      ],
      [
        'RFC 9112 3: method that is not a token',
        'request',
        'G(T / HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /method contains an invalid character: 0x28/,
      ],
      ['RFC 9112 3: empty method', 'request', ' / HTTP/1.1\r\n\r\n', 'ERR_BAD_HTTP', 400, /empty method/],
      [
        'RFC 9112 3: double SP in the request-line',
        'request',
        'GET  / HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /empty request-target/,
      ],
      [
        'RFC 9112 3: request-line missing the version',
        'request',
        'GET /\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /request line is not/,
      ],
      [
        'RFC 9112 3: request-line with trailing SP',
        'request',
        'GET / HTTP/1.1 \r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /HTTP-version/,
      ],
      [
        'RFC 9112 3.2: request-target with a non-ASCII octet',
        'request',
        'GET /\u00e9 HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /request-target contains an invalid character: 0xe9/,
      ],
      [
        'RFC 9112 3.2: request-target with HTAB',
        'request',
        'GET /a\tb HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /request-target/,
      ],
      [
        'RFC 9112 2.3: lower-case http version',
        'request',
        'GET / http/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /invalid HTTP-version/,
      ],
      [
        'RFC 9112 2.3: two-digit minor version',
        'request',
        'GET / HTTP/1.11\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /invalid HTTP-version/,
      ],
      [
        'RFC 9112 2.3: version without a minor digit',
        'response',
        'HTTP/1 101 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /status line/,
      ],
      [
        'RFC 9110 15.6.6: HTTP major version 2 gets 505',
        'request',
        'GET / HTTP/2.0\r\n\r\n',
        'ERR_BAD_HTTP',
        505,
        /major version/,
      ],
      [
        'RFC 9110 15.6.6: response with HTTP major version 0',
        'response',
        'HTTP/0.9 200 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        505,
        /major version/,
      ],
      ['RFC 9112 4: two-digit status code', 'response', 'HTTP/1.1 10 OK\r\n\r\n', 'ERR_BAD_HTTP', 400, /three digits/],
      [
        'RFC 9112 4: four-digit status code',
        'response',
        'HTTP/1.1 1011 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /three digits/,
      ],
      ['RFC 9112 4: non-digit status code', 'response', 'HTTP/1.1 1x1 OK\r\n\r\n', 'ERR_BAD_HTTP', 400, /three digits/],
      [
        'RFC 9110 15: status code below 100',
        'response',
        'HTTP/1.1 099 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /out of range/,
      ],
      [
        'RFC 9112 4: reason phrase with a CTL',
        'response',
        'HTTP/1.1 101 O\u0000K\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /reason phrase/,
      ],
      [
        'RFC 9112 4: status-line with two SPs after the version',
        'response',
        'HTTP/1.1  101 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /three digits/,
      ],
      [
        'RFC 9112 4: empty line before the status-line',
        'response',
        '\r\nHTTP/1.1 101 OK\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /empty line/,
      ],
      [
        'RFC 9112 4: a request-line where a status-line is expected',
        'response',
        'GET / HTTP/1.1\r\n\r\n',
        'ERR_BAD_HTTP',
        400,
        /status line/,
      ],
    ];

    for (const [title, kind, text, code, status, message] of cases) {
      it(`${title} -> ${status} at every chunking`, () => {
        const data = Buffer.from(text, 'latin1');
        expectRemote(() => new HeadParser(kind).push(data), code, status, message);
        for (const chunks of chunkings(data, 5)) {
          const parser = new HeadParser(kind);
          expectRemote(() => chunks.forEach((c) => parser.push(c)), code, status);
        }
      });
    }

    it('errors are sticky: a later push throws the same error', () => {
      const parser = new HeadParser('request');
      const first = expectRemote(() => parser.push(Buffer.from('GET / HTTP/1.1\n')), 'ERR_BAD_HTTP', 400);
      let again: unknown;
      try {
        parser.push(crlf(['', '']));
      } catch (err) {
        again = err;
      }
      expect(again).to.equal(first);
    });

    it('messages are bounded excerpts of the input, not the whole input', () => {
      const long = 'x'.repeat(5000);
      const err = expectRemote(
        () => new HeadParser('request').push(Buffer.from(`GET / HTTP/1.1\r\n${long}\r\n\r\n`)),
        'ERR_BAD_HTTP',
        400,
        /no colon/,
      );
      expect(err.message.length).to.be.lessThan(200);
    });
  });

  describe('HeadParser: limits', () => {
    it('DEFAULT_MAX_HEAD_SIZE is 16 KiB and DEFAULT_MAX_HEADERS is 100', () => {
      expect(DEFAULT_MAX_HEAD_SIZE).to.equal(16384);
      expect(DEFAULT_MAX_HEADERS).to.equal(100);
    });

    /** A request head of exactly `size` bytes. */
    function headOfSize(size: number): Buffer {
      const start = 'GET / HTTP/1.1\r\nX: ';
      const end = '\r\n\r\n';
      return Buffer.from(start + 'a'.repeat(size - start.length - end.length) + end);
    }

    it('RFC 6585 5: a head of exactly maxHeadSize bytes is accepted, one byte more gets 431', () => {
      const exact = headOfSize(DEFAULT_MAX_HEAD_SIZE);
      expect(exact.length).to.equal(DEFAULT_MAX_HEAD_SIZE);
      expect(new HeadParser('request').push(exact)!.headers[0]![1].length).to.equal(DEFAULT_MAX_HEAD_SIZE - 23);
      expectRemote(
        () => new HeadParser('request').push(headOfSize(DEFAULT_MAX_HEAD_SIZE + 1)),
        'ERR_HEAD_TOO_LARGE',
        431,
        /message head larger than maxHeadSize \(16384 bytes\)/,
      );
    });

    it('RFC 6585 5: the limit holds at every chunking of a head one byte too large', () => {
      const data = headOfSize(300 + 1);
      for (const chunks of chunkings(data, 5)) {
        const parser = new HeadParser('request', { maxHeadSize: 300 });
        expectRemote(() => chunks.forEach((c) => parser.push(c)), 'ERR_HEAD_TOO_LARGE', 431);
        expect(parser.headBytes).to.be.at.most(300);
        expect(parser.buffered).to.be.at.most(300);
      }
    });

    it('RFC 9112 3: a request-line longer than maxHeadSize gets 414', () => {
      const data = Buffer.from(`GET /${'a'.repeat(DEFAULT_MAX_HEAD_SIZE)} HTTP/1.1\r\n\r\n`);
      expectRemote(() => new HeadParser('request').push(data), 'ERR_HEAD_TOO_LARGE', 414, /request line larger/);
    });

    it('RFC 6585 5: a status-line longer than maxHeadSize gets 431 (414 is for requests)', () => {
      const data = Buffer.from(`HTTP/1.1 200 ${'a'.repeat(DEFAULT_MAX_HEAD_SIZE)}\r\n\r\n`);
      expectRemote(() => new HeadParser('response').push(data), 'ERR_HEAD_TOO_LARGE', 431);
    });

    it('RFC 9112 2.2: leading empty lines count against maxHeadSize', () => {
      const parser = new HeadParser('request', { maxHeadSize: 100 });
      expectRemote(() => parser.push(Buffer.from('\r\n'.repeat(51))), 'ERR_HEAD_TOO_LARGE', 414);
    });

    it('1 MiB of header bytes in 1 KiB pieces throws by maxHeadSize + 1 KiB, buffer bounded throughout', () => {
      const piece = Buffer.from(`X-Filler: ${'a'.repeat(1024 - 12)}\r\n`);
      expect(piece.length).to.equal(1024);
      const parser = new HeadParser('request');
      parser.push(Buffer.from('GET / HTTP/1.1\r\n'));
      let pushed = 0;
      let caught: unknown = null;
      for (let i = 0; i < 1024 && caught === null; i++) {
        try {
          parser.push(piece);
        } catch (err) {
          caught = err;
        }
        pushed += piece.length;
        expect(parser.buffered).to.be.at.most(DEFAULT_MAX_HEAD_SIZE);
        expect(parser.headBytes).to.be.at.most(DEFAULT_MAX_HEAD_SIZE);
      }
      expect(caught).to.be.instanceOf(RemoteProtocolError);
      expect((caught as RemoteProtocolError).code).to.equal('ERR_HEAD_TOO_LARGE');
      expect(((caught as RemoteProtocolError).eventHint as RejectConnectionEvent).statusCode).to.equal(431);
      expect(pushed).to.be.at.most(DEFAULT_MAX_HEAD_SIZE + 1024);
    });

    it('1 MiB of one header line in 1 KiB pieces: the partial line never exceeds maxHeadSize', () => {
      const parser = new HeadParser('request');
      parser.push(Buffer.from('GET / HTTP/1.1\r\nX: '));
      const piece = Buffer.alloc(1024, 0x61);
      let pushed = 0;
      let caught: unknown = null;
      while (caught === null && pushed < 1024 * 1024) {
        try {
          parser.push(piece);
        } catch (err) {
          caught = err;
        }
        pushed += piece.length;
        expect(parser.buffered).to.be.at.most(DEFAULT_MAX_HEAD_SIZE);
      }
      expect((caught as RemoteProtocolError).code).to.equal('ERR_HEAD_TOO_LARGE');
      expect(pushed).to.be.at.most(DEFAULT_MAX_HEAD_SIZE + 1024);
    });

    it('a single 1 MiB chunk without a line end is refused without buffering any of it', () => {
      const parser = new HeadParser('request');
      expectRemote(() => parser.push(Buffer.alloc(1024 * 1024, 0x61)), 'ERR_HEAD_TOO_LARGE', 414);
      expect(parser.buffered).to.equal(0);
    });

    it('one byte at a time, a head of 1 MiB (maxHeadSize raised) parses in linear time', () => {
      const size = 1024 * 1024;
      const data = headOfSize(size);
      const parser = new HeadParser('request', { maxHeadSize: size });
      let head = null;
      for (let i = 0; i < data.length; i++) head = parser.push(data.subarray(i, i + 1));
      expect(head!.headers[0]![1].length).to.equal(size - 23);
    });

    it('RFC 6585 5: exactly maxHeaders fields are accepted, one more gets 431', () => {
      const lines = (n: number) => crlf(['GET / HTTP/1.1', ...Array.from({ length: n }, (_, i) => `H${i}: v`), '']);
      expect(new HeadParser('request').push(lines(DEFAULT_MAX_HEADERS))!.headers.length).to.equal(100);
      expectRemote(
        () => new HeadParser('request').push(lines(DEFAULT_MAX_HEADERS + 1)),
        'ERR_TOO_MANY_HEADERS',
        431,
        /more than 100 header fields/,
      );
      expect(new HeadParser('request', { maxHeaders: 3 }).push(lines(3))!.headers.length).to.equal(3);
      expectRemote(
        () =>
          new HeadParser('response', { maxHeaders: 3 }).push(
            crlf(['HTTP/1.1 101 OK', 'a: 1', 'b: 2', 'c: 3', 'd: 4', '']),
          ),
        'ERR_TOO_MANY_HEADERS',
        431,
      );
    });

    it('fuzz: random bytes give a head, null, or a RemoteProtocolError, nothing else', () => {
      const rand = rng(42);
      const alphabet = Buffer.from('GET /HTP1.0 \r\n:\t\0aZ-\u00ff', 'latin1');
      for (let run = 0; run < 2000; run++) {
        const len = Math.floor(rand() * 60);
        const data = Buffer.from(Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]!));
        const prefix = run % 2 === 0 ? Buffer.from('GET / HTTP/1.1\r\n') : Buffer.alloc(0);
        const parser = new HeadParser(run % 3 === 0 ? 'response' : 'request', { maxHeadSize: 64 });
        try {
          const head = parser.push(Buffer.concat([prefix, data]));
          expect(head === null || typeof head === 'object').to.equal(true);
        } catch (err) {
          expect(err).to.be.instanceOf(RemoteProtocolError);
        }
        expect(parser.headBytes).to.be.at.most(64);
      }
    });
  });
});
