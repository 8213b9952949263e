/**
 * The oracle: what must hold at the end of every schedule.
 *
 * 1. Delivery: each direction's received messages equal what the sender sent while it
 *    was OPEN (before it saw or sent a close), intact (digest) and in order. When a
 *    transport was reset: a prefix of it. When our receiver attached its 'message'
 *    listener late: a suffix (everything from some whole message on; never a partial
 *    message passed off as whole).
 * 2. Closing: exactly one 'close' event on each of our endpoints (and on ws's), with the
 *    closer's code and wasClean; or 1006 / unclean when a reset happened.
 * 3. Bounded memory: bufferedAmount under `bufferedBound` (checked as it runs), and the
 *    peak of ArrayBuffer memory under a generous multiple of the bytes in flight.
 * 4. No uncaught exception or unhandled rejection; no 'error' from ws.app's reader; no
 *    protocol error reported by the ws peer.
 * 5. No deadlock (the runner's watchdog, reported here).
 *
 * Over HTTP/2 every WebSocket on the session (the main pair and its neighbours) is judged
 * alike and on its own: a reset of one stream excuses only that pair; memory is bounded
 * by the bytes of all of them.
 */
import type { Endpoint } from './endpoints';
import { formatBytes, type MessageDigest } from './prng';
import type { Schedule } from './schedule';

/** Everything a run leaves for the oracle. */
export interface Outcome {
  readonly schedule: Schedule;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** HTTP/2: the other WebSockets on the session. */
  readonly neighbours?: ReadonlyArray<{ readonly client: Endpoint; readonly server: Endpoint }>;
  /** The watchdog's diagnosis, or null. */
  readonly stuck: string | null;
  readonly unhandled: readonly string[];
  readonly memory: {
    readonly baselineArrayBuffers: number;
    readonly peakArrayBuffers: number;
    readonly baselineHeap: number;
    readonly peakHeap: number;
  };
}

const ABNORMAL = 1006;
const MiB = 1024 * 1024;

function show(d: MessageDigest | undefined): string {
  return d === undefined ? 'nothing' : `${d.binary ? 'binary' : 'text'} ${d.bytes} B #${d.hash}`;
}

/** Where `got` first differs from `expected[offset...]`, or -1. */
function firstDifference(expected: readonly MessageDigest[], got: readonly MessageDigest[], offset: number): number {
  for (let i = 0; i < got.length; i++) {
    const e = expected[offset + i];
    const g = got[i]!;
    if (e === undefined || e.binary !== g.binary || e.bytes !== g.bytes || e.hash !== g.hash) return i;
  }
  return -1;
}

function checkDirection(from: Endpoint, to: Endpoint, reset: boolean, failures: string[]): void {
  const sent = from.sent;
  const got = to.received;
  const where = `${from.label} → ${to.label}`;
  if (got.length > sent.length) {
    failures.push(`${where}: ${got.length} messages received, more than the ${sent.length} sent`);
  }
  // A late listener misses some first messages: the received list must line up with
  // the end of the sent list (or, after a reset, with some run of it).
  let offset = 0;
  // A listener attached after every message had arrived saw none of them: an empty suffix.
  if (to.lateListener && got.length === 0 && !reset) offset = sent.length;
  if (to.lateListener && got.length > 0) {
    if (!reset) offset = Math.max(0, sent.length - got.length);
    else {
      // Several sent messages may share a digest (empty ones): take the first start that fits.
      const first = got[0]!;
      const starts = sent.flatMap((d, i) => (d.hash === first.hash && d.binary === first.binary ? [i] : []));
      offset = starts.find((i) => firstDifference(sent, got, i) < 0) ?? starts[0] ?? -1;
    }
    if (offset < 0) {
      failures.push(
        `${where}: the first message the late listener saw (${show(got[0])}) is none of the ${sent.length} sent ` +
          `(a partial message delivered as whole?)`,
      );
      return;
    }
  }
  const diff = firstDifference(sent, got, offset);
  if (diff >= 0) {
    failures.push(
      `${where}: message #${offset + diff} differs: expected ${show(sent[offset + diff])}, got ${show(got[diff])} ` +
        `(${got.length} received, ${sent.length} sent${offset > 0 ? `, the first ${offset} missed by a late listener` : ''})`,
    );
    return;
  }
  if (!reset && offset + got.length < sent.length) {
    const missing = sent.slice(offset + got.length);
    failures.push(
      `${where}: ${missing.length} of ${sent.length} messages sent before the close never arrived ` +
        `(${formatBytes(missing.reduce((n, d) => n + d.bytes, 0))}; first missing #${offset + got.length}: ` +
        `${show(missing[0])}; ${got.length} received)`,
    );
  }
}

function checkCloses(pair: { client: Endpoint; server: Endpoint }, reset: boolean, failures: string[]): void {
  const { client, server } = pair;
  const codes = [...client.closeCodesSent, ...server.closeCodesSent];
  for (const e of [client, server]) {
    if (e.closes.length !== 1) {
      failures.push(
        `${e.label}: ${e.closes.length} 'close' events (expected exactly one)` +
          (e.closes.length > 1 ? `: ${JSON.stringify(e.closes)}` : ''),
      );
      continue;
    }
    const c = e.closes[0]!;
    const allowed = reset ? [...codes, ABNORMAL] : codes;
    if (!allowed.includes(c.code)) {
      failures.push(
        `${e.label}: 'close' with code ${c.code} (${JSON.stringify(c.reason)}); expected ${allowed.join(' or ') || 'none'} ` +
          `(closer chose ${codes.join(', ') || 'nothing'}${reset ? ', and a reset happened' : ''})`,
      );
    }
    if (e.ours && c.wasClean !== null) {
      if (!reset && !c.wasClean)
        failures.push(`${e.label}: close ${c.code} was not clean, with no reset in the schedule`);
      if (c.code === ABNORMAL && c.wasClean) failures.push(`${e.label}: close 1006 reported as clean`);
    }
  }
}

/** Check one run; returns human-readable failures (empty: it passed). */
export function checkOutcome(outcome: Outcome): string[] {
  const failures: string[] = [];
  if (outcome.stuck !== null) failures.push(outcome.stuck);
  const pairs = [outcome, ...(outcome.neighbours ?? [])];
  for (const { client, server } of pairs) {
    const reset = client.resetDone || server.resetDone;
    checkDirection(client, server, reset, failures);
    checkDirection(server, client, reset, failures);
    checkCloses({ client, server }, reset, failures);
    for (const e of [client, server]) for (const v of e.violations) failures.push(`${e.label}: ${v}`);
  }
  for (const u of outcome.unhandled) failures.push(u);
  // Loose: everything in flight may exist a few times over (sender's buffer, socket
  // buffers, receive assembly, the payloads the test itself built), plus 64 MiB.
  const inFlight = pairs.reduce((n, { client, server }) => n + client.sentBytes + server.sentBytes, 0);
  const arrayBound = 64 * MiB + 4 * inFlight;
  const grew = outcome.memory.peakArrayBuffers - outcome.memory.baselineArrayBuffers;
  if (grew > arrayBound) {
    failures.push(`ArrayBuffer memory grew by ${formatBytes(grew)} (bound ${formatBytes(arrayBound)})`);
  }
  const heapGrew = outcome.memory.peakHeap - outcome.memory.baselineHeap;
  const heapBound = 128 * MiB + 4 * inFlight;
  if (heapGrew > heapBound) failures.push(`heap grew by ${formatBytes(heapGrew)} (bound ${formatBytes(heapBound)})`);
  return failures;
}
