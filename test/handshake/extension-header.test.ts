import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError } from '../../lib/errors';
import { RejectConnectionEvent } from '../../lib/events';
import type { ExtensionParams } from '../../lib/extensions/extension';
import {
  formatExtensionHeader,
  formatExtensionParams,
  parseExtensionHeader,
  serializeExtension,
} from '../../lib/handshake/extension-header';
import { rng } from '../helpers/bytes';

const ext = (name: string, ...params: Array<[string, string | null]>): ExtensionParams => ({ name, params });

function expectBad(values: string[], message: RegExp): void {
  let caught: unknown;
  try {
    parseExtensionHeader(values);
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(RemoteProtocolError);
  const err = caught as RemoteProtocolError;
  expect(err.code).to.equal('ERR_BAD_EXTENSION');
  expect(err.eventHint).to.be.instanceOf(RejectConnectionEvent);
  expect((err.eventHint as RejectConnectionEvent).statusCode).to.equal(400);
  expect(err.message).to.match(message);
}

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).to.be.instanceOf(LocalProtocolError);
  expect((caught as LocalProtocolError).code).to.equal('ERR_INVALID_EXTENSION');
  expect((caught as LocalProtocolError).message).to.match(message);
}

describe('handshake/extension-header', () => {
  describe('parseExtensionHeader', () => {
    const vectors: Array<[string, string[], ExtensionParams[]]> = [
      ['RFC 6455 9.1: a bare extension token', ['permessage-deflate'], [ext('permessage-deflate')]],
      [
        'RFC 6455 9.1: one parameter without a value',
        ['permessage-deflate; client_max_window_bits'],
        [ext('permessage-deflate', ['client_max_window_bits', null])],
      ],
      [
        'RFC 7692 5.1: several parameters with token values',
        ['permessage-deflate; client_max_window_bits; server_max_window_bits=10'],
        [ext('permessage-deflate', ['client_max_window_bits', null], ['server_max_window_bits', '10'])],
      ],
      [
        'RFC 7692 5.1: several offers of the same extension in one field',
        ['permessage-deflate; server_max_window_bits=10, permessage-deflate'],
        [ext('permessage-deflate', ['server_max_window_bits', '10']), ext('permessage-deflate')],
      ],
      [
        'RFC 6455 9.1: "foo, bar; baz=2" (the RFC example)',
        ['foo, bar; baz=2'],
        [ext('foo'), ext('bar', ['baz', '2'])],
      ],
      [
        'RFC 6455 9.1: the same example split over two fields',
        ['foo', 'bar; baz=2'],
        [ext('foo'), ext('bar', ['baz', '2'])],
      ],
      ['RFC 6455 9.1: a quoted-string value is unescaped', ['foo; x="10"'], [ext('foo', ['x', '10'])]],
      ['RFC 6455 9.1: a quoted-pair inside a quoted-string', ['foo; x="1\\0"'], [ext('foo', ['x', '10'])]],
      [
        'RFC 6455 9.1: a quoted value followed by more params and extensions',
        ['foo; x="a-b"; y, bar'],
        [ext('foo', ['x', 'a-b'], ['y', null]), ext('bar')],
      ],
      [
        'RFC 9110 5.6.3: OWS around every separator',
        [' \tfoo \t; \ta \t= \t1 \t;b\t,\t bar ;c= "2" '],
        [ext('foo', ['a', '1'], ['b', null]), ext('bar', ['c', '2'])],
      ],
      ['RFC 9110 5.6.1.2: empty list elements are ignored', [', ,foo,, bar ,', ''], [ext('foo'), ext('bar')]],
      ['RFC 9110 5.6.1.2: a field of only empty elements gives nothing', [' , '], []],
      [
        'RFC 6455 9.1: names and values keep their case and all tchar',
        ["X-Foo; A_b=C.d~e!#$%&'*+^`|"],
        [ext('X-Foo', ['A_b', "C.d~e!#$%&'*+^`|"])],
      ],
      [
        'RFC 6455 9.1: duplicate parameters are kept for the extension to judge',
        ['foo; a=1; a=2'],
        [ext('foo', ['a', '1'], ['a', '2'])],
      ],
      ['RFC 6455 9.1: no values at all', [], []],
    ];
    for (const [title, values, expected] of vectors) {
      it(title, () => {
        expect(parseExtensionHeader(values)).to.deep.equal(expected);
      });
    }

    const rejections: Array<[string, string[], RegExp]> = [
      ['RFC 6455 9.1: a parameter without a name after ";"', ['foo;'], /expected a parameter name at offset 4/],
      ['RFC 6455 9.1: a parameter list without an extension', ['; foo'], /expected an extension name at offset 0/],
      ['RFC 6455 9.1: two tokens separated by a space', ['foo bar'], /unexpected "b" at offset 4/],
      ['RFC 6455 9.1: a parameter with "=" but no value', ['foo; a='], /expected a token or quoted-string value for a/],
      ['RFC 6455 9.1: a parameter with "==" ', ['foo; a==1'], /expected a token or quoted-string value for a/],
      [
        'RFC 6455 9.1: an unterminated quoted-string',
        ['foo; a="10'],
        /unterminated or invalid quoted-string at offset 7/,
      ],
      [
        'RFC 6455 9.1: a quoted value that is not a token (space)',
        ['foo; a="1 0"'],
        /quoted value of a is not a token: "1 0"/,
      ],
      ['RFC 6455 9.1: an empty quoted value', ['foo; a=""'], /quoted value of a is not a token: ""/],
      [
        'RFC 6455 9.1: a comma inside a quoted value is not a separator, and not a token',
        ['foo; a="x,bar", baz'],
        /quoted value of a is not a token: "x,bar"/,
      ],
      [
        'RFC 6455 9.1: a semicolon inside a quoted value is not a token',
        ['foo; a="x;b=1"'],
        /quoted value of a is not a token/,
      ],
      ['RFC 6455 9.1: an escaped DQUOTE leaves a non-token value', ['foo; a="\\""'], /not a token: "\\""/],
      ['RFC 9110 5.6.4: a CTL inside a quoted-string', ['foo; a="1\u00010"'], /invalid quoted-string/],
      ['RFC 6455 9.1: junk after a value', ['foo; a=1 2'], /unexpected "2"/],
      ['RFC 6455 9.1: junk after a quoted value', ['foo; a="1"x'], /unexpected "x"/],
      ['RFC 6455 9.1: a non-tchar in the extension name', ['fo@o'], /unexpected "@"/],
      ['RFC 6455 9.1: a non-ASCII extension name', ['d\u00e9flate'], /unexpected "\u00e9"/],
      ['RFC 6455 9.1: a bare "=" where a name is due', ['=foo'], /expected an extension name/],
      ['RFC 6455 9.1: CR LF inside a value', ['foo; a=1\r\nX: y'], /unexpected "\\r"/],
      ['RFC 6455 9.1: a bad second field fails the whole header', ['foo', 'bar;;'], /expected a parameter name/],
    ];
    for (const [title, values, message] of rejections) {
      it(`${title} -> ERR_BAD_EXTENSION, 400`, () => expectBad(values, message));
    }

    it('fuzz: random input parses or throws ERR_BAD_EXTENSION, nothing else', () => {
      const rand = rng(9);
      const alphabet = 'ab=;, \t"\\\u0001\u00e9-';
      let parsed = 0;
      for (let run = 0; run < 3000; run++) {
        const len = Math.floor(rand() * 24);
        const value = Array.from({ length: len }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
        try {
          const out = parseExtensionHeader([value]);
          parsed++;
          // Whatever parses formats back to something that parses to the same thing.
          expect(parseExtensionHeader([formatExtensionHeader(out)])).to.deep.equal(out);
        } catch (err) {
          expect(err).to.be.instanceOf(RemoteProtocolError);
          expect((err as RemoteProtocolError).code).to.equal('ERR_BAD_EXTENSION');
        }
      }
      expect(parsed).to.be.greaterThan(0);
    });
  });

  describe('serializeExtension / formatExtensionParams', () => {
    it('RFC 6455 9.1: a bare name', () => {
      expect(serializeExtension('permessage-deflate', true)).to.equal('permessage-deflate');
      expect(serializeExtension('permessage-deflate', '')).to.equal('permessage-deflate');
    });

    it('RFC 7692 5.1: a parameter list, normalized to "name; a; b=1"', () => {
      expect(serializeExtension('permessage-deflate', 'client_max_window_bits')).to.equal(
        'permessage-deflate; client_max_window_bits',
      );
      expect(serializeExtension('x', 'a=1;b')).to.equal('x; a=1; b');
      expect(serializeExtension('x', '  a = "15" ;  b ')).to.equal('x; a=15; b');
    });

    it('RFC 6455 9.1: formatExtensionParams writes parameters in order', () => {
      expect(
        formatExtensionParams(
          ext('permessage-deflate', ['server_no_context_takeover', null], ['client_max_window_bits', '12']),
        ),
      ).to.equal('permessage-deflate; server_no_context_takeover; client_max_window_bits=12');
      expect(formatExtensionHeader([ext('a'), ext('b', ['c', '1'])])).to.equal('a, b; c=1');
    });

    it('RFC 6455 9.1: format then parse is the identity', () => {
      const list = [
        ext('permessage-deflate', ['client_max_window_bits', null], ['server_max_window_bits', '10']),
        ext('x-webkit-deflate-frame'),
      ];
      expect(parseExtensionHeader([formatExtensionHeader(list)])).to.deep.equal(list);
    });

    const invalid: Array<[string, () => unknown, RegExp]> = [
      [
        'a name with a space',
        () => serializeExtension('permessage deflate', true),
        /extension name is not a token: "permessage deflate"/,
      ],
      ['an empty name', () => serializeExtension('', true), /extension name is not a token: ""/],
      ['a name with CRLF (header injection)', () => serializeExtension('x\r\nEvil: 1', true), /not a token/],
      [
        'params with CRLF (header injection)',
        () => serializeExtension('x', 'a\r\nEvil: 1'),
        /invalid parameters for extension x/,
      ],
      ['params with a comma (a second extension)', () => serializeExtension('x', 'a, y'), /contain a comma/],
      ['params starting with a comma', () => serializeExtension('x', ',y'), /contain a comma/],
      [
        'params with a bad quoted value',
        () => serializeExtension('x', 'a="1 2"'),
        /invalid parameters for extension x: .*not a token/,
      ],
      ['params with an empty name', () => serializeExtension('x', ';'), /invalid parameters/],
      [
        'a parameter name that is not a token',
        () => formatExtensionParams(ext('x', ['a b', null])),
        /parameter name of x is not a token: "a b"/,
      ],
      [
        'a parameter value that is not a token',
        () => formatExtensionParams(ext('x', ['a', '1 2'])),
        /value of x parameter a is not a token: "1 2"/,
      ],
      [
        'a parameter value with CRLF',
        () => formatExtensionParams(ext('x', ['a', '1\r\nEvil: 1'])),
        /value of x parameter a is not a token/,
      ],
      ['an empty parameter value', () => formatExtensionParams(ext('x', ['a', ''])), /not a token: ""/],
      ['an extension name with a semicolon', () => formatExtensionParams(ext('x;y')), /extension name is not a token/],
    ];
    for (const [title, fn, message] of invalid) {
      it(`RFC 6455 9.1: refuses ${title} with ERR_INVALID_EXTENSION`, () => expectInvalid(fn, message));
    }
  });
});
