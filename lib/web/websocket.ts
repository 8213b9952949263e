/**
 * `WebSocket`: the browser's WebSocket interface (the WHATWG WebSockets standard) on our
 * client, so code written for browsers runs unchanged in Node, with what a browser cannot
 * give through the options bag: limits, compression settings, keepalive, proxies, HTTP/2.
 *
 * It is a thin face over `connect()` and the `WebSocketDuplex` it resolves with. What the
 * standard says, and how it is kept here:
 * - every event is fired in a task of its own, in the order the stream reported what it
 *   stands for, so a handler's promises settle before the next event: a `setImmediate`,
 *   or for a message the stream's own I/O callback when nothing else of ours waits;
 * - the ready state moves CONNECTING → OPEN in the 'open' task, → CLOSING when `close()`
 *   is called or in the task for the peer's close frame, → CLOSED in the 'close' task;
 * - no 'message' event is fired once the ready state left OPEN;
 * - failing the connection (the handshake refused or cut short, a protocol error of the
 *   server's, `close()` before the handshake completed) fires 'error' then 'close' with
 *   1006 and `wasClean` false; a connection lost without a close frame closes with 1006;
 * - messages go out in the order of `send()`, Blobs included, and `bufferedAmount` counts
 *   the bytes given to `send()` and not yet handed to the network (outbox.ts).
 */
import { Blob } from 'node:buffer';
import { getHeader } from '../handshake/http/headers';
import { connect, type ConnectOptions } from '../stream/connect';
import type { WebSocketDuplex } from '../stream/websocket-duplex';
import { CloseEvent, EventHandlers, type EventHandler } from './events';
import { parseProtocols, parseWebSocketUrl } from './url';
import { Outbox, type WebSocketData } from './outbox';
import { checkCloseInfo } from './websocket-error';

/** How binary messages are given to 'message' listeners. */
export type BinaryType = 'blob' | 'arraybuffer';

/**
 * The second argument of `new WebSocket(url, ...)` as an options bag (as Node's own
 * WebSocket takes it): the subprotocols, request headers, and any option of `connect()`.
 * permessage-deflate is offered by default, as browsers do (`perMessageDeflate: false`
 * does not offer it).
 */
export interface WebSocketInit extends Omit<ConnectOptions, 'subprotocols' | 'signal'> {
  /** Subprotocols to offer, as the constructor's second argument takes them. @defaultValue `[]` */
  protocols?: string | string[];
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * The WHATWG `WebSocket` on this library's client. Exported as `WebSocket`: it does not
 * replace Node's global; assign it (`globalThis.WebSocket = WebSocket`) to run browser code
 * that uses the global.
 *
 * @example
 * ```ts
 * import { WebSocket } from 'wsproto';
 *
 * const ws = new WebSocket('ws://127.0.0.1:8080/chat', ['chat']);
 * ws.binaryType = 'arraybuffer';
 * ws.onopen = () => ws.send('hello');
 * ws.onmessage = (event) => console.log('got', event.data);
 * ws.onclose = (event) => console.log('closed', event.code, event.reason, event.wasClean);
 * ```
 */
export class WebSocket extends EventTarget {
  /** The connection is being opened. */
  static readonly CONNECTING = CONNECTING;
  /** The connection is open: messages may be sent. */
  static readonly OPEN = OPEN;
  /** The closing handshake started. */
  static readonly CLOSING = CLOSING;
  /** The connection is closed (or could not be opened). */
  static readonly CLOSED = CLOSED;
  /** `WebSocket.CONNECTING`, on each instance as in browsers. */
  declare readonly CONNECTING: 0;
  /** `WebSocket.OPEN`, on each instance. */
  declare readonly OPEN: 1;
  /** `WebSocket.CLOSING`, on each instance. */
  declare readonly CLOSING: 2;
  /** `WebSocket.CLOSED`, on each instance. */
  declare readonly CLOSED: 3;

  readonly #url: URL;
  #state = CONNECTING;
  #binaryType: BinaryType = 'blob';
  #protocol = '';
  #extensions = '';
  #duplex: WebSocketDuplex | null = null;
  readonly #abort = new AbortController();
  #failed = false; // we fail the connection: 'error' before 'close', and 1006
  #peerClose: [number, string] | null = null; // the peer's close frame
  readonly #outbox = new Outbox();
  #queued = 0; // our tasks scheduled and not yet run
  #inline = false; // a message was fired in the current callback (see #received)
  readonly #handlers = new EventHandlers(this);

  /**
   * Connect to `url` (ws:, wss:, or http:/https: which become them), offering
   * `protocols`. Throws a `SyntaxError` DOMException for a bad URL (a fragment, another
   * scheme, a relative URL: Node has no page to resolve it against) or subprotocol list.
   */
  constructor(url: string | URL, protocols?: string | string[] | WebSocketInit) {
    super();
    const init: WebSocketInit =
      typeof protocols === 'object' && protocols !== null && !Array.isArray(protocols)
        ? protocols
        : protocols === undefined
          ? {}
          : { protocols };
    this.#url = parseWebSocketUrl(url);
    const { protocols: offered, ...options } = init;
    const subprotocols = parseProtocols(offered);
    connect(this.#url, { perMessageDeflate: true, ...options, subprotocols, signal: this.#abort.signal }).then(
      (duplex) => this.#opened(duplex, subprotocols.length > 0),
      () => {
        this.#failed = true;
        this.#task(() => this.#closed(1006, '', false));
      },
    );
  }

  /** The URL, as resolved (http: and https: shown as ws: and wss:). */
  get url(): string {
    return this.#url.href;
  }

  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  get readyState(): number {
    return this.#state;
  }

  /** Bytes given to `send()` and not yet handed to the network (see the module comment). */
  get bufferedAmount(): number {
    return this.#outbox.bufferedAmount;
  }

  /** The extensions the server accepted (its Sec-WebSocket-Extensions), '' before open. */
  get extensions(): string {
    return this.#extensions;
  }

  /** The subprotocol the server chose, '' before open or when none. */
  get protocol(): string {
    return this.#protocol;
  }

  /** 'blob' (the default) or 'arraybuffer'; other values are ignored, as in browsers. */
  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  /** Set how binary messages are given: 'blob' or 'arraybuffer'. */
  set binaryType(value: BinaryType) {
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  /** The 'open' handler (see `EventHandler`), or null. */
  get onopen(): EventHandler {
    return this.#handlers.get('open');
  }
  /** Set the 'open' handler: it keeps the place of the first one set; null removes it. */
  set onopen(handler: EventHandler) {
    this.#handlers.set('open', handler);
  }
  /** The 'message' handler, or null. */
  get onmessage(): EventHandler<MessageEvent> {
    return this.#handlers.get('message') as EventHandler<MessageEvent>;
  }
  /** Set the 'message' handler (a `MessageEvent`: `data` is a string, a Blob or an ArrayBuffer). */
  set onmessage(handler: EventHandler<MessageEvent>) {
    this.#handlers.set('message', handler);
  }
  /** The 'error' handler, or null. */
  get onerror(): EventHandler {
    return this.#handlers.get('error');
  }
  /** Set the 'error' handler (a plain `Event`, fired right before 'close' when the connection failed). */
  set onerror(handler: EventHandler) {
    this.#handlers.set('error', handler);
  }
  /** The 'close' handler, or null. */
  get onclose(): EventHandler<CloseEvent> {
    return this.#handlers.get('close') as EventHandler<CloseEvent>;
  }
  /** Set the 'close' handler (a `CloseEvent`: `code`, `reason`, `wasClean`). */
  set onclose(handler: EventHandler<CloseEvent>) {
    this.#handlers.set('close', handler);
  }

  /**
   * Send a message: a string as text, bytes (an ArrayBuffer, a view, a Blob) as binary;
   * anything else as its string. Throws `InvalidStateError` while CONNECTING; once the
   * close started the data is not sent, and counts in `bufferedAmount`.
   */
  send(data: WebSocketData): void {
    if (this.#state === CONNECTING) {
      throw new DOMException(
        "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.",
        'InvalidStateError',
      );
    }
    this.#outbox.send(data, this.#state === OPEN);
  }

  /**
   * Start the closing handshake: `code` 1000 or 3000–4999 (else `InvalidAccessError`),
   * `reason` at most 123 bytes of UTF-8 (else `SyntaxError`). Before the handshake
   * completed it fails the connection ('error', then 'close' 1006). Without a code the
   * close frame has none (1000 when there is a reason).
   */
  close(code?: number, reason?: string): void {
    const checked = checkCloseInfo(
      {
        ...(code === undefined ? {} : { closeCode: clampShort(code) }),
        ...(reason === undefined ? {} : { reason: Buffer.from(String(reason)).toString() }), // a USVString
      },
      "Failed to execute 'close' on 'WebSocket'",
    );
    if (this.#state === CLOSING || this.#state === CLOSED) return;
    if (this.#state === CONNECTING) {
      this.#state = CLOSING;
      this.#failed = true;
      this.#abort.abort();
      this.#duplex?.terminate();
      return;
    }
    this.#state = CLOSING;
    const frameCode = checked.closeCode ?? 1005; // none: a close frame without a code
    this.#outbox.close(frameCode, checked.reason);
  }

  // ---- from the stream ----

  #opened(duplex: WebSocketDuplex, offeredSubprotocols: boolean): void {
    this.#duplex = duplex;
    this.#outbox.attach(duplex);
    duplex.on('message', (data, isBinary) => this.#received(data, isBinary));
    duplex.on('closing', (code, reason, failure) =>
      this.#task(() => {
        if (failure !== null) {
          // The server broke the protocol: the connection is failed now, as a browser fails
          // it (our close frame is out; the stream lingers for the server's end by itself).
          this.#failed = true;
          this.#closed(1006, '', false);
          return;
        }
        this.#peerClose = [code, reason];
        if (this.#state === OPEN) this.#state = CLOSING;
      }),
    );
    duplex.on('close', (_code, _reason, wasClean) =>
      this.#task(() => {
        const [code, reason] = this.#peerClose ?? [1006, ''];
        this.#closed(code, reason, wasClean);
      }),
    );
    if (this.#state !== CONNECTING) {
      duplex.terminate(); // close() came after the handshake completed, before this ran
      return;
    }
    // The standard: with subprotocols offered, the connection is established only if the
    // server selected one of them (RFC 6455 4.1 alone would let a 101 without one pass).
    if (offeredSubprotocols && duplex.protocol === '') {
      this.#failed = true;
      duplex.terminate();
      return;
    }
    this.#task(() => {
      if (this.#state !== CONNECTING) return;
      this.#protocol = duplex.protocol;
      this.#extensions = getHeader(duplex.response?.headers ?? [], 'sec-websocket-extensions') ?? '';
      this.#state = OPEN;
      this.dispatchEvent(new Event('open'));
    });
  }

  #message(data: string | Buffer, isBinary: boolean): void {
    if (this.#state !== OPEN) return;
    let value: string | ArrayBuffer | Blob;
    if (!isBinary) value = data as string;
    else if (this.#binaryType === 'arraybuffer') value = toArrayBuffer(data as Buffer);
    else value = new Blob([data as Buffer]);
    this.dispatchEvent(new MessageEvent('message', { data: value, origin: this.#url.origin }));
  }

  #closed(code: number, reason: string, wasClean: boolean): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    if (this.#failed) {
      [code, reason, wasClean] = [1006, '', false];
      this.dispatchEvent(new Event('error'));
    }
    this.dispatchEvent(new CloseEvent('close', { code, reason, wasClean }));
  }

  #task(step: () => void): void {
    this.#queued++;
    setImmediate(() => {
      this.#queued--;
      this.#outbox.nextTurn();
      step();
    });
  }

  /**
   * A message from the stream. The stream's I/O callback that gives it is a task of its
   * own: the event is fired at once when nothing of ours waits for a task and no message
   * was fired in this callback yet. Another message of the same chunk waits for a task,
   * so that the first one's promises settle before it (as in a browser).
   */
  #received(data: string | Buffer, isBinary: boolean): void {
    if (this.#queued > 0 || this.#inline) {
      this.#task(() => this.#message(data, isBinary));
      return;
    }
    this.#inline = true;
    queueMicrotask(() => (this.#inline = false));
    this.#outbox.nextTurn();
    this.#message(data, isBinary);
  }

  /** '[object WebSocket]', as in browsers. */
  get [Symbol.toStringTag](): string {
    return 'WebSocket';
  }
}

for (const [name, value] of Object.entries({ CONNECTING, OPEN, CLOSING, CLOSED })) {
  Object.defineProperty(WebSocket.prototype, name, { value, enumerable: true });
}

/** WebIDL `[Clamp] unsigned short`. */
function clampShort(value: number): number {
  const n = Number(value);
  if (Number.isNaN(n)) return 0;
  const clamped = Math.min(65535, Math.max(0, n));
  const floor = Math.floor(clamped);
  const diff = clamped - floor;
  return diff > 0.5 || (diff === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
}

function toArrayBuffer(data: Buffer): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}
