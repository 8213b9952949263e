/**
 * What the HTTP/2 workloads' processes share (bench/workloads/http2.ts is the parent,
 * bench/http2-peer.ts a server or a client): the variants, the IPC messages, the echoed
 * payloads.
 */

/**
 * How the WebSockets travel. `h2`: ours, every WebSocket of a client's group on one
 * HTTP/2 session (RFC 8441 extended CONNECT); `h1`: ours, one HTTP/1.1 connection per
 * WebSocket; `ws`: the ws package, one HTTP/1.1 connection per WebSocket (it has no HTTP/2).
 */
export type Variant = 'h2' | 'h1' | 'ws';

/** `tls`: https / h2 with ALPN over TLS 1.3 (the default); `clear`: http / h2c with prior knowledge. */
export type Transport = 'tls' | 'clear';

/** The path every server serves. */
export const ECHO_PATH = '/echo';

/** Commands the parent sends. */
export type Command =
  | { cmd: 'snapshot' }
  | { cmd: 'cpu' }
  | { cmd: 'open'; port: number; n: number }
  | { cmd: 'close' }
  | { cmd: 'echo'; size: number; count: number; window: number; limitMs: number };

/** A child is ready (a server: listening on `port`). */
export interface Ready {
  type: 'ready';
  port: number;
}

/** Memory after garbage collection, and what the process holds. */
export interface Snapshot {
  type: 'snapshot';
  /** RSS without V8's young generation (bench/child.ts `settledMemory`). */
  rss: number;
  heapUsed: number;
  external: number;
  /** Open WebSockets (a server: its WebSocketServer's clients; a client: its own). */
  websockets: number;
  /** Open TCP connections (a server: accepted; a client: HTTP/2 sessions or WebSockets, one socket each). */
  sockets: number;
}

/** A process's CPU time since it started (user + system, all threads), in ms. */
export interface CpuTime {
  type: 'cpu';
  cpuMs: number;
}

/** A client opened its group: `n` WebSockets, each of which echoed one message. */
export interface Opened {
  type: 'opened';
  n: number;
}

/** A client closed every WebSocket (and HTTP/2 session) it had. */
export interface Closed {
  type: 'closed';
}

/**
 * An echo round: `messages` echoes arrived (all of them, unless `limited`: the time
 * limit stopped the senders) in `ms` of wall time, while the client used `cpuMs`.
 */
export interface Echoed {
  type: 'echoed';
  messages: number;
  ms: number;
  cpuMs: number;
  limited: boolean;
}

/** The message of `size` bytes: ASCII text below 1 KiB (as chat and updates are), binary from 1 KiB. */
export function payload(size: number): string | Buffer {
  if (size < 1024) return 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(size / 36)).slice(0, size);
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + 7) & 0xff;
  return data;
}
