/**
 * Options of a `WebSocketDuplex`, the server's accept decision, and the defaults,
 * resolved once per stream.
 */
import {
  BytesMessageEvent,
  TextMessageEvent,
  type AcceptConnectionInit,
  type Headers,
  type RequestEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../extensions/permessage-deflate';
import type { WSConnectionOptions } from '../ws-connection';

/**
 * What the server's `accept` option decides: `true` accepts without a subprotocol,
 * `false` rejects with 403, an `AcceptConnectionInit` (optionally with `accept: true`)
 * accepts with those fields, and `{ accept: false, statusCode, body, headers }` rejects
 * with that response.
 */
export type AcceptDecision =
  | boolean
  | (AcceptConnectionInit & {
      /** Optional marker of an acceptance. */
      accept?: true;
    })
  | {
      /** Reject the request. */
      accept: false;
      /** The HTTP status of the rejection. @defaultValue `403` */
      statusCode?: number;
      /** The response body (sent as `text/plain; charset=utf-8` unless `headers` say otherwise). @defaultValue `''` */
      body?: string | Buffer;
      /** Extra response headers. @defaultValue `[]` */
      headers?: Headers;
    };

/** Options of a `WebSocketDuplex`. */
export interface WebSocketDuplexOptions extends Omit<WSConnectionOptions, 'http2' | 'scheme'> {
  /**
   * Client: the request to send (host and target are required).
   *
   * @defaultValue none: a server needs none, and `connect` makes it from the URL
   */
  request?: {
    /** The `Host` header value. */
    host: string;
    /** The request target (path and query). */
    target: string;
    /** Subprotocols to offer, in order of preference. @defaultValue `[]` */
    subprotocols?: string[];
    /** Extra request headers (e.g. Origin, Authorization). @defaultValue `[]` */
    extraHeaders?: Headers;
    /** The URL the request is for, as `ws.url` reports it (`connect` sets it). @defaultValue `''` */
    url?: string;
  };
  /**
   * permessage-deflate (RFC 7692): `true` for the defaults, or its options. Client: offered.
   * Server: accepted when the client offers it.
   *
   * @defaultValue `false`
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Client: extensions to offer. Server: extensions to negotiate. A function makes fresh ones per connection.
   *
   * @defaultValue `[]` (plus permessage-deflate when `perMessageDeflate` asks for it)
   */
  extensions?: Extension[] | (() => Extension[]);
  /**
   * Server: decides on each request (sync or async). Without it, a 'request' listener
   * decides by calling `accept()` / `reject()`; with neither, every valid request is
   * accepted without a subprotocol.
   *
   * @defaultValue none: a 'request' listener decides, or every valid request is accepted
   */
  accept?: (request: RequestEvent) => AcceptDecision | Promise<AcceptDecision>;
  /** Answer pings with pongs automatically. @defaultValue `true` */
  autoPong?: boolean;
  /** Answer a peer's close with a close automatically. @defaultValue `true` */
  autoCloseReply?: boolean;
  /** Milliseconds for the opening handshake before the transport is dropped; 0 disables. @defaultValue `30000` */
  handshakeTimeout?: number;
  /**
   * Milliseconds to wait, once a close was sent or the connection failed, for the peer
   * to answer and end the transport; then it is dropped. The wait is judged by what
   * arrives: it ends when nothing has come from the peer for this long (a peer still
   * delivering what it sent before it saw our close is not late).
   *
   * @defaultValue `5000`
   */
  closeTimeout?: number;
  /**
   * Keepalive: send a ping when nothing has been received from the peer for this many
   * milliseconds. Liveness is judged by what arrives, so sending never postpones it.
   *
   * @defaultValue `0` (off)
   */
  pingInterval?: number;
  /**
   * Keepalive: drop the connection (close 1006, cause `ERR_PONG_TIMEOUT`) when nothing
   * arrives within this many milliseconds after a keepalive ping.
   *
   * @defaultValue `pingInterval`
   */
  pongTimeout?: number;
  /** High-water mark of the wire face, in bytes. @defaultValue `65536` (64 KiB) */
  highWaterMark?: number;
  /** High-water mark of `ws.app`, in objects. @defaultValue `16` */
  appHighWaterMark?: number;
}

/** Options of `send()`. */
export interface SendOptions {
  /** Send as binary. @defaultValue `true` for Buffers, `false` for strings */
  binary?: boolean;
  /**
   * false: send this message uncompressed even when compression is negotiated; true:
   * compress it even below the `threshold`.
   *
   * @defaultValue compressed when negotiated and at least `threshold` bytes
   */
  compress?: boolean;
}

/** The timing and flow options with their defaults applied. */
export interface ResolvedTimings {
  readonly handshakeTimeout: number;
  readonly closeTimeout: number;
  readonly pingInterval: number;
  readonly pongTimeout: number;
  readonly highWaterMark: number;
  readonly appHighWaterMark: number;
}

/** Apply the documented defaults. */
export function resolveTimings(options: WebSocketDuplexOptions): ResolvedTimings {
  const pingInterval = options.pingInterval ?? 0;
  const timings: ResolvedTimings = {
    handshakeTimeout: options.handshakeTimeout ?? 30000,
    closeTimeout: options.closeTimeout ?? 5000,
    pingInterval,
    pongTimeout: options.pongTimeout ?? pingInterval,
    highWaterMark: options.highWaterMark ?? 64 * 1024,
    appHighWaterMark: options.appHighWaterMark ?? 16,
  };
  // Connections with the same settings share one frozen object (a server's connections
  // all do): one less object per connection. A few distinct settings are remembered.
  const key = Object.values(timings).join(',');
  const known = sharedTimings.get(key);
  if (known !== undefined) return known;
  if (sharedTimings.size < 64) sharedTimings.set(key, Object.freeze(timings));
  return timings;
}

const sharedTimings = new Map<string, ResolvedTimings>();

/** The options of the wire face (the Duplex itself): byte high-water marks, 'close' emitted by the stream. */
export function wireOptions(timings: ResolvedTimings) {
  const hwm = timings.highWaterMark;
  return {
    emitClose: false,
    allowHalfOpen: true,
    decodeStrings: true,
    readableHighWaterMark: hwm,
    writableHighWaterMark: hwm,
  };
}

/**
 * The core's options: the stream's limits, with the automatic replies on unless turned
 * off. Only those fields: the core keeps its options for the connection's life, and the
 * stream's options may hold much more (hooks holding the HTTP request, a `connect`
 * option object with its transport's fields).
 */
export function coreOptions(options: WebSocketDuplexOptions): Omit<WSConnectionOptions, 'http2' | 'scheme'> {
  const o = options as WSConnectionOptions;
  const picked: Omit<WSConnectionOptions, 'http2' | 'scheme'> = {
    autoPong: options.autoPong !== false,
    autoCloseReply: options.autoCloseReply !== false,
  };
  for (const key of CORE_LIMITS) if (o[key] !== undefined) (picked as Record<string, unknown>)[key] = o[key];
  return picked;
}

const CORE_LIMITS = [
  'maxMessageSize',
  'maxFrameSize',
  'maxHeadSize',
  'maxHeaders',
  'maxRejectBodySize',
  'maskKey',
] as const;

/**
 * `makeExtensions` for these options, later (the opening calls it): a function of its own,
 * not a closure in the engine's constructor, so that nothing the engine keeps holds them.
 */
export const extensionsOf = (options: WebSocketDuplexOptions) => () => makeExtensions(options);

/** The extensions to offer (client) or negotiate (server): fresh ones per connection. */
export function makeExtensions(options: WebSocketDuplexOptions): Extension[] {
  const e = options.extensions;
  const list = typeof e === 'function' ? e() : [...(e ?? [])];
  const deflate = options.perMessageDeflate;
  if (deflate !== undefined && deflate !== false) list.push(new PerMessageDeflate(deflate === true ? {} : deflate));
  return list;
}

/** The message event `send(data, options)` sends: text for strings unless `binary`, binary for bytes. */
export function messageEvent(data: string | Uint8Array, options: SendOptions): TextMessageEvent | BytesMessageEvent {
  const binary = options.binary ?? typeof data !== 'string';
  const compress = options.compress === undefined ? {} : { compress: options.compress };
  if (binary) return new BytesMessageEvent({ data: typeof data === 'string' ? Buffer.from(data) : data, ...compress });
  return new TextMessageEvent({ data: typeof data === 'string' ? data : Buffer.from(data).toString(), ...compress });
}
