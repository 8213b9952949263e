/**
 * One end of a stress connection, ours (`WebSocketDuplex`) or the `ws` peer, behind one
 * interface that records what the test must judge later: what was sent (in order, with a
 * digest, only while the endpoint was OPEN, i.e. before it saw a close), what arrived,
 * every 'close' event, send callbacks still outstanding, and `bufferedAmount` samples.
 *
 * No 'error' listener is ever attached to our streams (the contract is that a peer never
 * causes one); the process-level traps in the runner catch any that escape.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import WebSocket from 'ws';
import type { WebSocketDuplex } from '../../../lib/index';
import { digest, DigestBuilder, type MessageDigest } from './prng';
import type { ReaderMode } from './schedule';

/**
 * The close deadline of our endpoints, both roles. The generated readers can be slow
 * enough that a close queued behind megabytes (in our buffers, and in the kernel's socket
 * buffers on loopback, where our side cannot see it move) is reached only after several
 * seconds, with the closer's output all taken and nothing arriving: a silent peer as far
 * as it can tell. closeTimeout is the policy for such a peer (the default, 5 s, drops it);
 * here it is set above the slowest generated reader's backlog (about 10 s), as `ws`'s
 * 30 s default is, and as a deployment that expects slow readers would set it. The
 * watchdog still fails a schedule where nothing moves for `watchdogMs`.
 */
export const CLOSE_TIMEOUT_MS = 20_000;

/** One 'close' event as the endpoint saw it. */
export interface CloseRecord {
  readonly code: number;
  readonly reason: string;
  /** Ours only (ws's event has no such argument). */
  readonly wasClean: boolean | null;
  readonly atMs: number;
}

type SendCallback = (error?: Error | null) => void;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * What carries one end of a WebSocket, when the test can reach it: its TCP socket, or
 * its HTTP/2 stream (our server's, over HTTP/2).
 */
export type Transport = net.Socket | http2.Http2Stream;

/**
 * Reset a transport. TCP: RST (after end() Node cannot reset: libuv refuses while a
 * shutdown is pending, and the socket then never emits 'close', so such a socket is
 * destroyed instead). HTTP/2: RST_STREAM CANCEL for the stream alone.
 */
function resetTransport(transport: Transport): void {
  if (!(transport instanceof net.Socket)) transport.close(http2.constants.NGHTTP2_CANCEL);
  else if (transport.destroyed || transport.writableEnded) transport.destroy();
  else transport.resetAndDestroy();
}

/**
 * The bound on our `bufferedAmount`, and why: a send that has not called back yet may
 * still sit whole in the outgoing buffer (the library cannot refuse it, as a browser's
 * `bufferedAmount` cannot), so those count fully, with 1% and 64 bytes each for
 * compression growth and frame headers. Everything that has called back must fit under
 * the high-water mark (64 KiB: a send calls back at once only when the buffer is below
 * it). 64 KiB more covers pongs, the close frame and the frame being coalesced.
 */
export function bufferedBound(outstandingBytes: number, outstandingCount: number, highWaterMark = 64 * 1024): number {
  return highWaterMark + Math.ceil(outstandingBytes * 1.01) + 64 * outstandingCount + 64 * 1024;
}

/** The shared recording side of both kinds of endpoint. */
export abstract class Endpoint {
  readonly sent: MessageDigest[] = [];
  readonly received: MessageDigest[] = [];
  readonly closes: CloseRecord[] = [];
  /** Problems only this endpoint can see (a ws protocol error, a failing ws.app reader ...). */
  readonly violations: string[] = [];
  /** Sends attempted after the endpoint left OPEN (not expected to arrive). */
  refused = 0;
  sentBytes = 0;
  /** Message bytes delivered to the application (partial pieces count for ws.app readers). */
  bytesIn = 0;
  outstandingCount = 0;
  outstandingBytes = 0;
  maxBuffered = 0;
  /** The codes this endpoint put on the wire with close() while it was OPEN. */
  readonly closeCodesSent: number[] = [];
  resetDone = false;
  /** Whether a late 'message' listener was in use (messages before it are legitimately missed). */
  lateListener = false;
  #stopped = false;
  protected readonly startMs = Date.now();

  constructor(
    readonly label: string,
    readonly ours: boolean,
    protected readonly reader: ReaderMode,
    /** The transport of this end (TCP socket or HTTP/2 stream), when the test can reach it. */
    readonly socket: Transport | null,
  ) {}

  /** Still OPEN: has not seen (or sent) a close, and the transport is up. */
  abstract isOpen(): boolean;
  abstract stateName(): string;
  abstract bufferedAmount(): number;
  protected abstract rawSend(data: Buffer | string, callback: SendCallback): void;
  abstract ping(): void;
  protected abstract rawClose(code: number, reason: string): void;
  protected abstract rawReset(how: 'destroy' | 'rst'): void;
  /** Force everything down at the end of a run (also after a failure). */
  abstract dispose(): void;
  protected abstract pauseInput(): void;
  protected abstract resumeInput(): void;

  /** Send one message, recording it when it is really sent (the endpoint is OPEN). */
  send(data: Buffer | string, done: SendCallback = () => undefined): void {
    const binary = typeof data !== 'string';
    if (!this.isOpen()) {
      // Still call the API: a send after the close must be refused quietly.
      this.refused += 1;
      this.rawSend(data, () => done());
      return;
    }
    const d = digest(binary, data);
    this.sent.push(d);
    this.sentBytes += d.bytes;
    this.outstandingCount += 1;
    this.outstandingBytes += d.bytes;
    let called = false;
    this.rawSend(data, (error) => {
      if (called) {
        this.violations.push(`a send callback was called twice (message #${this.sent.indexOf(d)})`);
        return;
      }
      called = true;
      this.outstandingCount -= 1;
      this.outstandingBytes -= d.bytes;
      done(error);
    });
    this.sampleBuffered();
  }

  /** Close with a code (recorded only when this really starts or answers the handshake). */
  close(code: number, reason: string): void {
    if (this.isOpen()) this.closeCodesSent.push(code);
    this.rawClose(code, reason);
  }

  reset(how: 'destroy' | 'rst'): void {
    this.resetDone = true;
    this.rawReset(how);
  }

  /** Check bufferedAmount against its bound (ours only; ws's buffering is not ours to judge). */
  sampleBuffered(): void {
    if (!this.ours || !this.isOpen()) return;
    const amount = this.bufferedAmount();
    if (amount > this.maxBuffered) this.maxBuffered = amount;
    const bound = bufferedBound(this.outstandingBytes, this.outstandingCount);
    if (amount > bound && this.violations.length < 20) {
      this.violations.push(
        `bufferedAmount ${amount} exceeds its bound ${bound} ` +
          `(${this.outstandingCount} sends / ${this.outstandingBytes} B not called back)`,
      );
    }
  }

  get closed(): boolean {
    return this.closes.length > 0;
  }

  /** Stop the reader loops (end of run). */
  stop(): void {
    this.#stopped = true;
  }

  protected get stopped(): boolean {
    return this.#stopped;
  }

  protected deliver(binary: boolean, data: Buffer | string): void {
    const d = digest(binary, data);
    this.received.push(d);
    if (this.reader.kind !== 'app') this.bytesIn += d.bytes;
    if (this.reader.kind === 'echo') this.send(data);
  }

  protected recordClose(code: number, reason: string, wasClean: boolean | null): void {
    this.closes.push({ code, reason, wasClean, atMs: Date.now() - this.startMs });
  }

  /** The 'pausing' reader: pause and resume the input a bounded number of times. */
  protected async runPausing(pauses: number, pauseMs: number, runMs: number): Promise<void> {
    for (let i = 0; i < pauses && !this.stopped && !this.closed; i++) {
      this.pauseInput();
      await sleep(pauseMs);
      this.resumeInput();
      await sleep(runMs);
    }
    this.resumeInput();
  }

  /** One line for failure reports. */
  summary(): string {
    const closes = this.closes.map((c) => `${c.code}${c.wasClean === null ? '' : c.wasClean ? ' clean' : ' unclean'}`);
    return (
      `${this.label}: state=${this.stateName()} sent=${this.sent.length} msgs/${this.sentBytes} B ` +
      `refused=${this.refused} received=${this.received.length} msgs/${this.bytesIn} B ` +
      `outstanding callbacks=${this.outstandingCount} (${this.outstandingBytes} B) ` +
      `bufferedAmount=${this.bufferedAmount()} (max ${this.maxBuffered}) ` +
      `transport=${this.socket === null ? 'hidden' : this.socket.destroyed ? 'destroyed' : 'alive'} ` +
      `closes=[${closes.join(', ')}]${this.resetDone ? ' (reset by this side)' : ''}`
    );
  }
}

/** Our `WebSocketDuplex` (from connect() or handleUpgrade()). */
export class OurEndpoint extends Endpoint {
  constructor(
    label: string,
    readonly ws: WebSocketDuplex,
    reader: ReaderMode,
    socket: Transport | null,
  ) {
    super(label, true, reader, socket);
    ws.on('close', (code: number, reason: string, wasClean: boolean) => this.recordClose(code, reason, wasClean));
    const onMessage = (data: Buffer | string, isBinary: boolean) => this.deliver(isBinary, data);
    switch (reader.kind) {
      case 'fast':
      case 'echo':
        ws.on('message', onMessage);
        break;
      case 'pausing':
        ws.on('message', onMessage);
        void this.runPausing(reader.pauses, reader.pauseMs, reader.runMs);
        break;
      case 'late-message':
        this.lateListener = true;
        setTimeout(() => ws.on('message', onMessage), reader.delayMs);
        break;
      case 'late-message-bytes': {
        this.lateListener = true;
        if (socket === null) throw new Error('late-message-bytes needs the socket');
        let seen = 0;
        const count = (chunk: Buffer) => {
          seen += chunk.length;
          if (seen < reader.afterBytes) return;
          socket.removeListener('data', count);
          ws.on('message', onMessage);
        };
        // After the stream has piped the socket (handleUpgrade does it on the next tick).
        setImmediate(() => socket.on('data', count));
        break;
      }
      case 'app':
        void this.readApp(reader.delayMs, reader.everyN);
        break;
    }
  }

  async readApp(delayMs: number, everyN: number): Promise<void> {
    let piece: DigestBuilder | null = null;
    let n = 0;
    try {
      for await (const event of this.ws.app) {
        const e = event as { type: string; data?: Buffer | string; messageFinished?: boolean };
        if (e.type === 'text' || e.type === 'bytes') {
          piece ??= new DigestBuilder();
          this.bytesIn += piece.update(e.data ?? '');
          if (e.messageFinished === true) {
            this.received.push(piece.finish(e.type === 'bytes'));
            piece = null;
          }
        }
        if (++n % everyN === 0 && delayMs > 0) await sleep(delayMs);
        // A reader that gives up at the end of the run must not hold the stream forever.
        if (this.stopped) break;
      }
    } catch (error) {
      this.violations.push(`ws.app's reader got an error: ${(error as Error).message}`);
    }
  }

  isOpen(): boolean {
    return !this.ws.destroyed && this.ws.state === 'OPEN';
  }

  stateName(): string {
    return `${this.ws.state}${this.ws.destroyed ? ' (destroyed)' : ''}`;
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  protected rawSend(data: Buffer | string, callback: SendCallback): void {
    this.ws.send(data, {}, callback);
  }

  ping(): void {
    this.ws.ping('stress');
  }

  protected rawClose(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  protected rawReset(how: 'destroy' | 'rst'): void {
    if (this.socket === null) this.ws.destroy();
    else if (how === 'rst') resetTransport(this.socket);
    else this.socket.destroy();
  }

  protected pauseInput(): void {
    this.socket?.pause();
  }

  protected resumeInput(): void {
    this.socket?.resume();
  }

  dispose(): void {
    this.stop();
    this.ws.destroy();
    this.socket?.destroy();
  }
}

/** The `ws` peer. */
export class WsEndpoint extends Endpoint {
  constructor(
    label: string,
    readonly ws: WebSocket,
    reader: ReaderMode,
    socket: net.Socket | null,
  ) {
    super(label, false, reader, socket);
    ws.on('close', (code: number, reason: Buffer) => this.recordClose(code, reason.toString(), null));
    // An 'error' from ws means it judged our bytes invalid: a failure of ours, not a crash.
    ws.on('error', (error: Error) => this.violations.push(`the ws peer reported an error: ${error.message}`));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.deliver(isBinary, isBinary ? data : data.toString()));
    if (reader.kind === 'pausing') void this.runPausing(reader.pauses, reader.pauseMs, reader.runMs);
    else if (reader.kind !== 'fast' && reader.kind !== 'echo') throw new Error(`reader ${reader.kind} is ours only`);
  }

  isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  stateName(): string {
    return ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'][this.ws.readyState] ?? String(this.ws.readyState);
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  protected rawSend(data: Buffer | string, callback: SendCallback): void {
    this.ws.send(data, { binary: typeof data !== 'string' }, callback);
  }

  ping(): void {
    if (this.isOpen()) this.ws.ping('stress');
  }

  protected rawClose(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  protected rawReset(how: 'destroy' | 'rst'): void {
    if (how === 'rst' && this.socket !== null) resetTransport(this.socket);
    else this.ws.terminate();
  }

  protected pauseInput(): void {
    this.ws.pause();
  }

  protected resumeInput(): void {
    this.ws.resume();
  }

  dispose(): void {
    this.stop();
    this.ws.terminate();
    this.socket?.destroy();
  }
}
