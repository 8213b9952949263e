/** The client's HTTP/2 pieces (lib/stream/http2/client.ts): ALPN, and asking a session for extended CONNECT. */
import { expect } from 'chai';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { alpnFor, alpnOf, extendedConnectOffered } from '../../../lib/stream/http2/client';

async function h2Server(settings: http2.Settings) {
  const server = http2.createServer({ settings });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('http2/client: the session of an attempt', () => {
  it('alpnFor: h2 then http/1.1 (RFC 7301 3.2: offered h2 alone, a server without it aborts TLS); alpnOf reads a TLS socket', () => {
    expect(alpnFor()).to.deep.equal(['h2', 'http/1.1']);
    expect(alpnOf(new PassThrough())).to.equal('');
    expect(alpnOf(Object.assign(new PassThrough(), { alpnProtocol: 'h2' }))).to.equal('h2');
    expect(alpnOf(Object.assign(new PassThrough(), { alpnProtocol: false }))).to.equal('');
  });

  it('RFC 8441 3: a session still connecting is asked once its SETTINGS arrived (true / false)', async () => {
    for (const enableConnectProtocol of [true, false]) {
      const { server, origin } = await h2Server({ enableConnectProtocol });
      const session = http2.connect(origin);
      try {
        expect(session.connecting).to.equal(true);
        expect(await extendedConnectOffered(session, new AbortController().signal)).to.equal(enableConnectProtocol);
      } finally {
        session.destroy();
        server.close();
      }
    }
  });

  it('a session whose SETTINGS came long ago is answered from them (the PING round trip proves they were read)', async () => {
    const { server, origin } = await h2Server({ enableConnectProtocol: false });
    const session = http2.connect(origin);
    try {
      await new Promise((resolve) => session.once('remoteSettings', resolve));
      expect(await extendedConnectOffered(session, new AbortController().signal)).to.equal(false);
    } finally {
      session.destroy();
      server.close();
    }
  });

  it('an abort while waiting rejects with its reason; a closed session is refused', async () => {
    const { server, origin } = await h2Server({ enableConnectProtocol: false });
    const session = http2.connect(origin);
    try {
      const controller = new AbortController();
      const pending = extendedConnectOffered(session, controller.signal);
      controller.abort(new Error('stop'));
      const error = await pending.then(
        () => null,
        (e: Error) => e,
      );
      // Either the abort or the answer came first; an abort must win when it came first.
      if (error !== null) expect(error.message).to.equal('stop');
      session.destroy();
      const closed = await extendedConnectOffered(session, new AbortController().signal).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(closed).to.equal('the HTTP/2 session is closed');
    } finally {
      server.close();
    }
  });
});
