/**
 * A client process of the idle-connections soak (test/soak/idle.ts): raw TCP sockets that
 * do the opening handshake by hand, so that the same cheap client stands in front of both
 * servers and the client processes stay small. Each socket binds to one of this process's
 * 127.x.y.z source addresses (one source address gives one ephemeral port range, about
 * 28,000 ports here), so that the count is not bounded by one address pair.
 *
 * A client answers every ping with a masked pong (RFC 6455 5.5.3: same payload), counts
 * text messages (the echo round) and answers a close with a close.
 *
 * Commands arrive over IPC from the parent (see `ClientCommand`); each gets one answer.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';

/** RFC 6455 1.3: the GUID appended to the key for Sec-WebSocket-Accept. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// RFC 6455 5.2: the opcodes this client handles.
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

export type ClientCommand =
  | { type: 'open'; port: number; addresses: string[]; count: number; batch: number; timeoutMs: number }
  | { type: 'echo'; timeoutMs: number }
  | { type: 'close'; timeoutMs: number }
  | { type: 'stats' };

/** What the process reports after each command. */
export interface ClientReport {
  type: string;
  open: number;
  opened: number;
  failed: number;
  errors: string[];
  pings: number;
  echoes: number;
  closed: number;
  cleanCloses: number;
  ms: number;
  rss: number;
}

interface Client {
  socket: net.Socket;
  /** Bytes not yet parsed (a frame cut across reads); null when none. */
  pending: Buffer | null;
  /** Waiting for the 101 head. */
  handshaking: boolean;
  head: string;
  accept: string;
  gotClose: boolean;
  sentClose: boolean;
  pings: number;
  echoes: number;
}

const clients: Client[] = [];
const errors: string[] = [];
let failed = 0;
let closed = 0;
let cleanCloses = 0;
/** Called after anything that may complete the current command. */
let progress: () => void = () => undefined;

function noteError(message: string): void {
  if (errors.length < 5 && !errors.includes(message)) errors.push(message);
}

/** A client frame: FIN, the opcode, masked (RFC 6455 5.3: a client masks every frame). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('small frames only');
  const frame = Buffer.allocUnsafe(6 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  const key = randomBytes(4);
  key.copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i]! ^ key[i & 3]!;
  return frame;
}

/** Parse the server's frames (unmasked, RFC 6455 5.1); keep an incomplete one for later. */
function onFrames(c: Client, data: Buffer): void {
  let buf = c.pending === null ? data : Buffer.concat([c.pending, data]);
  c.pending = null;
  while (buf.length >= 2) {
    const opcode = buf[0]! & 0x0f;
    let length = buf[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buf.length < 4) break;
      length = buf.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) break;
      length = Number(buf.readBigUInt64BE(2));
      offset = 10;
    }
    if (buf.length < offset + length) break;
    const payload = buf.subarray(offset, offset + length);
    buf = buf.subarray(offset + length);
    if (opcode === OP_PING) {
      c.pings++;
      c.socket.write(clientFrame(OP_PONG, Buffer.from(payload)));
    } else if (opcode === OP_TEXT) {
      c.echoes++;
    } else if (opcode === OP_CLOSE) {
      c.gotClose = true;
      if (!c.sentClose) {
        c.sentClose = true;
        c.socket.write(clientFrame(OP_CLOSE, Buffer.from(payload.subarray(0, 2))));
      }
    }
    progress();
  }
  if (buf.length > 0) c.pending = Buffer.from(buf);
}

function openOne(port: number, localAddress: string, timeoutMs: number): Promise<Client | null> {
  return new Promise((resolve) => {
    const key = randomBytes(16).toString('base64');
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    const c: Client = {
      socket,
      pending: null,
      handshaking: true,
      head: '',
      accept: createHash('sha1')
        .update(key + GUID)
        .digest('base64'),
      gotClose: false,
      sentClose: false,
      pings: 0,
      echoes: 0,
    };
    const timer = setTimeout(() => fail('handshake timed out'), timeoutMs);
    let settled = false;
    function fail(why: string): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      failed++;
      noteError(why);
      socket.destroy();
      resolve(null);
    }
    socket.setNoDelay(true);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (c.handshaking) fail(`${error.code ?? error.message} (from ${localAddress})`);
      else noteError(`after open: ${error.code ?? error.message}`);
    });
    socket.on('close', () => {
      if (c.handshaking) return fail('closed during the handshake');
      closed++;
      if (c.gotClose) cleanCloses++;
      progress();
    });
    socket.on('connect', () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (data: Buffer) => {
      if (!c.handshaking) return onFrames(c, data);
      c.head += data.toString('latin1');
      const end = c.head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (c.head.length > 8192) fail('response head too long');
        return;
      }
      const head = c.head.slice(0, end);
      if (!head.startsWith('HTTP/1.1 101')) return fail(`not 101: ${head.split('\r\n')[0]}`);
      const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
      if (accept !== c.accept) return fail('wrong Sec-WebSocket-Accept');
      c.handshaking = false;
      const rest = Buffer.from(c.head.slice(end + 4), 'latin1');
      c.head = '';
      settled = true;
      clearTimeout(timer);
      resolve(c);
      if (rest.length > 0) onFrames(c, rest);
    });
  });
}

/** Wait until `done()` holds (checked after every frame and close) or `timeoutMs` passes. */
function until(done: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      progress = () => undefined;
      resolve();
    };
    const timer = setTimeout(finish, timeoutMs);
    progress = () => {
      if (done()) finish();
    };
    progress();
  });
}

function report(type: string, ms: number): ClientReport {
  const open = clients.filter((c) => !c.socket.destroyed).length;
  return {
    type,
    open,
    opened: clients.length,
    failed,
    errors: [...errors],
    pings: clients.reduce((n, c) => n + c.pings, 0),
    echoes: clients.reduce((n, c) => n + c.echoes, 0),
    closed,
    cleanCloses,
    ms,
    rss: process.memoryUsage().rss,
  };
}

async function handle(command: ClientCommand): Promise<ClientReport> {
  const t0 = Date.now();
  switch (command.type) {
    case 'open': {
      // `batch` handshakes in flight at a time; the connections go round the addresses.
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < command.count) {
          const i = next++;
          const address = command.addresses[i % command.addresses.length]!;
          const c = await openOne(command.port, address, command.timeoutMs);
          if (c !== null) clients.push(c);
        }
      };
      await Promise.all(Array.from({ length: Math.min(command.batch, command.count) }, worker));
      return report('opened', Date.now() - t0);
    }
    case 'echo': {
      // One 16 B text message on every connection; the server echoes it.
      const before = clients.reduce((n, c) => n + c.echoes, 0);
      const live = clients.filter((c) => !c.socket.destroyed);
      for (const c of live) c.socket.write(clientFrame(OP_TEXT, Buffer.from('are you there?..')));
      let got = 0;
      await until(() => {
        got = clients.reduce((n, c) => n + c.echoes, 0) - before;
        return got >= live.length;
      }, command.timeoutMs);
      return report('echoed', Date.now() - t0);
    }
    case 'close': {
      // A clean close from the client (1000); the server answers and ends the TCP connection.
      const code = Buffer.from([0x03, 0xe8]);
      for (const c of clients) {
        if (c.socket.destroyed || c.sentClose) continue;
        c.sentClose = true;
        c.socket.write(clientFrame(OP_CLOSE, code));
      }
      await until(() => closed >= clients.length, command.timeoutMs);
      for (const c of clients) c.socket.destroy();
      return report('closed', Date.now() - t0);
    }
    case 'stats':
      return report('stats', 0);
  }
}

process.on('message', (command: ClientCommand) => {
  handle(command).then(
    (r) => process.send!(r),
    (error: unknown) => process.send!({ type: 'error', message: String((error as Error).stack ?? error) }),
  );
});
process.on('disconnect', () => process.exit(0));
