/**
 * What the processes of the broadcast workloads share (bench/workloads/broadcast.ts, the
 * parent; bench/broadcast-server.ts, the server under test; bench/broadcast-clients.ts,
 * the clients): the message, the compression modes and the IPC messages.
 *
 * Times are `now()` (process.hrtime: CLOCK_MONOTONIC, one clock for every process on the
 * machine), so the server's stamp before its publish call and the clients' stamps of
 * their last frame can be subtracted.
 */
import { jsonMessage, prng } from './common';

/** The broadcast message: 1 KiB of JSON (compressible, like a real update), sent as one binary message. */
export const MESSAGE: Buffer = Buffer.from(jsonMessage(prng(1024), 1024));
if (MESSAGE.length !== 1024) throw new Error(`the broadcast message is ${MESSAGE.length} bytes, not 1024`);

/**
 * How the servers compress: `plain` no permessage-deflate; `once` permessage-deflate
 * with server_no_context_takeover (each message compressed alone, so a prepared message
 * can be compressed once for everyone); `takeover` permessage-deflate with each
 * library's default context takeover (every connection compresses with its own
 * context). Compressed modes use `threshold: 0` on both libraries, so the 1 KiB message
 * is always compressed; the clients check the RSV1 bit of every frame.
 */
export type BroadcastMode = 'plain' | 'once' | 'takeover';

/** The servers: the two libraries, and the raw floor (one prebuilt frame `socket.write`n to every socket). */
export type ServerKind = 'ours' | 'ws' | 'raw';

/** How the server sends: ours `publish(topic, data)` or `broadcast(data)`; ws `wss.clients.forEach((c) => c.send(data))`; raw `socket.write(frame)`. */
export type SendMethod = 'publish' | 'broadcast' | 'forEach' | 'write';

/** Parent → server. */
export type ServerCommand =
  { cmd: 'count' } | { cmd: 'publish'; method: SendMethod } | { cmd: 'cpu' } | { cmd: 'finish' };

/** Server → parent. */
export type ServerReport =
  | { type: 'ready'; port: number }
  | { type: 'count'; clients: number }
  /** Sent right after the publish call returned: `t0` just before it, `syncCpuMs` the CPU time of the call itself. */
  | { type: 'published'; t0: number; syncCpuMs: number; sent: number }
  /** Process CPU time since just before the last publish call (user + system, all threads), and the RSS. */
  | { type: 'cpu'; cpuMs: number; rss: number }
  /** The rounds are over (a profile, if one was taken, is written). */
  | { type: 'finished' }
  | { type: 'error'; message: string };

/** Parent → client process. */
export type ClientCommand =
  | { cmd: 'open'; set: ServerKind; port: number; n: number; deflate: boolean }
  | { cmd: 'arm'; set: ServerKind }
  | { cmd: 'close' };

/** Client process → parent. */
export type ClientReport =
  | { type: 'ready' }
  /** `extensions`: the Sec-WebSocket-Extensions of the server's answers (the distinct values). */
  | { type: 'opened'; set: ServerKind; n: number; extensions: string[] }
  | { type: 'armed'; set: ServerKind }
  /**
   * Every client of `set` in this process received the message: `at` when the last one did;
   * `compressed` how many of the frames had RSV1; `verified` how many clients had their
   * payload checked against MESSAGE (inflated when compressed); `cpuMs` this process's
   * CPU time since it was armed (to show that the clients stay cheap).
   */
  | {
      type: 'done';
      set: ServerKind;
      at: number;
      messages: number;
      compressed: number;
      verified: number;
      cpuMs: number;
    }
  | { type: 'closed' }
  | { type: 'error'; message: string };
