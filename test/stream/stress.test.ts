/**
 * Model-based stress test of the stream layer (connect, handleUpgrade, WebSocketDuplex)
 * over real TCP on 127.0.0.1, against itself and against `ws`, with and without
 * permessage-deflate; and of ours against ours over HTTP/2 (RFC 8441: connect with a
 * session, handleHttp2Stream; h2c and TLS), several WebSockets on one session at once.
 * See test/stream/stress/ for the schedule generator, the endpoints and the oracle.
 *
 *   STRESS_SEED=n        replay one random schedule
 *   STRESS_RUNS=n        number of random schedules (default 12)
 *   STRESS_BASE_SEED=n   first seed of the random schedules (default: random, printed)
 *   STRESS_LONG=1        also the heavier fixed variants (echo with permessage-deflate, the
 *                        burst over HTTP/2 with TLS)
 *   STRESS_H2_SEED=n     replay one random schedule over HTTP/2
 *   STRESS_H2_RUNS=n     number of random schedules over HTTP/2 (default 6; seeds from
 *                        STRESS_BASE_SEED + 700,000, printed)
 */
import { expect } from 'chai';
import { formatBytes, Rng, type MessageSpec } from './stress/prng';
import { collectGarbage, runSchedule, type RunOptions } from './stress/runner';
import {
  generateHttp2Schedule,
  generateSchedule,
  isOurs,
  PAIRINGS,
  type Pairing,
  type Schedule,
  type SideScript,
  type Step,
  type Transport,
} from './stress/schedule';
import { requirePeer } from '../helpers/peers';
import { startTinyproxy, tinyproxyAvailable, type RunningProxy } from '../helpers/proxies';

const MAX_LISTED = 15;
const LONG = process.env.STRESS_LONG === '1';

async function expectPass(schedule: Schedule, options: RunOptions = {}): Promise<void> {
  const { failures, report } = await runSchedule(schedule, options);
  if (failures.length === 0) return;
  const listed = failures.slice(0, MAX_LISTED).map((f) => ` - ${f}`);
  if (failures.length > MAX_LISTED) listed.push(` - ... and ${failures.length - MAX_LISTED} more`);
  throw new Error(`${failures.length} failure(s) in ${schedule.name}:\n${listed.join('\n')}\n${report}`);
}

const idle: SideScript = { reader: { kind: 'fast' }, steps: [] };

function fixed(
  name: string,
  pairing: Pairing,
  deflate: boolean,
  client: SideScript,
  server: SideScript,
  transport: Transport = 'tcp',
  neighbours: Schedule['neighbours'] = [],
): Schedule {
  const over = transport === 'tcp' ? '' : ` over ${transport} (+${neighbours.length})`;
  return {
    seed: null,
    name: `"${name}" ${pairing}${over} deflate=${deflate ? 'on' : 'off'}`,
    pairing,
    deflate,
    client,
    server,
    transport,
    neighbours,
  };
}

function repeat(count: number, size: number, binary: boolean, salt: number): MessageSpec[] {
  return Array.from({ length: count }, (_, i) => ({ binary, size, offset: (i + salt) * 7919 }));
}

/** 5 × 1 MB, 50 × 100 KB, 200 × 20 KB, 10,000 × 1 KB (binary and text in turn). */
function bigBurst(salt: number): Step {
  return {
    kind: 'burst',
    awaitMode: 'none',
    messages: [
      ...repeat(5, 1_000_000, true, salt),
      ...repeat(50, 100_000, false, salt),
      ...repeat(200, 20_000, true, salt),
      ...repeat(10_000, 1_000, false, salt),
    ],
  };
}

describe('stream stress: fixed regressions', function () {
  this.timeout(60_000);

  const deadlockCases: Array<[Pairing, boolean]> = [
    ['ours-client/ours-server', false],
    ['ours-client/ours-server', true],
    ['ours-client/ws-server', false],
    ['ws-client/ours-server', false],
  ];
  for (const [pairing, deflate] of deadlockCases) {
    const name =
      'deadlock after a send burst (5 × 1 MB, 50 × 100 KB, 200 × 20 KB, 10,000 × 1 KB right after open, ' +
      'then close → clean 1000 both sides)';
    it(`${name} [${pairing}, deflate ${deflate ? 'on' : 'off'}]`, async () => {
      await expectPass(
        fixed(
          name,
          pairing,
          deflate,
          { reader: { kind: 'fast' }, steps: [bigBurst(1), { kind: 'close', code: 1000, reason: '' }] },
          { reader: { kind: 'fast' }, steps: [bigBurst(2)] },
        ),
      );
    });
  }

  // With deflate this moves 64 MiB through zlib (several seconds): only in long runs.
  for (const deflate of LONG ? [false, true] : [false]) {
    const name = 'echo server fed 2,000 × 16 KiB by a ws client that does not wait returns all 2,000';
    it(`${name} [deflate ${deflate ? 'on' : 'off'}]`, async () => {
      const schedule = fixed(
        name,
        'ws-client/ours-server',
        deflate,
        {
          reader: { kind: 'fast' },
          steps: [
            { kind: 'burst', awaitMode: 'none', messages: repeat(2000, 16 * 1024, true, 3) },
            { kind: 'await-received', count: 2000 },
            { kind: 'close', code: 1000, reason: '' },
          ],
        },
        { reader: { kind: 'echo' }, steps: [] },
      );
      // The oracle checks both directions; the echo's own sends are what the client must get back.
      await expectPass(schedule);
    });
  }

  for (const pairing of ['ws-client/ours-server', 'ours-client/ours-server'] as const) {
    const name = "late 'message' listener added mid-message never sees a partial message as whole";
    it(`${name} [${pairing}]`, async () => {
      await expectPass(
        fixed(
          name,
          pairing,
          false,
          {
            reader: { kind: 'fast' },
            steps: [
              {
                kind: 'burst',
                awaitMode: 'none',
                messages: [
                  { binary: true, size: 1_800_000, offset: 11 },
                  ...repeat(3, 100, false, 5),
                  { binary: true, size: 1_500_000, offset: 99 },
                ],
              },
              { kind: 'close', code: 1000, reason: '' },
            ],
          },
          // The listener is attached once the server's socket has read 1 MiB: inside the first message.
          { reader: { kind: 'late-message-bytes', afterBytes: 1024 * 1024 }, steps: [] },
        ),
      );
    });
  }

  for (const pairing of PAIRINGS) {
    for (const closer of ['client', 'server'] as const) {
      const name = 'close after a burst ends clean';
      it(`${name} [${pairing}, ${closer} closes]`, async () => {
        const rng = new Rng(42);
        const messages = Array.from({ length: 1000 }, () => ({
          binary: rng.chance(0.5),
          size: rng.int(0, 8 * 1024),
          offset: rng.int(0, 1 << 20),
        }));
        const closing: SideScript = {
          reader: { kind: 'fast' },
          steps: [
            { kind: 'burst', awaitMode: 'none', messages },
            { kind: 'close', code: 1000, reason: 'done' },
          ],
        };
        await expectPass(
          fixed(name, pairing, false, closer === 'client' ? closing : idle, closer === 'server' ? closing : idle),
        );
      });
    }
  }

  for (const pairing of ['ours-client/ws-server', 'ws-client/ours-server'] as const) {
    const name = "a peer's transport reset gives our endpoint one 'close' 1006 and no 'error' event";
    it(`${name} [${pairing}]`, async () => {
      const oursIsClient = pairing === 'ours-client/ws-server';
      const sender: SideScript = {
        reader: { kind: 'fast' },
        steps: [{ kind: 'burst', awaitMode: 'none', messages: repeat(400, 16 * 1024, true, 7) }],
      };
      const resetter: SideScript = {
        reader: { kind: 'fast' },
        steps: [
          { kind: 'sleep', ms: 5 },
          { kind: 'reset', how: 'rst' },
        ],
      };
      await expectPass(fixed(name, pairing, false, oursIsClient ? sender : resetter, oursIsClient ? resetter : sender));
    });
  }
});

describe('stream stress: random schedules', function () {
  this.timeout(60_000);
  const replay = process.env.STRESS_SEED;
  const runs = Number(process.env.STRESS_RUNS ?? 12);
  const base = Number(process.env.STRESS_BASE_SEED ?? Math.floor(Math.random() * 1_000_000) * 6);
  const seeds = replay !== undefined ? [Number(replay)] : Array.from({ length: runs }, (_, i) => base + i);
  let arrayBuffersBefore = 0;
  let heapBefore = 0;

  before(() => {
    if (replay === undefined) console.log(`    stress: ${runs} schedules from STRESS_BASE_SEED=${base}`);
    collectGarbage();
    arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    heapBefore = process.memoryUsage().heapUsed;
  });

  for (const seed of seeds) {
    const schedule = generateSchedule(seed);
    it(`${schedule.name} (STRESS_SEED=${seed})`, async () => {
      await expectPass(schedule);
    });
  }

  it('memory returns near its baseline after all schedules (no leak per connection)', async function () {
    // Let closing sockets and timers finish, then compare after a full GC.
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (!collectGarbage()) this.skip();
    const arrayBuffers = process.memoryUsage().arrayBuffers - arrayBuffersBefore;
    const heap = process.memoryUsage().heapUsed - heapBefore;
    expect(
      arrayBuffers,
      `ArrayBuffer memory grew by ${formatBytes(arrayBuffers)} over ${seeds.length} schedules`,
    ).to.be.below(32 * 1024 * 1024);
    expect(heap, `heap grew by ${formatBytes(heap)} over ${seeds.length} schedules`).to.be.below(64 * 1024 * 1024);
  });
});

describe('stream stress: our client through a real forward proxy (tinyproxy)', function () {
  this.timeout(60_000);
  // Random schedules whose client is ours, each run through a CONNECT tunnel.
  const runs = Number(process.env.STRESS_PROXY_RUNS ?? 4);
  const base = Number(process.env.STRESS_BASE_SEED ?? Math.floor(Math.random() * 1_000_000) * 6) + 500_000;
  const schedules: Schedule[] = [];
  for (let seed = base; schedules.length < runs; seed++) {
    const schedule = generateSchedule(seed);
    if (isOurs(schedule.pairing, 'client')) schedules.push(schedule);
  }
  let proxy: RunningProxy | null = null;

  before(async function () {
    requirePeer(this, tinyproxyAvailable(), 'tinyproxy', 'apt-get install tinyproxy');
    proxy = await startTinyproxy();
  });

  after(async () => {
    await proxy?.stop();
  });

  for (const schedule of schedules) {
    const replay = `STRESS_BASE_SEED=${schedule.seed! - 500_000} STRESS_PROXY_RUNS=1`;
    it(`${schedule.name} via tinyproxy (replay: ${replay})`, async () => {
      // The proxy adds its buffers and a second pair of kernel socket buffers: the close
      // deadline is set above the slowest reader's backlog, as everywhere here (CLOSE_TIMEOUT_MS).
      await expectPass(schedule, { connect: { proxy: proxy!.url } });
      expect(proxy!.output()).to.match(/CONNECT/);
    });
  }
});

describe('stream stress over HTTP/2 (RFC 8441): fixed regressions', function () {
  this.timeout(60_000);
  const burstThenClose: SideScript = {
    reader: { kind: 'fast' },
    steps: [bigBurst(1), { kind: 'close', code: 1000, reason: '' }],
  };

  // Over TLS too in long runs (random schedules take TLS half of the time).
  for (const transport of LONG ? (['h2c', 'h2-tls'] as const) : (['h2c'] as const)) {
    const name =
      'deadlock after a send burst (5 × 1 MB, 50 × 100 KB, 200 × 20 KB, 10,000 × 1 KB right after open, ' +
      'then close → clean 1000 both sides)';
    it(`${name} [${transport}]`, async () => {
      await expectPass(
        fixed(
          name,
          'ours-client/ours-server',
          false,
          burstThenClose,
          { reader: { kind: 'fast' }, steps: [bigBurst(2)] },
          transport,
        ),
      );
    });
  }

  it('a server that pauses its stream (HTTP/2 flow control) while 3 neighbours on the session burst and echo: all intact, clean closes', async () => {
    const sender = (salt: number): SideScript => ({
      reader: { kind: 'fast' },
      steps: [
        { kind: 'burst', awaitMode: 'none', messages: repeat(200, 16 * 1024, salt % 2 === 0, salt) },
        { kind: 'await-received', count: 200 },
        { kind: 'close', code: 1000, reason: 'done' },
      ],
    });
    const echoing: SideScript = { reader: { kind: 'echo' }, steps: [] };
    const paused: SideScript = { reader: { kind: 'pausing', pauses: 4, pauseMs: 150, runMs: 20 }, steps: [] };
    const neighbours = [1, 2, 3].map((salt) => ({ client: sender(salt), server: echoing }));
    await expectPass(
      fixed(
        'paused stream beside busy neighbours',
        'ours-client/ours-server',
        false,
        {
          reader: { kind: 'fast' },
          steps: [
            { kind: 'burst', awaitMode: 'none', messages: repeat(400, 8 * 1024, true, 9) },
            { kind: 'close', code: 4000, reason: 'bye' },
          ],
        },
        paused,
        'h2c',
        neighbours,
      ),
    );
  });

  it('one stream reset (RST_STREAM) mid-burst: that pair gets 1006 and a prefix, its neighbours finish clean', async () => {
    const sender: SideScript = {
      reader: { kind: 'fast' },
      steps: [{ kind: 'burst', awaitMode: 'none', messages: repeat(400, 16 * 1024, true, 7) }],
    };
    const resetter: SideScript = {
      reader: { kind: 'fast' },
      steps: [
        { kind: 'sleep', ms: 5 },
        { kind: 'reset', how: 'rst' },
      ],
    };
    const closing: SideScript = {
      reader: { kind: 'fast' },
      steps: [
        { kind: 'burst', awaitMode: 'end', messages: repeat(100, 4 * 1024, false, 3) },
        { kind: 'close', code: 1000, reason: '' },
      ],
    };
    const quiet: SideScript = { reader: { kind: 'fast' }, steps: [] };
    await expectPass(
      fixed('reset one stream', 'ours-client/ours-server', true, sender, resetter, 'h2-tls', [
        { client: closing, server: quiet },
        { client: quiet, server: closing },
      ]),
    );
  });
});

describe('stream stress over HTTP/2 (RFC 8441): random schedules', function () {
  this.timeout(60_000);
  const replay = process.env.STRESS_H2_SEED;
  const runs = Number(process.env.STRESS_H2_RUNS ?? 6);
  const base = Number(process.env.STRESS_BASE_SEED ?? Math.floor(Math.random() * 1_000_000) * 6) + 700_000;
  const seeds = replay !== undefined ? [Number(replay)] : Array.from({ length: runs }, (_, i) => base + i);

  before(() => {
    if (replay === undefined) console.log(`    stress over HTTP/2: ${runs} schedules from seed ${base}`);
  });

  for (const seed of seeds) {
    const schedule = generateHttp2Schedule(seed);
    it(`${schedule.name} (STRESS_H2_SEED=${seed})`, async () => {
      await expectPass(schedule);
    });
  }
});
