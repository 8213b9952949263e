/**
 * The differential runner: plays one scenario's client steps against a `WebSocket`
 * constructor and returns the trace (a JSON-able list of step results and events).
 *
 * The same function runs in two places: in headless Chromium with the browser's own
 * `WebSocket` (serialised with `toString()` and sent through `page.evaluate`), and in
 * Node with ours. So `runScenario` is self-contained: no imports, no module-level
 * helpers, nothing but its arguments and the globals both sides have (setTimeout,
 * DOMException, TextEncoder, Uint8Array ...). Types are erased, so they may come from
 * anywhere.
 *
 * What a trace holds, in the order it happened:
 * - every event a recorder saw: type, the recorder ('L' is the default listener added
 *   right after construction), readyState at dispatch, the Event fields (class, bubbles,
 *   cancelable, isTrusted, eventPhase, target), and MessageEvent data (kind; text, or
 *   hex of the bytes; a Blob's size, type and bytes, read asynchronously but recorded in
 *   place), origin, lastEventId; CloseEvent code, reason, wasClean;
 * - every action step's result: `ok`, a value read, or the exception thrown
 *   (`DOMException:<name>:<code>`, else the constructor's name).
 * Waiting steps record nothing unless they time out, so that events arriving while the
 * runner polls cannot move a step record around.
 */
import type { Scenario, SendData, Step } from './scenarios';

/** What the runner needs of a WebSocket instance (structural: the browser's and ours). */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  readonly bufferedAmount: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  onopen: unknown;
  onmessage: unknown;
  onerror: unknown;
  onclose: unknown;
  send(data: unknown): void;
  close(...args: unknown[]): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

/** A WebSocket constructor (with the readyState constants). */
export type WebSocketCtor = new (url: string, protocols?: unknown) => WebSocketLike;

/** One line of a trace. */
export type TraceEntry = Record<string, unknown>;

/** Run `scenario` with `WebSocketCtor` against the server at `baseUrl` (`ws://host:port`). */
export async function runScenario(
  WebSocketCtor: WebSocketCtor,
  baseUrl: string,
  scenario: Scenario,
  BlobCtor: typeof Blob,
): Promise<TraceEntry[]> {
  interface AnyEvent {
    type: string;
    constructor: { name: string };
    bubbles: boolean;
    cancelable: boolean;
    isTrusted: boolean;
    eventPhase: number;
    target: unknown;
    currentTarget: unknown;
    defaultPrevented: boolean;
    data?: unknown;
    origin?: string;
    lastEventId?: string;
    code?: number;
    reason?: string;
    wasClean?: boolean;
  }
  const trace: TraceEntry[] = [];
  const pending: Promise<void>[] = [];
  const counts: Record<string, number> = { open: 0, message: 0, error: 0, close: 0 };
  let ws: WebSocketLike | null = null;
  let recording = true;
  const WAIT_LIMIT = 4000;

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const hexOf = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
  const hexBytes = (hex: string) => {
    const clean = hex.replace(/\s+/g, '');
    const out = new Uint8Array(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
    return out;
  };
  // FNV-1a over numbers (bytes or UTF-16 units): a fingerprint for long contents.
  const fnv = (values: ArrayLike<number>) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < values.length; i++) h = Math.imul(h ^ values[i]!, 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
  };
  const describeBytes = (bytes: Uint8Array): Record<string, unknown> =>
    bytes.length <= 64 ? { bytes: hexOf(bytes) } : { length: bytes.length, fnv: fnv(bytes) };
  const describeText = (text: string): Record<string, unknown> => {
    if (text.length <= 64) return { text };
    const units = new Uint16Array(text.length);
    for (let i = 0; i < text.length; i++) units[i] = text.charCodeAt(i);
    return { length: text.length, fnv: fnv(units), head: text.slice(0, 16) };
  };
  const errorName = (error: unknown) => {
    if (error instanceof DOMException) return `DOMException:${error.name}:${error.code}`;
    if (error !== null && typeof error === 'object') return (error as object).constructor.name;
    return typeof error;
  };
  const fill = (template: string) =>
    template
      .replace('{base}', baseUrl)
      .replace('{host}', baseUrl.replace(/^ws:\/\//, ''))
      .replace('{name}', scenario.name);

  const describeData = (data: unknown): Record<string, unknown> => {
    if (typeof data === 'string') return { kind: 'string', ...describeText(data) };
    const kind = Object.prototype.toString.call(data).slice(8, -1);
    if (data instanceof ArrayBuffer) return { kind, ...describeBytes(new Uint8Array(data)) };
    if (kind === 'Blob') {
      const blob = data as Blob;
      const out: Record<string, unknown> = { kind, isBlob: blob instanceof BlobCtor, size: blob.size, type: blob.type };
      pending.push(
        blob.arrayBuffer().then(
          (buffer) => void Object.assign(out, describeBytes(new Uint8Array(buffer))),
          (error: unknown) => void Object.assign(out, { readFailed: errorName(error) }),
        ),
      );
      return out;
    }
    return { kind };
  };

  const describeEvent = (event: AnyEvent, via: string): TraceEntry => {
    const entry: TraceEntry = {
      event: event.type,
      via,
      readyState: ws === null ? null : ws.readyState,
      class: event.constructor.name,
      bubbles: event.bubbles,
      cancelable: event.cancelable,
      isTrusted: event.isTrusted,
      eventPhase: event.eventPhase,
      targetIsSocket: event.target === ws && event.currentTarget === ws,
      defaultPrevented: event.defaultPrevented,
    };
    if (event.type === 'message') {
      entry.data = describeData(event.data);
      entry.origin = event.origin;
      entry.lastEventId = event.lastEventId;
    } else if (event.type === 'close') {
      entry.code = event.code;
      entry.reason = event.reason;
      entry.wasClean = event.wasClean;
    }
    return entry;
  };

  /** A recorder: the full entry, or `{ event, via }` for the extra handlers of an order test. */
  const counted = new WeakSet<object>();
  const recorder = (via: string, full: boolean) => (event: AnyEvent) => {
    if (!recording) return;
    if (full && !counted.has(event)) {
      counted.add(event);
      counts[event.type] = (counts[event.type] ?? 0) + 1;
    }
    trace.push(full ? describeEvent(event, via) : { event: event.type, via });
  };

  const makeData = (data: SendData): unknown => {
    switch (data.kind) {
      case 'text':
        return data.text;
      case 'repeat':
        return data.text.repeat(data.count);
      case 'buffer':
        return hexBytes(data.hex).buffer;
      case 'pattern': {
        const bytes = new Uint8Array(data.size);
        for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 255;
        return bytes.buffer;
      }
      case 'u8': {
        const bytes = hexBytes(data.hex);
        return bytes.subarray(data.start, data.end);
      }
      case 'dataview': {
        const bytes = hexBytes(data.hex);
        return new DataView(bytes.buffer, data.offset, data.length);
      }
      case 'typed': {
        const bytes = hexBytes(data.hex);
        const Ctor = { Uint16Array, Int32Array, Float64Array }[data.type];
        return new Ctor(bytes.buffer);
      }
      case 'value':
        return data.value === '<undefined>' ? undefined : data.value;
      case 'blob':
        return new BlobCtor(
          data.parts.map((part) => (part.startsWith('text:') ? part.slice(5) : hexBytes(part))),
          data.type === undefined ? {} : { type: data.type },
        );
    }
  };

  const sendLabel = (data: SendData) => {
    if (data.kind === 'value') return `send ${data.value === '<undefined>' ? 'undefined' : JSON.stringify(data.value)}`;
    return `send ${data.kind === 'typed' ? data.type : data.kind}`;
  };

  const handlerTypes = ['open', 'message', 'error', 'close'] as const;

  /** Run one step that does not wait; its record goes to the trace. */
  const runSync = (step: Step): void => {
    if (step.do === 'new') {
      try {
        const url = fill(step.url ?? '{base}/s/{name}');
        ws = step.protocols === undefined ? new WebSocketCtor(url) : new WebSocketCtor(url, step.protocols);
        trace.push({ step: 'new', ok: true });
      } catch (error) {
        trace.push({ step: 'new', threw: errorName(error) });
        return;
      }
      if (step.listen !== false) {
        for (const type of handlerTypes) ws.addEventListener(type, recorder('L', true) as (event: never) => void);
      }
      return;
    }
    if (step.do === 'constants') {
      const C = WebSocketCtor as unknown as Record<string, unknown>;
      const P = WebSocketCtor.prototype as Record<string, unknown>;
      const names = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];
      trace.push({ step: 'constants', static: names.map((n) => C[n]), prototype: names.map((n) => P[n]) });
      return;
    }
    const socket = ws;
    if (socket === null) {
      trace.push({ step: step.do, skipped: 'no socket' });
      return;
    }
    const attempt = (name: string, fn: () => unknown) => {
      try {
        const value = fn();
        trace.push(value === undefined ? { step: name, ok: true } : { step: name, value });
      } catch (error) {
        trace.push({ step: name, threw: errorName(error) });
      }
    };
    switch (step.do) {
      case 'binaryType':
        attempt('binaryType', () => {
          socket.binaryType = step.value;
          return socket.binaryType;
        });
        return;
      case 'send':
        attempt(sendLabel(step.data), () => {
          socket.send(makeData(step.data));
        });
        return;
      case 'read': {
        const values: Record<string, unknown> = {};
        for (const prop of step.props) {
          try {
            values[prop] = (socket as unknown as Record<string, unknown>)[prop];
          } catch (error) {
            values[prop] = `threw ${errorName(error)}`;
          }
        }
        trace.push({ step: 'read', ...values });
        return;
      }
      case 'close': {
        // JSON has no undefined: the scenarios write it as '<undefined>'.
        const args = step.args.map((a) => (a === '<undefined>' ? undefined : a));
        const label = step.args.map((a) => (a === '<undefined>' ? 'undefined' : JSON.stringify(a))).join(', ');
        attempt(`close(${label})`, () => {
          socket.close(...args);
        });
        return;
      }
      case 'handler': {
        const listener = step.value === 'record' ? recorder(step.tag, step.full === true) : step.value;
        if (step.via === 'listener') {
          socket.addEventListener(step.event, listener as (event: never) => void);
          trace.push({ step: 'addEventListener', event: step.event, tag: step.tag });
        } else {
          attempt(`on${step.event} = ${step.value === 'record' ? step.tag : JSON.stringify(step.value)}`, () => {
            (socket as unknown as Record<string, unknown>)[`on${step.event}`] = listener;
          });
        }
        return;
      }
      case 'readHandlers':
        trace.push({
          step: 'readHandlers',
          ...Object.fromEntries(
            handlerTypes.map((t) => {
              const value = (socket as unknown as Record<string, unknown>)[`on${t}`];
              return [`on${t}`, value === null ? null : typeof value];
            }),
          ),
        });
        return;
      case 'inHandler': {
        let seen = 0;
        const nth = step.nth ?? 1;
        socket.addEventListener(step.event, () => {
          if (!recording || ++seen !== nth) return;
          trace.push({ step: 'inHandler', event: step.event, nth });
          for (const inner of step.steps) runSync(inner);
        });
        return;
      }
      default:
        trace.push({ step: step.do, error: 'not a synchronous step' });
    }
  };

  const waitUntil = async (what: string, done: () => boolean, limit = WAIT_LIMIT) => {
    if (ws === null) return; // the constructor threw: nothing to wait for
    const end = Date.now() + limit;
    while (!done()) {
      if (Date.now() > end) {
        trace.push({ step: 'wait', for: what, timedOut: true });
        return;
      }
      await sleep(2);
    }
  };

  for (const step of scenario.steps) {
    if (step.do === 'sleep') await sleep(step.ms);
    else if (step.do === 'wait') {
      if (step.for === 'open') await waitUntil('open', () => counts.open! > 0 || counts.close! > 0);
      else if (step.for === 'close') await waitUntil('close', () => counts.close! > 0);
      else {
        const n = step.n;
        await waitUntil(`${n} messages`, () => counts.message! >= n || counts.close! > 0);
      }
    } else runSync(step);
  }

  // Stop recording, then leave nothing open behind us for the next scenario.
  recording = false;
  const last = ws as WebSocketLike | null;
  if (last !== null && last.readyState !== 3) {
    try {
      last.close();
    } catch {
      // the cleanup close only
    }
    const end = Date.now() + 3000;
    while (last.readyState !== 3 && Date.now() < end) await sleep(5);
  }
  await Promise.all(pending);
  return trace;
}
