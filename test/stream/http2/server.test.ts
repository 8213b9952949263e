/** `handleHttp2Stream` and the request it describes (lib/stream/http2/server.ts), over real node:http2. */
import { expect } from 'chai';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  connect,
  handleHttp2Stream,
  HandshakeRejectedError,
  isWebSocketConnect,
  type Http2UpgradeRequest,
  type UpgradeOptions,
} from '../../../lib/index';
import { once } from '../../helpers/net';

/** A cleartext h2 server whose streams all go to handleHttp2Stream with `options`. */
async function serve(options: UpgradeOptions<Http2UpgradeRequest>) {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  server.on(
    'stream',
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      const ws = handleHttp2Stream(stream, headers, options, rawHeaders);
      ws.on('message', (data, binary) => ws.send(data, { binary }));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `ws://127.0.0.1:${port}/chat?room=1`, close: () => server.close() };
}

/** Send raw headers on a fresh session and collect the answer (status, headers, body). */
async function raw(port: number, headers: http2.OutgoingHttpHeaders) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    await once(session, 'remoteSettings', 5000);
    const stream = session.request(headers, { endStream: false });
    const [response] = await once<[http2.IncomingHttpHeaders]>(stream, 'response', 5000);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    await once(stream, 'end', 5000);
    return { status: response[':status'], headers: response, body: Buffer.concat(chunks).toString() };
  } finally {
    session.destroy();
  }
}

describe('http2/server: handleHttp2Stream', () => {
  it('isWebSocketConnect: only CONNECT with :protocol websocket (RFC 8441 4)', () => {
    expect(isWebSocketConnect({ ':method': 'CONNECT', ':protocol': 'websocket' })).to.equal(true);
    expect(isWebSocketConnect({ ':method': 'CONNECT' })).to.equal(false);
    expect(isWebSocketConnect({ ':method': 'GET', ':protocol': 'websocket' })).to.equal(false);
    expect(isWebSocketConnect({ ':method': 'CONNECT', ':protocol': 'webtransport' })).to.equal(false);
  });

  it('the hooks see an Http2UpgradeRequest: httpVersion 2.0, url, authority, scheme, headers, stream, session, socket', async () => {
    const seen: Http2UpgradeRequest[] = [];
    const { url, close } = await serve({
      accept: (request, req) => {
        seen.push(req);
        return { subprotocol: request.subprotocols[1] ?? null };
      },
    });
    try {
      const ws = await connect(url, { http2: true, subprotocols: ['a', 'b'], headers: { origin: 'https://example' } });
      expect(ws.protocol).to.equal('b');
      expect(ws.response?.httpVersion).to.equal('2');
      const req = seen[0]!;
      expect([req.httpVersion, req.method, req.url, req.scheme]).to.deep.equal([
        '2.0',
        'CONNECT',
        '/chat?room=1',
        'http',
      ]);
      expect(req.authority).to.match(/^127\.0\.0\.1:\d+$/);
      expect(req.headers.origin).to.equal('https://example');
      expect(req.rawHeaders.slice(0, 4)).to.deep.equal([':method', 'CONNECT', ':protocol', 'websocket']);
      expect(req.stream.session).to.equal(req.session);
      expect(req.socket.remoteAddress).to.equal('127.0.0.1');
      ws.close();
      await once(ws, 'close', 5000);
    } finally {
      close();
    }
  });

  it('verifyOrigin refuses with 403; a rejection carries its body (RFC 8441 5: any non-2xx fails)', async () => {
    const { url, close } = await serve({ verifyOrigin: (origin) => origin === 'https://good' });
    try {
      const error = await connect(url, { http2: true, headers: { origin: 'https://evil' } }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(HandshakeRejectedError);
      const rejected = error as HandshakeRejectedError;
      expect(rejected.statusCode).to.equal(403);
      expect(rejected.body.toString()).to.equal('origin not allowed\n');
    } finally {
      close();
    }
  });

  it('a bad extended CONNECT gets its status as HEADERS, the reason as the body (RFC 8441 5, RFC 6455 4.4)', async () => {
    const server = http2.createServer({ settings: { enableConnectProtocol: true } });
    const causes: string[] = [];
    server.on('stream', (stream, headers) => {
      const ws = handleHttp2Stream(stream, headers);
      ws.on('close', (_c: number, _r: string, _w: boolean, cause: (Error & { code?: string }) | null) =>
        causes.push(cause?.code ?? ''),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const base = { ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http', ':path': '/' };
      const v8 = await raw(port, { ...base, 'sec-websocket-version': '8' });
      expect(v8.status).to.equal(400);
      expect(v8.headers['sec-websocket-version']).to.equal('13');
      expect(v8.body).to.contain('this server speaks 13');
      const other = await raw(port, { ...base, ':protocol': 'chat', 'sec-websocket-version': '13' });
      expect(other.status).to.equal(501);
      expect(causes).to.deep.equal(['ERR_UNSUPPORTED_VERSION', 'ERR_BAD_HANDSHAKE']);
    } finally {
      server.close();
    }
  });
});
