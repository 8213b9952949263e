/**
 * Events: what `events()` yields and what `send()` takes. The names and fields are
 * Python wsproto's, in camelCase. Every event is a class with `readonly` fields and a
 * literal `type`, so both `instanceof` and `switch (event.type)` work. (They are not
 * `Object.freeze`d at run time: freezing costs more than parsing a small frame.)
 *
 * Inside lib/ the classes carry an `Event` suffix so that they do not shadow the
 * globals `Request` and `Event`; the package root exports them under wsproto's names.
 */
// The module's binding: the global `Buffer` is an accessor on globalThis (a getter call per use).
import { Buffer } from 'node:buffer';
import type { Extension, ExtensionParams } from './extensions/extension';
import type { RemoteErrorCode } from './errors';

/** HTTP header list: `[name, value]` pairs in order, names in their original case. */
export type Headers = ReadonlyArray<readonly [string, string]>;

/** Fields of a `Request`. */
export interface RequestInit {
  /** The `Host` header value. */
  host: string;
  /** The request target (path and query), e.g. `/chat?room=1`. */
  target: string;
  /**
   * Client: the extensions to offer (objects implementing `Extension`, or raw offer
   * strings). Server: the offers the client made, parsed (RFC 6455 9.1).
   */
  extensions?: ReadonlyArray<Extension | ExtensionParams | string>;
  /** Extra headers to send (client) or every header received (server). */
  extraHeaders?: Headers;
  /** Subprotocols offered, in the client's order of preference. */
  subprotocols?: readonly string[];
}

/** The opening handshake request (client sends it; the server receives it). */
export class RequestEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'request' as const;
  /** The `Host` header value. */
  readonly host: string;
  /** The request target. */
  readonly target: string;
  /** Offered extensions (see `RequestInit.extensions`). */
  readonly extensions: ReadonlyArray<Extension | ExtensionParams | string>;
  /** Extra headers (client) or all headers received (server). */
  readonly extraHeaders: Headers;
  /** Offered subprotocols. */
  readonly subprotocols: readonly string[];

  /**
   * Make the event.
   *
   * @param init host and target (required), extensions, extra headers, subprotocols.
   */
  constructor(init: RequestInit) {
    this.host = init.host;
    this.target = init.target;
    this.extensions = init.extensions ?? [];
    this.extraHeaders = init.extraHeaders ?? [];
    this.subprotocols = init.subprotocols ?? [];
  }
}

/** Fields of an `AcceptConnection`. */
export interface AcceptConnectionInit {
  /** The chosen subprotocol; must be one the client offered. */
  subprotocol?: string | null;
  /** Server: the extensions it supports (negotiated against the offers). Client: those enabled. */
  extensions?: readonly Extension[];
  /** Extra headers for the 101 response (server) or the headers received (client). */
  extraHeaders?: Headers;
}

/** The server accepts the handshake (server sends it; the client receives it). */
export class AcceptConnectionEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'accept' as const;
  /** The chosen subprotocol, or null. */
  readonly subprotocol: string | null;
  /** Extensions (see `AcceptConnectionInit.extensions`). */
  readonly extensions: readonly Extension[];
  /** Extra headers. */
  readonly extraHeaders: Headers;

  /**
   * Make the event.
   *
   * @param init subprotocol, extensions and extra headers; all optional.
   */
  constructor(init: AcceptConnectionInit = {}) {
    this.subprotocol = init.subprotocol ?? null;
    this.extensions = init.extensions ?? [];
    this.extraHeaders = init.extraHeaders ?? [];
  }
}

/** Fields of a `RejectConnection`. */
export interface RejectConnectionInit {
  /** HTTP status code, default 400. */
  statusCode?: number;
  /** Response headers. */
  headers?: Headers;
  /** True when `RejectData` events with a body follow. */
  hasBody?: boolean;
}

/** The server refuses the handshake with an HTTP response. */
export class RejectConnectionEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'reject' as const;
  /** HTTP status code. */
  readonly statusCode: number;
  /** Response headers. */
  readonly headers: Headers;
  /** True when `RejectData` events with a body follow. */
  readonly hasBody: boolean;

  /**
   * Make the event.
   *
   * @param init status code (default 400), headers, and whether a body follows.
   */
  constructor(init: RejectConnectionInit = {}) {
    this.statusCode = init.statusCode ?? 400;
    this.headers = init.headers ?? [];
    this.hasBody = init.hasBody ?? false;
  }
}

/** Fields of a `RejectData`. */
export interface RejectDataInit {
  /** A chunk of the rejection body. */
  data: Uint8Array;
  /** True on the last chunk. Default true. */
  bodyFinished?: boolean;
}

/** A chunk of the body of a rejection response. */
export class RejectDataEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'reject-data' as const;
  /** The body chunk. */
  readonly data: Buffer;
  /** True on the last chunk. */
  readonly bodyFinished: boolean;

  /**
   * Make the event.
   *
   * @param init the body chunk (kept as a view, not copied) and whether it is the last.
   */
  constructor(init: RejectDataInit) {
    this.data = toBuffer(init.data);
    this.bodyFinished = init.bodyFinished ?? true;
  }
}

/** Fields of a `CloseConnection`. */
export interface CloseConnectionInit {
  /** Close status code (see `CloseReason`). */
  code: number;
  /** Close reason text; truncated to fit a control frame when sent. */
  reason?: string;
  /** Set by the core only: why it failed the connection (see `CloseConnection.errorCode`). */
  errorCode?: RemoteErrorCode | null;
}

/**
 * The close handshake: received when the peer closes (or breaks the protocol, with the
 * code to answer), sent to close.
 */
export class CloseConnectionEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'close' as const;
  /** Close status code. */
  readonly code: number;
  /** Close reason text ('' when none). */
  readonly reason: string;
  /**
   * Null for a close frame the peer sent. When the core made this close because the
   * peer broke the protocol (the code is then the one to answer with: 1002, 1007,
   * 1009) or the transport ended without a close frame (1006), the stable `ERR_*`
   * code saying why (the README's error table lists them).
   */
  readonly errorCode: RemoteErrorCode | null;

  /**
   * Make the event.
   *
   * @param init the close code and an optional reason. The code is checked when the
   *   event is sent (`LocalProtocolError` `ERR_INVALID_CLOSE_CODE`), not here.
   */
  constructor(init: CloseConnectionInit) {
    this.code = init.code;
    this.reason = init.reason ?? '';
    this.errorCode = init.errorCode ?? null;
  }

  /**
   * The close to send back in answer to this one: the same code and reason, as in
   * wsproto (RFC 6455 5.5.1: the endpoint typically echoes the status code).
   */
  response(): CloseConnectionEvent {
    return new CloseConnectionEvent({ code: this.code, reason: this.reason });
  }
}

/** Fields of a `TextMessage`. */
export interface TextMessageInit {
  /** The text (whole code points). */
  data: string;
  /** False when more data of the same frame follows. Default true. */
  frameFinished?: boolean;
  /** False when more frames of the same message follow. Default true. */
  messageFinished?: boolean;
  /** Sending only: false to send this message uncompressed even when compression is on. */
  compress?: boolean | undefined;
}

/** Text message data: a whole message or a piece of one. */
export class TextMessageEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'text' as const;
  /** The text. */
  readonly data: string;
  /** False when more data of the same frame follows. */
  readonly frameFinished: boolean;
  /** False when more data of the same message follows. */
  readonly messageFinished: boolean;
  /** Sending only: the per-message compression preference. */
  readonly compress: boolean | undefined;

  /**
   * Make the event.
   *
   * @param init the text and, for pieces of a message, the `frameFinished` /
   *   `messageFinished` flags.
   */
  constructor(init: TextMessageInit) {
    this.data = init.data;
    this.frameFinished = init.frameFinished ?? true;
    this.messageFinished = init.messageFinished ?? true;
    this.compress = init.compress;
  }
}

/** Fields of a `BytesMessage`. */
export interface BytesMessageInit {
  /** The bytes. */
  data: Uint8Array;
  /** False when more data of the same frame follows. Default true. */
  frameFinished?: boolean;
  /** False when more frames of the same message follow. Default true. */
  messageFinished?: boolean;
  /** Sending only: false to send this message uncompressed even when compression is on. */
  compress?: boolean | undefined;
}

/** Binary message data: a whole message or a piece of one. */
export class BytesMessageEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'bytes' as const;
  /** The bytes. */
  readonly data: Buffer;
  /** False when more data of the same frame follows. */
  readonly frameFinished: boolean;
  /** False when more data of the same message follows. */
  readonly messageFinished: boolean;
  /** Sending only: the per-message compression preference. */
  readonly compress: boolean | undefined;

  /**
   * Make the event.
   *
   * @param init the bytes (kept as a view, not copied) and, for pieces of a message,
   *   the `frameFinished` / `messageFinished` flags.
   */
  constructor(init: BytesMessageInit) {
    this.data = toBuffer(init.data);
    this.frameFinished = init.frameFinished ?? true;
    this.messageFinished = init.messageFinished ?? true;
    this.compress = init.compress;
  }
}

/** Fields of a `Ping` or `Pong`. */
export interface PingInit {
  /** Application data, at most 125 bytes. Default empty. */
  payload?: Uint8Array;
}

/** A ping control frame. */
export class PingEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'ping' as const;
  /** Application data. */
  readonly payload: Buffer;

  /**
   * Make the event.
   *
   * @param init the payload (at most 125 bytes to be sendable; kept as a view, not copied).
   */
  constructor(init: PingInit = {}) {
    this.payload = toBuffer(init.payload ?? EMPTY);
  }

  /** RFC 6455 5.5.3: the pong that answers this ping, with the same payload. */
  response(): PongEvent {
    return new PongEvent({ payload: this.payload });
  }
}

/** A pong control frame. */
export class PongEvent {
  /** Discriminant for `switch (event.type)`. */
  readonly type = 'pong' as const;
  /** Application data. */
  readonly payload: Buffer;

  /**
   * Make the event.
   *
   * @param init the payload (at most 125 bytes to be sendable; kept as a view, not copied).
   */
  constructor(init: PingInit = {}) {
    this.payload = toBuffer(init.payload ?? EMPTY);
  }
}

/** Every event, as a union that `switch (event.type)` narrows. */
export type WSEvent =
  | RequestEvent
  | AcceptConnectionEvent
  | RejectConnectionEvent
  | RejectDataEvent
  | CloseConnectionEvent
  | TextMessageEvent
  | BytesMessageEvent
  | PingEvent
  | PongEvent;

/** The events a `Connection` yields or sends after the handshake. */
export type ConnectionEvent = CloseConnectionEvent | TextMessageEvent | BytesMessageEvent | PingEvent | PongEvent;

const EMPTY = Buffer.alloc(0);

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
