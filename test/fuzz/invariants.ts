/**
 * The contract every fuzz property checks on a `Connection` (README, "Error handling"
 * and "Limits"): whatever bytes the peer sends, in whatever chunks,
 *
 * - `receiveData()` and `events()` never throw (the caller stops feeding once CLOSED);
 * - only connection events come out, and a close carries a valid code: 1002, 1007 or
 *   1009 for a failure we detected, 1006 at EOF, 1005 or a valid wire code from the peer;
 * - nothing follows a close but, at EOF, the 1006 that reports the transport's end
 *   (wsproto does the same: `receive_data(None)` always queues 1006 unless CLOSED);
 * - message pieces keep their type, and no message exceeds `maxMessageSize`;
 * - after each drain, `bufferedAmount` is at most a partial frame header (13 bytes) or a
 *   partial control frame (124 bytes): data is delivered as it arrives, so received
 *   bytes never pile up;
 * - the work is bounded by the input: at most one event per byte plus one per chunk.
 */
import {
  CloseConnection,
  Connection,
  isValidWireCode,
  type ConnectionEvent,
  type ConnectionOptions,
} from '../../lib/index';
import { merge, type Merged } from '../helpers/bytes';

/** The longest frame header: 2 + 8 (64-bit length) + 4 (masking key). */
export const MAX_HEADER = 14;
/** RFC 6455 5.5: control frame payloads are at most 125 bytes. */
export const MAX_CONTROL_PAYLOAD = 125;
/** What `bufferedAmount` may hold after a drain: less than a header or a control frame. */
export const BUFFER_BOUND = MAX_HEADER + MAX_CONTROL_PAYLOAD;
/** The close codes the library reports for a violation it detected. */
export const FAILURE_CODES: readonly number[] = [1002, 1007, 1009];

/** How the connection's reading ended. */
export interface CloseSeen {
  code: number;
  reason: string;
  /** 'peer': a close frame; 'failure': the peer broke the protocol; 'eof': transport end. */
  origin: 'peer' | 'failure' | 'eof';
}

/** What a driven connection produced. */
export interface Outcome {
  events: ConnectionEvent[];
  close: CloseSeen | null;
  /** The largest `bufferedAmount` seen after a drain. */
  maxBuffered: number;
}

/** Options of `drive`. */
export interface DriveOptions {
  /** Feed EOF (`receiveData(null)`) after the chunks. */
  eof?: boolean;
  /** Answer a close with `event.response()` (moves to CLOSED; feeding then stops). */
  answerClose?: boolean;
  /** The connection's `maxMessageSize` (to check delivered sizes). Default 64 MiB. */
  maxMessageSize?: number;
  /** Bytes the connection was given before (its `trailingData`). */
  alreadyFed?: number;
}

/** A broken invariant: the message says which, with the events so far. */
export class InvariantError extends Error {
  constructor(message: string, events: readonly ConnectionEvent[]) {
    const tail = events
      .slice(-6)
      .map((e) => (e.type === 'close' ? `close(${e.code})` : e.type))
      .join(', ');
    super(`${message} (last events: ${tail || 'none'})`);
    this.name = 'InvariantError';
  }
}

/**
 * Feed `chunks` to `conn` (a copy of each: the connection owns what it is given),
 * draining after each, checking every invariant above. Throws `InvariantError`, or lets
 * an exception from the library through (which fails the property as it should).
 */
export function drive(conn: Connection, chunks: readonly Uint8Array[], options: DriveOptions = {}): Outcome {
  const limit = options.maxMessageSize ?? 64 * 1024 * 1024;
  const events: ConnectionEvent[] = [];
  let close: CloseSeen | null = null;
  let eofAfterClose = false;
  let message: 'text' | 'bytes' | null = null;
  let messageBytes = 0;
  let fed = options.alreadyFed ?? 0;
  let maxBuffered = 0;
  const fail = (what: string): never => {
    throw new InvariantError(what, events);
  };

  const drain = (atEof: boolean): void => {
    for (const event of conn.events()) {
      events.push(event);
      if (close !== null) {
        // The only event allowed after a close: the 1006 that EOF reports (once).
        const eofClose = atEof && event instanceof CloseConnection && event.code === 1006 && !eofAfterClose;
        if (!eofClose || close.origin === 'eof') fail(`${event.type} event after a close (${close.code})`);
        eofAfterClose = true;
        continue;
      }
      switch (event.type) {
        case 'text':
        case 'bytes': {
          if (message !== null && message !== event.type) fail(`${event.type} piece inside a ${message} message`);
          if (event.messageFinished && !event.frameFinished) fail('messageFinished without frameFinished');
          if (event.type === 'text' && typeof event.data !== 'string') fail('text event without a string');
          if (event.type === 'bytes' && !Buffer.isBuffer(event.data)) fail('bytes event without a Buffer');
          messageBytes += event.type === 'text' ? Buffer.byteLength(event.data) : event.data.length;
          if (messageBytes > limit) fail(`message of ${messageBytes} bytes delivered over the ${limit} limit`);
          message = event.messageFinished ? null : event.type;
          if (event.messageFinished) messageBytes = 0;
          break;
        }
        case 'ping':
        case 'pong':
          if (event.payload.length > MAX_CONTROL_PAYLOAD) fail(`${event.type} payload of ${event.payload.length}`);
          break;
        case 'close': {
          const origin = atEof ? 'eof' : conn.failed ? 'failure' : 'peer';
          if (origin === 'eof' && event.code !== 1006) fail(`EOF close with code ${event.code}`);
          if (origin === 'failure' && !FAILURE_CODES.includes(event.code)) fail(`failure close code ${event.code}`);
          if (origin === 'peer' && event.code !== 1005 && !isValidWireCode(event.code)) {
            fail(`peer close with invalid code ${event.code}`);
          }
          if (typeof event.reason !== 'string') fail('close reason is not a string');
          close = { code: event.code, reason: event.reason, origin };
          if (options.answerClose && conn.state === 'REMOTE_CLOSING') conn.send(event.response());
          break;
        }
        default:
          fail(`unexpected event ${(event as { type?: string }).type}`);
      }
    }
    maxBuffered = Math.max(maxBuffered, conn.bufferedAmount);
    if (conn.bufferedAmount > BUFFER_BOUND) fail(`bufferedAmount ${conn.bufferedAmount} > ${BUFFER_BOUND}`);
    if (events.length > fed + chunks.length + 2) fail(`${events.length} events from ${fed} bytes`);
  };

  drain(false); // trailingData given to the constructor
  for (const chunk of chunks) {
    if (conn.state === 'CLOSED') break;
    fed += chunk.length;
    conn.receiveData(Buffer.from(chunk));
    drain(false);
  }
  if (options.eof && conn.state !== 'CLOSED') {
    conn.receiveData(null);
    drain(true);
    const state: string = conn.state;
    if (state !== 'CLOSED') fail(`state ${state} after EOF`);
  }
  return { events, close, maxBuffered };
}

/** A fresh connection driven over `chunks`. */
export function driveNew(
  role: 'client' | 'server',
  chunks: readonly Uint8Array[],
  connOptions: ConnectionOptions = {},
  options: DriveOptions = {},
): Outcome {
  const maxMessageSize = connOptions.maxMessageSize;
  return drive(new Connection(role, connOptions), chunks, {
    ...options,
    ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
    alreadyFed: connOptions.trailingData?.length ?? 0,
  });
}

/**
 * What must not depend on the chunking: the whole messages, pings, pongs and the close
 * (code and reason). Pieces of a message cut short by a failure may differ (invalid
 * UTF-8 fails as soon as it arrives), so unfinished messages are left out.
 */
export function summary(outcome: Outcome): Merged[] {
  return merge(outcome.events).filter((m) => m.type !== 'text-partial' && m.type !== 'bytes-partial');
}

/** Cut `data` at the given offsets (taken modulo its length + 1). */
export function cut(data: Uint8Array, offsets: readonly number[]): Buffer[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const points = [...new Set(offsets.map((o) => o % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) out.push(buf.subarray(last, p));
    last = Math.max(last, p);
  }
  if (last < buf.length || out.length === 0) out.push(buf.subarray(last));
  return out;
}
