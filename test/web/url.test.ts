/**
 * Mirror test for lib/web/url: the URL and subprotocol checks of the WHATWG WebSocket
 * constructors (the WebSockets standard, "new WebSocket(url, protocols)").
 */
import { expect } from 'chai';
import { parseProtocols, parseWebSocketUrl } from '../../lib/web/url';
import { thrown } from '../helpers/dom-exception';

function syntaxErrorOf(fn: () => unknown): DOMException {
  const error = thrown(fn);
  expect(error.name).to.equal('SyntaxError');
  return error;
}

describe('web/url', () => {
  it('ws: and wss: URLs pass as they are; http: and https: become ws: and wss:', () => {
    expect(parseWebSocketUrl('ws://127.0.0.1:8080/a?b=c').href).to.equal('ws://127.0.0.1:8080/a?b=c');
    expect(parseWebSocketUrl('wss://example.com').href).to.equal('wss://example.com/');
    expect(parseWebSocketUrl('http://example.com/x').href).to.equal('ws://example.com/x');
    expect(parseWebSocketUrl('https://example.com:8443/x').href).to.equal('wss://example.com:8443/x');
    expect(parseWebSocketUrl(new URL('ws://h/p')).href).to.equal('ws://h/p');
  });

  it('a relative URL resolves against the base, and without one is a SyntaxError', () => {
    expect(parseWebSocketUrl('/chat', 'http://example.com/page').href).to.equal('ws://example.com/chat');
    syntaxErrorOf(() => parseWebSocketUrl('/chat'));
  });

  it('another scheme, a fragment (even an empty one) or an unparsable URL is a SyntaxError', () => {
    expect(syntaxErrorOf(() => parseWebSocketUrl('ftp://example.com/')).message).to.include("'ftp' is not allowed");
    expect(syntaxErrorOf(() => parseWebSocketUrl('ws://example.com/#top')).message).to.include('fragment');
    syntaxErrorOf(() => parseWebSocketUrl('ws://example.com/#'));
    syntaxErrorOf(() => parseWebSocketUrl('ws://exa mple.com/'));
  });

  it('subprotocols: a string is a list of one; each must be a token and appear once', () => {
    expect(parseProtocols(undefined)).to.deep.equal([]);
    expect(parseProtocols('chat')).to.deep.equal(['chat']);
    expect(parseProtocols(['chat', 'superchat', 'v1.json'])).to.deep.equal(['chat', 'superchat', 'v1.json']);
    expect(syntaxErrorOf(() => parseProtocols(['a', 'a'])).message).to.include('duplicated');
    for (const bad of ['', 'a b', 'a,b', 'a/b', 'é', 'a"b']) syntaxErrorOf(() => parseProtocols([bad]));
  });
});
