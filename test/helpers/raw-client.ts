/**
 * A WebSocket client over a bare `net.Socket`, with the opening handshake done by hand
 * (RFC 6455 4.1, the accept value checked with `acceptKey`), for tests that need a
 * client the server cannot tell from a slow or silent one: it can stop reading
 * (`stop()`: the socket is paused, the kernel buffers fill, the server's output backs
 * up) and read again (`start()`), with a client `Connection` decoding what arrives and
 * answering the close (autoCloseReply) unless told to stay silent.
 */
import * as net from 'node:net';
import { Connection, type ConnectionEvent } from '../../lib/index';
import { acceptKey } from '../../lib/handshake/handshake';
import { once } from './net';

/** A hand-made client connection (see the top of the file). */
export interface RawClient {
  readonly socket: net.Socket;
  /** The status line and headers of the server's answer. */
  readonly head: string;
  /** The decoder; its events land in `events`. */
  readonly conn: Connection;
  readonly events: ConnectionEvent[];
  /** Read (and decode) what arrives. */
  start(): void;
  /** Stop reading: the socket is paused and nothing more is decoded. */
  stop(): void;
  /** Bytes received (decoded or not). */
  readonly received: number;
  /** Destroy the socket. */
  destroy(): void;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ=='; // RFC 6455 1.3

/** The response head to a hand-written upgrade request for `target` (also when it is not a 101). */
export async function rawRequest(
  port: number,
  target = '/',
  extraHeaders: string[] = [],
): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(
    [
      `GET ${target} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${KEY}`,
      'Sec-WebSocket-Version: 13',
      ...extraHeaders,
      '',
      '',
    ].join('\r\n'),
  );
  let got = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no response head: ${got.toString('latin1')}`)), 5000);
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      resolve({ socket, head: got.subarray(0, end).toString('latin1'), rest: got.subarray(end + 4) });
    };
    socket.on('data', onData);
  });
}

/**
 * Open a WebSocket to 127.0.0.1:`port` by hand. The socket starts paused: call `start()`
 * to read. `answerClose: false` makes a client that never answers a close.
 */
export async function rawClient(
  port: number,
  target = '/',
  options: { answerClose?: boolean } = {},
): Promise<RawClient> {
  const { socket, head, rest } = await rawRequest(port, target);
  if (!/^HTTP\/1\.1 101 /.test(head)) throw new Error(`not a 101: ${head}`);
  if (!head.includes(`\r\nSec-WebSocket-Accept: ${acceptKey(KEY)}`)) throw new Error(`bad accept: ${head}`);
  const conn = new Connection('client', { autoCloseReply: options.answerClose !== false });
  const events: ConnectionEvent[] = [];
  let received = rest.length;
  const take = (chunk: Buffer) => {
    if (conn.state === 'CLOSED') return;
    conn.receiveData(chunk);
    for (const event of conn.events()) events.push(event);
    for (const bytes of conn.dataToSend()) if (!socket.destroyed) socket.write(bytes);
  };
  let pending: Buffer | null = rest.length > 0 ? rest : null;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    take(chunk);
  });
  socket.on('end', () => {
    if (conn.state !== 'CLOSED') {
      conn.receiveData(null);
      for (const event of conn.events()) events.push(event);
    }
    socket.end();
  });
  return {
    socket,
    head,
    conn,
    events,
    start() {
      if (pending !== null) take(pending);
      pending = null;
      socket.resume();
    },
    stop() {
      socket.pause();
    },
    get received() {
      return received;
    },
    destroy() {
      socket.destroy();
    },
  };
}
