/**
 * Mirror test for lib/web/websocket: the WHATWG `WebSocket` on our client, against our
 * own server in this process. (test/web/differential.test.ts compares it with Chromium's.)
 */
import { expect } from 'chai';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { Blob } from 'node:buffer';
import { createHash } from 'node:crypto';
import { CloseEvent, handleUpgrade, WebSocket, WebSocketServer, type WebSocketDuplex } from '../../lib/index';
import { listen, sleep, until } from '../helpers/net';
import { makeCertificate } from '../helpers/proxies';

type Behaviour = ((ws: WebSocketDuplex, req: http.IncomingMessage) => void) & {
  raw?: (req: http.IncomingMessage, socket: Socket) => void;
};

/** An HTTP server that upgrades every request and runs `behaviour` on it (echo by default). */
async function server(behaviour: Behaviour = echo, refuse?: number) {
  const seen: Array<{ headers: http.IncomingHttpHeaders; closes: Array<[number, string]> }> = [];
  const srv = http.createServer();
  srv.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (refuse !== undefined) {
      socket.end(`HTTP/1.1 ${refuse} Nope\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    if (behaviour.raw !== undefined) return behaviour.raw(req, socket);
    const record = { headers: req.headers, closes: [] as Array<[number, string]> };
    seen.push(record);
    const ws = handleUpgrade(req, socket, head, {
      perMessageDeflate: true,
      accept: (request) => ({ subprotocol: request.subprotocols.includes('chat') ? 'chat' : null }),
    });
    ws.on('closing', (code, reason) => record.closes.push([code, reason]));
    behaviour(ws, req);
  });
  const { port, close } = await listen(srv);
  return { url: `ws://127.0.0.1:${port}/path`, seen, close };
}

// What the raw server (below) received after its 101.
let received = Buffer.alloc(0);

/** A server side written by hand: the 101, then `frame` as raw bytes (for what our server never sends). */
function raw(frame: number[]): Behaviour {
  const behaviour: Behaviour = () => {};
  behaviour.raw = (req, socket) => {
    const key = req.headers['sec-websocket-key']!;
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.write(Buffer.from(frame));
  };
  return behaviour;
}

function echo(ws: WebSocketDuplex): void {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

/** Every event a WebSocket fires, with the ready state at the time. */
function trace(ws: WebSocket): unknown[] {
  const log: unknown[] = [];
  for (const type of ['open', 'message', 'error', 'close']) {
    ws.addEventListener(type, (event) => {
      if (event instanceof CloseEvent) log.push([type, ws.readyState, event.code, event.reason, event.wasClean]);
      else if (event instanceof MessageEvent) log.push([type, ws.readyState, event.data]);
      else log.push([type, ws.readyState]);
    });
  }
  return log;
}

const closed = (ws: WebSocket) =>
  new Promise<CloseEvent>((resolve) => ws.addEventListener('close', (e) => resolve(e as CloseEvent)));
const opened = (ws: WebSocket) => new Promise<void>((resolve) => ws.addEventListener('open', () => resolve()));

describe('web/websocket', () => {
  it('opens (CONNECTING → OPEN), echoes text and binary with each binaryType, and closes cleanly', async () => {
    const srv = await server();
    const ws = new WebSocket(srv.url.replace('ws:', 'http:'), ['chat', 'other']);
    expect([ws.url, ws.readyState, ws.protocol, ws.extensions, ws.binaryType]).to.deep.equal([
      srv.url,
      WebSocket.CONNECTING,
      '',
      '',
      'blob',
    ]);
    const log = trace(ws);
    await opened(ws);
    expect(ws.protocol).to.equal('chat');
    expect(ws.extensions).to.match(/^permessage-deflate/);
    const got: unknown[] = [];
    ws.onmessage = async (event) =>
      got.push(event.data instanceof Blob ? ['blob', Buffer.from(await event.data.arrayBuffer())] : event.data);
    ws.send('héllo ✓');
    ws.send(new Uint8Array([1, 2, 3]));
    await until(() => got.length === 2);
    ws.binaryType = 'arraybuffer';
    ws.send(new Uint16Array([0x0201]).buffer);
    await until(() => got.length === 3);
    expect(got[0]).to.equal('héllo ✓');
    expect(got[1]).to.deep.equal(['blob', Buffer.from([1, 2, 3])]);
    expect(got[2]).to.be.instanceOf(ArrayBuffer);
    expect(Buffer.from(got[2] as ArrayBuffer)).to.deep.equal(Buffer.from([1, 2]));
    ws.close(4001, 'done');
    expect(ws.readyState).to.equal(WebSocket.CLOSING);
    const event = await closed(ws);
    expect([event.code, event.reason, event.wasClean, ws.readyState]).to.deep.equal([
      4001,
      'done',
      true,
      WebSocket.CLOSED,
    ]);
    expect(log[0]).to.deep.equal(['open', 1]);
    expect(log.at(-1)).to.deep.equal(['close', 3, 4001, 'done', true]);
    expect(srv.seen[0]!.closes).to.deep.equal([[4001, 'done']]);
    await srv.close();
  });

  it('the options bag takes protocols, headers and connect() options', async () => {
    const srv = await server();
    const ws = new WebSocket(srv.url, { protocols: 'chat', headers: { 'x-token': 'abc' }, perMessageDeflate: false });
    await opened(ws);
    expect([ws.protocol, ws.extensions]).to.deep.equal(['chat', '']);
    expect(srv.seen[0]!.headers['x-token']).to.equal('abc');
    ws.close();
    await closed(ws);
    expect(srv.seen[0]!.closes).to.deep.equal([[1005, '']]); // close() without a code: a close frame without one
    await srv.close();
  });

  it('the options bag reaches connect(): over HTTP/2 (RFC 8441) with `http2: true`', async () => {
    const h2 = http2.createServer();
    const wss = new WebSocketServer({ server: h2, perMessageDeflate: true });
    const versions: string[] = [];
    wss.on('connection', (ws, req) => {
      versions.push(req.httpVersion);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const { port, close } = await listen(h2);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { http2: true });
    await opened(ws);
    expect(ws.extensions).to.match(/^permessage-deflate/);
    const got = new Promise<unknown>((resolve) => (ws.onmessage = (event) => resolve(event.data)));
    ws.send('over h2');
    expect(await got).to.equal('over h2');
    ws.close(1000);
    const event = await closed(ws);
    expect([event.code, event.wasClean]).to.deep.equal([1000, true]);
    expect(versions).to.deep.equal(['2.0']);
    await wss.close();
    await close();
  });

  it('wss:// with a certificate the options bag trusts (tls.ca); an untrusted one fails the connection', async () => {
    const certificate = makeCertificate();
    const server = https.createServer({ key: certificate.key, cert: certificate.cert });
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    const { port, close } = await listen(server);
    try {
      const ws = new WebSocket(`https://127.0.0.1:${port}/`, { tls: { ca: certificate.cert } });
      expect(ws.url).to.equal(`wss://127.0.0.1:${port}/`);
      await opened(ws);
      const got = new Promise<unknown>((resolve) => (ws.onmessage = (event) => resolve(event.data)));
      ws.send('over TLS');
      expect(await got).to.equal('over TLS');
      ws.close(1000);
      expect((await closed(ws)).wasClean).to.equal(true);

      const untrusted = new WebSocket(`wss://127.0.0.1:${port}/`);
      const log = trace(untrusted);
      await closed(untrusted);
      expect(log).to.deep.equal([
        ['error', 3],
        ['close', 3, 1006, '', false],
      ]);
    } finally {
      await wss.close();
      await close();
      certificate.cleanup();
    }
  });

  it('bufferedAmount counts what send() queued until a later task, and bytes sent after close() for good', async () => {
    const srv = await server(() => {});
    const ws = new WebSocket(srv.url);
    await opened(ws);
    ws.send('abc');
    ws.send(new Uint8Array(10));
    ws.send('é');
    expect(ws.bufferedAmount).to.equal(3 + 10 + 2);
    await until(() => ws.bufferedAmount === 0, 2000, 'bufferedAmount back to 0');
    ws.close();
    ws.send('after');
    expect(ws.bufferedAmount).to.equal(5);
    await closed(ws);
    expect(ws.bufferedAmount).to.equal(5);
    await srv.close();
  });

  it('send() while CONNECTING throws InvalidStateError; close() checks code and reason first', async () => {
    const srv = await server();
    const ws = new WebSocket(srv.url);
    expect(() => ws.send('x'))
      .to.throw(DOMException)
      .with.property('name', 'InvalidStateError');
    for (const code of [0, 999, 1001, 1005, 2999, 5000]) {
      expect(() => ws.close(code), `code ${code}`)
        .to.throw(DOMException)
        .with.property('name', 'InvalidAccessError');
    }
    expect(() => ws.close(1000, 'é'.repeat(62)))
      .to.throw(DOMException)
      .with.property('name', 'SyntaxError');
    expect(ws.readyState).to.equal(WebSocket.CONNECTING);
    const log = trace(ws);
    ws.close(1000, 'é'.repeat(61) + 'a'); // 123 bytes: allowed; before open it fails the connection
    expect(ws.readyState).to.equal(WebSocket.CLOSING);
    await closed(ws);
    expect(log).to.deep.equal([
      ['error', 3],
      ['close', 3, 1006, '', false],
    ]);
    await srv.close();
  });

  it('a refused handshake fires error then close 1006, not clean', async () => {
    const srv = await server(echo, 403);
    const ws = new WebSocket(srv.url);
    const log = trace(ws);
    await closed(ws);
    expect(log).to.deep.equal([
      ['error', 3],
      ['close', 3, 1006, '', false],
    ]);
    await srv.close();
  });

  it('subprotocols offered and none selected fails the connection, as Chromium does (differential: protocol-none-picked)', async () => {
    const srv = await server(); // selects 'chat' only
    const ws = new WebSocket(srv.url, ['superchat']);
    const log = trace(ws);
    await closed(ws);
    expect(log).to.deep.equal([
      ['error', 3],
      ['close', 3, 1006, '', false],
    ]);
    expect(ws.protocol).to.equal('');
    await srv.close();
  });

  it('a server closing with a code and reason: CLOSING in its own task, then close with its code', async () => {
    const srv = await server((ws) => ws.on('open', () => (ws.send('first'), ws.close(4000, 'bye'))));
    const ws = new WebSocket(srv.url);
    const states: number[] = [];
    ws.onmessage = () => setImmediate(() => states.push(ws.readyState));
    const log = trace(ws);
    await closed(ws);
    expect(log).to.deep.equal([
      ['open', 1],
      ['message', 1, 'first'],
      ['close', 3, 4000, 'bye', true],
    ]);
    expect(states).to.deep.equal([2]); // after the message's task, the close frame's task ran
    await srv.close();
  });

  it("a server's protocol error (invalid UTF-8) fails the connection: error, close 1006; the server gets 1007", async () => {
    const srv = await server(raw([0x81, 0x02, 0xc3, 0x28])); // a text frame of invalid UTF-8
    const ws = new WebSocket(srv.url);
    const log = trace(ws);
    await opened(ws);
    const started = Date.now();
    await closed(ws);
    // At once, as a browser fails it: not after closeTimeout (5 s) waiting for this server, which never ends the TCP connection.
    expect(Date.now() - started).to.be.below(1000);
    expect(log).to.deep.equal([
      ['open', 1],
      ['error', 3],
      ['close', 3, 1006, '', false],
    ]);
    await until(() => received.length >= 4);
    expect(received.subarray(0, 2)).to.deep.equal(Buffer.from([0x88, 0x80 | (received[1]! & 0x7f)])); // a masked close
    const mask = received.subarray(2, 6);
    const code = ((received[6]! ^ mask[0]!) << 8) | (received[7]! ^ mask[1]!);
    expect(code).to.equal(1007);
    await srv.close();
  });

  it("messages of one TCP read are fired one task each: a handler's promises settle before the next message", async () => {
    // Three text frames in one write: "1", "2", "3".
    const srv = await server(raw([0x81, 1, 0x31, 0x81, 1, 0x32, 0x81, 1, 0x33]));
    const ws = new WebSocket(srv.url);
    const log: string[] = [];
    ws.onmessage = (event) => {
      log.push(`message ${event.data}`);
      void Promise.resolve().then(() => log.push(`then ${event.data}`));
    };
    await until(() => log.length === 6);
    expect(log).to.deep.equal(['message 1', 'then 1', 'message 2', 'then 2', 'message 3', 'then 3']);
    ws.close();
    await srv.close();
  });

  it('no message event once close() was called, though the server keeps sending', async () => {
    const srv = await server((ws) => ws.on('message', () => ws.send('one')));
    const ws = new WebSocket(srv.url);
    const log = trace(ws);
    await opened(ws);
    ws.send('go');
    ws.send('go');
    ws.close(); // before the answers can arrive
    await closed(ws);
    expect(log).to.deep.equal([
      ['open', 1],
      ['close', 3, 1005, '', true],
    ]);
    await srv.close();
  });

  it('a Blob is sent in order with what is sent around it', async () => {
    const srv = await server();
    const ws = new WebSocket(srv.url);
    ws.binaryType = 'arraybuffer';
    const got: string[] = [];
    ws.onmessage = (event) =>
      got.push(
        typeof event.data === 'string' ? event.data : `bin:${Buffer.from(event.data as ArrayBuffer).toString()}`,
      );
    await opened(ws);
    const bytes = new Uint8Array([0x61]);
    ws.send('1');
    ws.send(new Blob(['2']));
    ws.send(bytes);
    bytes[0] = 0x62; // sent as it was when send() was called
    ws.send('4');
    await until(() => got.length === 4);
    expect(got).to.deep.equal(['1', 'bin:2', 'bin:a', '4']);
    ws.close(1000);
    await closed(ws);
    await srv.close();
  });

  it('a connection lost without a close frame closes with 1006, not clean', async () => {
    const srv = await server((ws) => ws.on('open', () => setTimeout(() => ws.terminate(), 20)));
    const ws = new WebSocket(srv.url);
    const event = await closed(ws);
    expect([event.code, event.reason, event.wasClean]).to.deep.equal([1006, '', false]);
    await srv.close();
  });

  it('onX handlers and listeners run in the order they were added', async () => {
    const srv = await server((ws) => ws.on('open', () => ws.close(1000)));
    const ws = new WebSocket(srv.url);
    const calls: string[] = [];
    ws.addEventListener('open', () => calls.push('listener 1'));
    ws.onopen = () => calls.push('onopen');
    ws.addEventListener('open', () => calls.push('listener 2'));
    await closed(ws);
    await sleep(0);
    expect(calls).to.deep.equal(['listener 1', 'onopen', 'listener 2']);
    expect([WebSocket.OPEN, ws.OPEN, ws.CLOSED, String(ws)]).to.deep.equal([1, 1, 3, '[object WebSocket]']);
    await srv.close();
  });
});
