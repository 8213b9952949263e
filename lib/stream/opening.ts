/**
 * The opening handshake as a `WebSocketDuplex` sees it: the server's decision on the
 * request (the `accept` option, a 'request' listener, or acceptance by default), the
 * rejections it sends (the application's, a bad request's, a failed hook's), and, for
 * the 'close' event, why a handshake did not complete. The core (`WSConnection`) keeps
 * the handshake's protocol state; this keeps only the pending request and the accept
 * hook. It lives as long as the handshake: once open, the engine keeps only what was
 * negotiated (`Negotiated`) and drops it, with the hook and what the hook holds.
 */
import { LocalProtocolError, RemoteProtocolError } from '../errors';
import {
  AcceptConnectionEvent,
  RejectConnectionEvent,
  RejectDataEvent,
  RequestEvent,
  type AcceptConnectionInit,
  type Headers,
  type WSEvent,
} from '../events';
import type { Extension } from '../extensions/extension';
import { decide, type DecisionTarget } from './server-decision';
import { makeExtensions, type AcceptDecision, type WebSocketDuplexOptions } from './options';

/** What the opening needs of its stream. */
export interface OpeningOwner {
  /** Serialize a handshake event and queue its bytes for the transport. */
  send(event: WSEvent): void;
  /** The handshake completed. */
  opened(): void;
  /** End the output (after a rejection). */
  endWire(): void;
  /** Record what ended the stream (the first cause wins). */
  noteCause(error: Error): void;
  /** True once the stream is destroyed. */
  isDestroyed(): boolean;
}

/** Client: the server's answer that opened the WebSocket, readable on the open stream as `ws.response`. */
export interface HandshakeResponse {
  /** 101 over HTTP/1.1; over HTTP/2 the 2xx (200). */
  readonly statusCode: number;
  /** The response headers as they arrived (interim 1xx responses before it are skipped; over HTTP/2 `:status` first). */
  readonly headers: Headers;
  /** `'1.1'`, or `'2'` for RFC 8441 over HTTP/2. */
  readonly httpVersion: '1.1' | '2';
}

/** @internal Over HTTP/2: where a stream's handshake heads go (the HTTP/2 layer sends them as HEADERS). */
export interface HeadSink {
  /** The `:scheme` of a client's extended CONNECT. */
  readonly scheme: 'http' | 'https';
  /** Send a head; `endStream` when nothing follows it (a refusal without a body). */
  send(headers: Array<[string, string]>, endStream: boolean): void;
}

/** What the opening handshake settled, as the open stream reports it (`ws.protocol`, `ws.response`). */
export interface Negotiated {
  /** The negotiated subprotocol, or null. */
  readonly protocol: string | null;
  /** Client: the response that opened the WebSocket; null on a server. */
  readonly response: HandshakeResponse | null;
  /** Client: the URL it connected to; '' on a server. */
  readonly url: string;
}

/** Nothing negotiated: no subprotocol, no response, no URL (what most server connections keep, shared). */
export const NOTHING_NEGOTIATED: Negotiated = Object.freeze({ protocol: null, response: null, url: '' });

/** The accept option: decides on a request (see `WebSocketDuplexOptions.accept`). */
type AcceptHook = (request: RequestEvent) => AcceptDecision | Promise<AcceptDecision>;

/** What an `Opening` starts from. */
export interface OpeningInit {
  /** Makes the extensions to negotiate (called once, when they are needed). */
  readonly makeExtensions: () => Extension[];
  /** Server: the accept option, if any. */
  readonly hook?: AcceptHook | undefined;
  /** Over HTTP/2: where the handshake's heads go (null over HTTP/1.1: they are bytes). */
  readonly heads?: HeadSink | null;
  /** Client: the URL (see `Negotiated.url`). */
  readonly url?: string | undefined;
}

/** The stream's side of the opening handshake. */
export class Opening implements Negotiated {
  readonly #owner: OpeningOwner;
  #makeExtensions: (() => Extension[]) | null;
  readonly #hook: AcceptHook | undefined;
  /** Over HTTP/2: where the handshake's heads go; null over HTTP/1.1. */
  readonly heads: HeadSink | null;
  readonly url: string;
  #pending: RequestEvent | null = null;
  /** Why the handshake did not complete ('' while it may). */
  ended = '';
  /** The negotiated subprotocol, once open. */
  protocol: string | null = null;
  /** Client: the 101 response, once open. */
  response: HandshakeResponse | null = null;

  constructor(owner: OpeningOwner, init: OpeningInit) {
    this.#owner = owner;
    this.#makeExtensions = init.makeExtensions;
    this.#hook = init.hook;
    this.heads = init.heads ?? null;
    this.url = init.url ?? '';
  }

  /**
   * Server: a request arrived. `announce` emits 'request' and says whether anyone
   * listens; the hook (the accept option), else a listener, else acceptance decides.
   */
  request(request: RequestEvent, announce: () => boolean): void {
    this.#pending = request;
    const listened = announce();
    if (this.#hook !== undefined) decide(request, this.#hook, this.#target());
    else if (!listened && this.#pending === request) this.accept();
  }

  /** Server: accept the pending request. */
  accept(init: AcceptConnectionInit = {}): void {
    if (this.#pending === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    const extensions = init.extensions ?? this.#makeExtensions?.() ?? [];
    this.#makeExtensions = null; // it holds the options: not needed once open
    this.#owner.send(new AcceptConnectionEvent({ ...init, extensions }));
    this.#pending = null;
    this.protocol = init.subprotocol ?? null;
    this.#owner.opened();
  }

  /** Client: the server's answer (101, or a rejection and its body). */
  answered(event: AcceptConnectionEvent | RejectConnectionEvent | RejectDataEvent): void {
    if (event.type === 'accept') {
      this.#makeExtensions = null;
      this.protocol = event.subprotocol;
      const status = event.extraHeaders.find(([name]) => name === ':status');
      this.response =
        status === undefined
          ? { statusCode: 101, headers: event.extraHeaders, httpVersion: '1.1' }
          : { statusCode: Number(status[1]), headers: event.extraHeaders, httpVersion: '2' };
      this.#owner.opened();
    } else if (event.type === 'reject') {
      this.ended = `the server rejected the handshake with ${event.statusCode}`;
      if (!event.hasBody) this.#owner.endWire();
    } else if (event.bodyFinished) this.#owner.endWire();
  }

  /** Server: reject the pending request. */
  reject(statusCode: number, body: string | Buffer, headers: Headers): void {
    if (this.#pending === null)
      throw new LocalProtocolError('no request is waiting for a decision', 'ERR_INVALID_STATE');
    this.#respond(statusCode, body, headers);
    this.#pending = null;
    this.ended = `rejected with ${statusCode}`;
  }

  /**
   * The peer broke the handshake (`receiveData` threw). When `mayReject` (a server still
   * in CONNECTING) it answers with the error's rejection; otherwise the output just ends.
   */
  failed(error: unknown, mayReject: boolean): void {
    const hint = error instanceof RemoteProtocolError ? error.eventHint : null;
    if (!mayReject || !(hint instanceof RejectConnectionEvent)) return peerFailed(this.#owner, error);
    const failure = error as RemoteProtocolError; // the hint is a RemoteProtocolError's
    this.#owner.noteCause(failure);
    this.#respond(hint.statusCode, `${failure.message}\n`, hint.headers);
  }

  /** What was negotiated, once open (shared `NOTHING_NEGOTIATED` when nothing was). */
  negotiated(): Negotiated {
    if (this.protocol === null && this.response === null && this.url === '') return NOTHING_NEGOTIATED;
    return { protocol: this.protocol, response: this.response, url: this.url };
  }

  #respond(statusCode: number, body: string | Buffer, headers: Headers): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const all: Array<readonly [string, string]> = [...headers, ['Content-Length', String(bytes.length)]];
    if (bytes.length > 0 && !headers.some(([n]) => n.toLowerCase() === 'content-type')) {
      all.push(['Content-Type', 'text/plain; charset=utf-8']);
    }
    this.#owner.send(new RejectConnectionEvent({ statusCode, headers: all, hasBody: bytes.length > 0 }));
    if (bytes.length > 0) this.#owner.send(new RejectDataEvent({ data: bytes, bodyFinished: true }));
    this.#owner.endWire();
  }

  #target(): DecisionTarget {
    return {
      awaits: (request) => !this.#owner.isDestroyed() && this.#pending === request,
      accept: (init) => this.accept(init),
      reject: (statusCode, body, headers) => this.reject(statusCode, body, headers),
      hookFailed: (error) => {
        // The application's failure, not the peer's: 500, and the error as the cause.
        this.#owner.noteCause(error);
        this.#pending = null;
        this.ended = 'the accept hook failed';
        this.#respond(500, '', []);
      },
    };
  }
}

/**
 * The peer broke the protocol where no rejection can answer (an open connection, or a
 * client): note the error and end the output. Anything but a `RemoteProtocolError` is
 * our own bug, and is thrown on.
 */
export function peerFailed(owner: Pick<OpeningOwner, 'noteCause' | 'endWire'>, error: unknown): void {
  if (!(error instanceof RemoteProtocolError)) throw error;
  owner.noteCause(error);
  owner.endWire();
}

/** The client's `Request`, from a stream's options (its headers are validated when it is sent). */
export function clientRequest(options: WebSocketDuplexOptions): RequestEvent {
  const request = options.request;
  if (request === undefined)
    throw new LocalProtocolError('a client stream needs options.request', 'ERR_INVALID_OPTION');
  return new RequestEvent({
    host: request.host,
    target: request.target,
    subprotocols: request.subprotocols ?? [],
    extraHeaders: request.extraHeaders ?? [],
    extensions: makeExtensions(options),
  });
}
