/**
 * Interop over loopback TCP against the two Python peers this library is measured by:
 * `websockets` (asyncio client and server) and `wsproto` (the library we port, driven
 * over a real socket by test/interop/peers/wsproto_peer.py), each in both roles, with
 * permessage-deflate (RFC 7692) off and on.
 *
 * Every cell sends text and binary messages of 0, 125, 126, 65535, 65536 bytes and
 * 1 MiB (the 7-bit, 16-bit and 64-bit length forms at their edges; 16 MiB too against
 * `websockets` without compression), one message of each kind in several frames, a ping, and a close with a
 * code and a reason; both ends check every echo, the pong and the close. The peers print
 * JSON reports that the tests read. A table of the cells and the number of messages each
 * checked is printed at the end.
 */
import { expect } from 'chai';
import * as http from 'node:http';
import { BytesMessage, connect, handleUpgrade, TextMessage, type WebSocketDuplex } from '../../lib/index';
import { listen, once, until } from '../helpers/net';
import { requirePeer } from '../helpers/peers';
import { makeBytes, makeText, PythonProcess, PYTHON_INSTALL, pythonHas } from './python-peers';

const SIZES = [0, 125, 126, 65535, 65536, 1 << 20];
const BIG = 16 << 20;
const MAX_MESSAGE = 32 << 20;

// ---- the matrix printed at the end ----

interface Cell {
  peer: string;
  role: string;
  compression: boolean;
  result: 'pass' | 'FAIL';
  checked: number;
  ms: number;
}
const cells: Cell[] = [];

/** Run one cell: `body` returns the number of messages it checked. */
async function cell(peer: string, role: string, compression: boolean, body: () => Promise<number>): Promise<void> {
  const started = Date.now();
  const entry: Cell = { peer, role, compression, result: 'FAIL', checked: 0, ms: 0 };
  cells.push(entry);
  try {
    entry.checked = await body();
    entry.result = 'pass';
  } finally {
    entry.ms = Date.now() - started;
  }
}

function printMatrix(): void {
  if (cells.length === 0) return;
  const rows = cells.map((c) => [
    c.peer,
    c.role,
    c.compression ? 'on' : 'off',
    c.result,
    String(c.checked),
    `${c.ms} ms`,
  ]);
  const head = ['peer', 'role of the peer', 'deflate', 'result', 'messages checked', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `      | ${r.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`      |${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

// ---- payloads our client sends ----

/** Split a string into `count` pieces on code point boundaries. */
function splitText(text: string, cutsAt: number[]): string[] {
  const points = Array.from(text);
  const cuts = [0, ...cutsAt.filter((c) => c < points.length), points.length];
  return cuts.slice(1).map((end, i) => points.slice(cuts[i], end).join(''));
}

// ---- our server (an http.Server with handleUpgrade) ----

interface ServerRecord {
  extensions: string[];
  messages: number;
  close: [number, string, boolean] | null;
}

async function ourServer(deflate: boolean) {
  const records: ServerRecord[] = [];
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    const record: ServerRecord = { extensions: [], messages: 0, close: null };
    records.push(record);
    const ws = handleUpgrade(req, socket, head, { perMessageDeflate: deflate, maxMessageSize: MAX_MESSAGE });
    ws.on('open', () => (record.extensions = ws.extensions.map((e) => e.name)));
    ws.on('message', (data: string | Buffer, isBinary: boolean) => {
      record.messages++;
      ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code: number, reason: string, wasClean: boolean) => (record.close = [code, reason, wasClean]));
  });
  const srv = await listen(server);
  return { ...srv, records };
}

// ---- our client (connect) ----

/** The echoes our client receives, in order. */
function inbox(ws: WebSocketDuplex): (what: string) => Promise<[string | Buffer, boolean]> {
  const queue: Array<[string | Buffer, boolean]> = [];
  ws.on('message', (data: string | Buffer, isBinary: boolean) => queue.push([data, isBinary]));
  return async (what) => {
    await until(() => queue.length > 0, 60000, `the echo of ${what}`);
    return queue.shift()!;
  };
}

/**
 * Our client's sweep against an echo server at `port`: every size as text and binary
 * through send(), one message of each kind in 5 frames through ws.app.write(), a ping
 * and a close with 4000 "client done". Returns the number of messages checked and
 * the frame count of each message sent.
 */
async function clientSweep(
  port: number,
  deflate: boolean,
  sizes: number[],
): Promise<{ checked: number; sent: Array<[string, number, number]> }> {
  const ws = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: deflate, maxMessageSize: MAX_MESSAGE });
  ws.app.resume(); // we write to ws.app, so its readable side must be drained
  expect(ws.extensions.map((e) => e.name)).to.deep.equal(deflate ? ['permessage-deflate'] : []);
  const next = inbox(ws);
  const sent: Array<[string, number, number]> = [];
  let checked = 0;
  let seed = 1000;
  for (const size of sizes) {
    const text = makeText(size, ++seed);
    ws.send(text);
    sent.push(['text', size, 1]);
    expect(await next(`text of ${size} B`)).to.deep.equal([text, false]);
    const bytes = makeBytes(size, ++seed);
    ws.send(bytes);
    sent.push(['bytes', size, 1]);
    const [echo, isBinary] = await next(`bytes of ${size} B`);
    expect(isBinary).to.equal(true);
    expect(Buffer.isBuffer(echo) && echo.equals(bytes), `binary echo of ${size} B`).to.equal(true);
    checked += 2;
  }
  // Fragmented: pieces written to the object face with messageFinished false.
  const text = makeText(70000, ++seed);
  const textPieces = splitText(text, [1, 100, 3000, 40000]);
  textPieces.forEach((data, i) =>
    ws.app.write(new TextMessage({ data, messageFinished: i === textPieces.length - 1 })),
  );
  sent.push(['text', 70000, textPieces.length]);
  expect(await next('fragmented text')).to.deep.equal([text, false]);
  const bytes = makeBytes(70000, ++seed);
  const cuts = [0, 1, 126, 5000, 65536, 70000];
  cuts
    .slice(1)
    .forEach((end, i) =>
      ws.app.write(new BytesMessage({ data: bytes.subarray(cuts[i], end), messageFinished: end === 70000 })),
    );
  sent.push(['bytes', 70000, cuts.length - 1]);
  const [echo] = await next('fragmented bytes');
  expect(Buffer.isBuffer(echo) && echo.equals(bytes), 'fragmented binary echo').to.equal(true);
  checked += 2;
  // Ping: the pong carries the payload back.
  const pong = once<[Buffer]>(ws, 'pong', 10000);
  ws.ping('ping from wsproto-ts');
  expect((await pong)[0].toString()).to.equal('ping from wsproto-ts');
  checked++;
  // Close: the peer answers (echoing code and reason), closes TCP, and we report the
  // close frame received, clean, with no cause.
  const closed = once<[number, string, boolean, Error | null]>(ws, 'close', 15000);
  ws.close(4000, 'client done');
  expect(await closed).to.deep.equal([4000, 'client done', true, null]);
  checked++;
  return { checked, sent };
}

// ---- the tests ----

interface PyClientReport {
  extensions: string | string[] | null;
  echoes: Array<{ kind: string; size: number; fragments: number; ok: boolean }>;
  pong: boolean;
  close: [number, string] | null;
  server_closed_tcp?: boolean;
  state?: string;
  error?: string;
}

interface PyServerReport {
  extensions: string | string[] | null;
  messages: number | Array<{ kind: string; size: number; fragments: number }>;
  pings?: string[];
  close: [number, string] | null;
  error?: string;
}

describe('interop: Python peers (websockets 10, wsproto 1.2) over loopback TCP', function () {
  this.timeout(120000);
  after(printMatrix);

  for (const deflate of [false, true]) {
    const mode = deflate ? 'on' : 'off';

    it(`websockets client -> our server (handleUpgrade), compression ${mode}: 0 B - ${deflate ? '1' : '16'} MiB, fragments, ping, close 4000`, async function () {
      requirePeer(this, pythonHas('websockets'), 'Python websockets (/usr/bin/python3)', PYTHON_INSTALL);
      await cell('websockets', 'client', deflate, async () => {
        const srv = await ourServer(deflate);
        try {
          // 16 MiB once per direction, uncompressed (compressing 16 MiB in Python takes seconds).
          const args = [`ws://127.0.0.1:${srv.port}/`, ...(deflate ? ['--deflate'] : ['--big'])];
          const py = new PythonProcess('websockets_client.py', args);
          expect(await py.wait(100000), py.stderr).to.equal(0);
          const report = py.lines[0] as PyClientReport;
          expect(report.error, py.stderr).to.equal(undefined);
          // text + bytes for each size (16 MiB included without compression), then one fragmented message of each kind
          expect(report.echoes).to.have.length((SIZES.length + (deflate ? 0 : 1)) * 2 + 2);
          expect(report.echoes.filter((e) => !e.ok)).to.deep.equal([]);
          if (deflate) expect(report.extensions).to.match(/^permessage-deflate/);
          else expect(report.extensions).to.equal(null);
          expect(report.pong).to.equal(true);
          // Our reply to a close echoes its code and reason (CloseConnection.response(), as wsproto).
          expect(report.close).to.deep.equal([4000, 'client done']);
          await until(() => srv.records[0]?.close != null, 5000, 'our server to report the close');
          const record = srv.records[0]!;
          expect(srv.records).to.have.length(1);
          expect(record.extensions).to.deep.equal(deflate ? ['permessage-deflate'] : []);
          expect(record.messages).to.equal(report.echoes.length);
          expect(record.close).to.deep.equal([4000, 'client done', true]);
          return report.echoes.length + 2;
        } finally {
          await srv.close();
        }
      });
    });

    it(`our client (connect) -> websockets server, compression ${mode}: 0 B - ${deflate ? '1' : '16'} MiB, ws.app fragments, ping, close 4000`, async function () {
      requirePeer(this, pythonHas('websockets'), 'Python websockets (/usr/bin/python3)', PYTHON_INSTALL);
      await cell('websockets', 'server', deflate, async () => {
        const py = new PythonProcess('websockets_server.py', deflate ? ['--deflate'] : []);
        try {
          const { port } = await py.line<{ port: number }>(0, 10000);
          const { checked, sent } = await clientSweep(port, deflate, deflate ? SIZES : [...SIZES, BIG]);
          const report = await py.line<PyServerReport>(1, 10000);
          expect(report.error).to.equal(undefined);
          if (deflate) expect(report.extensions).to.match(/^permessage-deflate/);
          else expect(report.extensions).to.equal(null);
          expect(report.messages).to.equal(sent.length);
          expect(report.close).to.deep.equal([4000, 'client done']);
          return checked;
        } finally {
          await py.stop();
        }
      });
    });

    it(`wsproto client (socket) -> our server (handleUpgrade), compression ${mode}: 0 B - 1 MiB, fragments, ping, close 4000`, async function () {
      requirePeer(this, pythonHas('wsproto'), 'Python wsproto (/usr/bin/python3)', PYTHON_INSTALL);
      await cell('wsproto', 'client', deflate, async () => {
        const srv = await ourServer(deflate);
        try {
          const args = ['client', '127.0.0.1', String(srv.port), ...(deflate ? ['--deflate'] : [])];
          const py = new PythonProcess('wsproto_peer.py', args);
          expect(await py.wait(100000), py.stderr).to.equal(0);
          const report = py.lines[0] as PyClientReport;
          expect(report.error, py.stderr).to.equal(undefined);
          expect(report.echoes).to.have.length(SIZES.length * 2 + 2);
          expect(report.echoes.filter((e) => !e.ok)).to.deep.equal([]);
          expect(report.extensions).to.deep.equal(deflate ? ['permessage-deflate'] : []);
          expect(report.pong).to.equal(true);
          // Our reply echoes the code and the reason (CloseConnection.response(), as wsproto).
          expect(report.close).to.deep.equal([4000, 'client done']);
          expect(report.state).to.equal('CLOSED');
          expect(report.server_closed_tcp, 'RFC 6455 7.1.1: the server closes TCP first').to.equal(true);
          await until(() => srv.records[0]?.close != null, 5000, 'our server to report the close');
          const record = srv.records[0]!;
          expect(record.extensions).to.deep.equal(deflate ? ['permessage-deflate'] : []);
          expect(record.messages).to.equal(report.echoes.length);
          expect(record.close).to.deep.equal([4000, 'client done', true]);
          return report.echoes.length + 2;
        } finally {
          await srv.close();
        }
      });
    });

    it(`our client (connect) -> wsproto server (socket), compression ${mode}: 0 B - 1 MiB, ws.app fragments, ping, close 4000`, async function () {
      requirePeer(this, pythonHas('wsproto'), 'Python wsproto (/usr/bin/python3)', PYTHON_INSTALL);
      await cell('wsproto', 'server', deflate, async () => {
        const py = new PythonProcess('wsproto_peer.py', ['server', ...(deflate ? ['--deflate'] : [])]);
        try {
          const { port } = await py.line<{ port: number }>(0, 10000);
          const { checked, sent } = await clientSweep(port, deflate, SIZES);
          const report = await py.line<PyServerReport>(1, 10000);
          expect(report.error).to.equal(undefined);
          expect(report.extensions).to.deep.equal(deflate ? ['permessage-deflate'] : []);
          // What wsproto received, frame counts included: the fragments reached the wire as frames.
          const received = report.messages as Array<{ kind: string; size: number; fragments: number }>;
          expect(received.map((m) => [m.kind, m.size, m.fragments])).to.deep.equal(sent);
          expect(report.pings).to.deep.equal(['ping from wsproto-ts']);
          // wsproto echoes the close with its reason (its CloseConnection.response() keeps it).
          expect(report.close).to.deep.equal([4000, 'client done']);
          return checked;
        } finally {
          await py.stop();
        }
      });
    });
  }
});
