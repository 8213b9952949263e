/** Following a redirect during the opening handshake: `nextHop` and `REDIRECT_STATUSES` (RFC 9110 15.4). */
import { expect } from 'chai';
import type { Headers } from '../../../lib/events';
import { ConnectError } from '../../../lib/stream/client/errors';
import { REDIRECT_STATUSES, nextHop, type RedirectHop } from '../../../lib/stream/client/redirect';
import { parseTarget } from '../../../lib/stream/client/target';

/** The request headers a caller might send: credentials (in odd cases) and others. */
const REQUEST: Headers = [
  ['Authorization', 'Bearer t0ken'],
  ['cookie', 'session=1'],
  ['Origin', 'https://app.example'],
  ['X-Custom', 'kept'],
  ['AUTHORIZATION', 'Basic second'],
  ['CoOkIe', 'theme=dark'],
];
const WITHOUT_CREDENTIALS: Headers = [
  ['Origin', 'https://app.example'],
  ['X-Custom', 'kept'],
];

interface HopInput {
  from?: string;
  first?: string;
  status?: number;
  response?: Headers;
  request?: Headers;
  count?: number;
  maxRedirects?: number;
}

/** `nextHop` for a redirect from `from` (by default the first URL too) with these response headers. */
function hop(input: HopInput): RedirectHop {
  const from = parseTarget(input.from ?? 'ws://example.com/chat');
  return nextHop(
    from,
    input.status ?? 302,
    input.response ?? [],
    input.request ?? REQUEST,
    input.count ?? 0,
    input.maxRedirects ?? 10,
    input.first === undefined ? from : parseTarget(input.first),
  );
}

/** A redirect to `location` from `from`. */
const to = (location: string, from = 'ws://example.com/chat', extra: HopInput = {}): RedirectHop =>
  hop({ from, response: [['Location', location]], ...extra });

/** Asserts a ConnectError with `code`; returns it. */
function refused(fn: () => unknown, code: string, message?: RegExp): ConnectError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).to.be.instanceOf(ConnectError);
  const error = caught as ConnectError;
  expect(error.code).to.equal(code);
  if (message) expect(error.message).to.match(message);
  return error;
}

describe('stream/client/redirect', () => {
  it('RFC 9110 15.4: REDIRECT_STATUSES is exactly 301, 302, 303, 307 and 308', () => {
    expect([...REDIRECT_STATUSES].sort()).to.deep.equal([301, 302, 303, 307, 308]);
    for (const status of [300, 304, 305, 306, 200, 101, 400]) expect(REDIRECT_STATUSES.has(status)).to.equal(false);
  });

  describe('where to (RFC 9110 10.2.2: Location is resolved against the current URL)', () => {
    const cases: Array<[string, string, string, string]> = [
      ['an absolute path', 'ws://example.com/chat', '/next?x=1', 'ws://example.com/next?x=1'],
      ['a relative path', 'ws://example.com/a/b', 'c', 'ws://example.com/a/c'],
      ['a dot-segment path', 'ws://example.com/a/b/c', '../d', 'ws://example.com/a/d'],
      ['a query only', 'ws://example.com/chat?x=1', '?x=2', 'ws://example.com/chat?x=2'],
      ['a network-path reference keeps the scheme', 'wss://example.com/', '//other.example/x', 'wss://other.example/x'],
      ['a relative path keeps the port', 'ws://example.com:8080/a', '/b', 'ws://example.com:8080/b'],
      ['an absolute ws: URL', 'ws://example.com/', 'ws://other.example:81/x', 'ws://other.example:81/x'],
      ['an absolute wss: URL', 'ws://example.com/', 'wss://other.example/x', 'wss://other.example/x'],
      ['http: becomes ws:', 'ws://example.com/', 'http://example.com/x', 'ws://example.com/x'],
      ['https: becomes wss:', 'ws://example.com/', 'https://example.com/x', 'wss://example.com/x'],
      ['https: from wss: stays wss:', 'wss://example.com/', 'https://other.example/x', 'wss://other.example/x'],
      ['surrounding whitespace is ignored', 'ws://example.com/', '  /next  ', 'ws://example.com/next'],
      [
        'ws+unix: from ws+unix:',
        'ws+unix:/tmp/app.sock:/a',
        'ws+unix:/tmp/other.sock:/x',
        'ws+unix:/tmp/other.sock:/x',
      ],
    ];
    for (const [name, from, location, href] of cases) {
      it(`${name}: ${location} from ${from} is ${href}`, () => {
        expect(to(location, from).target.url.href).to.equal(href);
      });
    }

    it('each redirect status is followed alike (RFC 9110 15.4.4: a 303 is a GET, which the upgrade is)', () => {
      for (const status of REDIRECT_STATUSES) {
        expect(hop({ status, response: [['Location', '/next']] }).target.url.href).to.equal('ws://example.com/next');
      }
    });

    it('RFC 9110 5.1: the Location header name is case-insensitive', () => {
      for (const name of ['location', 'LOCATION', 'LoCaTiOn']) {
        expect(hop({ response: [[name, '/n']] }).target.path).to.equal('/n');
      }
    });

    it('credentials in the Location are the new target’s', () => {
      const { target } = to('ws://bob:pw@other.example/');
      expect(target.authorization).to.equal(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
    });
  });

  describe('credentials across origins (RFC 6454)', () => {
    const sameOrigin: Array<[string, string, string]> = [
      ['the same URL', 'ws://example.com/chat', 'ws://example.com/chat'],
      ['another path', 'ws://example.com/chat', '/other'],
      ['another query', 'ws://example.com/chat', '?room=2'],
      ['the default port written out', 'ws://example.com/chat', 'ws://example.com:80/x'],
      ['http: for ws:', 'ws://example.com/chat', 'http://example.com/x'],
      ['https: for wss:', 'wss://example.com/chat', 'https://example.com/x'],
      ['upper-case host', 'ws://example.com/chat', 'ws://EXAMPLE.COM/x'],
    ];
    for (const [name, from, location] of sameOrigin) {
      it(`same origin (${name}): Authorization and Cookie kept, in any case`, () => {
        const next = to(location, from);
        expect(next.sameOrigin).to.equal(true);
        expect(next.headers).to.deep.equal(REQUEST);
      });
    }

    const crossOrigin: Array<[string, string, string]> = [
      ['another host', 'ws://example.com/chat', 'ws://other.example/chat'],
      ['a subdomain', 'ws://example.com/chat', 'ws://www.example.com/chat'],
      ['another port', 'ws://example.com/chat', 'ws://example.com:8080/chat'],
      ['ws: to wss: on the same host', 'ws://example.com/chat', 'wss://example.com/chat'],
      ['ws: to wss: on the same host and port', 'ws://example.com:8443/chat', 'wss://example.com:8443/chat'],
      ['http: to https: (ws: to wss:)', 'ws://example.com/chat', 'https://example.com/chat'],
      ['a unix socket to another', 'ws+unix:/tmp/a.sock:/chat', 'ws+unix:/tmp/b.sock:/chat'],
      ['an IPv4 address for its name', 'ws://localhost/chat', 'ws://127.0.0.1/chat'],
    ];
    for (const [name, from, location] of crossOrigin) {
      it(`cross-origin (${name}): Authorization and Cookie dropped in any case, Origin and X-Custom kept`, () => {
        const next = to(location, from);
        expect(next.sameOrigin).to.equal(false);
        expect(next.headers).to.deep.equal(WITHOUT_CREDENTIALS);
      });
    }

    it('the origin is compared with the first URL’s (connect() keeps sameOrigin false once it was)', () => {
      const back = to('ws://example.com/back', 'ws://other.example/', { first: 'ws://example.com/chat' });
      expect([back.sameOrigin, back.headers]).to.deep.equal([true, REQUEST]);
      const away = to('/still-other', 'ws://other.example/', { first: 'ws://example.com/chat' });
      expect([away.sameOrigin, away.headers]).to.deep.equal([false, WITHOUT_CREDENTIALS]);
    });

    it('the request headers are not changed', () => {
      const request: Headers = [...REQUEST];
      to('ws://other.example/', 'ws://example.com/', { request });
      expect(request).to.deep.equal(REQUEST);
    });
  });

  describe('refusals (ConnectError)', () => {
    const insecure: Array<[string, string]> = [
      ['ws:', 'ws://example.com/chat'],
      ['http: (ws:)', 'http://example.com/chat'],
      ['a ws: URL written without //', 'ws:/chat'],
      ['ws: on another host', 'ws://other.example/'],
      ['ws+unix:', 'ws+unix:/tmp/app.sock:/chat'],
    ];
    for (const [name, location] of insecure) {
      it(`wss: to ${name} is never followed (ERR_INSECURE_REDIRECT)`, () => {
        refused(() => to(location, 'wss://example.com/chat'), 'ERR_INSECURE_REDIRECT', /from wss: to ws(\+unix)?: /);
      });
    }

    for (const from of ['ws://example.com/chat', 'ws://localhost/']) {
      it(`${from} to a unix socket is never followed (ERR_INSECURE_REDIRECT): the network may not point at local sockets`, () => {
        refused(() => to('ws+unix:/var/run/docker.sock:/x', from), 'ERR_INSECURE_REDIRECT', /to a unix socket/);
      });
    }

    it('maxRedirects: count ≥ maxRedirects is ERR_TOO_MANY_REDIRECTS; below it is followed', () => {
      const location: Headers = [['Location', '/next']];
      refused(
        () => hop({ response: location, count: 0, maxRedirects: 0 }),
        'ERR_TOO_MANY_REDIRECTS',
        /^more than 0 redirects/,
      );
      refused(() => hop({ response: location, count: 3, maxRedirects: 3 }), 'ERR_TOO_MANY_REDIRECTS', /more than 3/);
      refused(() => hop({ response: location, count: 4, maxRedirects: 3 }), 'ERR_TOO_MANY_REDIRECTS');
      expect(hop({ response: location, count: 2, maxRedirects: 3 }).target.path).to.equal('/next');
    });

    it('maxRedirects is checked first: a bad Location past the limit is ERR_TOO_MANY_REDIRECTS', () => {
      refused(() => hop({ response: [], count: 1, maxRedirects: 1 }), 'ERR_TOO_MANY_REDIRECTS');
    });

    const bad: Array<[string, Headers, RegExp]> = [
      ['no Location', [['Content-Length', '0']], /^a 302 redirect without a Location$/],
      ['an empty Location', [['Location', '']], /without a Location/],
      ['a blank Location', [['Location', '   ']], /without a Location/],
      [
        'two Location headers',
        [
          ['Location', '/a'],
          ['Location', '/b'],
        ],
        /with several Location headers/,
      ],
      [
        'two identical Location headers',
        [
          ['Location', '/a'],
          ['location', '/a'],
        ],
        /with several Location headers/,
      ],
      ['an unparsable Location', [['Location', 'http://exa mple.com/']], /unusable URL/],
      ['an unclosed IPv6 literal', [['Location', 'ws://[::1/']], /unusable URL/],
      ['an ftp: Location', [['Location', 'ftp://example.com/file']], /unusable URL/],
      ['a mailto: Location', [['Location', 'mailto:a@example.com']], /unusable URL/],
      [
        'a Location with a fragment (RFC 6455 3: a WebSocket URL has none)',
        [['Location', '/next#part']],
        /unusable URL/,
      ],
      ['a ws+unix: Location without a socket path', [['Location', 'ws+unix:']], /unusable URL/],
    ];
    for (const [name, response, message] of bad) {
      it(`${name}: ERR_BAD_REDIRECT`, () => {
        refused(() => hop({ response }), 'ERR_BAD_REDIRECT', message);
      });
    }

    it('an unusable Location keeps the URL error as the cause', () => {
      const error = refused(() => hop({ response: [['Location', 'ftp://x/']] }), 'ERR_BAD_REDIRECT');
      expect(error.cause).to.deep.include({ name: 'LocalProtocolError', code: 'ERR_INVALID_URL' });
    });

    it('the status is in the message', () => {
      refused(() => hop({ status: 307, response: [] }), 'ERR_BAD_REDIRECT', /^a 307 redirect/);
    });

    it('every refusal’s url is the current URL without its credentials', () => {
      const from = 'wss://user:hunter2@example.com/chat?x=1';
      const errors = [
        refused(() => hop({ from, response: [], maxRedirects: 0 }), 'ERR_TOO_MANY_REDIRECTS'),
        refused(() => hop({ from, response: [] }), 'ERR_BAD_REDIRECT'),
        refused(() => hop({ from, response: [['Location', 'ftp://x/']] }), 'ERR_BAD_REDIRECT'),
        refused(() => hop({ from, response: [['Location', 'ws://example.com/']] }), 'ERR_INSECURE_REDIRECT'),
      ];
      for (const error of errors) {
        expect(error.url).to.equal('wss://example.com/chat?x=1');
        expect(error.message).to.not.include('hunter2');
      }
    });
  });
});
