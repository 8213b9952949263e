import { expect } from 'chai';
import { asciiLowerCase } from '../../../lib/handshake/http/abnf';
import { getHeader, getHeaderList, hasToken, type HeaderList } from '../../../lib/handshake/http/headers';

describe('handshake/http/headers', () => {
  describe('header helpers', () => {
    const headers: HeaderList = [
      ['Connection', 'keep-alive, Upgrade'],
      ['Upgrade', 'websocket'],
      ['X-List', 'a, "b, c", , d'],
      ['x-list', '"e\\", f"'],
      ['Accept', 'text/html;q="1,0", */*'],
    ];

    it('RFC 9110 5.1: getHeader is case-insensitive and null when absent', () => {
      expect(getHeader(headers, 'UPGRADE')).to.equal('websocket');
      expect(getHeader(headers, 'upgrade')).to.equal('websocket');
      expect(getHeader(headers, 'Sec-WebSocket-Key')).to.equal(null);
    });

    it('RFC 9110 5.3: getHeader combines repeated fields with ", "', () => {
      expect(getHeader(headers, 'X-LIST')).to.equal('a, "b, c", , d, "e\\", f"');
    });

    it('RFC 9110 5.6.1: getHeaderList splits outside quoted-strings and drops empty elements', () => {
      expect(getHeaderList(headers, 'x-list')).to.deep.equal(['a', '"b, c"', 'd', '"e\\", f"']);
      expect(getHeaderList(headers, 'accept')).to.deep.equal(['text/html;q="1,0"', '*/*']);
      expect(getHeaderList(headers, 'missing')).to.deep.equal([]);
      expect(getHeaderList([['A', ' ,\t, ']], 'a')).to.deep.equal([]);
    });

    it('RFC 9110 7.6.1: hasToken finds a token case-insensitively in a list', () => {
      expect(hasToken(headers, 'connection', 'upgrade')).to.equal(true);
      expect(hasToken(headers, 'Connection', 'KEEP-ALIVE')).to.equal(true);
      expect(hasToken(headers, 'Connection', 'close')).to.equal(false);
      expect(hasToken(headers, 'Upgrade', 'WebSocket')).to.equal(true);
      expect(hasToken(headers, 'Missing', 'x')).to.equal(false);
      // a token inside a longer element is not a member
      expect(hasToken([['Connection', 'Upgrade-Insecure']], 'Connection', 'upgrade')).to.equal(false);
    });

    it('hasToken folds ASCII only: U+212A KELVIN SIGN is not "k"', () => {
      expect(hasToken([['Connection', 'keep-alive']], 'connection', '\u212Aeep-alive')).to.equal(false);
      expect(hasToken([['Connection', '\u212Aeep-alive']], 'connection', 'keep-alive')).to.equal(false);
      expect(asciiLowerCase('WebSocket\u212A')).to.equal('websocket\u212A');
    });
  });
});
