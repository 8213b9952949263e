/**
 * `WebSocketStream`: the WHATWG promise-and-streams WebSocket API (the WebSockets
 * standard's WebSocketStream, as Chromium ships it) on `connect()` and `WebSocketDuplex`.
 *
 *   new WebSocketStream(url) ──connect()──▶ WebSocketDuplex ──▶ opened { readable, writable }
 *     readable.pull ──▶ ws.messages().next()   (no read pending: the Duplex holds the socket)
 *     writable.write ──▶ ws.send(data, {}, callback)   (resolves once the stream took it)
 *     close(), writable close/abort, readable cancel ──▶ ws.close(code, reason)
 *     ws 'close' (code, reason, wasClean, cause) ──▶ closed, readable's end, writable's error
 *
 * Backpressure: the readable has no queue of its own (highWaterMark 0); messages wait in
 * the Duplex's `messages()` queue, and once `highWaterMark` of them are there the Duplex
 * stops reading the socket, so TCP pushes back on the server.
 */
import { CloseReason } from '../close-codes';
import { LocalProtocolError } from '../errors';
import { getHeader } from '../handshake/http/headers';
import { connect, type ConnectOptions } from '../stream/connect';
import type { Message } from '../stream/messages';
import type { WebSocketDuplex } from '../stream/websocket-duplex';
import { parseProtocols, parseWebSocketUrl, syntaxError } from './url';
import { checkCloseInfo, webSocketError, WebSocketError, type WebSocketCloseInfo } from './websocket-error';

/** What a `WebSocketStream`'s writable takes: text as a string, binary as any BufferSource. */
export type WebSocketStreamChunk = string | ArrayBuffer | ArrayBufferView;

/** Options of `new WebSocketStream(url, options)`: the standard's two, and those of `connect()`. */
export interface WebSocketStreamOptions extends Omit<ConnectOptions, 'subprotocols' | 'signal'> {
  /** Subprotocols to offer (tokens, each once, else a `SyntaxError`). @defaultValue `[]` */
  protocols?: string | readonly string[];
  /**
   * Abort the opening handshake: `opened` and `closed` reject with a `DOMException` named
   * `AbortError` (the signal's reason as its `cause`). Not watched once open.
   * @defaultValue none
   */
  signal?: AbortSignal;
  /**
   * How many whole messages may wait for the reader before the stream stops reading the
   * socket. @defaultValue `16`
   */
  highWaterMark?: number;
}

/** What `opened` resolves with. */
export interface WebSocketOpenInfo {
  /** The messages: a string for text, a `Uint8Array` for binary. Cancelling it closes the WebSocket. */
  readonly readable: ReadableStream<string | Uint8Array>;
  /** Strings go out as text, BufferSources as binary. Closing or aborting it closes the WebSocket. */
  readonly writable: WritableStream<WebSocketStreamChunk>;
  /** The server's Sec-WebSocket-Extensions ('' when none). */
  readonly extensions: string;
  /** The subprotocol the server chose ('' when none). */
  readonly protocol: string;
}

/** What `closed` resolves with after a clean close: the close code and reason received. */
export interface WebSocketCloseResult {
  /** The code of the close frame received (1005 when it had none). */
  readonly closeCode: number;
  /** The reason of the close frame received ('' when none). */
  readonly reason: string;
}

type State = 'connecting' | 'open' | 'closing' | 'closed';
type Ending = { clean: true } | { clean: false; error: WebSocketError };
interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (reason: unknown) => void;
}

const CONSTRUCT = "Failed to construct 'WebSocketStream'";
const CLOSE = "Failed to execute 'close' on 'WebSocketStream'";
// Chromium's messages, so that a program that logs them reads the same in both.
const NOT_OPENED = 'WebSocket closed before handshake complete.';
const NOT_CLEAN = 'WebSocket was not cleanly closed.';
const ABORTED = 'WebSocket handshake was aborted';
const WRITE_CLOSED = 'Cannot write to a closed WebSocketStream.';

/**
 * A WebSocket client with promises and WHATWG streams, as in browsers (Chromium's
 * `WebSocketStream`): `opened` gives a readable of incoming messages and a writable for
 * outgoing ones, `closed` says how it ended, and a slow reader slows the server down
 * (the socket is not read while `highWaterMark` messages wait). Any option of
 * `connect()` applies too (headers, TLS, proxy, `perMessageDeflate` ...).
 *
 * Failures reject `opened` (before the handshake completed: `closeCode` null) and
 * `closed` (`closeCode` 1006) with a `WebSocketError`, its `cause` saying why (e.g. a
 * `HandshakeRejectedError` with the status). An aborted `signal` rejects both with an
 * `AbortError`. Unlike a browser, messages that arrived before a connection was lost
 * are still read before the readable errors.
 *
 * @example
 * ```ts
 * const wss = new WebSocketStream('wss://example.com/chat', { protocols: ['chat'] });
 * const { readable, writable, protocol } = await wss.opened;
 * const writer = writable.getWriter();
 * await writer.write('hello');
 * for await (const message of readable) {
 *   console.log(typeof message === 'string' ? message : `${message.byteLength} bytes`);
 *   if (message === 'bye') wss.close({ closeCode: 1000, reason: 'done' });
 * }
 * const { closeCode, reason } = await wss.closed; // rejects with a WebSocketError if unclean
 * ```
 */
export class WebSocketStream {
  readonly #url: string;
  readonly #opened = deferred<WebSocketOpenInfo>();
  readonly #closed = deferred<WebSocketCloseResult>();
  readonly #ending = deferred<Ending>();
  readonly #abort = new AbortController(); // aborts connect(): the caller's signal, or close() before open
  #closedBeforeOpen = false;
  #state: State = 'connecting';
  #ws: WebSocketDuplex | null = null;
  #writer: WritableStreamDefaultController | null = null;
  #writableDone = false; // closed or aborted by its owner, or errored by us
  #readableDone = false; // cancelled, closed or errored

  /**
   * Start connecting. Throws a `SyntaxError` (`DOMException`) for a URL that is not
   * ws:, wss:, http: or https: (or has a fragment, or is relative: there is no base URL
   * in Node) and for subprotocols that are not tokens or appear twice; `connect()`'s own
   * checks of the other options reject `opened` and `closed` with their error.
   */
  constructor(url: string | URL, options: WebSocketStreamOptions = {}) {
    let target: URL;
    let protocols: string[];
    try {
      target = parseWebSocketUrl(url);
      protocols = parseProtocols(options.protocols);
    } catch (error) {
      throw syntaxError((error as Error).message.replace("Failed to construct 'WebSocket'", CONSTRUCT));
    }
    const { protocols: _protocols, signal, highWaterMark = 16, ...connectOptions } = options;
    void _protocols;
    if (!Number.isInteger(highWaterMark) || highWaterMark < 1) {
      throw new RangeError(`${CONSTRUCT}: highWaterMark must be a positive integer, got ${highWaterMark}`);
    }
    this.#url = target.href;
    // A program that awaits only one of them must not get an unhandled rejection for the other.
    this.#opened.promise.catch(() => undefined);
    this.#closed.promise.catch(() => undefined);
    if (signal?.aborted === true) {
      this.#abort.abort(signal.reason);
      this.#fail(null, signal.reason);
      return;
    }
    const onAbort = () => this.#abort.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    connect(target, { ...connectOptions, subprotocols: protocols, signal: this.#abort.signal })
      .then(
        (ws) => this.#open(ws, highWaterMark),
        (error: unknown) => this.#fail(error, signal?.reason),
      )
      .finally(() => signal?.removeEventListener('abort', onAbort));
  }

  /** The URL, parsed (http: and https: as ws: and wss:). */
  get url(): string {
    return this.#url;
  }

  /** Resolves once the handshake completed; rejects when it did not (see the class). */
  get opened(): Promise<WebSocketOpenInfo> {
    return this.#opened.promise;
  }

  /** Resolves with the close code and reason received after a clean close; rejects otherwise. */
  get closed(): Promise<WebSocketCloseResult> {
    return this.#closed.promise;
  }

  /**
   * Start the close handshake, or give up connecting. `closeCode` 1000 or 3000–4999 (else
   * an `InvalidAccessError`), `reason` at most 123 UTF-8 bytes (else a `SyntaxError`);
   * neither sends a close frame without a code (the server sees 1005). Reading goes on
   * until the server's close arrives; writing ends now. Does nothing once closing.
   */
  close(closeInfo: WebSocketCloseInfo = {}): void {
    const { closeCode, reason } = checkCloseInfo(closeInfo ?? {}, CLOSE);
    this.#close(closeCode, reason, 'close');
  }

  /** Close with the reason's code if it is a `WebSocketError` (the standard's rule for abort and cancel). */
  #closeFor(reason: unknown, from: 'readable' | 'writable'): void {
    if (reason instanceof WebSocketError) this.#close(reason.closeCode, reason.reason, from);
    else this.#close(null, '', from);
  }

  #close(closeCode: number | null, reason: string, from: 'close' | 'readable' | 'writable'): void {
    if (this.#state === 'connecting') {
      this.#closedBeforeOpen = true;
      this.#abort.abort();
      return;
    }
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    if (from !== 'writable') this.#errorWritable(new DOMException(WRITE_CLOSED, 'InvalidStateError'));
    this.#ws!.close(closeCode ?? CloseReason.NO_STATUS_RCVD, reason);
  }

  /** The handshake did not complete: why, as Chromium says it. */
  #fail(error: unknown, abortReason: unknown): void {
    this.#state = 'closed';
    if (!this.#closedBeforeOpen && this.#abort.signal.aborted) {
      const aborted = new DOMException(ABORTED, { name: 'AbortError', cause: abortReason });
      this.#opened.reject(aborted);
      this.#closed.reject(aborted);
    } else if (error instanceof LocalProtocolError) {
      // A bad option (headers, extensions ...) is the program's mistake: its own error says which.
      this.#opened.reject(error);
      this.#closed.reject(error);
    } else {
      this.#opened.reject(webSocketError(NOT_OPENED, null, '', error));
      this.#closed.reject(webSocketError(NOT_CLEAN, CloseReason.ABNORMAL_CLOSURE, '', error));
    }
    this.#ending.resolve({ clean: false, error: webSocketError(NOT_CLEAN, CloseReason.ABNORMAL_CLOSURE) });
  }

  #open(ws: WebSocketDuplex, highWaterMark: number): void {
    if (this.#abort.signal.aborted) {
      // Aborted (or closed) while the promise of the open stream was on its way.
      ws.terminate();
      this.#fail(null, this.#abort.signal.reason);
      return;
    }
    this.#ws = ws;
    this.#state = 'open';
    ws.on('close', (code, reason, wasClean, cause) => this.#ended(code, reason, wasClean, cause));
    // The server broke the protocol: the stream is failed now, as a browser fails it (our close
    // frame is out; the Duplex lingers for the server's end by itself).
    ws.on('closing', (code, reason, failure) => failure !== null && this.#ended(code, reason, false, failure));
    const messages = ws.messages({ highWaterMark, closeOnReturn: false });
    const readable = new ReadableStream<string | Uint8Array>(
      {
        pull: (controller) => this.#pull(controller, messages),
        cancel: (reason) => {
          this.#readableDone = true;
          void messages.return?.();
          this.#closeFor(reason, 'readable');
        },
      },
      { highWaterMark: 0 }, // no queue here: messages wait in the Duplex, which holds the socket
    );
    const writable = new WritableStream<WebSocketStreamChunk>({
      start: (controller) => void (this.#writer = controller),
      write: (chunk) => this.#write(chunk),
      close: () => {
        this.#writableDone = true;
        this.#close(null, '', 'writable');
      },
      abort: (reason) => {
        this.#writableDone = true;
        this.#closeFor(reason, 'writable');
      },
    });
    const extensions = getHeader(ws.response?.headers ?? [], 'sec-websocket-extensions') ?? '';
    this.#opened.resolve({ readable, writable, extensions, protocol: ws.protocol });
  }

  /** A read is pending: the next message, or the end (after every message that arrived). */
  async #pull(
    controller: ReadableStreamDefaultController<string | Uint8Array>,
    messages: AsyncIterator<Message>,
  ): Promise<void> {
    const next = await messages.next();
    if (this.#readableDone) return;
    if (next.done !== true) {
      controller.enqueue(chunkOf(next.value));
      return;
    }
    const ending = await this.#ending.promise;
    if (this.#readableDone) return;
    this.#readableDone = true;
    if (ending.clean) controller.close();
    else controller.error(ending.error);
  }

  #write(chunk: unknown): Promise<void> {
    let data: string | Uint8Array;
    if (typeof chunk === 'string') data = chunk;
    else if (chunk instanceof ArrayBuffer || chunk instanceof SharedArrayBuffer) data = new Uint8Array(chunk);
    else if (ArrayBuffer.isView(chunk)) data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else if (typeof chunk === 'symbol') {
      return Promise.reject(new TypeError('WebSocketStream: a Symbol cannot be converted to a string'));
    } else data = String(chunk); // as the standard (a USVString) and Chromium: write(123) sends "123"
    const ws = this.#ws!;
    // The client masks into a fresh frame as it sends, so the caller may reuse its buffer after this.
    return new Promise((resolve, reject) => {
      ws.send(data, { binary: typeof data !== 'string' }, (error) =>
        error ? reject(new DOMException(WRITE_CLOSED, { name: 'InvalidStateError', cause: error })) : resolve(),
      );
    });
  }

  #errorWritable(error: unknown): void {
    if (this.#writableDone) return;
    this.#writableDone = true;
    this.#writer?.error(error);
  }

  /** The Duplex's one 'close': settle `closed`, end the writable; the readable ends once drained. */
  #ended(code: number, reason: string, wasClean: boolean, cause: Error | null): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (wasClean) {
      this.#closed.resolve({ closeCode: code, reason });
      this.#errorWritable(new DOMException(WRITE_CLOSED, 'InvalidStateError'));
      this.#ending.resolve({ clean: true });
      return;
    }
    // The standard reports every unclean end as 1006; the cause keeps what really happened.
    const error = webSocketError(NOT_CLEAN, CloseReason.ABNORMAL_CLOSURE, '', cause);
    this.#closed.reject(error);
    this.#errorWritable(error);
    this.#ending.resolve({ clean: false, error });
  }
}

/** A message as the readable gives it: a string, or a Uint8Array whose buffer is exactly the message. */
function chunkOf(message: Message): string | Uint8Array {
  const data = message.data;
  if (typeof data === 'string') return data;
  const exact = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  return exact ? new Uint8Array(data.buffer, 0, data.byteLength) : new Uint8Array(data);
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
