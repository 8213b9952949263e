/**
 * For the WebSocketStream tests: a server on 127.0.0.1 whose paths behave as the
 * scenarios need, and the scenarios themselves as one self-contained function, run in
 * Node with ours and in Chromium with its own (page.evaluate serialises it with
 * toString, so it may use nothing from outside its body).
 *
 * Paths: /refuse (403), /hang (never answers), /flood?n=&size= (n binary messages, then
 * echo), anything else echoes; a message 'bye' makes the server close (4001 'server
 * bye'), 'vanish' destroys its socket, 'bad-utf8' sends a text frame of invalid UTF-8, 'two-then-vanish' sends 'a' and 'b' and then
 * destroys it. The query's `id` names the connection in `closes`.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { listen } from './net';

/** What the server saw a connection close with, by the `id` of its URL. */
export type ServerCloses = Map<string, { code: number; reason: string; wasClean: boolean }>;

export interface ScenarioServer {
  port: number;
  closes: ServerCloses;
  /** The server side of each connection, by `id`. */
  sockets: Map<string, WebSocketDuplex>;
  close: () => Promise<void>;
}

/** The flood's message `i`: `size` bytes, the first four the index, then `(i + k) & 255`. */
export function floodMessage(i: number, size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let k = 4; k < size; k++) data[k] = (i + k) & 255;
  data.writeUInt32BE(i, 0);
  return data;
}

export async function startScenarioServer(options: { perMessageDeflate?: boolean } = {}): Promise<ScenarioServer> {
  const closes: ServerCloses = new Map();
  const sockets = new Map<string, WebSocketDuplex>();
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!doctype html><meta charset="utf-8"><title>WebSocketStream</title>');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    if (url.pathname === '/hang') return; // listen() destroys it at the end
    const id = url.searchParams.get('id') ?? url.pathname;
    const ws = handleUpgrade(req, socket, head, {
      perMessageDeflate: options.perMessageDeflate === true,
      accept: (request) => (request.subprotocols.includes('chat') ? { subprotocol: 'chat' } : true),
    });
    sockets.set(id, ws);
    ws.on('close', (code, reason, wasClean) => closes.set(id, { code, reason, wasClean }));
    ws.on('open', () => {
      if (url.pathname !== '/flood') return;
      const n = Number(url.searchParams.get('n'));
      const size = Number(url.searchParams.get('size'));
      for (let i = 0; i < n; i++) ws.send(floodMessage(i, size));
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data === 'bye') ws.close(4001, 'server bye');
      else if (!isBinary && data === 'vanish') socket.destroy();
      else if (!isBinary && data === 'bad-utf8')
        socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28])); // RFC 6455 8.1
      else if (!isBinary && data === 'two-then-vanish') {
        ws.send('a');
        ws.send(Buffer.from('b'), {}, () => setTimeout(() => socket.destroy(), 50));
      } else ws.send(data, { binary: isBinary });
    });
  });
  const listening = await listen(server);
  return { port: listening.port, closes, sockets, close: listening.close };
}

/** One scenario's trace: what the promises settled with and what was read. */
export type Trace = Record<string, unknown>;

/**
 * The differential scenarios. `impl` is ours in Node; in the page it is absent and the
 * browser's globals are used. `id` prefixes the connection ids the server records.
 */
export async function runScenarios(
  arg: { base: string; id: string },
  impl?: { WebSocketStream: unknown; WebSocketError: unknown },
): Promise<Record<string, Trace>> {
  /* eslint-disable @typescript-eslint/no-explicit-any -- the same code runs on the browser's classes */
  const g = globalThis as any;
  const WSS: any = impl?.WebSocketStream ?? g.WebSocketStream;
  const WSE: any = impl?.WebSocketError ?? g.WebSocketError;
  const describe = (e: any): unknown => {
    if (e === undefined || e === null || typeof e !== 'object') return String(e);
    const out: Record<string, unknown> = {
      name: e.name,
      message: e.message,
      isDOMException: e instanceof DOMException,
    };
    if ('closeCode' in e) out.closeCode = e.closeCode;
    if ('reason' in e) out.reason = e.reason;
    return out;
  };
  const settle = (p: Promise<unknown>): Promise<unknown> =>
    Promise.race([
      p.then(
        (v: any) => ({ ok: v && typeof v === 'object' && 'closeCode' in v ? { ...v } : typeof v }),
        (e: unknown) => ({ rejected: describe(e) }),
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 3000)),
    ]);
  const read = async (reader: any): Promise<unknown> => {
    try {
      const { done, value } = await reader.read();
      if (done) return 'done';
      if (typeof value === 'string') return { text: value };
      const bytes =
        value instanceof ArrayBuffer
          ? new Uint8Array(value)
          : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { binary: Array.from(bytes) };
    } catch (e) {
      return { readRejected: describe(e) };
    }
  };
  const url = (path: string, name: string) => `${arg.base}${path}?id=${arg.id}-${name}`;
  const sync = (f: () => unknown): unknown => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return describe(e);
    }
  };
  const traces: Record<string, Trace> = {};

  {
    const s = new WSS(url('/echo', 'echo'), { protocols: ['chat', 'other'] });
    const o = await s.opened;
    const writer = o.writable.getWriter();
    const reader = o.readable.getReader();
    await writer.write('héllo ✓');
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.write(new Uint8Array([9, 8, 7, 6]).subarray(1, 3));
    const reads = [await read(reader), await read(reader), await read(reader)];
    const invalid = [sync(() => s.close({ closeCode: 1001 })), sync(() => s.close({ reason: 'é'.repeat(62) }))];
    s.close({ closeCode: 4000, reason: 'done' });
    traces.echo = {
      keys: Object.keys(o).sort(),
      protocol: o.protocol,
      extensions: o.extensions,
      url: s.url === url('/echo', 'echo'),
      reads,
      invalid,
      afterClose: await read(reader),
      closed: await settle(s.closed),
      writeAfterClose: await settle(writer.write('late')),
    };
  }
  {
    const s = new WSS(url('/echo', 'server-close'));
    const o = await s.opened;
    const reader = o.readable.getReader();
    await o.writable.getWriter().write('bye');
    traces.serverClose = { read: await read(reader), closed: await settle(s.closed) };
  }
  {
    const s = new WSS(url('/echo', 'vanish'));
    const o = await s.opened;
    const writer = o.writable.getWriter();
    const reader = o.readable.getReader();
    await writer.write('vanish');
    traces.vanish = {
      read: await read(reader),
      closed: await settle(s.closed),
      writerClosed: await settle(writer.closed),
    };
  }
  {
    const s = new WSS(url('/echo', 'bad-utf8'));
    const o = await s.opened;
    const reader = o.readable.getReader();
    await o.writable.getWriter().write('bad-utf8');
    traces.invalidUtf8 = { read: await read(reader), closed: await settle(s.closed) };
  }
  {
    const s = new WSS(url('/refuse', 'refuse'));
    traces.refused = { opened: await settle(s.opened), closed: await settle(s.closed) };
  }
  {
    const controller = new AbortController();
    controller.abort();
    const s = new WSS(url('/echo', 'abort'), { signal: controller.signal });
    traces.abortBeforeOpen = { opened: await settle(s.opened), closed: await settle(s.closed) };
  }
  {
    const s = new WSS(url('/hang', 'close-connecting'));
    s.close();
    traces.closeWhileConnecting = { opened: await settle(s.opened), closed: await settle(s.closed) };
  }
  {
    const s = new WSS(url('/echo', 'writer-abort'));
    const o = await s.opened;
    await o.writable.getWriter().abort(new WSE('stop', { closeCode: 4002, reason: 'aborted' }));
    traces.writerAbort = { closed: await settle(s.closed), read: await read(o.readable.getReader()) };
  }
  {
    const s = new WSS(url('/echo', 'reader-cancel'));
    const o = await s.opened;
    await o.readable.getReader().cancel();
    traces.readerCancel = {
      closed: await settle(s.closed),
      write: await settle(o.writable.getWriter().write('x')),
    };
  }
  {
    const s = new WSS(url('/echo', 'close-no-code'));
    await s.opened;
    s.close();
    traces.closeNoCode = { closed: await settle(s.closed) };
  }
  return traces;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}
