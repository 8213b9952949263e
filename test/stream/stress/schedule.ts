/**
 * Schedules: what each side of one connection does, as plain data, so that a failure can
 * be printed and a seed replays it. `generateSchedule(seed)` draws a random one; the
 * fixed regression cases build theirs by hand.
 */
import { formatBytes, POOL_SIZE, Rng, type MessageSpec } from './prng';

/** Which implementations sit at the two ends of the connection. */
export const PAIRINGS = ['ours-client/ours-server', 'ours-client/ws-server', 'ws-client/ours-server'] as const;
export type Pairing = (typeof PAIRINGS)[number];
export type SideName = 'client' | 'server';

/**
 * What carries the WebSocket: its own TCP connection (HTTP/1.1 upgrade), or a stream of
 * an HTTP/2 session (RFC 8441), cleartext (h2c) or over TLS. HTTP/2 pairs our client with
 * our server (the `ws` peer has no HTTP/2).
 */
export type Transport = 'tcp' | 'h2c' | 'h2-tls';

/** How a side reads what it receives. */
export type ReaderMode =
  /** 'message' listener (ours) or ws's 'message', attached at once. */
  | { readonly kind: 'fast' }
  /** Ours only: the 'message' listener is attached after delayMs. */
  | { readonly kind: 'late-message'; readonly delayMs: number }
  /** Ours only (needs the server socket): 'message' attached once the socket has read afterBytes. */
  | { readonly kind: 'late-message-bytes'; readonly afterBytes: number }
  /** Ours only: `for await` over ws.app, sleeping delayMs after every everyN events. */
  | { readonly kind: 'app'; readonly delayMs: number; readonly everyN: number }
  /** ws: ws.pause()/resume(); ours server: socket.pause()/resume(); 'message' listener attached at once. */
  | { readonly kind: 'pausing'; readonly pauses: number; readonly pauseMs: number; readonly runMs: number }
  /** Every message received is sent back (through the same recording send). */
  | { readonly kind: 'echo' };

/** How a burst waits for its send callbacks. */
export type AwaitMode = 'each' | 'end' | 'none';

/** One step of a side's script. */
export type Step =
  | { readonly kind: 'burst'; readonly messages: readonly MessageSpec[]; readonly awaitMode: AwaitMode }
  | { readonly kind: 'ping' }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'close'; readonly code: number; readonly reason: string }
  | { readonly kind: 'reset'; readonly how: 'destroy' | 'rst' }
  /** Wait (bounded by the watchdog) until this side has received `count` messages. */
  | { readonly kind: 'await-received'; readonly count: number };

/** One side's reader and script. */
export interface SideScript {
  readonly reader: ReaderMode;
  readonly steps: readonly Step[];
}

/** Both sides of one WebSocket. */
export interface PairScript {
  readonly client: SideScript;
  readonly server: SideScript;
}

/** Everything one run does. */
export interface Schedule extends PairScript {
  /** The seed (random schedules) or null (fixed cases). */
  readonly seed: number | null;
  readonly name: string;
  readonly pairing: Pairing;
  readonly deflate: boolean;
  /** @defaultValue `'tcp'` */
  readonly transport?: Transport;
  /** HTTP/2 only: more WebSockets on the same session, run at the same time, each judged alike. */
  readonly neighbours?: readonly PairScript[];
}

/** Is this side of the pairing our implementation? */
export function isOurs(pairing: Pairing, side: SideName): boolean {
  return side === 'client' ? pairing.startsWith('ours-client') : pairing.endsWith('ours-server');
}

// Budgets that keep one schedule to a few seconds on a shared 2-core machine.
const MAX_BURST_BYTES = 4 * 1024 * 1024;
const MAX_SIDE_BYTES = 10 * 1024 * 1024;
const MAX_BURST_COUNT = 2000;
const CLOSE_CODES = [1000, 1000, 1000, 1001, 3000, 4321];

function drawSize(rng: Rng): number {
  const r = rng.float();
  if (r < 0.05) return 0;
  if (r < 0.7) return rng.int(1, 256);
  if (r < 0.9) return rng.int(257, 16 * 1024);
  if (r < 0.98) return rng.int(16 * 1024 + 1, 128 * 1024);
  return rng.int(128 * 1024 + 1, 1024 * 1024);
}

function drawBurst(rng: Rng, budget: { left: number }): Step {
  // Mostly short bursts, sometimes up to 2,000 sends.
  const count = 1 + Math.floor(MAX_BURST_COUNT * rng.float() ** 4);
  const messages: MessageSpec[] = [];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    let size = drawSize(rng);
    if (bytes + size > MAX_BURST_BYTES || size > budget.left) size = rng.int(0, 64);
    bytes += size;
    budget.left -= size;
    messages.push({ binary: rng.chance(0.5), size, offset: rng.int(0, POOL_SIZE) });
  }
  return { kind: 'burst', messages, awaitMode: rng.pick(['each', 'end', 'none'] as const) };
}

function drawReader(rng: Rng, ours: boolean, side: SideName): ReaderMode {
  const modes: ReaderMode[] = [
    { kind: 'fast' },
    { kind: 'fast' },
    { kind: 'pausing', pauses: rng.int(1, 8), pauseMs: rng.int(5, 300), runMs: rng.int(0, 50) },
  ];
  if (ours) {
    modes.push({ kind: 'late-message', delayMs: rng.int(0, 40) });
    modes.push({ kind: 'app', delayMs: rng.int(0, 20), everyN: rng.int(1, 64) });
    // Our client's socket is hidden inside connect(): it cannot be paused from outside.
    if (side === 'client') modes.splice(2, 1);
  }
  return rng.pick(modes);
}

function drawSteps(rng: Rng, sideBytes = MAX_SIDE_BYTES): Step[] {
  const steps: Step[] = [];
  const budget = { left: sideBytes };
  const n = rng.int(1, 6);
  for (let i = 0; i < n; i++) {
    const r = rng.float();
    if (r < 0.7) steps.push(drawBurst(rng, budget));
    else if (r < 0.85) steps.push({ kind: 'ping' });
    else steps.push({ kind: 'sleep', ms: rng.int(0, 150) });
  }
  return steps;
}

/**
 * A random schedule. The pairing and compression come from the seed itself (seed % 3,
 * then the next digit in base 2), so consecutive seeds cover all six combinations.
 */
export function generateSchedule(seed: number): Schedule {
  const rng = new Rng(seed);
  const pairing = PAIRINGS[seed % 3]!;
  const deflate = Math.floor(seed / 3) % 2 === 1;
  const name = `seed=${seed} ${pairing} deflate=${deflate ? 'on' : 'off'}`;
  return { seed, name, pairing, deflate, ...drawPair(rng, pairing) };
}

/** Neighbours on an HTTP/2 session move less each, so that a schedule stays a few seconds. */
const NEIGHBOUR_SIDE_BYTES = 2 * 1024 * 1024;

/**
 * A random schedule over HTTP/2: our client and our server on one session, with up to
 * three neighbour WebSockets on it. Compression and TLS come from the seed (seed % 2, then
 * the next digit in base 2), so consecutive seeds cover all four combinations.
 */
export function generateHttp2Schedule(seed: number): Schedule {
  const rng = new Rng(seed);
  const pairing = 'ours-client/ours-server';
  const deflate = seed % 2 === 1;
  const transport: Transport = Math.floor(seed / 2) % 2 === 1 ? 'h2-tls' : 'h2c';
  const main = paced(drawPair(rng, pairing));
  const neighbours = Array.from({ length: rng.int(0, 3) }, () => paced(drawPair(rng, pairing, NEIGHBOUR_SIDE_BYTES)));
  const name = `seed=${seed} ${pairing} over ${transport} (+${neighbours.length}) deflate=${deflate ? 'on' : 'off'}`;
  return { seed, name, pairing, deflate, transport, neighbours, ...main };
}

/**
 * The 'app' reader sleeps every N events, and a big message comes over HTTP/2 in DATA
 * frames of at most 16 KiB (over TCP in reads of up to 64 KiB): four times the events.
 * It sleeps every 4N here, to read the same bytes per second as over TCP.
 */
function paced(pair: PairScript): PairScript {
  const pace = (script: SideScript): SideScript =>
    script.reader.kind === 'app'
      ? { ...script, reader: { ...script.reader, everyN: script.reader.everyN * 4 } }
      : script;
  return { client: pace(pair.client), server: pace(pair.server) };
}

/** Both scripts of one WebSocket: steps, who closes (and maybe a reset), then the readers. */
function drawPair(rng: Rng, pairing: Pairing, sideBytes = MAX_SIDE_BYTES): PairScript {
  const client = drawSteps(rng, sideBytes);
  const server = drawSteps(rng, sideBytes);
  const r = rng.float();
  const closers: SideName[] = r < 0.45 ? ['client'] : r < 0.9 ? ['server'] : ['client', 'server'];
  for (const side of closers) {
    const steps = side === 'client' ? client : server;
    // After at least one step; at most one step follows (its sends must be refused quietly).
    const at = rng.int(1, steps.length);
    steps.splice(at, steps.length - at - Math.min(1, steps.length - at), {
      kind: 'close',
      code: rng.pick(CLOSE_CODES),
      reason: rng.chance(0.5) ? '' : `bye ${rng.int(0, 999)} é`,
    });
  }
  if (rng.chance(0.2)) {
    const steps = rng.chance(0.5) ? client : server;
    steps.splice(rng.int(0, steps.length), 0, { kind: 'reset', how: rng.pick(['destroy', 'rst'] as const) });
  }
  return {
    client: { reader: drawReader(rng, isOurs(pairing, 'client'), 'client'), steps: client },
    server: { reader: drawReader(rng, isOurs(pairing, 'server'), 'server'), steps: server },
  };
}

function describeStep(step: Step): string {
  switch (step.kind) {
    case 'burst': {
      const bytes = step.messages.reduce((n, m) => n + m.size, 0);
      const largest = step.messages.reduce((n, m) => Math.max(n, m.size), 0);
      return `burst(${step.messages.length} msgs, ${formatBytes(bytes)}, largest ${formatBytes(largest)}, await=${step.awaitMode})`;
    }
    case 'ping':
      return 'ping';
    case 'sleep':
      return `sleep(${step.ms} ms)`;
    case 'close':
      return `close(${step.code}${step.reason === '' ? '' : `, ${JSON.stringify(step.reason)}`})`;
    case 'reset':
      return `reset(${step.how})`;
    case 'await-received':
      return `await-received(${step.count})`;
  }
}

/** How to replay a random schedule. */
export function replayHint(schedule: Schedule): string {
  if (schedule.seed === null) return '';
  return ` (replay: ${(schedule.transport ?? 'tcp') === 'tcp' ? 'STRESS_SEED' : 'STRESS_H2_SEED'}=${schedule.seed})`;
}

/** A few lines a failure message carries, enough to see what the schedule did. */
export function describeSchedule(schedule: Schedule): string {
  const side = (name: string, ours: boolean, script: SideScript) =>
    `  ${name} (${ours ? 'ours' : 'ws'}) reader=${JSON.stringify(script.reader)}: ` +
    script.steps.map(describeStep).join(' → ');
  const pair = (pairScript: PairScript, suffix: string) => [
    side(`client${suffix}`, isOurs(schedule.pairing, 'client'), pairScript.client),
    side(`server${suffix}`, isOurs(schedule.pairing, 'server'), pairScript.server),
  ];
  return [
    `schedule ${schedule.name}${replayHint(schedule)}`,
    ...pair(schedule, ''),
    ...(schedule.neighbours ?? []).flatMap((n, i) => pair(n, ` #${i + 1}`)),
  ].join('\n');
}
