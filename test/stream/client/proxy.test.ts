/** Which forward proxy a connection attempt goes through: the `proxy` option, the environment, NO_PROXY. */
import { expect } from 'chai';
import {
  chooseProxy,
  noProxyMatches,
  parseProxy,
  proxyAuthorization,
  proxyEndpoint,
  type ProxyOption,
} from '../../../lib/stream/client/proxy';
import { parseTarget } from '../../../lib/stream/client/target';
import { expectLocal } from '../../helpers/http';

type Env = Record<string, string | undefined>;

/** The proxy chosen for `url`, as its href, or null. */
function chosen(url: string, option: ProxyOption | undefined, env: Env = {}): string | null {
  return chooseProxy(parseTarget(url), option, env)?.href ?? null;
}

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

describe('stream/client/proxy', () => {
  describe('chooseProxy: an explicit proxy', () => {
    const cases: Array<[string, ProxyOption, string]> = [
      ['an http: URL', 'http://proxy.example:3128', 'http://proxy.example:3128/'],
      ['an https: URL with credentials', 'https://user:pass@proxy.example:443', 'https://user:pass@proxy.example/'],
      ['a URL object', new URL('http://proxy.example:8080/'), 'http://proxy.example:8080/'],
      ['a bare host:port is http://', 'proxy.example:3128', 'http://proxy.example:3128/'],
      ['a bare host is http:// on port 80', 'proxy.example', 'http://proxy.example/'],
      ['a bare IPv4 host:port', '10.0.0.1:3128', 'http://10.0.0.1:3128/'],
      ['a bare [IPv6]:port', '[::1]:3128', 'http://[::1]:3128/'],
      ['surrounding whitespace is trimmed', '  http://proxy.example:3128 \n', 'http://proxy.example:3128/'],
      ['the scheme is case-insensitive', 'HTTP://Proxy.Example:3128', 'http://proxy.example:3128/'],
    ];
    for (const [name, option, href] of cases) {
      it(`${name}: ${String(option).trim()} → ${href}`, () => {
        expect(chosen('wss://example.com/', option)).to.equal(href);
        expect(chosen('ws://example.com/', option)).to.equal(href);
      });
    }

    it('an explicit proxy is used for every host: NO_PROXY applies to "env" only', () => {
      expect(chosen('ws://example.com/', 'http://p:1', { no_proxy: '*' })).to.equal('http://p:1/');
    });

    const refused: Array<[string, string]> = [
      ['socks5:', 'socks5://proxy.example:1080'],
      ['socks5h:', 'socks5h://proxy.example:1080'],
      ['socks4:', 'socks4://proxy.example:1080'],
      ['ftp:', 'ftp://proxy.example/'],
      ['ws:', 'ws://proxy.example/'],
      ['a URL without a host', 'http://'],
      ['a string that is not a URL', 'not a proxy'],
      ['an empty string', ''],
      ['a port out of range', 'proxy.example:99999'],
    ];
    for (const [name, option] of refused) {
      it(`${name} is refused (ERR_INVALID_OPTION): ${JSON.stringify(option)}`, () => {
        expectLocal(() => chooseProxy(parseTarget('ws://example.com/'), option, {}), 'ERR_INVALID_OPTION');
      });
    }

    it('the refusal of an unsupported scheme names it; a bad URL is not echoed', () => {
      expectLocal(
        () => parseProxy('socks5://u:secret@p:1080'),
        'ERR_INVALID_OPTION',
        /^unsupported proxy scheme socks5:/,
      );
      expectLocal(() => parseProxy('http://u:secret@p:port'), 'ERR_INVALID_OPTION', /^the proxy is not a valid URL$/);
    });

    it('undefined and false: no proxy, and the environment is not read', () => {
      const env = { https_proxy: 'http://p:1', http_proxy: 'http://p:1', HTTPS_PROXY: 'http://p:1' };
      for (const option of [undefined, false] as const) {
        expect(chosen('wss://example.com/', option, env)).to.equal(null);
        expect(chosen('ws://example.com/', option, env)).to.equal(null);
      }
    });

    it('a unix-socket target never goes through a proxy', () => {
      expect(chosen('ws+unix:/tmp/app.sock:/chat', 'http://p:1')).to.equal(null);
      expect(chosen('ws+unix:/tmp/app.sock', 'env', { http_proxy: 'http://p:1', HTTP_PROXY: 'http://p:1' })).to.equal(
        null,
      );
    });
  });

  describe('chooseProxy: "env" (the variables as curl reads them)', () => {
    const cases: Array<[string, string, Env, string | null]> = [
      ['wss: reads https_proxy', 'wss://example.com/', { https_proxy: 'http://lower:1' }, 'http://lower:1/'],
      ['wss: reads HTTPS_PROXY', 'wss://example.com/', { HTTPS_PROXY: 'http://upper:2' }, 'http://upper:2/'],
      [
        'wss: https_proxy before HTTPS_PROXY',
        'wss://example.com/',
        { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' },
        'http://lower:1/',
      ],
      [
        'wss: an undefined https_proxy falls back to HTTPS_PROXY',
        'wss://example.com/',
        { https_proxy: undefined, HTTPS_PROXY: 'http://upper:2' },
        'http://upper:2/',
      ],
      [
        'wss: an empty https_proxy means none, even with HTTPS_PROXY set',
        'wss://example.com/',
        { https_proxy: '', HTTPS_PROXY: 'http://upper:2' },
        null,
      ],
      ['wss: an empty HTTPS_PROXY means none', 'wss://example.com/', { HTTPS_PROXY: '' }, null],
      [
        'wss: http_proxy is not for wss:',
        'wss://example.com/',
        { http_proxy: 'http://p:1', HTTP_PROXY: 'http://p:1' },
        null,
      ],
      ['ws: reads http_proxy', 'ws://example.com/', { http_proxy: 'http://lower:1' }, 'http://lower:1/'],
      ['ws: reads HTTP_PROXY', 'ws://example.com/', { HTTP_PROXY: 'http://upper:2' }, 'http://upper:2/'],
      [
        'ws: http_proxy before HTTP_PROXY',
        'ws://example.com/',
        { http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2' },
        'http://lower:1/',
      ],
      [
        'ws: https_proxy is not for ws:',
        'ws://example.com/',
        { https_proxy: 'http://p:1', HTTPS_PROXY: 'http://p:1' },
        null,
      ],
      ['ws: an empty http_proxy means none', 'ws://example.com/', { http_proxy: '', HTTP_PROXY: 'http://p:1' }, null],
      ['http: URLs are ws:', 'http://example.com/', { http_proxy: 'http://p:1' }, 'http://p:1/'],
      ['https: URLs are wss:', 'https://example.com/', { https_proxy: 'http://p:1' }, 'http://p:1/'],
      [
        'a bare host:port in the variable is http://',
        'wss://example.com/',
        { https_proxy: 'proxy:3128' },
        'http://proxy:3128/',
      ],
      ['an https: proxy in the variable', 'wss://example.com/', { https_proxy: 'https://proxy' }, 'https://proxy/'],
      ['no variable: no proxy', 'wss://example.com/', {}, null],
      ['no variable, only NO_PROXY: no proxy', 'ws://example.com/', { NO_PROXY: 'other.example' }, null],
      [
        'no_proxy names the host: no proxy',
        'ws://example.com/',
        { http_proxy: 'http://p:1', no_proxy: 'example.com' },
        null,
      ],
      [
        'NO_PROXY names the host: no proxy',
        'wss://example.com/',
        { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example.com' },
        null,
      ],
      [
        'NO_PROXY names another host: the proxy',
        'ws://example.com/',
        { http_proxy: 'http://p:1', NO_PROXY: 'other.example' },
        'http://p:1/',
      ],
      [
        'no_proxy before NO_PROXY',
        'ws://example.com/',
        { http_proxy: 'http://p:1', no_proxy: 'other.example', NO_PROXY: 'example.com' },
        'http://p:1/',
      ],
      [
        'an empty no_proxy hides NO_PROXY',
        'ws://example.com/',
        { http_proxy: 'http://p:1', no_proxy: '', NO_PROXY: '*' },
        'http://p:1/',
      ],
    ];
    for (const [name, url, env, expected] of cases) {
      it(`${name}: ${url} with ${JSON.stringify(env)}`, () => {
        expect(chosen(url, 'env', env)).to.equal(expected);
      });
    }

    it('a bad URL in the variable is refused (ERR_INVALID_OPTION)', () => {
      expectLocal(() => chosen('wss://example.com/', 'env', { https_proxy: 'socks5://p:1080' }), 'ERR_INVALID_OPTION');
    });

    it('a bad URL in the variable is not read when NO_PROXY names the host', () => {
      expect(chosen('wss://example.com/', 'env', { https_proxy: 'socks5://p:1080', no_proxy: '*' })).to.equal(null);
    });
  });

  describe('noProxyMatches (NO_PROXY)', () => {
    const cases: Array<[string, string, string, boolean]> = [
      ['* is every host', '*', 'ws://anything.example/', true],
      ['* is every IP address', '*', 'ws://[::1]:8080/', true],
      ['* among others', 'a.example, *', 'ws://b.example/', true],
      ['an exact host', 'example.com', 'ws://example.com/', true],
      ['a host covers its subdomains', 'example.com', 'ws://www.example.com/', true],
      ['a host covers deeper subdomains', 'example.com', 'ws://a.b.example.com/', true],
      ['a host does not cover another that ends with it', 'example.com', 'ws://badexample.com/', false],
      ['a host does not cover a longer one', 'example.com', 'ws://example.com.evil/', false],
      ['a host does not cover its parent', 'www.example.com', 'ws://example.com/', false],
      ['.example.com covers the domain', '.example.com', 'ws://example.com/', true],
      ['.example.com covers subdomains', '.example.com', 'ws://www.example.com/', true],
      ['.example.com not badexample.com', '.example.com', 'ws://badexample.com/', false],
      ['*.example.com covers the domain', '*.example.com', 'ws://example.com/', true],
      ['*.example.com covers subdomains', '*.example.com', 'ws://www.example.com/', true],
      ['*.example.com not badexample.com', '*.example.com', 'ws://badexample.com/', false],
      ['with a port: that port', 'example.com:8080', 'ws://example.com:8080/', true],
      ['with a port: not the default port', 'example.com:8080', 'ws://example.com/', false],
      ['with a port: not another port', 'example.com:8080', 'wss://example.com:8443/', false],
      ['with a port: subdomains on that port', 'example.com:8080', 'ws://www.example.com:8080/', true],
      ['with the default port written out', 'example.com:443', 'wss://example.com/', true],
      ['case-insensitive entry', 'EXAMPLE.COM', 'ws://example.com/', true],
      ['case-insensitive host', 'example.com', 'ws://WWW.EXAMPLE.COM/', true],
      ['a trailing dot on the entry', 'example.com.', 'ws://example.com/', true],
      ['a trailing dot on the host', 'example.com', 'ws://www.example.com./', true],
      ['an IPv4 address, exact', '10.1.2.3', 'ws://10.1.2.3/', true],
      ['an IPv4 address, another', '10.1.2.3', 'ws://10.1.2.4/', false],
      ['an IPv4 address is not a suffix', '0.0.1', 'ws://10.0.0.1/', false],
      ['an IPv4 address with a port', '10.1.2.3:8080', 'ws://10.1.2.3:8080/', true],
      ['an IPv4 address with another port', '10.1.2.3:8080', 'ws://10.1.2.3/', false],
      ['an IPv4 address is not a host name', '127.0.0.1', 'ws://localhost/', false],
      ['a host name is not an IPv4 address', 'localhost', 'ws://127.0.0.1/', false],
      ['an IPv4 CIDR block, inside', '10.0.0.0/8', 'ws://10.200.3.4/', true],
      ['an IPv4 CIDR block, outside', '10.0.0.0/8', 'ws://11.0.0.1/', false],
      ['an IPv4 CIDR block, its first address', '192.168.1.0/24', 'ws://192.168.1.0/', true],
      ['an IPv4 CIDR block, its last address', '192.168.1.0/24', 'ws://192.168.1.255/', true],
      ['an IPv4 CIDR block, just after it', '192.168.1.0/24', 'ws://192.168.2.0/', false],
      ['an IPv4 CIDR block, /32', '10.1.2.3/32', 'ws://10.1.2.3/', true],
      ['an IPv4 CIDR block, /0', '0.0.0.0/0', 'ws://203.0.113.9/', true],
      ['an IPv4 CIDR block with a port', '10.0.0.0/8:8080', 'ws://10.1.1.1:8080/', true],
      ['an IPv4 CIDR block with another port', '10.0.0.0/8:8080', 'ws://10.1.1.1/', false],
      ['an IPv4 CIDR block is not a host name', '10.0.0.0/8', 'ws://example.com/', false],
      ['an IPv4 CIDR block does not hold IPv6', '0.0.0.0/0', 'ws://[::1]/', false],
      ['an IPv6 address in brackets', '[::1]', 'ws://[::1]:8080/', true],
      ['an IPv6 address without brackets', '::1', 'ws://[::1]/', true],
      ['an IPv6 address, another', '[::1]', 'ws://[::2]/', false],
      ['an IPv6 address with a port', '[::1]:8080', 'ws://[::1]:8080/', true],
      ['an IPv6 address with another port', '[::1]:8080', 'ws://[::1]:9090/', false],
      ['RFC 5952: an IPv6 address in another form', '0:0:0:0:0:0:0:1', 'ws://[::1]/', true],
      ['RFC 5952: an IPv6 address in upper case', '[2001:DB8::1]', 'ws://[2001:db8::1]/', true],
      ['an IPv6 CIDR block, inside', 'fd00::/8', 'ws://[fd12:3456::1]/', true],
      ['an IPv6 CIDR block, outside', 'fd00::/8', 'ws://[fe80::1]/', false],
      ['an IPv6 CIDR block does not hold IPv4', '::/0', 'ws://10.0.0.1/', false],
      ['an IPv6 CIDR block, /128', '2001:db8::1/128', 'ws://[2001:db8::1]/', true],
      ['an invalid CIDR prefix matches nothing', '10.0.0.0/99', 'ws://10.0.0.1/', false],
      ['an invalid CIDR address matches nothing', 'example.com/8', 'ws://example.com/', false],
      ['commas', 'a.example,example.com', 'ws://example.com/', true],
      ['commas and spaces', 'a.example, example.com', 'ws://example.com/', true],
      ['spaces', 'a.example example.com', 'ws://example.com/', true],
      ['tabs and newlines', 'a.example\texample.com\n', 'ws://example.com/', true],
      ['empty items', ',,a.example,, ,', 'ws://example.com/', false],
      ['an empty list', '', 'ws://example.com/', false],
      ['whitespace only', '  \t ', 'ws://example.com/', false],
    ];
    for (const [name, list, url, expected] of cases) {
      it(`${name}: ${JSON.stringify(list)} ${expected ? 'covers' : 'does not cover'} ${url}`, () => {
        expect(noProxyMatches(parseTarget(url), list)).to.equal(expected);
      });
    }
  });

  describe('proxyAuthorization (RFC 9110 11.7.2, RFC 7617)', () => {
    it('RFC 7617 2: the RFC’s example: Aladdin / open sesame', () => {
      expect(proxyAuthorization(parseProxy('http://Aladdin:open%20sesame@proxy:3128'))).to.equal(
        'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
      );
    });

    it('RFC 3986 3.2.1: percent-encoded credentials are decoded first (us@er / p:ss)', () => {
      expect(proxyAuthorization(parseProxy('http://us%40er:p%3Ass@proxy:3128'))).to.equal('Basic dXNAZXI6cDpzcw==');
    });

    it('RFC 7617 2.1: UTF-8; a user only; a password only; none', () => {
      expect(proxyAuthorization(parseProxy('https://%C3%A9t%C3%A9:%E2%82%AC@proxy'))).to.equal(basic('été:€'));
      expect(proxyAuthorization(parseProxy('http://alice@proxy'))).to.equal('Basic YWxpY2U6');
      expect(proxyAuthorization(parseProxy('http://:secret@proxy'))).to.equal(basic(':secret'));
      expect(proxyAuthorization(parseProxy('http://proxy:3128'))).to.equal(null);
    });

    it('RFC 3986 2.1: credentials that are not valid percent-encoded UTF-8 are refused (ERR_INVALID_OPTION)', () => {
      for (const url of ['http://us%ZZer:p@proxy:3128', 'http://u:%C0@proxy', 'http://%@proxy']) {
        expectLocal(() => proxyAuthorization(new URL(url)), 'ERR_INVALID_OPTION', /credentials/);
        // ... and already when the proxy is chosen, before any connection.
        expectLocal(() => parseProxy(url), 'ERR_INVALID_OPTION', /credentials/);
        expectLocal(() => chosen('ws://example.com/', 'env', { http_proxy: url }), 'ERR_INVALID_OPTION');
      }
    });
  });

  describe('proxyEndpoint', () => {
    const cases: Array<[string, { host: string; port: number }]> = [
      ['http://proxy.example', { host: 'proxy.example', port: 80 }],
      ['https://proxy.example', { host: 'proxy.example', port: 443 }],
      ['http://proxy.example:3128', { host: 'proxy.example', port: 3128 }],
      ['https://proxy.example:8443', { host: 'proxy.example', port: 8443 }],
      ['http://proxy.example:80', { host: 'proxy.example', port: 80 }],
      ['https://proxy.example:80', { host: 'proxy.example', port: 80 }],
      ['http://proxy.example:443', { host: 'proxy.example', port: 443 }],
      ['http://user:pass@10.0.0.1:3128', { host: '10.0.0.1', port: 3128 }],
      ['http://[::1]:3128', { host: '::1', port: 3128 }],
      ['https://[2001:db8::1]/', { host: '2001:db8::1', port: 443 }],
    ];
    for (const [url, expected] of cases) {
      it(`${url} → ${expected.host} port ${expected.port}`, () => {
        expect(proxyEndpoint(parseProxy(url))).to.deep.equal(expected);
      });
    }
  });
});
