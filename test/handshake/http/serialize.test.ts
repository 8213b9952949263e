import { expect } from 'chai';
import { HeadParser } from '../../../lib/handshake/http/head-parser';
import type { HeaderList } from '../../../lib/handshake/http/headers';
import { reasonPhrase, serializeRequest, serializeResponse } from '../../../lib/handshake/http/serialize';
import { hex } from '../../helpers/bytes';
import { RFC_REQUEST, RFC_REQUEST_HEADERS, RFC_RESPONSE, RFC_RESPONSE_HEADERS, expectLocal } from '../../helpers/http';

describe('handshake/http/serialize', () => {
  describe('serializers', () => {
    it('RFC 6455 1.2: serializeRequest produces the example request byte for byte', () => {
      expect(serializeRequest('GET', '/chat', RFC_REQUEST_HEADERS).equals(RFC_REQUEST)).to.equal(true);
    });

    it('RFC 6455 1.2: serializeResponse produces the example 101 byte for byte', () => {
      const out = serializeResponse(101, reasonPhrase(101), RFC_RESPONSE_HEADERS);
      expect(out.toString('latin1')).to.equal(RFC_RESPONSE.toString('latin1'));
    });

    it('RFC 9112 4: an empty reason still has the SP after the status code', () => {
      expect(serializeResponse(426, '', [['Sec-WebSocket-Version', '13']]).toString()).to.equal(
        'HTTP/1.1 426 \r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });

    it('RFC 9110 5.5: serialize/parse round trip, including obs-text and HTAB in values', () => {
      const headers: HeaderList = [
        ['X-Latin1', 'caf\u00e9'],
        ['X-Tab', 'a\tb'],
        ['X-Empty', ''],
      ];
      const bytes = serializeResponse(400, 'Bad Request', headers);
      expect(bytes.includes(hex('e9'))).to.equal(true);
      expect(new HeadParser('response').push(bytes)).to.deep.equal({
        version: '1.1',
        statusCode: 400,
        reason: 'Bad Request',
        headers,
      });
    });

    const injections: Array<[string, () => unknown, RegExp]> = [
      [
        'CRLF in a header value',
        () => serializeRequest('GET', '/', [['X-A', 'v\r\nEvil: 1']]),
        /header X-A value contains an invalid character: 0x0d/,
      ],
      [
        'bare LF in a header value',
        () => serializeRequest('GET', '/', [['X-B', 'v\nEvil: 1']]),
        /header X-B value .*0x0a/,
      ],
      ['bare CR in a header value', () => serializeResponse(101, 'OK', [['X-C', 'v\r']]), /header X-C value .*0x0d/],
      ['NUL in a header value', () => serializeResponse(101, 'OK', [['X-D', '\0']]), /header X-D value .*0x00/],
      ['DEL in a header value', () => serializeResponse(101, 'OK', [['X-E', '\u007f']]), /header X-E value .*0x7f/],
      [
        'U+010A (latin1 would truncate it to LF) in a value',
        () => serializeRequest('GET', '/', [['X-F', 'a\u010d\u010aEvil: 1']]),
        /header X-F value .*U\+010D \(not latin1\)/,
      ],
      [
        'a colon in a header name',
        () => serializeRequest('GET', '/', [['X-G: 1\r\nEvil', 'v']]),
        /header name is not a token/,
      ],
      [
        'a space in a header name',
        () => serializeRequest('GET', '/', [['X G', 'v']]),
        /header name is not a token: "X G"/,
      ],
      ['an empty header name', () => serializeResponse(101, 'OK', [['', 'v']]), /header name is not a token: ""/],
      [
        'CRLF in the reason phrase',
        () => serializeResponse(400, 'Bad\r\nEvil: 1', []),
        /reason phrase contains an invalid character: 0x0d/,
      ],
      ['a CTL in the reason phrase', () => serializeResponse(400, 'Bad\u0007', []), /reason phrase .*0x07/],
      ['a space in the method', () => serializeRequest('GET /evil', '/', []), /method is not a token/],
      ['an empty method', () => serializeRequest('', '/', []), /method is not a token/],
      [
        'a space in the target',
        () => serializeRequest('GET', '/a HTTP/1.0\r\nEvil: 1', []),
        /request-target contains an invalid character: 0x20/,
      ],
      ['LF in the target', () => serializeRequest('GET', '/a\n', []), /request-target .*0x0a/],
      ['non-ASCII in the target', () => serializeRequest('GET', '/caf\u00e9', []), /request-target .*0xe9/],
      ['an empty target', () => serializeRequest('GET', '', []), /request-target is empty/],
      ['status 99', () => serializeResponse(99, 'x', []), /status code must be an integer from 100 to 999, got 99/],
      ['status 1000', () => serializeResponse(1000, 'x', []), /got 1000/],
      ['status 200.5', () => serializeResponse(200.5, 'x', []), /got 200.5/],
      ['status NaN', () => serializeResponse(Number.NaN, 'x', []), /got NaN/],
    ];
    for (const [title, fn, message] of injections) {
      it(`RFC 9110 5.5: header injection refused: ${title}`, () => {
        expectLocal(fn, 'ERR_INVALID_HEADER', message);
      });
    }

    it('RFC 9110 15: reasonPhrase for common statuses, empty for unknown ones', () => {
      expect(reasonPhrase(101)).to.equal('Switching Protocols');
      expect(reasonPhrase(400)).to.equal('Bad Request');
      expect(reasonPhrase(403)).to.equal('Forbidden');
      expect(reasonPhrase(404)).to.equal('Not Found');
      expect(reasonPhrase(414)).to.equal('URI Too Long');
      expect(reasonPhrase(426)).to.equal('Upgrade Required');
      expect(reasonPhrase(431)).to.equal('Request Header Fields Too Large');
      expect(reasonPhrase(500)).to.equal('Internal Server Error');
      expect(reasonPhrase(505)).to.equal('HTTP Version Not Supported');
      expect(reasonPhrase(799)).to.equal('');
    });
  });
});
