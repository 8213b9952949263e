/**
 * The HTTP/2 stream under a WebSocket (lib/stream/http2/wiring.ts): RST_STREAM and GOAWAY
 * become coded 1006 causes, over a real node:http2 session on 127.0.0.1.
 */
import { expect } from 'chai';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect, handleHttp2Stream, type WebSocketDuplex } from '../../../lib/index';
import { http2ErrorName } from '../../../lib/stream/http2/wiring';
import { once } from '../../helpers/net';

type CloseArgs = [number, string, boolean, (Error & { code?: string }) | null];

interface H2Server {
  url: string;
  server: http2.Http2Server;
  accepted: Promise<{ ws: WebSocketDuplex; stream: http2.ServerHttp2Stream }>;
}

async function h2Server(): Promise<H2Server> {
  const server = http2.createServer({ settings: { enableConnectProtocol: true } });
  const accepted = new Promise<{ ws: WebSocketDuplex; stream: http2.ServerHttp2Stream }>((resolve) => {
    server.on('stream', (stream, headers) => {
      const ws = handleHttp2Stream(stream, headers);
      ws.once('open', () => resolve({ ws, stream }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, accepted };
}

const closed = (ws: WebSocketDuplex) => once<CloseArgs>(ws, 'close', 10000);

describe('http2/wiring: what HTTP/2 says when a stream ends under a WebSocket', () => {
  it('http2ErrorName names the RFC 9113 7 codes, and unknown ones in hex', () => {
    expect(http2ErrorName(0)).to.equal('NO_ERROR');
    expect(http2ErrorName(http2.constants.NGHTTP2_CANCEL)).to.equal('CANCEL');
    expect(http2ErrorName(13)).to.equal('HTTP_1_1_REQUIRED');
    expect(http2ErrorName(0x1f)).to.equal('0x1f');
  });

  it('RFC 9113 6.4: a peer that resets the stream (RST_STREAM CANCEL) ends the WebSocket with 1006, ERR_HTTP2_STREAM_RESET', async () => {
    const { url, server, accepted } = await h2Server();
    const session = http2.connect(url.replace('ws:', 'http:'));
    session.on('error', () => undefined);
    try {
      const client = await connect(url, { http2: session });
      const { stream } = await accepted;
      const clientClosed = closed(client);
      let errors = 0;
      client.on('error', () => errors++);
      stream.close(http2.constants.NGHTTP2_CANCEL);
      const [code, , wasClean, cause] = await clientClosed;
      expect([code, wasClean]).to.deep.equal([1006, false]);
      expect(cause?.code).to.equal('ERR_HTTP2_STREAM_RESET');
      expect(cause?.message).to.contain('RST_STREAM CANCEL');
      expect(errors).to.equal(0);
      expect(session.closed).to.equal(false); // the session outlives its stream
    } finally {
      session.destroy();
      server.close();
    }
  });

  it('RFC 9113 6.8: a session that goes away with an error (GOAWAY) ends its WebSockets with 1006, ERR_HTTP2_GOAWAY', async () => {
    const { url, server, accepted } = await h2Server();
    try {
      const client = await connect(url, { http2: true });
      const { stream } = await accepted;
      const clientClosed = closed(client);
      stream.session!.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      stream.session!.destroy();
      const [code, , wasClean, cause] = await clientClosed;
      expect([code, wasClean]).to.deep.equal([1006, false]);
      expect(cause?.code).to.equal('ERR_HTTP2_GOAWAY');
      expect(cause?.message).to.contain('ENHANCE_YOUR_CALM');
    } finally {
      server.close();
    }
  });

  it('closing the WebSocket ends its stream cleanly (END_STREAM both ways, no reset), the session stays', async () => {
    const { url, server, accepted } = await h2Server();
    const session = http2.connect(url.replace('ws:', 'http:'));
    try {
      const client = await connect(url, { http2: session });
      const { ws, stream } = await accepted;
      const serverClosed = closed(ws);
      const streamClosed = once(stream, 'close', 5000);
      client.close(4000, 'done');
      const [code, reason, wasClean, cause] = await serverClosed;
      expect([code, reason, wasClean, cause]).to.deep.equal([4000, 'done', true, null]);
      await streamClosed;
      expect(stream.rstCode).to.equal(http2.constants.NGHTTP2_NO_ERROR);
      expect(session.closed).to.equal(false);
    } finally {
      session.destroy();
      server.close();
    }
  });
});
