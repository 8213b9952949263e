/**
 * `Connection`: the post-handshake WebSocket state machine (wsproto's `connection.py`).
 *
 * Theory of operation. Bytes from the transport go into `receiveData()`; they are only
 * buffered there. `events()` (or `nextEvent()`) then parses what it can and yields one
 * event at a time: messages, pings, pongs, and a `CloseConnection` when the peer closes,
 * when it breaks the protocol (with the code to answer: 1002, 1007, 1009, and an
 * `errorCode` saying why), or when the transport ends without a close (1006).
 * `send(event)` returns the bytes to write. Nothing here touches a socket, a timer or a
 * promise.
 *
 * The connection owns closing (as python-websockets' sans-I/O protocol does): it records
 * the close frames sent and received, the code and reason to report, why it failed, and
 * whether the close was clean. It says what may be sent (`canSend`), when the transport
 * is expected to end (`closeExpected`) and when this side should end it
 * (`shouldEndTransport`). With `autoPong` / `autoCloseReply` it answers pings and closes
 * itself; the answers wait in `dataToSend()`. Layers above read this state and keep no
 * copy of it.
 *
 * Every state change happens in the tables below (h11's rule: everything that affects
 * the state machine lives here):
 *
 *     OPEN ──send close──▶ LOCAL_CLOSING ──receive close──▶ CLOSED
 *     OPEN ──receive close / peer breaks protocol──▶ REMOTE_CLOSING ──send close──▶ CLOSED
 *     any ──transport EOF──▶ CLOSED
 *
 * Where we differ from wsproto: when the peer breaks the protocol, wsproto yields the
 * `CloseConnection` but stays OPEN; we move to REMOTE_CLOSING (LOCAL_CLOSING: CLOSED),
 * so that sending the suggested close completes the state machine and nothing else can
 * be sent on a connection that has failed (RFC 6455 7.1.7).
 */
import type { PreparedMessage } from './prepared-message';
import { CloseReason } from './close-codes';
import { CloseRecord } from './close-record';
import { LocalProtocolError, RemoteProtocolError } from './errors';
import { CloseConnectionEvent, type ConnectionEvent } from './events';
import type { Extension } from './extensions/extension';
import type { SplitFrame } from './frame/encoder';
import { randomMaskKey, type MaskKeyGenerator } from './frame/mask';
import type { FrameLimits } from './frame/limits';
import { FrameProtocol } from './frame/protocol';

/** Which end of the connection this is. */
export const ConnectionType = {
  /** Talks to a server: sends masked frames, expects unmasked ones. */
  CLIENT: 'client',
  /** Talks to a client: sends unmasked frames, expects masked ones. */
  SERVER: 'server',
} as const;

/** `ConnectionType.CLIENT` or `ConnectionType.SERVER`. */
export type ConnectionRole = (typeof ConnectionType)[keyof typeof ConnectionType];

/** Connection states (RFC 6455 section 4 and 7), with wsproto's names. */
export const ConnectionState = {
  /** The opening handshake is in progress. */
  CONNECTING: 'CONNECTING',
  /** The opening handshake is complete; messages flow both ways. */
  OPEN: 'OPEN',
  /** The peer sent a close (or failed the protocol); we have not answered yet. */
  REMOTE_CLOSING: 'REMOTE_CLOSING',
  /** We sent a close and wait for the peer's. */
  LOCAL_CLOSING: 'LOCAL_CLOSING',
  /** The closing handshake is complete, or the transport ended. */
  CLOSED: 'CLOSED',
  /** The server is sending a rejection response. */
  REJECTING: 'REJECTING',
} as const;

/** One of the `ConnectionState` values. */
export type ConnectionStateValue = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Options of a `Connection`. */
export interface ConnectionOptions extends FrameLimits {
  /** Extensions negotiated during the handshake (only enabled ones are used). @defaultValue `[]` */
  extensions?: readonly Extension[];
  /** Bytes already received after the handshake (e.g. frames in the same packet as the 101). @defaultValue none */
  trailingData?: Uint8Array;
  /** Client only: the masking key source, for tests. @defaultValue a CSPRNG pool */
  maskKey?: MaskKeyGenerator;
  /**
   * Answer each ping with a pong by itself (the bytes wait in `dataToSend()`). Off by
   * default, as in wsproto, where you send `event.response()`.
   *
   * @defaultValue `false`
   */
  autoPong?: boolean;
  /**
   * Answer the peer's close (echoing its code), and a failure of the peer's (with the
   * failure's code and reason), by itself; the bytes wait in `dataToSend()`. Off by
   * default, as in wsproto, where you send `event.response()`.
   *
   * @defaultValue `false`
   */
  autoCloseReply?: boolean;
}

/** The types of event `send()` takes after the handshake. */
export type SendableType = ConnectionEvent['type'];
type OpenState = Exclude<ConnectionStateValue, 'CONNECTING' | 'REJECTING'>;

// What `send()` may send in each state, and the state it leads to.
const SEND: Record<OpenState, Partial<Record<SendableType, OpenState>>> = {
  OPEN: { text: 'OPEN', bytes: 'OPEN', ping: 'OPEN', pong: 'OPEN', close: 'LOCAL_CLOSING' },
  REMOTE_CLOSING: { close: 'CLOSED' },
  LOCAL_CLOSING: {},
  CLOSED: {},
};

// The state after a close frame arrives (or the peer fails the protocol).
const RECEIVE_CLOSE: Record<OpenState, OpenState> = {
  OPEN: 'REMOTE_CLOSING',
  REMOTE_CLOSING: 'REMOTE_CLOSING',
  LOCAL_CLOSING: 'CLOSED',
  CLOSED: 'CLOSED',
};

const NONE: readonly Buffer[] = Object.freeze([]);

// Flags of one field (see Connection.#flags): a server holds many idle connections.
const CLIENT = 1;
const AUTO_PONG = 2;
const AUTO_CLOSE_REPLY = 4;
const EOF = 8; // receiveData(null) came

/** A WebSocket connection after the opening handshake. */
export class Connection {
  #flags: number;
  readonly #proto: FrameProtocol;
  #state: OpenState = 'OPEN';
  #outgoing: Buffer[] | null = null; // automatic replies, until dataToSend() takes them
  #close: CloseRecord | null = null; // made at the first step towards the close

  /**
   * Start a connection in state OPEN, for a handshake done elsewhere. Throws
   * `LocalProtocolError` (`ERR_INVALID_OPTION`) for an unknown `type`.
   *
   * @param type `ConnectionType.CLIENT` or `ConnectionType.SERVER`.
   * @param options extensions, limits, trailing data, automatic replies.
   */
  constructor(type: ConnectionRole, options: ConnectionOptions = {}) {
    if (type !== ConnectionType.CLIENT && type !== ConnectionType.SERVER) {
      throw new LocalProtocolError(`unknown connection type ${String(type)}`, 'ERR_INVALID_OPTION');
    }
    const client = type === ConnectionType.CLIENT;
    this.#flags =
      (client ? CLIENT : 0) |
      (options.autoPong === true ? AUTO_PONG : 0) |
      (options.autoCloseReply === true ? AUTO_CLOSE_REPLY : 0);
    this.#proto = new FrameProtocol(client, options, randomMaskKey);
    if (options.trailingData !== undefined && options.trailingData.length > 0) {
      this.receiveData(options.trailingData);
    }
  }

  /** The current state. */
  get state(): ConnectionStateValue {
    return this.#state;
  }

  /** `ConnectionType.CLIENT` or `ConnectionType.SERVER`. */
  get type(): ConnectionRole {
    return (this.#flags & CLIENT) !== 0 ? ConnectionType.CLIENT : ConnectionType.SERVER;
  }

  /** The enabled extensions. */
  get extensions(): readonly Extension[] {
    return this.#proto.extensions;
  }

  /**
   * True when reading stopped because the peer broke the protocol: the
   * `CloseConnection` that reported it was made here (with the code to answer), it is
   * not a close frame the peer sent.
   */
  get failed(): boolean {
    return this.#proto.failure !== null;
  }

  /**
   * Why the connection failed, or null: the peer broke the protocol (`code`
   * `ERR_INVALID_UTF8`, `ERR_MESSAGE_TOO_BIG` ..., `closeCode` the code we answer), or
   * the transport ended without the peer's close frame (`ERR_ABNORMAL_CLOSURE`, 1006).
   */
  get failure(): RemoteProtocolError | null {
    return this.#close?.failure ?? null;
  }

  /** The close frame we sent, or null. */
  get closeSent(): CloseConnectionEvent | null {
    return this.#close?.sent ?? null;
  }

  /** The close frame the peer sent, or null (a failure the core reported is not one). */
  get closeReceived(): CloseConnectionEvent | null {
    return this.#close?.received ?? null;
  }

  /**
   * The close code to report (RFC 6455 7.1.5), once known: the peer's (1005 when its
   * close had no code), the code we failed the connection with (1002, 1007, 1009), or
   * 1006 when the transport ended without the peer's close. Null before that.
   */
  get closeCode(): number | null {
    return this.#close?.code ?? null;
  }

  /** The close reason that goes with `closeCode` ('' when none). */
  get closeReason(): string {
    return this.#close?.reason ?? '';
  }

  /** True when both close frames passed and nothing failed: the closing handshake completed. */
  get wasClean(): boolean {
    return this.#close?.clean ?? false;
  }

  /** Bytes received but not yet parsed into events (bounded by one header plus a frame piece). */
  get bufferedAmount(): number {
    return this.#proto.bufferedAmount;
  }

  /** True when an event of this type may be sent in the current state. */
  canSend(type: SendableType): boolean {
    return SEND[this.#state][type] !== undefined;
  }

  /**
   * True when the transport is expected to end soon: we sent a close frame (the peer
   * should answer, then the transport ends) or the connection is CLOSED. Arm a timeout
   * then, and drop the transport when it passes.
   */
  closeExpected(): boolean {
    return this.#state === 'CLOSED' || (this.#close !== null && this.#close.sent !== null);
  }

  /**
   * True when this side should end the transport now: the connection is CLOSED and we
   * are the server (RFC 6455 7.1.1: the server closes the TCP connection first), or the
   * closure was not clean, or the peer already ended its side. A client after a clean
   * close waits for the server's EOF (bounded by the timeout of `closeExpected`).
   */
  shouldEndTransport(): boolean {
    return this.#state === 'CLOSED' && ((this.#flags & (CLIENT | EOF)) !== CLIENT || !this.wasClean);
  }

  /**
   * The bytes of the automatic replies (`autoPong`, `autoCloseReply`) made since the
   * last call, in order. Write them before anything you send in answer to the same
   * events.
   */
  dataToSend(): readonly Buffer[] {
    const out = this.#outgoing;
    if (out === null) return NONE;
    this.#outgoing = null;
    return out;
  }

  /**
   * Serialize an event for the wire. Throws `LocalProtocolError` when the event cannot
   * be sent in the current state ("cannot send X in state Y") or is malformed.
   */
  send(event: ConnectionEvent): Buffer {
    return this.#send(event, false) as Buffer;
  }

  /**
   * @internal `send()`, but a large payload sent unmasked and untransformed comes back as
   * its header and the payload itself (not copied; see `FrameProtocol.sendData`).
   */
  sendSplit(event: ConnectionEvent): Buffer | SplitFrame {
    return this.#send(event, true);
  }

  #send(event: ConnectionEvent, split: boolean): Buffer | SplitFrame {
    const next = SEND[this.#state][event.type];
    if (next === undefined) {
      throw new LocalProtocolError(
        `cannot send ${describe(event)} in state ${this.#state}`,
        isEventType(event) ? 'ERR_INVALID_STATE' : 'ERR_INVALID_EVENT',
      );
    }
    let bytes: Buffer | SplitFrame;
    switch (event.type) {
      case 'text':
      case 'bytes':
        bytes = this.#proto.sendData(event.data, event.messageFinished, event.compress, split);
        break;
      case 'ping':
        bytes = this.#proto.ping(event.payload);
        break;
      case 'pong':
        bytes = this.#proto.pong(event.payload);
        break;
      case 'close':
        bytes = this.#proto.close(event.code, event.reason);
        this.#closing().sent = event;
        break;
      default:
        return unreachable(event);
    }
    this.#enter(next);
    return bytes;
  }

  /**
   * Serialize a `PreparedMessage` (a broadcast encoded once): the same bytes `send()`
   * would make for it, taken from the message's encodings where this connection can use
   * them. Throws `LocalProtocolError` where `send()` of the message would.
   */
  sendPrepared(message: PreparedMessage): Buffer {
    const type = message.binary ? 'bytes' : 'text';
    const next = SEND[this.#state][type];
    if (next === undefined) {
      throw new LocalProtocolError(
        `cannot send a prepared ${type} message in state ${this.#state}`,
        'ERR_INVALID_STATE',
      );
    }
    const bytes = this.#proto.sendPrepared(message);
    this.#enter(next);
    return bytes;
  }

  /**
   * Feed bytes received from the transport; `null` means the transport reached EOF
   * (then a `CloseConnection` with 1006 follows unless the close handshake finished).
   * Throws `LocalProtocolError` for bytes after the connection is CLOSED.
   *
   * Ownership: the connection keeps the bytes it is given, delivers payloads as views
   * of them (no copy), and a server unmasks them in place. Do not reuse or modify a
   * buffer after passing it; pass a copy if you need to keep the original. (Node's
   * socket 'data' chunks are fresh buffers, so `socket.on('data', (c) =>
   * ws.receiveData(c))` is safe.)
   */
  receiveData(data: Uint8Array | null): void {
    if (data === null) {
      this.#flags |= EOF;
      if (this.#state !== 'CLOSED') {
        const close = this.#closing();
        // RFC 6455 7.1.5: a connection closed without a close frame has code 1006.
        const failure = new RemoteProtocolError(
          close.received !== null
            ? "the transport ended before we answered the peer's close"
            : close.sent === null
              ? 'the transport ended without a close frame'
              : 'the transport ended before the peer answered our close',
          { code: 'ERR_ABNORMAL_CLOSURE', closeCode: CloseReason.ABNORMAL_CLOSURE },
        );
        close.failure ??= failure;
        close.pending = new CloseConnectionEvent({
          code: failure.closeCode,
          reason: failure.message,
          errorCode: failure.code,
        });
        this.#enter('CLOSED');
      }
      return;
    }
    if (this.#state === 'CLOSED') {
      throw new LocalProtocolError('cannot receive data in state CLOSED', 'ERR_INVALID_STATE');
    }
    const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.#proto.receiveBytes(chunk);
  }

  /** The next event, or null when more bytes are needed. */
  nextEvent(): ConnectionEvent | null {
    const event = this.#proto.next();
    if (event !== null) {
      if (event.type === 'close') this.#onClose(event);
      else if (event.type === 'ping' && (this.#flags & AUTO_PONG) !== 0 && this.#state === 'OPEN') {
        (this.#outgoing ??= []).push(this.send(event.response()));
      }
      return event;
    }
    const close = this.#close;
    if (close === null || close.pending === null) return null;
    const pending = close.pending;
    close.pending = null;
    return pending;
  }

  /** Yield every event the received bytes make. Drain it after each `receiveData()`. */
  *events(): Generator<ConnectionEvent, void, void> {
    for (let event = this.nextEvent(); event !== null; event = this.nextEvent()) yield event;
  }

  #onClose(event: CloseConnectionEvent): void {
    const failure = this.#proto.failure;
    const close = this.#closing();
    if (failure !== null) close.failure ??= failure;
    else close.received = event;
    this.#enter(RECEIVE_CLOSE[this.#state]);
    if ((this.#flags & AUTO_CLOSE_REPLY) === 0 || this.#state !== 'REMOTE_CLOSING') return;
    // RFC 6455 5.5.1: answer a close, echoing its code and (as wsproto, ws, python-websockets do)
    // its reason; a failure with its own code and reason (7.1.7); no code with an empty close.
    let reply: CloseConnectionEvent;
    if (failure !== null) reply = new CloseConnectionEvent({ code: failure.closeCode, reason: failure.message });
    else if (event.code === CloseReason.NO_STATUS_RCVD) reply = new CloseConnectionEvent({ code: event.code });
    else reply = event.response();
    (this.#outgoing ??= []).push(this.send(reply));
  }

  #closing(): CloseRecord {
    return (this.#close ??= new CloseRecord());
  }

  #enter(state: OpenState): void {
    this.#state = state;
    if (state === 'CLOSED') this.#proto.dispose();
  }
}

function isEventType(event: { type?: unknown }): boolean {
  return ['text', 'bytes', 'ping', 'pong', 'close'].includes(event.type as string);
}

function describe(event: { type?: unknown; constructor?: { name?: string } }): string {
  return typeof event.type === 'string' ? `'${event.type}'` : (event.constructor?.name ?? String(event));
}

function unreachable(value: never): never {
  throw new LocalProtocolError(`unknown event ${String(value)}`, 'ERR_INVALID_EVENT');
}
