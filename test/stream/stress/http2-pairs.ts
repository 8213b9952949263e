/**
 * Opening a schedule over HTTP/2 (RFC 8441): an `http2` server (h2c, or TLS with a
 * self-signed certificate) whose 'stream' listener serves each extended CONNECT with
 * `handleHttp2Stream`, and one client session on which our `connect()` opens the main
 * WebSocket and its neighbours at once, each at its own path (/stress/0, /stress/1 ...).
 * The server end's transport is its HTTP/2 stream (the 'pausing' reader pauses it, a
 * reset is RST_STREAM); the client's stays hidden inside `connect()`, as over TCP.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type * as net from 'node:net';
import { connect, handleHttp2Stream, isWebSocketConnect, type ConnectOptions } from '../../../lib/index';
import { makeCertificate } from '../../helpers/proxies';
import { CLOSE_TIMEOUT_MS, OurEndpoint, type Endpoint } from './endpoints';
import type { Pair } from './runner';
import type { PairScript, Schedule } from './schedule';

let certificate: { key: Buffer; cert: Buffer } | null = null;

/** One self-signed certificate per process (its files are removed at once). */
function tlsCertificate(): { key: Buffer; cert: Buffer } {
  if (certificate === null) {
    const made = makeCertificate();
    made.cleanup();
    certificate = { key: made.key, cert: made.cert };
  }
  return certificate;
}

const label = (side: 'client' | 'server', index: number) => `our ${side}${index === 0 ? '' : ` #${index}`}`;

/** The schedule's WebSockets, all on one HTTP/2 session, open. */
export async function openHttp2Pairs(schedule: Schedule, extra: ConnectOptions = {}): Promise<Pair> {
  const secure = schedule.transport === 'h2-tls';
  const settings = { enableConnectProtocol: true };
  const server = secure
    ? http2.createSecureServer({ ...tlsCertificate(), settings })
    : http2.createServer({ settings });
  const scripts: PairScript[] = [schedule, ...(schedule.neighbours ?? [])];
  const serverEnds = scripts.map(() => {
    let resolve!: (endpoint: Endpoint) => void;
    const promise = new Promise<Endpoint>((r) => (resolve = r));
    return { promise, resolve };
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('session', (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.on('close', () => sessions.delete(session));
  });
  const onStream = (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    const index = Number(/^\/stress\/(\d+)$/.exec(String(headers[':path']))?.[1]);
    const script = scripts[index];
    if (!isWebSocketConnect(headers) || script === undefined) {
      stream.respond({ ':status': 404 }, { endStream: true });
      return;
    }
    const options = { perMessageDeflate: schedule.deflate, closeTimeout: CLOSE_TIMEOUT_MS };
    const ws = handleHttp2Stream(stream, headers, options, rawHeaders);
    const endpoint = new OurEndpoint(label('server', index), ws, script.server.reader, stream);
    ws.once('open', () => serverEnds[index]!.resolve(endpoint));
  };
  server.on('stream', onStream);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const session = http2.connect(`${secure ? 'https' : 'http'}://127.0.0.1:${port}`, {
    ...(secure ? { ca: tlsCertificate().cert } : {}),
  });
  session.on('error', () => undefined);
  const close = async () => {
    session.destroy();
    for (const s of sessions) s.destroy();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    const clients = scripts.map((script, i) =>
      connect(`${secure ? 'wss' : 'ws'}://127.0.0.1:${port}/stress/${i}`, {
        closeTimeout: CLOSE_TIMEOUT_MS,
        ...extra,
        perMessageDeflate: schedule.deflate,
        http2: session,
      }).then((ws) => new OurEndpoint(label('client', i), ws, script.client.reader, null)),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out after 5000 ms: opening the WebSockets')), 5000);
    });
    const opened = Promise.all([Promise.all(clients), Promise.all(serverEnds.map((e) => e.promise))]);
    const [clientEnds, serverEndsOpen] = await Promise.race([opened, late]).finally(() => clearTimeout(timer));
    const all = clientEnds.map((client, i) => ({ client, server: serverEndsOpen[i]! }));
    const [main, ...neighbours] = all;
    return {
      ...main!,
      neighbours,
      close: async () => {
        for (const p of all) {
          p.client.dispose();
          p.server.dispose();
        }
        await close();
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}
