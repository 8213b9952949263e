/**
 * Interop: Node's built-in WebSocket client (undici; `--experimental-websocket` on
 * Node 20, a global on newer Node) against our server, with compression offered.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { listen, once } from '../helpers/net';
import { requirePeer } from '../helpers/peers';

function nodeFlags(): string[] | null {
  for (const flags of [[], ['--experimental-websocket']]) {
    const r = spawnSync(process.execPath, [...flags, '-e', 'process.exit(typeof WebSocket === "function" ? 0 : 1)']);
    if (r.status === 0) return flags;
  }
  return null;
}

// The client script: connects, sends text and binary of several sizes, reads the
// echoes, closes with 4000, prints a JSON report.
const CLIENT = `
const url = process.argv[1];
const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const ws = new WebSocket(url, ['chat']);
ws.binaryType = 'arraybuffer';
const report = { protocol: null, extensions: null, echoes: [], close: null };
const expected = [];
ws.onopen = () => {
  report.protocol = ws.protocol;
  report.extensions = ws.extensions;
  for (const n of sizes) {
    const text = 'é'.repeat(n >> 1) + 'x'.repeat(n & 1);
    expected.push(text); ws.send(text);
    const bin = new Uint8Array(n).map((_, i) => (i * 7) & 255);
    expected.push(Buffer.from(bin).toString('hex')); ws.send(bin);
  }
};
ws.onmessage = (e) => {
  const got = typeof e.data === 'string' ? e.data : Buffer.from(e.data).toString('hex');
  report.echoes.push(got === expected[report.echoes.length]);
  if (report.echoes.length === expected.length) ws.close(4000, 'finished');
};
ws.onclose = (e) => { report.close = [e.code, e.reason, e.wasClean]; console.log(JSON.stringify(report)); };
ws.onerror = (e) => { console.log(JSON.stringify({ error: String(e.message || e) })); };
`;

describe("interop: Node's built-in WebSocket client (undici)", function () {
  this.timeout(30000);
  const flags = nodeFlags();

  for (const deflate of [false, true]) {
    it(`against our server, compression ${deflate ? 'on' : 'off'}: messages 0 B - 1 MiB, close 4000`, async function () {
      requirePeer(this, flags !== null, "Node's WebSocket global", 'Node >= 20 (with --experimental-websocket on 20)');
      const streams: WebSocketDuplex[] = [];
      const server = http.createServer();
      server.on('upgrade', (req, socket, head) => {
        const ws = handleUpgrade(req, socket, head, {
          perMessageDeflate: deflate,
          selectSubprotocol: (offered) => (offered.includes('chat') ? 'chat' : null),
        });
        streams.push(ws);
        ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
      });
      const srv = await listen(server);
      try {
        const { spawn } = await import('node:child_process');
        const child = spawn(process.execPath, [...flags!, '-e', CLIENT, `ws://127.0.0.1:${srv.port}/`]);
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        await once(child, 'exit', 25000);
        const report = JSON.parse(out.trim().split('\n').pop()!) as {
          protocol: string;
          extensions: string;
          echoes: boolean[];
          close: [number, string, boolean];
        };
        expect(report.protocol).to.equal('chat');
        expect(report.extensions.startsWith('permessage-deflate')).to.equal(deflate);
        expect(report.echoes).to.have.length(14);
        expect(report.echoes.every(Boolean)).to.equal(true);
        // The client reports our reply frame: the same code and reason (CloseConnection.response()).
        expect(report.close).to.deep.equal([4000, 'finished', true]);
        expect(streams).to.have.length(1);
      } finally {
        await srv.close();
      }
    });
  }
});
