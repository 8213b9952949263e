import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../../lib/errors';
import {
  BodyReader,
  DEFAULT_MAX_BODY_SIZE,
  MAX_CHUNK_LINE_SIZE,
  MAX_TRAILER_SIZE,
  type BodyFraming,
  type BodyReaderOptions,
} from '../../../lib/handshake/http/body-reader';
import type { HeaderList } from '../../../lib/handshake/http/headers';
import { chunkings, rng } from '../../helpers/bytes';

type Head = { statusCode: number; headers: HeaderList };

const CHUNKED: HeaderList = [['Transfer-Encoding', 'chunked']];
const length = (n: number | string): HeaderList => [['Content-Length', String(n)]];

/** Feeds every chunk (then EOF when `eof`); returns the body, whether it ended, and the reader. */
function read(
  head: Head,
  chunks: readonly Buffer[],
  eof = false,
  options: BodyReaderOptions = {},
): { body: Buffer; done: boolean; reader: BodyReader } {
  const reader = new BodyReader(head, options);
  const pieces: Buffer[] = [];
  for (const chunk of chunks) pieces.push(...reader.push(chunk));
  if (eof) reader.end();
  return { body: Buffer.concat(pieces), done: reader.done, reader };
}

/** The body must decode the same under every chunking of `wire`, also with bytes after it. */
function expectInvariant(head: Head, wire: Buffer, body: string, eof = false): void {
  const extra = eof ? Buffer.alloc(0) : Buffer.from('HTTP/1.1 200 OK\r\n', 'latin1');
  let runs = 0;
  for (const data of [wire, Buffer.concat([wire, extra])]) {
    for (const chunks of chunkings(data)) {
      const got = read(head, chunks, eof);
      expect(got.body.toString('latin1'), `chunking ${chunks.map((c) => c.length).join('+')}`).to.equal(body);
      expect(got.done).to.equal(true);
      runs++;
    }
  }
  expect(runs).to.be.greaterThan(2 * wire.length);
}

function expectRemote(fn: () => unknown, code: string, message?: RegExp): RemoteProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(RemoteProtocolError);
  const err = caught as RemoteProtocolError;
  expect(err.code).to.equal(code);
  // The response is already the server's answer: nothing to send back.
  expect(err.eventHint).to.equal(undefined);
  if (message) expect(err.message).to.match(message);
  return err;
}

describe('handshake/http/body-reader', () => {
  describe('framing (RFC 9112 6.3)', () => {
    const framings: Array<[string, Head, BodyFraming, boolean]> = [
      ['RFC 9112 6.3 (1): 1xx has no body', { statusCode: 100, headers: length(5) }, 'none', true],
      ['RFC 9112 6.3 (1): 101 has no body', { statusCode: 101, headers: CHUNKED }, 'none', true],
      ['RFC 9112 6.3 (1): 204 has no body', { statusCode: 204, headers: length(5) }, 'none', true],
      ['RFC 9112 6.3 (1): 304 has no body', { statusCode: 304, headers: CHUNKED }, 'none', true],
      [
        'RFC 9112 6.3 (4): chunked as the final coding',
        { statusCode: 400, headers: [['Transfer-Encoding', 'gzip, Chunked']] },
        'chunked',
        false,
      ],
      [
        'RFC 9112 6.3 (4): chunked across repeated fields',
        {
          statusCode: 400,
          headers: [
            ['Transfer-Encoding', 'gzip'],
            ['transfer-encoding', 'chunked'],
          ],
        },
        'chunked',
        false,
      ],
      [
        'RFC 9112 6.3 (4): chunked not final in a response means read until EOF',
        { statusCode: 400, headers: [['Transfer-Encoding', 'chunked, gzip']] },
        'eof',
        false,
      ],
      [
        'RFC 9112 6.3 (3): Transfer-Encoding overrides Content-Length',
        { statusCode: 400, headers: [...length(3), ...CHUNKED] },
        'chunked',
        false,
      ],
      ['RFC 9112 6.3 (5): Content-Length', { statusCode: 403, headers: length(10) }, 'length', false],
      ['RFC 9112 6.3 (5): Content-Length 0 is done at once', { statusCode: 403, headers: length(0) }, 'length', true],
      [
        'RFC 9110 8.6: identical Content-Length values are one value',
        {
          statusCode: 403,
          headers: [
            ['Content-Length', '7, 7'],
            ['Content-Length', '7'],
          ],
        },
        'length',
        false,
      ],
      ['RFC 9112 6.3 (8): no framing headers means read until EOF', { statusCode: 500, headers: [] }, 'eof', false],
    ];
    for (const [title, head, framing, done] of framings) {
      it(`${title}: ${framing}`, () => {
        const reader = new BodyReader(head);
        expect(reader.framing).to.equal(framing);
        expect(reader.done).to.equal(done);
        if (done) expect(reader.push(Buffer.from('ignored'))).to.deep.equal([]);
      });
    }

    const invalid: Array<[string, HeaderList, RegExp]> = [
      [
        'RFC 9110 8.6: conflicting Content-Length values in one field',
        [['Content-Length', '5, 6']],
        /conflicting Content-Length values: 5, 6/,
      ],
      [
        'RFC 9110 8.6: conflicting Content-Length fields',
        [
          ['Content-Length', '5'],
          ['content-length', '6'],
        ],
        /conflicting/,
      ],
      ['RFC 9110 8.6: negative Content-Length', length('-1'), /invalid Content-Length: "-1"/],
      ['RFC 9110 8.6: signed Content-Length', length('+1'), /invalid Content-Length/],
      ['RFC 9110 8.6: non-numeric Content-Length', length('abc'), /invalid Content-Length/],
      ['RFC 9110 8.6: hexadecimal Content-Length', length('0x10'), /invalid Content-Length/],
      ['RFC 9110 8.6: fractional Content-Length', length('1.5'), /invalid Content-Length/],
      ['RFC 9110 8.6: empty Content-Length', length(''), /empty Content-Length/],
      ['RFC 9110 8.6: Content-Length beyond 2^53', length('9007199254740993'), /too large/],
      ['RFC 9112 7: chunked applied twice', [['Transfer-Encoding', 'chunked, chunked']], /more than once/],
      ['RFC 9112 6.1: empty Transfer-Encoding', [['Transfer-Encoding', ' ']], /empty Transfer-Encoding/],
    ];
    for (const [title, headers, message] of invalid) {
      it(`${title} is ERR_BAD_HTTP`, () => {
        expectRemote(() => new BodyReader({ statusCode: 400, headers }), 'ERR_BAD_HTTP', message);
      });
    }

    it('rejects an invalid maxBodySize with ERR_INVALID_OPTION', () => {
      let caught: unknown;
      try {
        new BodyReader({ statusCode: 400, headers: [] }, { maxBodySize: -1 });
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(LocalProtocolError);
      expect((caught as LocalProtocolError).code).to.equal('ERR_INVALID_OPTION');
    });
  });

  describe('Content-Length bodies', () => {
    it('RFC 9112 6.2: the body is exactly Content-Length bytes, at every chunking, extra bytes ignored', () => {
      expectInvariant({ statusCode: 403, headers: length(13) }, Buffer.from('<h1>Nope</h1>'), '<h1>Nope</h1>');
    });

    it('RFC 9112 6.2: pieces are views of the pushed chunk, not copies', () => {
      const reader = new BodyReader({ statusCode: 403, headers: length(4) });
      const chunk = Buffer.from('abcdef');
      const [piece] = reader.push(chunk);
      expect(piece!.toString()).to.equal('abcd');
      expect(piece!.buffer).to.equal(chunk.buffer);
      expect(reader.done).to.equal(true);
      expect(reader.received).to.equal(4);
    });

    it('RFC 9112 8: EOF before Content-Length bytes arrived is ERR_BAD_HTTP', () => {
      const reader = new BodyReader({ statusCode: 403, headers: length(10) });
      reader.push(Buffer.from('abc'));
      expectRemote(() => reader.end(), 'ERR_BAD_HTTP', /connection closed after 3 of 10 body bytes/);
      expectRemote(() => reader.push(Buffer.from('x')), 'ERR_BAD_HTTP', /after 3 of 10/);
    });

    it('RFC 9112 6.3: a Content-Length above maxBodySize is refused before any byte is read', () => {
      expectRemote(
        () => new BodyReader({ statusCode: 403, headers: length(DEFAULT_MAX_BODY_SIZE + 1) }),
        'ERR_BODY_TOO_LARGE',
        /Content-Length 1048577 exceeds maxBodySize \(1048576 bytes\)/,
      );
      expect(new BodyReader({ statusCode: 403, headers: length(DEFAULT_MAX_BODY_SIZE) }).framing).to.equal('length');
      expectRemote(
        () => new BodyReader({ statusCode: 403, headers: length(11) }, { maxBodySize: 10 }),
        'ERR_BODY_TOO_LARGE',
      );
    });

    it('a 1 MiB body streams out in 1 KiB pieces as views, nothing gathered', () => {
      const reader = new BodyReader({ statusCode: 500, headers: length(DEFAULT_MAX_BODY_SIZE) });
      let total = 0;
      for (let i = 0; i < 1024; i++) {
        const chunk = Buffer.alloc(1024, i & 0xff);
        const out = reader.push(chunk);
        expect(out.length).to.equal(1);
        expect(out[0]!.buffer).to.equal(chunk.buffer);
        total += out[0]!.length;
      }
      expect(total).to.equal(DEFAULT_MAX_BODY_SIZE);
      expect(reader.done).to.equal(true);
    });
  });

  describe('read-until-EOF bodies', () => {
    it('RFC 9112 6.3 (8): the body is everything until end(), at every chunking', () => {
      expectInvariant(
        { statusCode: 500, headers: [] },
        Buffer.from('Internal error\r\n0\r\n\r\n'),
        'Internal error\r\n0\r\n\r\n',
        true,
      );
    });

    it('RFC 9112 6.3 (8): not done until end(), done after', () => {
      const reader = new BodyReader({ statusCode: 500, headers: [] });
      expect(reader.push(Buffer.from('x')).map(String)).to.deep.equal(['x']);
      expect(reader.done).to.equal(false);
      reader.end();
      expect(reader.done).to.equal(true);
      reader.end(); // idempotent
      expect(reader.done).to.equal(true);
    });

    it('maxBodySize bounds a read-until-EOF body', () => {
      const reader = new BodyReader({ statusCode: 500, headers: [] }, { maxBodySize: 10 });
      expect(Buffer.concat(reader.push(Buffer.alloc(10))).length).to.equal(10);
      expectRemote(() => reader.push(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE', /maxBodySize \(10 bytes\)/);
      expect(reader.received).to.equal(10);
    });
  });

  describe('chunked bodies (RFC 9112 7.1)', () => {
    const head: Head = { statusCode: 400, headers: CHUNKED };
    const vectors: Array<[string, string, string, HeaderList]> = [
      [
        'RFC 9112 7.1: three chunks and the last-chunk',
        '4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n',
        'Wikipedia in\r\n\r\nchunks.',
        [],
      ],
      [
        'RFC 9112 7.1: hex sizes in either case, with leading zeros',
        '00a\r\n0123456789\r\n0B\r\nabcdefghijk\r\n000\r\n\r\n',
        '0123456789abcdefghijk',
        [],
      ],
      ['RFC 9112 7.1: an empty body is just the last-chunk', '0\r\n\r\n', '', []],
      [
        'RFC 9112 7.1.1: chunk extensions with token and quoted-string values are ignored',
        '3;name=value ; flag;q="a \\"b\\" c";x = y\r\nabc\r\n0;last\r\n\r\n',
        'abc',
        [],
      ],
      ['RFC 9112 7.1.1: whitespace before the CRLF of a chunk-size line (BWS)', '3 \r\nabc\r\n0\t\r\n\r\n', 'abc', []],
      [
        'RFC 9112 7.1.2: trailer fields are parsed and kept',
        '2\r\nhi\r\n0\r\nExpires: never\r\nX-Checksum:  abc \r\n\r\n',
        'hi',
        [
          ['Expires', 'never'],
          ['X-Checksum', 'abc'],
        ],
      ],
    ];
    for (const [title, wire, body, trailers] of vectors) {
      it(`${title}, at every chunking and with bytes after the body`, () => {
        expectInvariant(head, Buffer.from(wire, 'latin1'), body);
        expect(read(head, [Buffer.from(wire, 'latin1')]).reader.trailers).to.deep.equal(trailers);
      });
    }

    it('RFC 9112 7.1: chunk data is handed out as views as it arrives, before the chunk ends', () => {
      const reader = new BodyReader(head);
      expect(reader.push(Buffer.from('a\r\n01234')).map(String)).to.deep.equal(['01234']);
      const chunk = Buffer.from('56789\r\n');
      const out = reader.push(chunk);
      expect(out.map(String)).to.deep.equal(['56789']);
      expect(out[0]!.buffer).to.equal(chunk.buffer);
      expect(reader.done).to.equal(false);
      expect(reader.push(Buffer.from('0\r\n\r\n'))).to.deep.equal([]);
      expect(reader.done).to.equal(true);
    });

    const rejections: Array<[string, string, string, RegExp]> = [
      ['RFC 9112 7.1: chunk size that is not hex', 'g\r\n', 'ERR_BAD_HTTP', /chunk size is not a hexadecimal number/],
      ['RFC 9112 7.1: empty chunk-size line', '\r\n', 'ERR_BAD_HTTP', /chunk size is not a hexadecimal number/],
      ['RFC 9112 7.1: signed chunk size', '-1\r\n', 'ERR_BAD_HTTP', /hexadecimal/],
      ['RFC 9112 7.1: chunk size with a 0x prefix', '0x5\r\nabcde\r\n0\r\n\r\n', 'ERR_BAD_HTTP', /chunk extension/],
      ['RFC 9112 7.1: chunk size beyond 2^53', '20000000000000\r\n', 'ERR_BAD_HTTP', /chunk size too large/],
      ['RFC 9112 2.2: bare LF after the chunk size', '3\nabc\r\n0\r\n\r\n', 'ERR_BAD_HTTP', /bare LF/],
      [
        'RFC 9112 7.1: chunk data longer than its size',
        '3\r\nabcd\r\n0\r\n\r\n',
        'ERR_BAD_HTTP',
        /not followed by CRLF/,
      ],
      ['RFC 9112 7.1: chunk data followed by a bare LF', '3\r\nabc\n0\r\n\r\n', 'ERR_BAD_HTTP', /not followed by CRLF/],
      [
        'RFC 9112 7.1.1: chunk extension without a name',
        '3;\r\nabc\r\n0\r\n\r\n',
        'ERR_BAD_HTTP',
        /chunk extension \(expected a name\)/,
      ],
      [
        'RFC 9112 7.1.1: chunk extension with an empty value',
        '3;a=\r\nabc\r\n0\r\n\r\n',
        'ERR_BAD_HTTP',
        /expected a value/,
      ],
      [
        'RFC 9112 7.1.1: chunk extension with an unterminated quoted-string',
        '3;a="x\r\nabc\r\n0\r\n\r\n',
        'ERR_BAD_HTTP',
        /malformed quoted-string/,
      ],
      ['RFC 9112 7.1.1: chunk extension without ";"', '3 a\r\nabc\r\n0\r\n\r\n', 'ERR_BAD_HTTP', /expected ";"/],
      [
        'RFC 9112 7.1.1: chunk extension value followed by junk',
        '3;a=b c\r\nabc\r\n0\r\n\r\n',
        'ERR_BAD_HTTP',
        /expected ";"/,
      ],
      ['RFC 9112 7.1.1: CTL in a chunk extension', '3;a\u0001\r\nabc\r\n0\r\n\r\n', 'ERR_BAD_HTTP', /chunk extension/],
      [
        'RFC 9112 5.2: obs-fold in the trailer section',
        '0\r\nA: 1\r\n 2\r\n\r\n',
        'ERR_BAD_HTTP',
        /trailer: obsolete line folding/,
      ],
      [
        'RFC 9112 5: trailer line without a colon',
        '0\r\nnocolon\r\n\r\n',
        'ERR_BAD_HTTP',
        /trailer: header line has no colon/,
      ],
      [
        'RFC 9112 5.1: trailer with whitespace before the colon',
        '0\r\nA : 1\r\n\r\n',
        'ERR_BAD_HTTP',
        /whitespace between header name and colon/,
      ],
      [
        'RFC 9112 2.2: trailer ending with a bare LF',
        '0\r\nA: 1\n\r\n',
        'ERR_BAD_HTTP',
        /trailer line ends with a bare LF/,
      ],
    ];
    for (const [title, wire, code, message] of rejections) {
      it(`${title} -> ${code} at every chunking`, () => {
        const data = Buffer.from(wire, 'latin1');
        expectRemote(() => read(head, [data]), code, message);
        for (const chunks of chunkings(data, 5)) expectRemote(() => read(head, chunks), code);
      });
    }

    it('RFC 9112 7.1: EOF in the middle of a chunk, a chunk-size line or the trailers is ERR_BAD_HTTP', () => {
      for (const wire of ['5\r\nab', '5', '5\r\nabcde', '5\r\nabcde\r', '0\r\n', '0\r\nA: 1\r\n']) {
        const reader = new BodyReader(head);
        reader.push(Buffer.from(wire));
        expect(reader.done).to.equal(false);
        expectRemote(() => reader.end(), 'ERR_BAD_HTTP', /connection closed in the middle of a chunked body/);
      }
      const complete = new BodyReader(head);
      complete.push(Buffer.from('0\r\n\r\n'));
      complete.end();
      expect(complete.done).to.equal(true);
    });

    it('maxBodySize: a chunk size that would exceed it is refused when announced', () => {
      const reader = new BodyReader(head, { maxBodySize: 10 });
      expect(Buffer.concat(reader.push(Buffer.from('6\r\nabcdef\r\n'))).toString()).to.equal('abcdef');
      expectRemote(() => reader.push(Buffer.from('5\r\n')), 'ERR_BODY_TOO_LARGE', /maxBodySize \(10 bytes\)/);
      const exact = read(head, [Buffer.from('6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n')], false, { maxBodySize: 10 });
      expect(exact.body.toString()).to.equal('abcdefghij');
    });

    it('a chunk-size line longer than MAX_CHUNK_LINE_SIZE is refused, the held line stays bounded', () => {
      const reader = new BodyReader(head);
      reader.push(Buffer.from('1;x='));
      let caught: unknown = null;
      let pushed = 0;
      while (caught === null && pushed < 1024 * 1024) {
        try {
          reader.push(Buffer.alloc(1024, 0x61));
        } catch (err) {
          caught = err;
        }
        pushed += 1024;
        expect(reader.buffered).to.be.at.most(MAX_CHUNK_LINE_SIZE);
      }
      expectRemote(() => reader.push(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE', /chunk-size line longer than 4096 bytes/);
      expect(pushed).to.be.at.most(MAX_CHUNK_LINE_SIZE + 1024);
    });

    it('a trailer section larger than MAX_TRAILER_SIZE is refused, the held bytes stay bounded', () => {
      const reader = new BodyReader(head);
      reader.push(Buffer.from('0\r\n'));
      const line = Buffer.from(`X: ${'a'.repeat(1019)}\r\n`);
      let caught: unknown = null;
      let pushed = 0;
      while (caught === null && pushed < 1024 * 1024) {
        try {
          reader.push(line);
        } catch (err) {
          caught = err;
        }
        pushed += line.length;
        expect(reader.buffered).to.be.at.most(MAX_TRAILER_SIZE);
      }
      expectRemote(() => reader.push(Buffer.alloc(1)), 'ERR_BODY_TOO_LARGE', /trailer section larger than 16384 bytes/);
      expect(pushed).to.be.at.most(MAX_TRAILER_SIZE + 1024);
    });

    it('more than 100 trailer fields are refused', () => {
      const fields = Array.from({ length: 101 }, (_, i) => `T${i}: v\r\n`).join('');
      expectRemote(
        () => read(head, [Buffer.from(`0\r\n${fields}\r\n`)]),
        'ERR_BODY_TOO_LARGE',
        /more than 100 trailer fields/,
      );
      const ok = read(head, [Buffer.from(`0\r\n${fields.slice(fields.indexOf('T1:'))}\r\n`)]);
      expect(ok.reader.trailers.length).to.equal(100);
    });

    it('fuzz: random bytes give data, or a RemoteProtocolError, nothing else; memory stays bounded', () => {
      const rand = rng(7);
      const alphabet = Buffer.from('0123456789aAfF;="\\ \t\r\n:xZ', 'latin1');
      for (let run = 0; run < 2000; run++) {
        const len = Math.floor(rand() * 80);
        const data = Buffer.from(Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]!));
        const reader = new BodyReader(head, { maxBodySize: 64 });
        try {
          for (const piece of reader.push(data)) expect(piece.length).to.be.at.most(64);
          expect(reader.received).to.be.at.most(64);
        } catch (err) {
          expect(err).to.be.instanceOf(RemoteProtocolError);
        }
      }
    });
  });
});
