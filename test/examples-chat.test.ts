/**
 * The demo of `npm start` (examples/chat), as its users meet it: two tabs of a real
 * headless Chromium chatting through the page, and programs (`ws` clients, and raw
 * sockets that check every wire size the page shows against the frame that arrived).
 * The Ctrl+C / SIGTERM bound is in examples-chat-shutdown.test.ts.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import WebSocket from 'ws';
import { launchChromium, requireChromium, within, type Browser, type Page } from './helpers/browser';
import { startExample, stopExample } from './helpers/examples';
import { once, until } from './helpers/net';

// Compressible: the page must show fewer bytes on the wire than in the payload.
const TEXT = 'wsproto chat '.repeat(40);

/** What the page shows for each chat message in its log, read from the DOM. */
interface Line {
  kind: string;
  from: string;
  body: string;
  sizes: string | null;
  seq: string | null;
  payload: string | null;
  wire: string | null;
  compressed: string | null;
}
const LINES = `Array.from(document.querySelectorAll('#log .msg'), (el) => ({
  kind: el.dataset.kind, from: el.querySelector('.from').textContent, body: el.querySelector('.body').textContent,
  sizes: el.querySelector('.sizes')?.textContent ?? null, seq: el.dataset.seq ?? null,
  payload: el.dataset.payload ?? null, wire: el.dataset.wire ?? null, compressed: el.dataset.compressed ?? null,
}))`;

/** The page's chat lines once their sizes arrived. */
async function lines(p: Page): Promise<Line[]> {
  return ((await p.evaluate(LINES)) as Line[]).filter((l) => l.sizes !== null);
}

/** The JSON text frame the server publishes for a chat line. */
const envelope = (seq: number, from: string, text: string) => JSON.stringify({ type: 'chat', seq, from, text });

describe("examples/chat (npm start): the demo's chat room", function () {
  this.timeout(60000);

  describe('two tabs of headless Chromium', () => {
    let browser: Browser | null = null;

    before(async function () {
      requireChromium(this);
      browser = await launchChromium();
    });

    after(async function () {
      this.timeout(15000);
      if (browser !== null) await within(browser.close(), 10000, 'the browser to close').catch(() => undefined);
      browser = null;
    });

    it('A sends text, B sees it with payload and wire sizes; binary from B reaches A; RTT shows; A closes with 4001 "bye"; SIGINT closes B with 1001, exit 0', async () => {
      const demo = startExample('chat');
      const context = await browser!.newContext();
      const log: string[] = [];
      const info = () => `${log.join('\n')}\nserver:\n${demo.output()}${demo.errors()}`;
      /** Wait (in the page) until `expression` is true. */
      const waitFor = async (p: Page, expression: string, what: string) => {
        await p.waitForFunction(expression, null, { timeout: 10000, polling: 50 }).catch((e: Error) => {
          throw new Error(`${what}: ${e.message}\n${info()}`);
        });
      };
      const textOf = (selector: string) => `document.querySelector(${JSON.stringify(selector)}).textContent`;
      try {
        const pageUrl = new URL('/', (await demo.url()).replace('ws:', 'http:')).href;
        const tab = async (label: string) => {
          const p = await context.newPage();
          p.setDefaultTimeout(10000);
          p.on('console', (m) => log.push(`${label} console.${m.type()}: ${m.text()}`));
          p.on('pageerror', (e) => log.push(`${label} pageerror: ${e.message}`));
          await p.goto(pageUrl, { timeout: 10000, waitUntil: 'load' });
          await waitFor(p, `${textOf('#state')} === 'open' && ${textOf('#me')} !== '?'`, `tab ${label} to open`);
          return p;
        };
        const a = await tab('A');
        const b = await tab('B');
        for (const p of [a, b]) await waitFor(p, `${textOf('#clients')} === '2'`, 'both tabs to count 2 in the room');
        const nameA = (await a.textContent('#me'))!;
        const nameB = (await b.textContent('#me'))!;
        expect(nameA).to.not.equal(nameB);
        expect(await a.textContent('#extensions'), 'Chromium negotiated compression').to.match(
          /^permessage-deflate; server_no_context_takeover/,
        );

        // A types a line; both tabs show it with its sizes (the room includes the sender).
        await a.bringToFront(); // a background tab's animation frames, which actions wait for, are throttled
        await a.fill('#text', TEXT);
        await a.click('#send');
        const shown = `${LINES}.some((l) => l.body === ${JSON.stringify(TEXT)} && l.sizes !== null)`;
        for (const p of [b, a]) await waitFor(p, shown, 'the text line with its sizes');
        const line = (await lines(b)).find((l) => l.body === TEXT)!;
        expect(line.kind).to.equal('text');
        expect(line.from).to.equal(`${nameA}: `);
        expect(Number(line.payload), 'the payload is the published JSON').to.equal(
          Buffer.byteLength(envelope(Number(line.seq), nameA, TEXT)),
        );
        expect(line.compressed).to.equal('true');
        expect(Number(line.wire), 'fewer bytes on the wire than in the payload').to.be.below(Number(line.payload));
        expect(line.sizes).to.equal(
          `payload ${line.payload} B → wire ${line.wire} B (deflate, ${Math.round((100 * Number(line.wire)) / Number(line.payload))}% of the payload; framed once for 2 tab(s))`,
        );

        // B sends binary; A sees it as binary, 16 bytes, the same bytes B sent.
        await b.bringToFront();
        await b.click('#send-binary');
        const binary = `${LINES}.some((l) => l.kind === 'binary' && l.sizes !== null)`;
        for (const p of [a, b]) await waitFor(p, binary, 'the binary line with its sizes');
        const gotA = (await lines(a)).find((l) => l.kind === 'binary')!;
        const sentB = (await lines(b)).find((l) => l.kind === 'binary')!;
        expect(gotA.from).to.equal(`${nameB}: `);
        expect(gotA.body).to.match(/^binary, 16 bytes: ([0-9a-f]{2} ){15}[0-9a-f]{2}$/);
        expect(gotA.body).to.equal(sentB.body);
        expect(gotA.payload).to.equal('16');
        expect(Number(gotA.wire)).to.be.greaterThan(2);

        // The round-trip time the server measured with ping/pong, as a number of ms.
        for (const p of [a, b]) await waitFor(p, `/^\\d+(\\.\\d+)? ms$/.test(${textOf('#rtt')})`, 'the RTT');
        expect(Number((await a.textContent('#rtt'))!.replace(' ms', ''))).to.be.within(0, 10000);

        // A closes with a code and reason of its choosing.
        await a.bringToFront();
        await a.fill('#close-code', '4001');
        await a.fill('#close-reason', 'bye');
        await a.click('#close');
        await waitFor(a, `${textOf('#closed-code')} === '4001'`, "A's close");
        expect(await a.textContent('#closed-reason')).to.equal('bye');
        expect(await a.textContent('#closed-clean')).to.equal('true');
        await until(
          () => demo.output().includes(`close   ${nameA} 4001 bye (clean); 1 client(s)`),
          5000,
          `the server to count 1 client\n${info()}`,
        );
        await waitFor(b, `${textOf('#clients')} === '1'`, 'B to count 1 tab in the room');

        // Ctrl+C: B gets 1001 'server shutting down', and the process exits 0.
        const exited = once<[number | null, string | null]>(demo.child, 'exit', 10000);
        demo.child.kill('SIGINT');
        await waitFor(b, `${textOf('#closed-code')} === '1001'`, "B's close by the server");
        expect(await b.textContent('#closed-reason')).to.equal('server shutting down');
        expect(await b.textContent('#closed-clean')).to.equal('true');
        const [code] = await exited;
        expect(code, info()).to.equal(0);
        expect(
          log.filter((l) => l.includes('pageerror')),
          info(),
        ).to.deep.equal([]);
      } finally {
        await within(context.close(), 10000, 'the browser context to close').catch(() => undefined);
        await stopExample(demo.child);
      }
    });
  });

  it("'ws' clients see the chat (text, binary, sizes); every wire size is the frame a raw socket received; SIGTERM closes with 1001", async () => {
    const demo = startExample('chat');
    try {
      const url = await demo.url();
      const port = Number(new URL(url).port);
      const [a, b] = await Promise.all([member(url), member(url)]);
      // Raw sockets that offer what Chromium offers, a smaller server window, and no compression.
      const offers = [
        'permessage-deflate; client_max_window_bits',
        'permessage-deflate; server_max_window_bits=9',
        null,
      ];
      const raws = await Promise.all(offers.map((offer) => rawMember(port, offer)));
      expect(raws[0]!.head()).to.match(/sec-websocket-extensions: permessage-deflate; server_no_context_takeover/i);
      expect(raws[1]!.head()).to.match(/server_max_window_bits=9/i);
      expect(raws[2]!.head()).to.not.match(/sec-websocket-extensions/i);

      // Text from a: compressible; then one whose payload needs the 8-byte length, made of a
      // 2000-character block repeated, which only a window of more than 2000 bytes finds.
      const long = randomBytes(1500).toString('base64').repeat(33).slice(0, 65_500);
      const bytes = randomBytes(8);
      a.ws.send(TEXT);
      a.ws.send(long);
      await until(() => b.chat().length === 2, 5000, "a's two lines");
      b.ws.send(bytes);
      for (const m of [a, b, ...raws]) await until(() => m.chat().length === 3, 5000, 'three chat messages with sizes');

      // Every member sees the same messages in the same order, each followed by its sizes.
      const [text, longText, binary] = b.chat();
      expect(text!.message).to.deep.include({ type: 'chat', from: a.name, text: TEXT });
      expect(text!.sizes).to.deep.include({ kind: 'text', from: a.name, compressed: true });
      expect(text!.sizes.payload).to.equal(Buffer.byteLength(envelope(text!.sizes.seq, a.name, TEXT)));
      expect(text!.sizes.wire).to.be.below(text!.sizes.payload);
      expect(longText!.message).to.deep.include({ type: 'chat', from: a.name, text: long });
      expect(binary!.message).to.deep.equal(bytes);
      expect(binary!.sizes).to.deep.include({ kind: 'binary', from: b.name, payload: 8 });
      const received = (m: { chat: () => ChatItem[] }) => m.chat().map((c) => c.message);
      expect(received(a)).to.deep.equal(received(b));
      for (const raw of raws) expect(received(raw)).to.deep.equal(received(b));

      // What the page would show as "wire" is the size of the frame each connection got.
      for (const [i, raw] of raws.entries()) {
        for (const item of raw.chat()) {
          expect(item.sizes.wire, `offer ${offers[i]}: seq ${item.sizes.seq}`).to.equal(item.frame!.size);
          expect(item.sizes.compressed).to.equal(item.frame!.compressed);
          expect(item.sizes.compressed).to.equal(offers[i] !== null);
        }
      }
      expect(raws[2]!.chat()[1]!.frame!.size, 'a 64-bit length').to.equal(10 + longText!.sizes.payload);
      const [window15, window9] = [raws[0]!, raws[1]!].map((raw) => raw.chat()[1]!.sizes.wire);
      expect(window9, 'a 512-byte window misses the repeats').to.be.above(10 * window15!);
      for (const raw of raws) raw.socket.destroy();

      // SIGTERM: both get 1001 'server shutting down', and the process exits 0.
      const closes = [a, b].map((m) => once<[number, Buffer]>(m.ws, 'close', 5000));
      const exited = once<[number | null, string | null]>(demo.child, 'exit', 5000);
      demo.child.kill('SIGTERM');
      for (const [code, reason] of await Promise.all(closes)) {
        expect([code, String(reason)]).to.deep.equal([1001, 'server shutting down']);
      }
      expect((await exited)[0], demo.errors()).to.equal(0);
    } finally {
      await stopExample(demo.child);
    }
  });
});

/** A chat message as one member got it, with the `sizes` message that followed it. */
interface ChatItem {
  message: Record<string, unknown> | Buffer;
  sizes: { seq: number; from: string; kind: string; payload: number; wire: number; compressed: boolean };
  /** Raw sockets only: the frame that carried the message. */
  frame?: RawFrame;
}

interface RawFrame {
  opcode: number;
  compressed: boolean;
  size: number;
  data: Buffer;
}

/**
 * Sort what a member received into chat items: a chat message (JSON `chat` or binary),
 * then its `sizes`. Presence, welcome and RTT messages are skipped.
 */
function chatItems(received: { binary: boolean; data: Buffer; frame?: RawFrame }[]): ChatItem[] {
  const items: ChatItem[] = [];
  let last: Omit<ChatItem, 'sizes'> | null = null;
  for (const { binary, data, frame } of received) {
    const message = binary ? data : (JSON.parse(data.toString()) as Record<string, unknown>);
    if (binary || (message as Record<string, unknown>).type === 'chat') {
      last = frame === undefined ? { message } : { message, frame };
    } else if ((message as Record<string, unknown>).type === 'sizes' && last !== null) {
      items.push({ ...last, sizes: message as unknown as ChatItem['sizes'] });
      last = null;
    }
  }
  return items;
}

/** A `ws` client in the room: its name (from the welcome) and what it received. */
async function member(url: string) {
  const ws = new WebSocket(url);
  const received: { binary: boolean; data: Buffer }[] = [];
  ws.on('message', (data, binary) => received.push({ binary, data: data as Buffer }));
  await once(ws, 'open');
  await until(() => received.length > 0, 5000, 'the welcome');
  const welcome = JSON.parse(received[0]!.data.toString()) as { type: string; name: string };
  expect(welcome.type).to.equal('welcome');
  return { ws, name: welcome.name, chat: () => chatItems(received) };
}

/**
 * A raw socket in the room: it sends the handshake with `offer` as its extensions, and
 * splits what it receives into frames, each with its size on the wire (header
 * included) and its payload inflated when RSV1 says it is compressed.
 */
async function rawMember(port: number, offer: string | null) {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const request = [
    'GET /chat HTTP/1.1',
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...(offer === null ? [] : [`Sec-WebSocket-Extensions: ${offer}`]),
  ];
  socket.write(`${request.join('\r\n')}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  let head: string | null = null;
  const frames: RawFrame[] = [];
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (head === null) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      head = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 4);
    }
    for (let frame = nextFrame(buffer); frame !== null; frame = nextFrame(buffer)) {
      frames.push(frame);
      buffer = buffer.subarray(frame.size);
    }
  });
  await until(() => frames.some((f) => f.opcode === 0x1), 5000, `the welcome (offer: ${offer})`);
  expect(head!).to.match(/^HTTP\/1\.1 101 /);
  const data = () =>
    frames
      .filter((f) => f.opcode === 0x1 || f.opcode === 0x2)
      .map((f) => ({ binary: f.opcode === 0x2, data: f.data, frame: f }));
  return { socket, head: () => head!, chat: () => chatItems(data()) };
}

const SYNC_FLUSH_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The first whole frame in `buffer` (RFC 6455 5.2; a server's frames are not masked), or null. */
function nextFrame(buffer: Buffer): RawFrame | null {
  if (buffer.length < 2) return null;
  expect(buffer[1]! & 0x80, 'a server frame is not masked').to.equal(0);
  let length = buffer[1]! & 0x7f;
  let at = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    at = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    at = 10;
  }
  if (buffer.length < at + length) return null;
  const payload = buffer.subarray(at, at + length);
  const compressed = (buffer[0]! & 0x40) !== 0;
  // RFC 7692 7.2.2: append the tail back, inflate. Each message alone (no context takeover).
  const data = compressed
    ? zlib.inflateRawSync(Buffer.concat([payload, SYNC_FLUSH_TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    : Buffer.from(payload);
  return { opcode: buffer[0]! & 0x0f, compressed, size: at + length, data };
}
