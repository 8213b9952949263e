/**
 * The events of a `WebSocketDuplex`, as a map from name to listener arguments, so that
 * `ws.on('message', (data, isBinary) => ...)` is type-checked and a misspelt event name
 * does not compile; and `dispatch`, which turns each of the core's events into them.
 */
import type { EventEmitter } from 'node:events';
import type { Readable } from 'readable-stream';
import type { RemoteProtocolError } from '../errors';
import type { RejectConnectionEvent, RejectDataEvent, RequestEvent, WSEvent } from '../events';
import type { AppFace } from './app-face';
import type { MessagePiece } from './message-assembler';
import type { Opening } from './opening';
import type {} from './websocket-duplex';

/** Event name -> listener arguments, for `on`, `once`, `off` and the rest. */
export interface WebSocketDuplexEvents {
  /** Server: a valid upgrade request arrived; call `accept()` or `reject()` (unless the `accept` option decides). */
  request: [request: RequestEvent];
  /** The opening handshake completed; messages may be sent. */
  open: [];
  /** A whole message: a string for text, a Buffer for binary. */
  message: [data: string | Buffer, isBinary: boolean];
  /** A ping arrived (answered automatically unless `autoPong: false`). */
  ping: [payload: Buffer];
  /** A pong arrived. */
  pong: [payload: Buffer];
  /**
   * The closing came from the peer's side. Its close frame arrived (it started the closing
   * handshake, or answered ours): its code (1005 when it had none) and reason, `failure`
   * null. Or it broke the protocol and we fail the connection: the code and reason of our
   * close frame, and the `RemoteProtocolError`. No message follows; 'close' comes once the
   * transport ended.
   */
  closing: [code: number, reason: string, failure: RemoteProtocolError | null];
  /**
   * Emitted once, when the stream is done: the close code (the peer's, the one we failed
   * the connection with, or 1006), its reason, whether the closing handshake completed,
   * and the cause when it did not end cleanly (an error with a stable `code`:
   * `ERR_INVALID_UTF8`, `ERR_CLOSE_TIMEOUT`, `ECONNRESET` ...), else null.
   */
  close: [code: number, reason: string, wasClean: boolean, cause: Error | null];
  /** Client: the server answered the upgrade with another status than 101. */
  rejected: [response: RejectConnectionEvent];
  /** Client: a piece of the rejection's body. */
  'rejected-data': [data: RejectDataEvent];
  /** Wire face (Duplex): bytes for the transport. */
  data: [chunk: Buffer];
  /** Wire face (Duplex): no more bytes for the transport. */
  end: [];
  /** Wire face (Duplex): the transport's input has all been processed. */
  finish: [];
  /** Wire face (Duplex): writing may resume. */
  drain: [];
  /** Only for the application's own errors: `destroy(error)`. Nothing a peer does emits it. */
  error: [error: Error];
  /** Wire face (Duplex): a transport was piped in. */
  pipe: [source: Readable];
  /** Wire face (Duplex): a transport was unpiped. */
  unpipe: [source: Readable];
  /** Wire face (Duplex): bytes can be read. */
  readable: [];
  /** Wire face (Duplex): flowing stopped. */
  pause: [];
  /** Wire face (Duplex): flowing resumed. */
  resume: [];
}

/** A listener for event `K`. */
export type WebSocketDuplexListener<K extends keyof WebSocketDuplexEvents> = (
  ...args: WebSocketDuplexEvents[K]
) => void;

// The event methods of the class, typed by the map above: a module augmentation that
// only narrows the types of methods the Duplex base (EventEmitter) implements.
declare module './websocket-duplex' {
  /** The event methods of `WebSocketDuplex`, typed by `WebSocketDuplexEvents`. */
  interface WebSocketDuplex {
    /** Add a listener (see `WebSocketDuplexEvents` for the events and their arguments). */
    on<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Add a one-time listener. */
    once<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Remove a listener. */
    off<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Add a listener. */
    addListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Remove a listener. */
    removeListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Add a listener in front of the others. */
    prependListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Add a one-time listener in front of the others. */
    prependOnceListener<K extends keyof WebSocketDuplexEvents>(event: K, listener: WebSocketDuplexListener<K>): this;
    /** Emit an event. */
    emit<K extends keyof WebSocketDuplexEvents>(event: K, ...args: WebSocketDuplexEvents[K]): boolean;
    /** The number of listeners of an event. */
    listenerCount(event: keyof WebSocketDuplexEvents): number;
  }
}

/** What `dispatch` hands a core event to. */
export interface DispatchTarget {
  /** The object face, if it was made. */
  app(): AppFace | null;
  /** The opening handshake (only handshake events ask for it). */
  readonly opening: Opening;
  /** A piece of a message; the whole message for 'message' listeners when it finished one. */
  message(event: MessagePiece, listening: boolean): string | Buffer | null;
  /** No more messages (without making a queue where none was made). */
  endMessages(): void;
  /** The stream: where the EventEmitter conveniences are emitted. */
  readonly ws: Pick<EventEmitter, 'emit' | 'listenerCount'>;
  /** Why the core failed the connection, or null. */
  failure(): RemoteProtocolError | null;
}

/**
 * One event of the core, to the object face (`ws.app`), the opening handshake and the
 * EventEmitter conveniences ('request', 'message', 'ping' ...).
 */
export function dispatch(event: WSEvent, to: DispatchTarget): void {
  to.app()?.deliver(event);
  const emitter = to.ws;
  switch (event.type) {
    case 'request':
      to.opening.request(event, () => emitter.emit('request', event));
      break;
    case 'accept':
    case 'reject':
    case 'reject-data':
      if (event.type === 'reject') emitter.emit('rejected', event);
      else if (event.type === 'reject-data') emitter.emit('rejected-data', event);
      to.opening.answered(event);
      break;
    case 'text':
    case 'bytes': {
      const whole = to.message(event, emitter.listenerCount('message') > 0);
      if (whole !== null) emitter.emit('message', whole, event.type === 'bytes');
      break;
    }
    case 'ping':
      emitter.emit('ping', event.payload);
      break;
    case 'pong':
      emitter.emit('pong', event.payload);
      break;
    case 'close':
      to.endMessages();
      // ERR_ABNORMAL_CLOSURE: the transport ended without a close frame ('close' follows).
      if (event.errorCode === null) emitter.emit('closing', event.code, event.reason, null);
      else if (event.errorCode !== 'ERR_ABNORMAL_CLOSURE')
        emitter.emit('closing', event.code, event.reason, to.failure());
      break; // the core answered it (autoCloseReply); the stream's Ending ends what is left
  }
}
