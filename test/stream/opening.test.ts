/** `Opening`: the server's decision on a request, the rejections it sends, and the client's request. */
import { expect } from 'chai';
import { LocalProtocolError, RemoteProtocolError, WSConnection, type WSEvent } from '../../lib/index';
import {
  NOTHING_NEGOTIATED,
  Opening,
  clientRequest,
  peerFailed,
  type OpeningInit,
  type OpeningOwner,
} from '../../lib/stream/opening';
import { requestHead } from '../attacks/helpers';

/** A server `WSConnection` that received a valid request, and an owner that records what the opening does. */
function setup(hook?: OpeningInit['hook'], extraHeaders: string[] = []) {
  const conn = new WSConnection('server');
  conn.receiveData(requestHead(extraHeaders));
  const request = conn.nextEvent();
  if (request?.type !== 'request') throw new Error('no request');
  const log: string[] = [];
  const sent: Buffer[] = [];
  const causes: Error[] = [];
  const owner: OpeningOwner = {
    send: (event: WSEvent) => {
      log.push(`send ${event.type}`);
      sent.push(conn.send(event));
    },
    opened: () => log.push('opened'),
    endWire: () => log.push('endWire'),
    noteCause: (error) => causes.push(error),
    isDestroyed: () => false,
  };
  const opening = new Opening(owner, { makeExtensions: () => [], hook });
  return { conn, request, opening, log, sent, causes, owner };
}

const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('latin1');

describe('Opening (the stream side of the opening handshake)', () => {
  it('accepts by default when nobody listens to the request (RFC 6455 4.2.2: 101)', () => {
    const { request, opening, log, sent } = setup();
    opening.request(request, () => false);
    expect(log).to.deep.equal(['send accept', 'opened']);
    expect(text(sent)).to.match(/^HTTP\/1\.1 101 /);
  });

  it("waits for a 'request' listener's decision, then rejects with its status and body", () => {
    const { request, opening, log, sent } = setup();
    opening.request(request, () => true);
    expect(log).to.deep.equal([]);
    opening.reject(403, 'no thanks', []);
    expect(log).to.deep.equal(['send reject', 'send reject-data', 'endWire']);
    expect(text(sent)).to.match(/^HTTP\/1\.1 403 [^\r]*\r\n[^]*Content-Length: 9\r\n[^]*\r\n\r\nno thanks$/);
    expect(opening.ended).to.equal('rejected with 403');
    expect(() => opening.accept()).to.throw(LocalProtocolError, /no request is waiting/);
  });

  it('a hook that throws is the application failing: 500, the error noted as the cause', () => {
    const boom = new Error('database down');
    const { request, opening, sent, causes } = setup(() => {
      throw boom;
    });
    opening.request(request, () => false);
    expect(text(sent)).to.match(/^HTTP\/1\.1 500 /);
    expect(causes).to.deep.equal([boom]);
    expect(opening.ended).to.equal('the accept hook failed');
  });

  it("a peer's bad request is answered with the error's rejection (the hint), and the error noted", () => {
    const conn = new WSConnection('server');
    let error: unknown = null;
    try {
      conn.receiveData(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(RemoteProtocolError);
    const log: string[] = [];
    const sent: Buffer[] = [];
    const causes: Error[] = [];
    const opening = new Opening(
      {
        send: (event) => sent.push(conn.send(event)),
        opened: () => log.push('opened'),
        endWire: () => log.push('endWire'),
        noteCause: (e) => causes.push(e),
        isDestroyed: () => false,
      },
      { makeExtensions: () => [] },
    );
    opening.failed(error, true);
    expect(text(sent)).to.match(/^HTTP\/1\.1 4\d\d /);
    expect(log).to.deep.equal(['endWire']);
    expect(causes).to.deep.equal([error]);
    expect(() => opening.failed(new TypeError('a bug'), true)).to.throw(TypeError);
  });

  it('a break that no rejection can answer (open, or mayReject false): the error noted and the output ended; bugs are thrown on', () => {
    const { opening, log, sent, causes } = setup();
    const error = new RemoteProtocolError('bad frame', { closeCode: 1002 });
    opening.failed(error, false);
    expect(sent).to.deep.equal([]);
    expect(log).to.deep.equal(['endWire']);
    expect(causes).to.deep.equal([error]);
    const owner = { noteCause: (e: Error) => causes.push(e), endWire: () => log.push('endWire') };
    peerFailed(owner, error);
    expect(log).to.deep.equal(['endWire', 'endWire']);
    expect(() => peerFailed(owner, new TypeError('a bug'))).to.throw(TypeError);
  });

  it('negotiated(): what the handshake settled, the shared NOTHING_NEGOTIATED when nothing was', () => {
    const plain = setup();
    plain.opening.request(plain.request, () => false);
    expect(plain.opening.negotiated()).to.equal(NOTHING_NEGOTIATED);
    expect(Object.isFrozen(NOTHING_NEGOTIATED)).to.equal(true);
    const chat = setup(() => ({ subprotocol: 'chat' }), ['Sec-WebSocket-Protocol: chat']);
    chat.opening.request(chat.request, () => false);
    expect(chat.log).to.deep.equal(['send accept', 'opened']);
    expect(chat.opening.negotiated()).to.deep.equal({ protocol: 'chat', response: null, url: '' });
    const client = new Opening(setup().owner, {
      makeExtensions: () => [],
      url: 'ws://example.com/chat',
    });
    expect(client.negotiated()).to.deep.equal({ protocol: null, response: null, url: 'ws://example.com/chat' });
  });

  it("clientRequest: the Request from a client's options; refuses a client without one", () => {
    const request = clientRequest({ request: { host: 'example.com', target: '/chat', subprotocols: ['v1'] } });
    expect([request.host, request.target, request.subprotocols]).to.deep.equal(['example.com', '/chat', ['v1']]);
    expect(() => clientRequest({})).to.throw(LocalProtocolError, /needs options.request/);
  });
});
