/**
 * permessage-deflate interop over loopback TCP against `ws` with its perMessageDeflate
 * on, both roles, for each RFC 7692 parameter and a sweep of message sizes (0 B to
 * 16 MiB, text and binary).
 */
import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { connect, handleUpgrade, type PerMessageDeflateOptions } from '../../lib/index';
import { listen, once, until } from '../helpers/net';

const SIZES = [0, 1, 100, 1023, 1024, 65535, 65536, 1 << 20];
const BIG = 16 << 20;
const LIMIT = 32 << 20;

// Each case: our options and ws's options, which must negotiate the named parameter.
const CASES: Array<{ name: string; ours: PerMessageDeflateOptions; ws: Record<string, unknown>; header: RegExp }> = [
  { name: 'defaults', ours: {}, ws: {}, header: /permessage-deflate/ },
  {
    name: 'server_no_context_takeover',
    ours: { serverNoContextTakeover: true },
    ws: { serverNoContextTakeover: true },
    header: /server_no_context_takeover/,
  },
  {
    name: 'client_no_context_takeover',
    ours: { clientNoContextTakeover: true },
    ws: { clientNoContextTakeover: true },
    header: /client_no_context_takeover/,
  },
  {
    name: 'server_max_window_bits=10',
    ours: { serverMaxWindowBits: 10 },
    ws: { serverMaxWindowBits: 10 },
    header: /server_max_window_bits=10/,
  },
  {
    name: 'client_max_window_bits=10',
    ours: { clientMaxWindowBits: 10 },
    ws: { clientMaxWindowBits: 10 },
    header: /client_max_window_bits=10/,
  },
];

function payload(n: number, seed: number): Buffer {
  // Compressible but not trivial: repeated JSON-ish text with a counter.
  const out = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = i % 7 === 0 ? 0x61 + (x % 26) : 0x20 + (i % 90);
  }
  return out;
}

describe('interop: permessage-deflate with ws over loopback TCP', function () {
  this.timeout(120000);

  for (const c of CASES) {
    it(`our client -> ws server, ${c.name}: text and binary, ${SIZES.length} sizes each${c.name === 'defaults' ? ' + 16 MiB' : ''}`, async () => {
      const server = new WebSocketServer({
        host: '127.0.0.1',
        port: 0,
        perMessageDeflate: { threshold: 0, ...c.ws },
        maxPayload: LIMIT,
      });
      await once(server, 'listening');
      let header = '';
      server.on('headers', (headers) => {
        header = headers.find((h) => /^Sec-WebSocket-Extensions/i.test(h)) ?? '';
      });
      server.on('connection', (sock) => sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary })));
      try {
        const port = (server.address() as AddressInfo).port;
        const ws = await connect(`ws://127.0.0.1:${port}/`, {
          perMessageDeflate: { threshold: 0, ...c.ours },
          maxMessageSize: LIMIT,
        });
        expect(ws.extensions.map((e) => e.name)).to.deep.equal(['permessage-deflate']);
        expect(header).to.match(c.header);
        const sizes = c.name === 'defaults' ? [...SIZES, BIG] : SIZES;
        const got: Array<[string | Buffer, boolean]> = [];
        ws.on('message', (d: string | Buffer, b: boolean) => got.push([d, b]));
        const sent: Array<[string | Buffer, boolean]> = [];
        for (const n of sizes) {
          const text = payload(n, n).toString('latin1');
          const bin = payload(n, n + 1);
          sent.push([text, false], [bin, true]);
          ws.send(text);
          ws.send(bin);
        }
        await until(() => got.length === sent.length, 60000, 'echoes');
        for (let i = 0; i < sent.length; i++) {
          const [want, isBinary] = sent[i]!;
          expect(got[i]![1], `#${i} type`).to.equal(isBinary);
          expect(
            Buffer.from(got[i]![0] as string | Buffer).equals(Buffer.from(want as string | Buffer)),
            `#${i} bytes`,
          ).to.equal(true);
        }
        ws.close(1000);
        const [code, , clean] = await once<[number, string, boolean]>(ws, 'close');
        expect([code, clean]).to.deep.equal([1000, true]);
      } finally {
        server.close();
      }
    });

    it(`ws client -> our server, ${c.name}: text and binary, ${SIZES.length} sizes each${c.name === 'defaults' ? ' + 16 MiB' : ''}`, async () => {
      const http_ = http.createServer();
      http_.on('upgrade', (req, socket, head) => {
        const ws = handleUpgrade(req, socket, head, {
          perMessageDeflate: { threshold: 0, ...c.ours },
          maxMessageSize: LIMIT,
        });
        ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
      });
      const srv = await listen(http_);
      try {
        const client = new WebSocket(`ws://127.0.0.1:${srv.port}/`, {
          perMessageDeflate: { threshold: 0, ...c.ws },
          maxPayload: LIMIT,
        });
        const [response] = await Promise.all([once<[http.IncomingMessage]>(client, 'upgrade'), once(client, 'open')]);
        expect(String(response[0].headers['sec-websocket-extensions'])).to.match(c.header);
        const sizes = c.name === 'defaults' ? [...SIZES, BIG] : SIZES;
        const got: Array<[Buffer, boolean]> = [];
        client.on('message', (d, b) => got.push([d as Buffer, b]));
        const sent: Array<[Buffer, boolean]> = [];
        for (const n of sizes) {
          const text = payload(n, n * 3).toString('latin1');
          const bin = payload(n, n * 3 + 1);
          sent.push([Buffer.from(text), false], [bin, true]);
          client.send(text);
          client.send(bin);
        }
        await until(() => got.length === sent.length, 60000, 'echoes');
        for (let i = 0; i < sent.length; i++) {
          expect(got[i]![1], `#${i} type`).to.equal(sent[i]![1]);
          expect(got[i]![0].equals(sent[i]![0]), `#${i} bytes`).to.equal(true);
        }
        client.close(1000);
        const [code] = await once<[number]>(client, 'close');
        expect(code).to.equal(1000);
      } finally {
        await srv.close();
      }
    });
  }
});
