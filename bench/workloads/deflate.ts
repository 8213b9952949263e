/**
 * Workload 7: permessage-deflate (RFC 7692), compression forced on for every message
 * (our `threshold: 0`; ws compresses every message anyway with context takeover),
 * default zlib settings and context takeover on both sides.
 *
 * - deflate (server side, unmasked): ours `conn.send(new TextMessage({ data }))` on a
 *   server `Connection` whose `PerMessageDeflate` was negotiated with a client's
 *   (`offer()` / `accept()` / `finalize()`); ws `Sender.send(data, { compress: true,
 *   fin: true })` through its `PerMessageDeflate` on a counting fake socket, timed until
 *   the last message's callback (ws compresses asynchronously on libuv's thread pool, one
 *   message at a time, its Sender queueing the rest).
 * - inflate (server side, masked input): a client's compressed stream, built once by our
 *   client `Connection`, fed in 64 KiB chunks to a fresh receiver per pass (the stream
 *   has context takeover, so it must be decoded from its start): ours a server
 *   `Connection`, ws a `Receiver` with its `PerMessageDeflate`, timed until the last
 *   'message' (text turned into strings as an application would).
 * - size: the wire bytes of a fixed JSON corpus (2000 messages, 64 B to 8 KiB) sent by
 *   each library's server, compression forced on; and the same with our server in its
 *   low-memory mode (`memory: 'low'`; ws keeps its defaults). Its target is 1.1 × our
 *   default mode's ratio: the issue asks for the low mode within 10% of the default.
 */
import {
  Connection,
  PerMessageDeflate,
  TextMessage,
  type ExtensionParams,
  type PerMessageDeflateOptions,
} from '../../lib/index';
import { Input, WsPerMessageDeflate, jsonMessages, clock, since, prng, wsLib, jsonMessage } from '../common';
import type { Lib, Pass, Workload } from '../workload';

/* eslint-disable @typescript-eslint/no-explicit-any */

function params(text: string | true): ExtensionParams {
  const list = (text === true ? '' : text)
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p): readonly [string, string | null] => {
      const eq = p.indexOf('=');
      return eq < 0 ? [p, null] : [p.slice(0, eq), p.slice(eq + 1)];
    });
  return { name: 'permessage-deflate', params: list };
}

const OUR_OPTIONS = { threshold: 0 };

/** A negotiated pair of our extensions (the server's with `serverOptions` added). */
function ourExtensions(serverOptions: PerMessageDeflateOptions = {}): {
  client: PerMessageDeflate;
  server: PerMessageDeflate;
} {
  const client = new PerMessageDeflate(OUR_OPTIONS);
  const server = new PerMessageDeflate({ ...OUR_OPTIONS, ...serverOptions });
  const offer = client.offer();
  const response = server.accept(params(offer));
  if (response === null) throw new Error('our server declined our offer');
  client.finalize(params(response));
  return { client, server };
}

function arrays(o: Record<string, unknown>): Record<string, unknown[]> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [v]]));
}

/** A negotiated pair of ws's extensions. */
function wsExtensions(): { client: any; server: any } {
  const client = new WsPerMessageDeflate({ isServer: false, maxPayload: 0 });
  const server = new WsPerMessageDeflate({ isServer: true, maxPayload: 0 });
  const accepted = server.accept([arrays(client.offer())]);
  client.accept([arrays(accepted)]);
  return { client, server };
}

/** What ws's Sender writes to: counts bytes, completes writes at once. */
class CountingSocket {
  bytes = 0;
  destroyed = false;
  cork(): void {}
  uncork(): void {}
  write(data: Buffer | string, cb?: () => void): boolean {
    this.bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (cb) cb();
    return true;
  }
}

function wsSender(): { sender: any; socket: CountingSocket; ext: any } {
  const { server } = wsExtensions();
  const socket = new CountingSocket();
  const sender = new wsLib.Sender(socket, { 'permessage-deflate': server });
  sender.onerror = (error: Error) => {
    throw error;
  };
  return { sender, socket, ext: server };
}

function wsSend(sender: any, data: string, cb: (error?: Error | null) => void): void {
  sender.send(data, { binary: false, compress: true, fin: true, mask: false }, cb);
}

/** Messages per second, or payload bytes per second for large messages. */
function unitFor(size: number): 'msg/s' | 'B/s' {
  return size >= 1024 ? 'B/s' : 'msg/s';
}

function averageBytes(messages: string[]): number {
  return messages.reduce((n, m) => n + Buffer.byteLength(m), 0) / messages.length;
}

function deflateWorkload(name: string, title: string, size: number, count: number, target: number): Workload {
  let messages: string[] = [];
  let scale = 1;
  return {
    name,
    metrics: [{ key: 'value', title, unit: unitFor(size), better: 'higher', target }],
    setup() {
      messages =
        size >= 1024
          ? Array.from({ length: 16 }, (_, i) => jsonMessage(prng(100 + i), size))
          : jsonMessages(1000, size);
      scale = unitFor(size) === 'B/s' ? averageBytes(messages) : 1;
    },
    pass(lib: Lib): Pass {
      let k = 0;
      if (lib === 'ours') {
        const { server } = ourExtensions();
        const conn = new Connection('server', { extensions: [server] });
        const pass: Pass = () => {
          let sink = 0;
          const t0 = clock();
          for (let i = 0; i < count; i++) {
            sink += conn.send(new TextMessage({ data: messages[k++ % messages.length]! })).length;
          }
          const t = since(t0);
          if (sink === 0) throw new Error('nothing sent');
          return { units: count * scale, ...t };
        };
        pass.close = () => server.close();
        return pass;
      }
      const { sender, socket, ext } = wsSender();
      const pass: Pass = () =>
        new Promise((resolve, reject) => {
          let done = 0;
          const before = socket.bytes;
          const t0 = clock();
          const cb = (error?: Error | null): void => {
            if (error) {
              reject(error);
            } else if (++done === count) {
              const t = since(t0);
              if (socket.bytes === before) reject(new Error('nothing sent'));
              resolve({ units: count * scale, ...t });
            }
          };
          for (let i = 0; i < count; i++) wsSend(sender, messages[k++ % messages.length]!, cb);
        });
      pass.close = () => ext.cleanup();
      return pass;
    },
    teardown() {
      messages = [];
    },
  };
}

function inflateWorkload(name: string, title: string, size: number, count: number, target: number): Workload {
  let input: Input | null = null;
  let scale = 1;
  return {
    name,
    metrics: [{ key: 'value', title, unit: unitFor(size), better: 'higher', target }],
    setup() {
      const messages =
        size >= 1024
          ? Array.from({ length: 16 }, (_, i) => jsonMessage(prng(200 + i), size))
          : jsonMessages(1000, size, 7);
      scale = unitFor(size) === 'B/s' ? averageBytes(messages) : 1;
      const { client } = ourExtensions();
      const conn = new Connection('client', { extensions: [client] });
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) frames.push(conn.send(new TextMessage({ data: messages[i % messages.length]! })));
      client.close();
      input = new Input(frames, count);
    },
    pass(lib: Lib): Pass {
      const i = input!;
      if (lib === 'ours') {
        return () => {
          // A fresh receiver per pass: the stream must be decoded from its start.
          i.restore();
          const server = new PerMessageDeflate(OUR_OPTIONS);
          if (server.accept(params(new PerMessageDeflate(OUR_OPTIONS).offer())) === null) throw new Error('declined');
          const conn = new Connection('server', { extensions: [server] });
          let messages = 0;
          let length = 0;
          const t0 = clock();
          for (const chunk of i.chunks) {
            conn.receiveData(chunk);
            for (let event = conn.nextEvent(); event !== null; event = conn.nextEvent()) {
              if (event.type !== 'text') throw new Error(`unexpected ${event.type} event`);
              length += event.data.length;
              if (event.messageFinished) messages++;
            }
          }
          const t = since(t0);
          server.close();
          if (messages !== i.messages || length < messages)
            throw new Error(`ours inflated ${messages} of ${i.messages}`);
          return { units: messages * scale, ...t };
        };
      }
      return () =>
        new Promise((resolve, reject) => {
          i.restore();
          const { server } = wsExtensions();
          const receiver = new wsLib.Receiver({
            isServer: true,
            binaryType: 'nodebuffer',
            maxPayload: 0,
            extensions: { 'permessage-deflate': server },
          });
          let messages = 0;
          let length = 0;
          let t0 = clock();
          receiver.on('message', (data: Buffer, isBinary: boolean) => {
            length += isBinary ? data.length : data.toString().length;
            if (++messages === i.messages) {
              const t = since(t0);
              server.cleanup();
              if (length < messages) reject(new Error('no data'));
              resolve({ units: messages * scale, ...t });
            }
          });
          receiver.on('error', reject);
          t0 = clock();
          for (const chunk of i.chunks) receiver.write(chunk);
        });
    },
    teardown() {
      input = null;
    },
  };
}

/** The fixed JSON corpus: sizes log-uniform from 64 B to 8 KiB. */
function corpus(): string[] {
  const rand = prng(42);
  const out: string[] = [];
  for (let i = 0; i < 2000; i++) out.push(jsonMessage(rand, Math.round(64 * Math.pow(128, rand()))));
  return out;
}

function sizeWorkload(name: string, title: string, target: number, serverOptions: PerMessageDeflateOptions): Workload {
  let messages: string[] = [];
  let raw = 0;
  return {
    name,
    metrics: [{ key: 'value', title, unit: 'B', better: 'lower', target }],
    once: true,
    setup() {
      messages = corpus();
      raw = messages.reduce((n, m) => n + Buffer.byteLength(m), 0);
    },
    async measure(lib: Lib) {
      if (lib === 'ours') {
        const { server } = ourExtensions(serverOptions);
        const conn = new Connection('server', { extensions: [server] });
        let bytes = 0;
        for (const m of messages) bytes += conn.send(new TextMessage({ data: m })).length;
        server.close();
        return { value: bytes, raw };
      }
      const { sender, socket, ext } = wsSender();
      await new Promise<void>((resolve, reject) => {
        let done = 0;
        for (const m of messages) {
          wsSend(sender, m, (error) => {
            if (error) reject(error);
            else if (++done === messages.length) resolve();
          });
        }
      });
      ext.cleanup();
      return { value: socket.bytes, raw };
    },
  };
}

export const deflateWorkloads: Workload[] = [
  deflateWorkload('deflate-64b', 'deflate 64 B JSON (server)', 64, 1000, 5),
  inflateWorkload('inflate-64b', 'inflate 64 B JSON (server)', 64, 4000, 20),
  deflateWorkload('deflate-64k', 'deflate 64 KiB JSON (server)', 64 * 1024, 8, 1.0),
  inflateWorkload('inflate-64k', 'inflate 64 KiB JSON (server)', 64 * 1024, 64, 2),
  sizeWorkload('deflate-size', 'compressed size, JSON corpus', 1.1, {}),
  // 1.1 × the default mode's ratio (1.09 when this row was added): see the top of this file.
  sizeWorkload('deflate-size-low', "compressed size, JSON corpus, memory 'low'", 1.2, { memory: 'low' }),
];
