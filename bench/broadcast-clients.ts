/**
 * A client process of the broadcast workloads (started by bench/workloads/broadcast.ts):
 * holds its share of the clients of every server and reports when all of them received
 * the round's message.
 *
 *   node dist/bench/broadcast-clients.js
 *
 * The clients are as cheap as a real client can be, so that they do not dominate the
 * measurement, and the same in front of every server: raw TCP sockets that do the
 * opening handshake by hand (offering permessage-deflate in the compressed modes;
 * Sec-WebSocket-Accept checked), then read through one shared buffer (`onread`: no
 * allocation per read) and parse only frame headers: a message counts when its last
 * byte arrived; its payload is skipped. The RSV1 bit of every message is counted, so the
 * parent can check that both libraries really compressed (or did not). Two clients of
 * each server in each process are verifiers: they keep the payloads and check, after
 * the round, that they are MESSAGE (inflated, for compressed messages: each verifier
 * inflates everything it received so far as one stream, which is right with and without
 * context takeover), so that a server cannot pass by sending the wrong bytes.
 *
 * IPC (bench/broadcast-protocol.ts): 'open' (connect n clients to a server), 'arm' (the
 * next message of that server is a round), 'close'. A round ends with 'done', stamped
 * with `now()` when the last client of this process received its message.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';
import { now } from './common';
import { MESSAGE, type ClientCommand, type ClientReport, type ServerKind } from './broadcast-protocol';

const HOST = '127.0.0.1';
const VERIFIERS = 2;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Every socket of this process reads into this buffer; its callback parses the bytes at once. */
const SHARED = Buffer.allocUnsafe(64 * 1024);

interface Group {
  kind: ServerKind;
  clients: Client[];
  verifiers: Client[];
  armed: boolean;
  /** CPU time when the group was armed. */
  cpu0: NodeJS.CpuUsage;
  messages: number;
  compressed: number;
  problems: string[];
}

interface Client {
  group: Group;
  socket: net.Socket | null;
  /** The response head while the handshake is on, then null. */
  head: string | null;
  /** Called with the whole response head. */
  onHead: (head: string) => void;
  /** The frame header read so far. */
  header: Buffer;
  headerLength: number;
  /** Payload bytes of the current frame still to come. */
  remaining: number;
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  /** Messages received in this round. */
  got: number;
  /** Verifiers: the payloads received (with the deflate tail after compressed ones), and how many messages. */
  kept: Buffer[] | null;
  keptMessages: number;
}

const groups = new Map<ServerKind, Group>();
let closing = false;
/** To the parent; after it went (a failed run tears everything down), nowhere. */
const report = (message: ClientReport): void => {
  if (process.connected) process.send!(message, undefined, undefined, () => undefined);
};

function groupOf(kind: ServerKind): Group {
  let group = groups.get(kind);
  if (group === undefined) {
    group = {
      kind,
      clients: [],
      verifiers: [],
      armed: false,
      cpu0: process.cpuUsage(),
      messages: 0,
      compressed: 0,
      problems: [],
    };
    groups.set(kind, group);
  }
  return group;
}

function problem(group: Group, what: string): void {
  if (group.problems.length < 10) group.problems.push(what);
}

/** Bytes from a client's socket (`end` bytes of SHARED). */
function received(c: Client, buf: Buffer, end: number): void {
  let i = 0;
  if (c.head !== null) {
    const before = c.head.length;
    c.head += buf.toString('latin1', 0, end);
    const at = c.head.indexOf('\r\n\r\n');
    if (at < 0) return;
    i = at + 4 - before; // latin1: one character per byte
    const head = c.head.slice(0, at);
    c.head = null;
    c.onHead(head);
  }
  while (i < end) {
    if (c.remaining > 0) {
      const take = Math.min(c.remaining, end - i);
      if (c.kept !== null) c.kept.push(Buffer.from(buf.subarray(i, i + take))); // SHARED is reused: copy
      i += take;
      c.remaining -= take;
      if (c.remaining === 0) frameEnd(c);
      continue;
    }
    c.header[c.headerLength++] = buf[i++]!;
    if (c.headerLength < 2) continue;
    const length7 = c.header[1]! & 0x7f;
    if (c.headerLength < (length7 === 126 ? 4 : length7 === 127 ? 10 : 2)) continue;
    if ((c.header[1]! & 0x80) !== 0) problem(c.group, 'a masked frame from the server');
    const first = c.header[0]!;
    c.fin = (first & 0x80) !== 0;
    c.opcode = first & 0x0f;
    if (c.opcode === 1 || c.opcode === 2) c.rsv1 = (first & 0x40) !== 0; // RFC 7692 6: on a message's first frame
    c.remaining =
      length7 === 126 ? c.header.readUInt16BE(2) : length7 === 127 ? Number(c.header.readBigUInt64BE(2)) : length7;
    c.headerLength = 0;
    if (c.remaining === 0) frameEnd(c);
  }
}

function frameEnd(c: Client): void {
  if (c.opcode > 2) {
    if (c.opcode === 0x8) problem(c.group, 'the server closed a connection');
    return; // ping, pong: not ours to count
  }
  if (!c.fin) return;
  if (c.kept !== null) {
    if (c.rsv1) c.kept.push(TAIL);
    c.keptMessages++;
  }
  const group = c.group;
  if (!group.armed) {
    problem(group, 'a message outside a round');
    return;
  }
  if (++c.got > 1) problem(group, 'a client got the message twice');
  group.messages++;
  if (c.rsv1) group.compressed++;
  if (group.messages === group.clients.length) roundDone(group, now());
}

function roundDone(group: Group, at: number): void {
  group.armed = false;
  let verified = 0;
  for (const c of group.verifiers) {
    const all = Buffer.concat(c.kept!);
    const expected = Buffer.concat(Array.from({ length: c.keptMessages }, () => MESSAGE));
    // Plain messages are MESSAGE one after the other; compressed ones inflate to that.
    let got: Buffer;
    try {
      got = group.compressed > 0 ? inflateRawSync(all, { finishFlush: constants.Z_SYNC_FLUSH }) : all;
    } catch (error) {
      problem(group, `a verifier's payload does not inflate: ${(error as Error).message}`);
      continue;
    }
    if (got.equals(expected)) verified++;
    else problem(group, `a verifier received ${got.length} bytes that are not the message ×${c.keptMessages}`);
  }
  if (group.problems.length > 0) {
    report({ type: 'error', message: `${group.kind}: ${group.problems.join('; ')}` });
    group.problems = [];
    return;
  }
  const cpu = process.cpuUsage(group.cpu0);
  report({
    type: 'done',
    set: group.kind,
    at,
    messages: group.messages,
    compressed: group.compressed,
    verified,
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
}

/** One client: connect, handshake; resolves with the server's Sec-WebSocket-Extensions. */
function open(group: Group, port: number, deflate: boolean, verifier: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const key = randomBytes(16).toString('base64');
    const c: Client = {
      group,
      socket: null,
      head: '',
      onHead: () => undefined,
      header: Buffer.alloc(14),
      headerLength: 0,
      remaining: 0,
      opcode: 0,
      fin: false,
      rsv1: false,
      got: 0,
      kept: verifier ? [] : null,
      keptMessages: 0,
    };
    let opened = false;
    c.onHead = (head) => {
      opened = true;
      const lines = head.split('\r\n');
      const field = (name: string) =>
        lines
          .find((l) => l.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim() ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      if (!lines[0]!.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${lines[0]}`));
      else if (field('sec-websocket-accept') !== accept) reject(new Error('wrong Sec-WebSocket-Accept'));
      else {
        group.clients.push(c);
        if (verifier) group.verifiers.push(c);
        resolve(field('sec-websocket-extensions'));
      }
    };
    const socket = net.connect({
      port,
      host: HOST,
      onread: {
        buffer: SHARED,
        callback: (n: number, buf: Uint8Array) => {
          received(c, buf as Buffer, n);
          return true;
        },
      },
    });
    c.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', (error) => {
      if (!opened) reject(error);
      else problem(group, `socket error: ${error.message}`);
    });
    socket.on('close', () => {
      // No round can complete without it: say so now rather than at the parent's timeout.
      if (opened && !closing) report({ type: 'error', message: `${group.kind}: a connection closed` });
    });
    socket.on('connect', () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate\r\n' : '') +
          '\r\n',
      ),
    );
  });
}

async function openMany(kind: ServerKind, port: number, n: number, deflate: boolean): Promise<string[]> {
  const group = groupOf(kind);
  const extensions = new Set<string>();
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < n) {
      const index = next++;
      extensions.add(await open(group, port, deflate, index < VERIFIERS));
    }
  };
  await Promise.all(Array.from({ length: Math.min(32, n) }, opener));
  return [...extensions];
}

process.on('message', (command: ClientCommand) => {
  void (async () => {
    try {
      switch (command.cmd) {
        case 'open': {
          const extensions = await openMany(command.set, command.port, command.n, command.deflate);
          report({ type: 'opened', set: command.set, n: groupOf(command.set).clients.length, extensions });
          break;
        }
        case 'arm': {
          const group = groupOf(command.set);
          for (const c of group.clients) c.got = 0;
          group.messages = 0;
          group.compressed = 0;
          group.armed = true;
          group.cpu0 = process.cpuUsage();
          report({ type: 'armed', set: command.set });
          break;
        }
        case 'close':
          closing = true;
          for (const group of groups.values()) for (const c of group.clients) c.socket?.destroy();
          report({ type: 'closed' });
          break;
      }
    } catch (error) {
      report({ type: 'error', message: String((error as Error).stack ?? error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
report({ type: 'ready' });
