/** `parseTarget`: what `connect()` makes of a URL (RFC 6455 3, RFC 3986, RFC 7617). */
import { expect } from 'chai';
import { LocalProtocolError } from '../../../lib/errors';
import { parseTarget, type Target } from '../../../lib/stream/client/target';
import { expectLocal } from '../../helpers/http';

/** The target without its URL object, plus the URL's href: comparable with deep equality. */
function plain(target: Target): Omit<Target, 'url'> & { href: string } {
  const { url, ...rest } = target;
  return { href: url.href, ...rest };
}

const basic = (credentials: string): string => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;

describe('stream/client/target', () => {
  describe('ws: and wss: (RFC 6455 3)', () => {
    const cases: Array<[string, string, Partial<ReturnType<typeof plain>>]> = [
      [
        'RFC 6455 3: ws: defaults to port 80; Host without the default port',
        'ws://example.com/chat',
        {
          href: 'ws://example.com/chat',
          secure: false,
          hostname: 'example.com',
          port: 80,
          authority: 'example.com:80',
          host: 'example.com',
          path: '/chat',
          socketPath: null,
          origin: 'ws://example.com:80',
          authorization: null,
        },
      ],
      [
        'RFC 6455 3: wss: defaults to port 443; Host without the default port',
        'wss://example.com/chat',
        {
          href: 'wss://example.com/chat',
          secure: true,
          hostname: 'example.com',
          port: 443,
          authority: 'example.com:443',
          host: 'example.com',
          path: '/chat',
          origin: 'wss://example.com:443',
        },
      ],
      [
        'RFC 6455 4.1: another port goes into Host',
        'ws://example.com:8080/',
        { port: 8080, authority: 'example.com:8080', host: 'example.com:8080', origin: 'ws://example.com:8080' },
      ],
      [
        'RFC 6455 4.1: wss: on another port',
        'wss://example.com:8443/',
        { secure: true, port: 8443, authority: 'example.com:8443', host: 'example.com:8443' },
      ],
      [
        'RFC 6455 4.1: ws: on 443 is not the default port: Host keeps it',
        'ws://example.com:443/',
        { secure: false, port: 443, host: 'example.com:443' },
      ],
      [
        'RFC 6455 4.1: wss: on 80 is not the default port: Host keeps it',
        'wss://example.com:80/',
        { secure: true, port: 80, host: 'example.com:80' },
      ],
      [
        'RFC 3986 6.2.3: an explicit default port is the same as none',
        'ws://example.com:80/',
        { href: 'ws://example.com/', port: 80, host: 'example.com', origin: 'ws://example.com:80' },
      ],
      [
        'http: is taken as ws:',
        'http://example.com/x',
        { href: 'ws://example.com/x', secure: false, port: 80, origin: 'ws://example.com:80' },
      ],
      [
        'https: is taken as wss:',
        'https://example.com/x',
        { href: 'wss://example.com/x', secure: true, port: 443, origin: 'wss://example.com:443' },
      ],
      [
        'http: on port 443 becomes ws: on port 443',
        'http://example.com:443/',
        { href: 'ws://example.com:443/', secure: false, port: 443, host: 'example.com:443' },
      ],
      [
        'https: on port 80 becomes wss: on port 80',
        'https://example.com:80/',
        { href: 'wss://example.com:80/', secure: true, port: 80, host: 'example.com:80' },
      ],
      ['RFC 6455 3: path and query are the request target', 'ws://example.com/a/b?x=1&y=2', { path: '/a/b?x=1&y=2' }],
      ['RFC 6455 3: an empty path is /', 'ws://example.com', { href: 'ws://example.com/', path: '/' }],
      ['RFC 6455 3: an empty path with a query is /?query', 'ws://example.com?x=1', { path: '/?x=1' }],
      [
        'WHATWG URL: an empty query (a bare ?) leaves no ? in the request target',
        'ws://example.com/a?',
        { path: '/a' },
      ],
      [
        'RFC 3986 3.2.2: the host name is case-insensitive (lower-cased)',
        'ws://EXAMPLE.com/',
        { hostname: 'example.com', host: 'example.com' },
      ],
      [
        'an IPv4 address',
        'ws://127.0.0.1:9001/',
        { hostname: '127.0.0.1', port: 9001, authority: '127.0.0.1:9001', host: '127.0.0.1:9001' },
      ],
      [
        'RFC 3986 3.2.2: an IPv6 literal: brackets in Host and the authority, none for the socket',
        'ws://[::1]:8080/x',
        {
          href: 'ws://[::1]:8080/x',
          hostname: '::1',
          port: 8080,
          host: '[::1]:8080',
          authority: '[::1]:8080',
          path: '/x',
          origin: 'ws://[::1]:8080',
        },
      ],
      [
        'RFC 3986 3.2.2: an IPv6 literal on the default port',
        'wss://[::1]/',
        { hostname: '::1', port: 443, host: '[::1]', authority: '[::1]:443', origin: 'wss://[::1]:443' },
      ],
      [
        'RFC 5952: an IPv6 literal is in its canonical form',
        'ws://[2001:DB8:0:0:0:0:0:1]/',
        { hostname: '2001:db8::1', host: '[2001:db8::1]', authority: '[2001:db8::1]:80' },
      ],
    ];
    for (const [name, input, expected] of cases) {
      it(`${name}: ${input}`, () => {
        expect(plain(parseTarget(input))).to.deep.include(expected);
      });
    }

    it('a URL object is taken as its string; the caller’s object is not changed', () => {
      const url = new URL('http://example.com/x?y=1');
      const target = parseTarget(url);
      expect([target.url.href, target.path]).to.deep.equal(['ws://example.com/x?y=1', '/x?y=1']);
      expect(url.href).to.equal('http://example.com/x?y=1');
      expect(target.url).to.not.equal(url);
    });
  });

  describe('credentials (RFC 7617)', () => {
    it('RFC 7617 2: the RFC’s example: Aladdin / open sesame', () => {
      expect(parseTarget('ws://Aladdin:open%20sesame@example.com/').authorization).to.equal(
        'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==',
      );
    });

    it('RFC 3986 3.2.1: percent-encoded user and password are decoded first (us@er / p:ss)', () => {
      const target = parseTarget('ws://us%40er:p%3Ass@h/');
      expect(target.authorization).to.equal('Basic dXNAZXI6cDpzcw==');
      expect(target.authorization).to.equal(basic('us@er:p:ss'));
    });

    it('RFC 7617 2: a user name only: user and an empty password', () => {
      expect(parseTarget('ws://alice@h/').authorization).to.equal('Basic YWxpY2U6');
    });

    it('RFC 7617 2: a password only: an empty user', () => {
      expect(parseTarget('ws://:secret@h/').authorization).to.equal(basic(':secret'));
    });

    it('RFC 7617 2.1: credentials are UTF-8', () => {
      expect(parseTarget('ws://%C3%A9t%C3%A9:%E2%82%AC@h/').authorization).to.equal(basic('été:€'));
      expect(parseTarget('ws://été:€@h/').authorization).to.equal(basic('été:€'));
    });

    it('no credentials: no authorization; the URL keeps them but the Host does not', () => {
      expect(parseTarget('ws://h/').authorization).to.equal(null);
      const target = parseTarget('ws://u:p@h:81/');
      expect([target.host, target.authority, target.origin]).to.deep.equal(['h:81', 'h:81', 'ws://h:81']);
    });

    const malformed = ['ws://us%ZZer:p@h/', 'ws://u:%C0@h/', 'ws://u:%E2%82@h/', 'ws://%@h/'];
    for (const input of malformed) {
      it(`RFC 3986 2.1: credentials that are not valid percent-encoded UTF-8 are refused (ERR_INVALID_URL): ${input}`, () => {
        expectLocal(() => parseTarget(input), 'ERR_INVALID_URL', /credentials/);
      });
    }
  });

  describe('ws+unix: (a unix socket, as ws writes it)', () => {
    const cases: Array<[string, string, Partial<ReturnType<typeof plain>>]> = [
      [
        'the socket path, then the request path and query after its ":"',
        'ws+unix:/tmp/app.sock:/chat?x=1',
        {
          secure: false,
          hostname: '',
          port: 0,
          socketPath: '/tmp/app.sock',
          path: '/chat?x=1',
          host: 'localhost',
          authority: 'localhost:80',
          origin: 'ws+unix:///tmp/app.sock',
          authorization: null,
        },
      ],
      ['no request path: /', 'ws+unix:/tmp/app.sock', { socketPath: '/tmp/app.sock', path: '/', host: 'localhost' }],
      ['an empty request path after ":": /', 'ws+unix:/tmp/app.sock:', { socketPath: '/tmp/app.sock', path: '/' }],
      ['a request path without its /', 'ws+unix:/tmp/app.sock:chat', { socketPath: '/tmp/app.sock', path: '/chat' }],
      ['a query without a request path', 'ws+unix:/tmp/app.sock?x=1', { socketPath: '/tmp/app.sock', path: '/?x=1' }],
      ['with an empty authority (//)', 'ws+unix:///tmp/app.sock:/chat', { socketPath: '/tmp/app.sock', path: '/chat' }],
      ['a percent-encoded socket path is decoded', 'ws+unix:/tmp/my%20app.sock', { socketPath: '/tmp/my app.sock' }],
      ['%3A belongs to the socket path', 'ws+unix:/tmp/a%3Ab.sock:/x', { socketPath: '/tmp/a:b.sock', path: '/x' }],
      ['the request path stays percent-encoded', 'ws+unix:/tmp/s.sock:/chat%20room', { path: '/chat%20room' }],
      ['a relative socket path', 'ws+unix:app.sock:/x', { socketPath: 'app.sock', path: '/x' }],
    ];
    for (const [name, input, expected] of cases) {
      it(`${name}: ${input}`, () => {
        expect(plain(parseTarget(input))).to.deep.include(expected);
      });
    }

    it('RFC 3986 2.1: a socket path that is not valid percent-encoding is refused (ERR_INVALID_URL)', () => {
      expectLocal(() => parseTarget('ws+unix:/tmp/a%ZZ.sock'), 'ERR_INVALID_URL');
      expectLocal(() => parseTarget('ws+unix:/tmp/a%C0.sock:/x'), 'ERR_INVALID_URL');
    });
  });

  describe('refusals (ERR_INVALID_URL)', () => {
    const refused: Array<[string, string, RegExp]> = [
      ['RFC 6455 3: a fragment', 'ws://h/#x', /fragment/],
      ['RFC 6455 3: even an empty fragment', 'ws://h/#', /fragment/],
      ['RFC 6455 3: an empty fragment without a path', 'ws://h#', /fragment/],
      ['RFC 6455 3: a fragment after a query', 'wss://h/a?b=1#c', /fragment/],
      ['RFC 6455 3: a fragment on http:', 'http://h/#x', /fragment/],
      ['RFC 6455 3: a fragment on ws+unix:', 'ws+unix:/tmp/s.sock:/x#y', /fragment/],
      ['an ftp: URL', 'ftp://example.com/', /unsupported URL scheme ftp:/],
      ['a file: URL', 'file:///tmp/s.sock', /unsupported URL scheme file:/],
      ['a javascript: URL', 'javascript:alert(1)', /unsupported URL scheme javascript:/],
      ['a string that is not a URL', 'not a url', /not a valid URL/],
      ['an empty string', '', /not a valid URL/],
      ['a host with a space', 'ws://exa mple.com/', /not a valid URL/],
      ['an unclosed IPv6 literal', 'ws://[::1/', /not a valid URL/],
      ['a port out of range', 'ws://h:65536/', /not a valid URL/],
      ['no host', 'ws://', /not a valid URL/],
      ['a relative URL without a base', '/chat', /not a valid URL/],
      ['ws+unix: without a socket path', 'ws+unix:', /no socket path/],
      ['ws+unix: with only a request path', 'ws+unix::/chat', /no socket path/],
    ];
    for (const [name, input, message] of refused) {
      it(`${name}: ${JSON.stringify(input)}`, () => {
        expectLocal(() => parseTarget(input), 'ERR_INVALID_URL', message);
      });
    }

    const secretive = [
      'ws://user:hunter2@exa mple.com/',
      'ws://user:hunter2@[::1/',
      'ws://user:hunter2@h:99999/',
      'ws:user:hunter2@exa mple/',
      'ws://user:hunter2@h/#frag',
      'ftp://user:hunter2@h/',
      'ws+unix://user:hunter2@/tmp/s.sock',
      'ws://user:hunter2@h:http/',
    ];
    for (const input of secretive) {
      it(`the error message never contains the password: ${JSON.stringify(input)}`, () => {
        let caught: unknown;
        try {
          parseTarget(input);
        } catch (error) {
          caught = error;
        }
        expect(caught).to.be.instanceOf(LocalProtocolError);
        expect((caught as LocalProtocolError).code).to.equal('ERR_INVALID_URL');
        expect((caught as Error).message).to.not.include('hunter2');
      });
    }
  });

  describe('relative URLs (RFC 3986 5.2)', () => {
    const base = new URL('ws://example.com:8080/a/b?q=1');
    const cases: Array<[string, URL, string, string]> = [
      ['an absolute path', base, '/other?x=2', 'ws://example.com:8080/other?x=2'],
      ['a relative path', base, 'next', 'ws://example.com:8080/a/next'],
      ['a query only', base, '?x=2', 'ws://example.com:8080/a/b?x=2'],
      ['a network-path reference keeps the scheme', base, '//other.example/x', 'ws://other.example/x'],
      ['an absolute URL ignores the base', base, 'wss://other.example/x', 'wss://other.example/x'],
      ['an http: URL ignores the base and becomes ws:', base, 'http://other.example/x', 'ws://other.example/x'],
      ['a base of https: makes wss:', new URL('https://example.com/a/'), 'b', 'wss://example.com/a/b'],
    ];
    for (const [name, from, input, href] of cases) {
      it(`${name}: ${input} against ${from.href} is ${href}`, () => {
        expect(parseTarget(input, from).url.href).to.equal(href);
      });
    }

    it('the base is not changed', () => {
      parseTarget('/x', base);
      expect(base.href).to.equal('ws://example.com:8080/a/b?q=1');
    });
  });

  describe('origin (RFC 6454 4: scheme, host, port)', () => {
    const same: Array<[string, string]> = [
      ['ws://example.com/a', 'ws://example.com/b?x=1'],
      ['ws://example.com/', 'ws://example.com:80/'],
      ['wss://example.com/', 'wss://example.com:443/x'],
      ['ws://example.com/', 'http://example.com/'],
      ['wss://example.com/', 'https://example.com/'],
      ['ws://EXAMPLE.com/', 'ws://example.com/'],
      ['ws://u:p@example.com/', 'ws://example.com/'],
      ['ws+unix:/tmp/s.sock:/a', 'ws+unix:/tmp/s.sock:/b'],
    ];
    const different: Array<[string, string]> = [
      ['ws://example.com/', 'wss://example.com/'],
      ['ws://example.com:443/', 'wss://example.com:443/'],
      ['ws://example.com/', 'ws://other.example/'],
      ['ws://example.com/', 'ws://sub.example.com/'],
      ['ws://example.com/', 'ws://example.com:8080/'],
      ['ws://127.0.0.1/', 'ws://[::1]/'],
      ['ws+unix:/tmp/a.sock', 'ws+unix:/tmp/b.sock'],
      ['ws+unix:/tmp/a.sock', 'ws://localhost/'],
    ];
    for (const [a, b] of same) {
      it(`${a} and ${b}: the same origin`, () => {
        expect(parseTarget(a).origin).to.equal(parseTarget(b).origin);
      });
    }
    for (const [a, b] of different) {
      it(`${a} and ${b}: different origins`, () => {
        expect(parseTarget(a).origin).to.not.equal(parseTarget(b).origin);
      });
    }
  });
});
