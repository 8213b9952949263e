/**
 * `npm start`: a chat room for every open tab, on a `WebSocketServer` attached to the
 * `http.Server` that serves its page (same origin).
 *
 *     PORT=8080 HOST=127.0.0.1 npm start      then open http://127.0.0.1:8080/ in two tabs
 *
 * What it shows: publish/subscribe (every message is published once to the room's
 * topic, framed and compressed once for every tab), each message's payload size and its
 * size on the wire (permessage-deflate at work: wire-size.ts), each tab's round-trip
 * time (the server's pings: a browser cannot send one), binary messages, and closing:
 * a tab closes with the code and reason it chooses, and Ctrl+C (SIGINT) or SIGTERM
 * closes every tab with 1001 'server shutting down' (`wss.close()`), then exits 0.
 *
 * The protocol. The page sends chat text as text and bytes as binary. The server sends
 * JSON text, except the binary messages it passes on as they came:
 *   {"type":"welcome","name":"tab 1"}                           to a new tab
 *   {"type":"presence","clients":2,"text":"tab 2 joined"}       to the room
 *   {"type":"chat","seq":3,"from":"tab 1","text":"hi"}          to the room (binary: the bytes)
 *   {"type":"sizes","seq":3,"from":"tab 1","kind":"text","payload":52,"wire":47,...}
 *                                                               to each tab, after every chat message
 *   {"type":"rtt","ms":0.41}                                    to each tab, every PING_EVERY_MS
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { PreparedMessage, WebSocketServer } from 'wsproto';
import { wireSize } from './wire-size';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const ROOM = 'room'; // the topic every tab subscribes to
const PING_EVERY_MS = 2000; // how often each tab's round-trip time is measured
const SHUTDOWN_MS = 2000; // how long tabs get to answer our 1001 before they are dropped
// Every message is compressed alone (server_no_context_takeover), so that a message is
// compressed once for the whole room; threshold 0 compresses even short lines, so the
// page shows what deflate does to them (the default, 1024, would send them as they are).
const DEFLATE = { serverNoContextTakeover: true, threshold: 0, level: 6, memLevel: 8 };

const page = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'chat', 'index.html'));
const server = http.createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(page);
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  }
});

const wss = new WebSocketServer({
  server, // the http.Server that serves the page: same origin
  path: '/chat',
  perMessageDeflate: DEFLATE,
  maxMessageSize: 64 * 1024, // a chat line, not a file transfer: larger messages are refused with 1009
  pingInterval: 30_000, // keepalive: a tab whose machine went away is dropped
  shutdownTimeout: SHUTDOWN_MS,
  // Browsers always send Origin: a page of another site must not join the room with this
  // visitor's cookies (cross-site WebSocket hijacking). Programs (no Origin) may.
  verifyOrigin: (origin, req) =>
    origin === undefined || (URL.canParse(origin) && new URL(origin).host === req.headers.host),
});

let tabs = 0;
let seq = 0;

wss.on('connection', (ws, req) => {
  const name = `tab ${++tabs}`;
  wss.subscribe(ws, ROOM);
  const extensions = req.headers['sec-websocket-extensions'] ?? 'none';
  console.log(
    `open    ${name} from ${req.socket.remoteAddress} (offered: ${extensions}); ${wss.clients.size} client(s)`,
  );
  ws.send(JSON.stringify({ type: 'welcome', name }));
  wss.publish(ROOM, JSON.stringify({ type: 'presence', clients: wss.clients.size, text: `${name} joined` }));

  ws.on('message', (data, isBinary) => {
    const n = ++seq;
    const message = new PreparedMessage(
      isBinary ? data : JSON.stringify({ type: 'chat', seq: n, from: name, text: String(data) }),
    );
    const counts = wss.publish(ROOM, message); // framed (and compressed) once for every tab
    const kind = isBinary ? 'binary' : 'text';
    // Then its sizes to each tab, as that tab got it: a tab that negotiated another window,
    // or no compression, got another frame.
    for (const member of wss.subscribers(ROOM)) {
      const size = wireSize(message.payload, member, DEFLATE);
      const about = { type: 'sizes', seq: n, from: name, kind, payload: message.payload.length, ...size };
      member.send(JSON.stringify({ ...about, encodings: message.encodings, tabs: counts.sent }));
    }
    console.log(`${kind.padEnd(7)} ${name}: ${message.payload.length} B payload, to ${counts.sent} tab(s)`);
  });

  // Round-trip time: a ping whose payload is a number, timed until its pong comes back.
  let pending: { id: string; sent: bigint } | null = null;
  let pings = 0;
  const ping = () => {
    pending = { id: String(++pings), sent: process.hrtime.bigint() };
    ws.ping(pending.id);
  };
  const timer = setInterval(ping, PING_EVERY_MS);
  ping();
  ws.on('pong', (payload) => {
    if (pending === null || payload.toString() !== pending.id) return; // a keepalive's, or unsolicited
    const ms = Number(process.hrtime.bigint() - pending.sent) / 1e6;
    pending = null;
    ws.send(JSON.stringify({ type: 'rtt', ms: Math.round(ms * 100) / 100 }));
  });

  ws.on('close', (code, reason, wasClean) => {
    clearInterval(timer);
    const how = wasClean ? 'clean' : 'not clean';
    console.log(`close   ${name} ${code} ${reason || '-'} (${how}); ${wss.clients.size} client(s)`);
    const text = `${name} left (${code}${reason ? ` ${reason}` : ''})`;
    wss.publish(ROOM, JSON.stringify({ type: 'presence', clients: wss.clients.size, text }));
  });
});

server.listen(port, host, () => {
  const { port: actual } = server.address() as { port: number };
  console.log(`chat: http://${host}:${actual}/ (page) and ws://${host}:${actual}/chat (WebSocket)`);
});

// A browser tab keeps its WebSocket open for as long as it lives: close them all with
// 1001 (wss.close() waits at most SHUTDOWN_MS for their answers), then the page's
// keep-alive HTTP connections, then exit.
let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) process.exit(1); // a second Ctrl+C: no more waiting
  stopping = true;
  console.log(`${signal}: closing ${wss.clients.size} WebSocket(s) with 1001`);
  await wss.close(); // 1001 'server shutting down' to every tab
  await new Promise((resolve) => {
    server.close(resolve);
    server.closeAllConnections();
  });
  console.log('closed: exiting');
  process.exit(0);
}
process.on('SIGINT', (signal) => void shutdown(signal));
process.on('SIGTERM', (signal) => void shutdown(signal));
