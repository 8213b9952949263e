import { expect } from 'chai';
import {
  FIELD_CHAR,
  TCHAR,
  asciiLowerCase,
  excerpt,
  hexByte,
  isToken,
  parseFieldLine,
  scanQuotedString,
  scanToken,
  skipOws,
} from '../../../lib/handshake/http/abnf';
import { hex } from '../../helpers/bytes';

// RFC 9110 5.6.2, written out independently of the table under test.
const TCHAR_SET = new Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

describe('handshake/http/abnf', () => {
  describe('character classes', () => {
    it('RFC 9110 5.6.2: isToken', () => {
      expect(isToken("!#$%&'*+-.^_`|~09azAZ")).to.equal(true);
      for (const bad of ['', 'a b', 'a:b', 'a,b', '"a"', 'a\u00e9', 'a\u0100', 'a\r\n'])
        expect(isToken(bad)).to.equal(false);
    });

    it('RFC 9110 5.6.2: TCHAR holds exactly the 77 tchar octets, over all 256 byte values', () => {
      let count = 0;
      for (let c = 0; c < 256; c++) {
        const want = TCHAR_SET.has(String.fromCharCode(c));
        expect(TCHAR[c] === 1, hexByte(c)).to.equal(want);
        expect(isToken(String.fromCharCode(c)), hexByte(c)).to.equal(want);
        if (want) count++;
      }
      expect(count).to.equal(77);
    });

    it('RFC 9110 5.5: FIELD_CHAR is HTAB, SP, VCHAR and obs-text; no other CTL, not DEL', () => {
      for (let c = 0; c < 256; c++) {
        const want = c === 0x09 || (c >= 0x20 && c <= 0x7e) || c >= 0x80;
        expect(FIELD_CHAR[c] === 1, hexByte(c)).to.equal(want);
      }
    });

    it('RFC 9110 5.1: asciiLowerCase folds A-Z only', () => {
      expect(asciiLowerCase('Sec-WebSocket-KEY')).to.equal('sec-websocket-key');
      expect(asciiLowerCase('azAZ09-_~')).to.equal('azaz09-_~');
      // String.prototype.toLowerCase would fold these; header names are ASCII.
      expect(asciiLowerCase('\u00c0\u212A\u0130')).to.equal('\u00c0\u212A\u0130');
    });
  });

  describe('scanners', () => {
    it('RFC 9110 5.6.2: scanToken stops at the first non-tchar', () => {
      expect(scanToken('permessage-deflate; x=1', 0)).to.equal(18);
      expect(scanToken('permessage-deflate; x=1', 20)).to.equal(21);
      expect(scanToken('a b', 1)).to.equal(1); // already at a non-tchar
      expect(scanToken('abc', 3)).to.equal(3); // at the end
      expect(scanToken('ab\u0100c', 0)).to.equal(2); // not latin1
      expect(scanToken('ab\u00e9c', 0)).to.equal(2); // obs-text is not tchar
    });

    it('RFC 9110 5.6.3: skipOws skips SP and HTAB only', () => {
      expect(skipOws(' \t x', 0)).to.equal(3);
      expect(skipOws('x', 0)).to.equal(0);
      expect(skipOws('a  ', 1)).to.equal(3);
      expect(skipOws('\r\n x', 0)).to.equal(0); // CR and LF are not OWS
      expect(skipOws('\u00a0x', 0)).to.equal(0); // NBSP is not OWS
    });

    it('RFC 9110 5.6.4: scanQuotedString reads qdtext and quoted-pair', () => {
      expect(scanQuotedString('"abc"', 0)).to.deep.equal({ value: 'abc', end: 5 });
      expect(scanQuotedString('x="10"; y', 2)).to.deep.equal({ value: '10', end: 6 });
      expect(scanQuotedString('"a\\"b\\\\c"', 0)).to.deep.equal({ value: 'a"b\\c', end: 9 });
      expect(scanQuotedString('""', 0)).to.deep.equal({ value: '', end: 2 });
      // a comma or semicolon inside the quotes is part of the value
      expect(scanQuotedString('"a, b; c", d', 0)).to.deep.equal({ value: 'a, b; c', end: 9 });
      // HTAB, SP and obs-text are qdtext
      expect(scanQuotedString('"\t \u00e9"', 0)).to.deep.equal({ value: '\t \u00e9', end: 5 });
    });

    it('RFC 9110 5.6.4: scanQuotedString refuses what qdtext and quoted-pair do not allow', () => {
      for (const bad of [
        'abc', // does not start with DQUOTE
        '"abc', // unterminated
        '"abc\\"', // the closing DQUOTE is escaped
        '"a\rb"', // CTL in qdtext
        '"a\u007fb"', // DEL in qdtext
        '"a\\\nb"', // CTL in quoted-pair
        '"a\u0100"', // not latin1
      ]) {
        expect(scanQuotedString(bad, 0), JSON.stringify(bad)).to.equal(null);
      }
    });
  });

  describe('parseFieldLine', () => {
    const line = (text: string): Buffer => Buffer.from(text, 'latin1');

    it('RFC 9112 5: field-name ":" OWS field-value OWS', () => {
      expect(parseFieldLine(line('Host: server.example.com'))).to.deep.equal(['Host', 'server.example.com']);
      expect(parseFieldLine(line('Host:server.example.com'))).to.deep.equal(['Host', 'server.example.com']);
      expect(parseFieldLine(line('X: \t a  b \t'))).to.deep.equal(['X', 'a  b']);
      expect(parseFieldLine(line('Empty:'))).to.deep.equal(['Empty', '']);
      expect(parseFieldLine(line('Host: example.com:8080'))).to.deep.equal(['Host', 'example.com:8080']);
    });

    it('RFC 9110 5.5: obs-text is decoded as latin1, byte for byte', () => {
      expect(parseFieldLine(hex('58 3a 20 63 61 66 e9'))).to.deep.equal(['X', 'caf\u00e9']);
    });

    const rejections: Array<[string, Buffer, RegExp]> = [
      ['RFC 9112 5.2: obs-fold (a leading SP)', line(' folded'), /obs-fold/],
      ['RFC 9112 5.2: obs-fold (a leading HTAB)', line('\tfolded'), /obs-fold/],
      ['RFC 9112 5: no colon', line('Host example.com'), /no colon/],
      ['RFC 9112 5: an empty field-name', line(': v'), /header name is empty/],
      ['RFC 9112 5.1: whitespace between the name and the colon', line('Host : a'), /whitespace between/],
      ['RFC 9110 5.6.2: a non-tchar in the name', line('Ho(st: a'), /invalid character: 0x28/],
      ['RFC 9110 5.5: a bare CR in the value', hex('58 3a 20 61 0d 62'), /0x0d \(bare CR\)/],
      ['RFC 9110 5.5: NUL in the value', hex('58 3a 20 61 00'), /invalid character: 0x00/],
      ['RFC 9110 5.5: DEL in the value', hex('58 3a 20 7f'), /invalid character: 0x7f/],
    ];
    for (const [title, bytes, message] of rejections) {
      it(`${title} is refused with a reason`, () => {
        const got = parseFieldLine(bytes);
        expect(got).to.be.a('string');
        expect(got as string).to.match(message);
      });
    }
  });

  describe('error message helpers', () => {
    it('excerpt quotes at most 64 bytes of untrusted input', () => {
      expect(excerpt(Buffer.from('GET /\r'))).to.equal('"GET /\\r"');
      const long = excerpt(Buffer.alloc(1000, 0x61));
      expect(long).to.equal(`"${'a'.repeat(64)}"...`);
    });

    it('hexByte writes two lower-case hex digits', () => {
      expect(hexByte(0x0a)).to.equal('0x0a');
      expect(hexByte(0xff)).to.equal('0xff');
    });
  });
});
