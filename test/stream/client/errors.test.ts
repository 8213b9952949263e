/** The errors `connect()` rejects with before a WebSocket opens, and `withoutCredentials`. */
import { expect } from 'chai';
import fc from 'fast-check';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Headers } from '../../../lib/events';
import {
  AbortError,
  ConnectError,
  HandshakeRejectedError,
  ProxyRejectedError,
  withoutCredentials,
  type ConnectErrorCode,
} from '../../../lib/stream/client/errors';

const HEADERS: Headers = [
  ['Content-Type', 'text/plain'],
  ['Content-Length', '9'],
];
const BODY = Buffer.from('forbidden');

describe('stream/client/errors', () => {
  describe('ConnectError', () => {
    const codes: ConnectErrorCode[] = [
      'ERR_CONNECT_TIMEOUT',
      'ERR_HANDSHAKE_REJECTED',
      'ERR_PROXY_REJECTED',
      'ERR_TOO_MANY_REDIRECTS',
      'ERR_INSECURE_REDIRECT',
      'ERR_BAD_REDIRECT',
    ];
    for (const code of codes) {
      it(`${code}: name, code, message and url without credentials`, () => {
        const error = new ConnectError('it went wrong', code, 'wss://user:hunter2@example.com/chat?x=1');
        expect(error).to.be.instanceOf(ConnectError).and.instanceOf(Error);
        expect(error).to.deep.include({ name: 'ConnectError', code, url: 'wss://example.com/chat?x=1' });
        expect(error.message).to.equal('it went wrong');
        expect(String(error)).to.equal('ConnectError: it went wrong');
        expect(error.stack).to.match(/^ConnectError: it went wrong\n/);
      });
    }

    it('takes a URL object; keeps the cause', () => {
      const cause = new Error('ETIMEDOUT');
      const error = new ConnectError('timed out', 'ERR_CONNECT_TIMEOUT', new URL('ws://u:p@h:81/x'), { cause });
      expect([error.url, error.cause]).to.deep.equal(['ws://h:81/x', cause]);
      expect(new ConnectError('m', 'ERR_BAD_REDIRECT', 'ws://h/').cause).to.equal(undefined);
    });
  });

  describe('HandshakeRejectedError', () => {
    it('RFC 6455 4.1: another status than 101: a ConnectError with the status, headers and body', () => {
      const error = new HandshakeRejectedError(403, HEADERS, BODY, 'wss://user:hunter2@example.com/chat');
      expect(error).to.be.instanceOf(HandshakeRejectedError).and.instanceOf(ConnectError).and.instanceOf(Error);
      expect(error).to.not.be.instanceOf(ProxyRejectedError);
      expect(error).to.deep.include({
        name: 'HandshakeRejectedError',
        code: 'ERR_HANDSHAKE_REJECTED',
        statusCode: 403,
        url: 'wss://example.com/chat',
      });
      expect(error.headers).to.equal(HEADERS);
      expect(error.body).to.equal(BODY);
      expect(error.message).to.equal('the server rejected the WebSocket handshake with status 403');
      expect(String(error)).to.equal(
        'HandshakeRejectedError: the server rejected the WebSocket handshake with status 403',
      );
    });

    it('the url defaults to empty', () => {
      expect(new HandshakeRejectedError(500, [], Buffer.alloc(0)).url).to.equal('');
    });
  });

  describe('ProxyRejectedError', () => {
    it('RFC 9110 9.3.6: a refused CONNECT: a ConnectError with the proxy without its credentials', () => {
      const headers: Headers = [['Proxy-Authenticate', 'Basic realm="proxy"']];
      const error = new ProxyRejectedError(
        407,
        headers,
        BODY,
        'http://proxyuser:hunter2@proxy.example:3128',
        new URL('wss://user:s3cret@example.com/chat'),
      );
      expect(error).to.be.instanceOf(ProxyRejectedError).and.instanceOf(ConnectError).and.instanceOf(Error);
      expect(error).to.not.be.instanceOf(HandshakeRejectedError);
      expect(error).to.deep.include({
        name: 'ProxyRejectedError',
        code: 'ERR_PROXY_REJECTED',
        statusCode: 407,
        proxy: 'http://proxy.example:3128/',
        url: 'wss://example.com/chat',
      });
      expect(error.headers).to.equal(headers);
      expect(error.body).to.equal(BODY);
      expect(error.message).to.equal('the proxy http://proxy.example:3128/ refused the tunnel with status 407');
      expect(`${error.message} ${error.stack}`).to.not.match(/hunter2|s3cret/);
    });

    it('takes the proxy as a URL object', () => {
      const error = new ProxyRejectedError(403, [], Buffer.alloc(0), new URL('https://u:p@proxy'), 'ws://h/');
      expect([error.proxy, error.url]).to.deep.equal(['https://proxy/', 'ws://h/']);
    });
  });

  describe('AbortError', () => {
    it('named AbortError with code ABORT_ERR, as Node’s own; the reason is the cause', () => {
      const reason = new Error('user cancelled');
      const error = new AbortError(reason);
      expect(error).to.be.instanceOf(AbortError).and.instanceOf(Error);
      expect(error).to.not.be.instanceOf(ConnectError);
      expect(error).to.deep.include({ name: 'AbortError', code: 'ABORT_ERR' });
      expect(error.cause).to.equal(reason);
      expect(error.message).to.equal('the WebSocket connection was aborted');
    });

    it('the same name and code as an aborted Node API', async () => {
      const controller = new AbortController();
      controller.abort();
      const nodes = await sleep(1, undefined, { signal: controller.signal }).catch((error: unknown) => error);
      const ours = new AbortError(controller.signal.reason);
      expect([ours.name, ours.code]).to.deep.equal([(nodes as Error).name, (nodes as { code: string }).code]);
      expect(ours.cause).to.equal(controller.signal.reason);
    });

    it('any reason, undefined included', () => {
      expect(new AbortError(undefined).cause).to.equal(undefined);
      expect(new AbortError('why').cause).to.equal('why');
    });
  });

  describe('withoutCredentials', () => {
    const stripped: Array<[string, string | URL, string]> = [
      ['user and password', 'ws://user:pass@example.com/chat?x=1', 'ws://example.com/chat?x=1'],
      ['a user only', 'wss://user@example.com/', 'wss://example.com/'],
      ['a password only', 'ws://:pass@example.com/', 'ws://example.com/'],
      ['percent-encoded credentials', 'ws://us%40er:p%3Ass@example.com/', 'ws://example.com/'],
      ['a port and an IPv6 literal', 'ws://u:p@[::1]:8080/x', 'ws://[::1]:8080/x'],
      ['a proxy URL', 'http://proxyuser:pw@proxy.example:3128', 'http://proxy.example:3128/'],
      ['a URL object', new URL('https://u:p@example.com/a'), 'https://example.com/a'],
    ];
    for (const [name, url, expected] of stripped) {
      it(`strips ${name}: ${String(url)}`, () => {
        expect(withoutCredentials(url)).to.equal(expected);
      });
    }

    it('a URL object is not changed', () => {
      const url = new URL('ws://u:p@h/');
      withoutCredentials(url);
      expect(url.href).to.equal('ws://u:p@h/');
    });

    const unchanged = [
      'ws://example.com/chat?x=1',
      'wss://[::1]:8443/',
      'http://proxy.example:3128/',
      'ws+unix:/tmp/app.sock:/chat',
      'ws://example.com/a@b', // an @ in the path is not user info
      'ws://example.com/?email=a@b.example',
    ];
    for (const url of unchanged) {
      it(`leaves a URL without credentials unchanged: ${url}`, () => {
        expect(withoutCredentials(url)).to.equal(url);
        expect(withoutCredentials(new URL(url))).to.equal(url);
      });
    }

    const garbage = ['', 'not a url', '::::', 'ws://', 'ws://[', 'http://exa mple.com/', '\u0000\uffff', '%'];
    for (const text of garbage) {
      it(`garbage is returned as it is, without throwing: ${JSON.stringify(text)}`, () => {
        expect(withoutCredentials(text)).to.equal(text);
      });
    }

    const secretGarbage: Array<[string, string]> = [
      ['ws://user:hunter2@exa mple.com/', 'ws://exa mple.com/'],
      ['ws://user:hunter2@[::1/', 'ws://[::1/'],
      ['http://user:hunter2@proxy:port', 'http://proxy:port'],
      ['ws://us@er:hunter2@exa mple/', 'ws://exa mple/'],
      ['ws:user:hunter2@exa mple/', 'ws:exa mple/'],
      ['WS:\\\\user:hunter2@exa mple/', 'WS:\\\\exa mple/'],
      ['//user:hunter2@exa mple/', '//exa mple/'],
    ];
    for (const [text, expected] of secretGarbage) {
      it(`garbage that is not a URL loses what looks like user info: ${JSON.stringify(text)}`, () => {
        expect(withoutCredentials(text)).to.equal(expected);
      });
    }

    it('property: never throws; a URL with credentials comes back without them (fast-check)', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary' }), (text) => typeof withoutCredentials(text) === 'string'),
        { numRuns: 1000 },
      );
      fc.assert(
        fc.property(
          fc.webUrl({ withQueryParameters: true }),
          fc.string({ minLength: 1 }),
          fc.string(),
          (href, user, password) => {
            const url = new URL(href);
            url.username = user;
            url.password = password;
            const out = new URL(withoutCredentials(url));
            url.username = '';
            url.password = '';
            return out.username === '' && out.password === '' && out.href === url.href;
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});
