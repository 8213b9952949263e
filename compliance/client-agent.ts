/**
 * Autobahn|Testsuite testee: the client agent, built on the public API (`connect`).
 * Against `wstest -m fuzzingserver` (compliance/fuzzingserver.json, ws://127.0.0.1:9002):
 * asks /getCaseCount, runs every /runCase?case=N&agent=... echoing each message back,
 * then asks /updateReports?agent=... so the suite writes its report.
 *
 *     node dist/compliance/client-agent.js [ws://127.0.0.1:9002] [agent-name]
 *
 * Exit status: 0 when the case count was read, every case connected and ended (within
 * CASE_TIMEOUT_MS, default 10 minutes) without an 'error' event other than a TCP reset, and
 * the report update connected; 1 otherwise, each problem listed on stderr. Whether a case
 * passed is the suite's verdict, in its report, not the agent's.
 */
import { connect, type WebSocketDuplex } from 'wsproto';

const base = process.argv[2] ?? 'ws://127.0.0.1:9002';
const agent = process.argv[3] ?? 'wsproto';
/** A case the suite has not ended after this long is abandoned and counted as a problem. */
const caseTimeoutMs = Number(process.env.CASE_TIMEOUT_MS ?? 600_000);

/** Socket error codes that only mean the peer reset or closed the TCP connection. */
const transportResets = new Set(['ECONNRESET', 'EPIPE']);

/** How one connection went. */
interface Outcome {
  /** Why `connect` failed (the case never ran), or null. */
  connectError: Error | null;
  /** The first 'error' event of the open connection other than a transport reset, or null. */
  error: Error | null;
  /** 'error' events that were transport resets (ECONNRESET, EPIPE) by the suite. */
  resets: number;
  /** The connection did not close within `caseTimeoutMs` and was destroyed. */
  timedOut: boolean;
}

/** Connect, run `onOpen`, resolve when the connection closes (never rejects). */
function session(url: string, onOpen: (ws: WebSocketDuplex) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { connectError: null, error: null, resets: 0, timedOut: false };
    connect(url, {
      perMessageDeflate: { threshold: 0 },
      maxMessageSize: 64 * 1024 * 1024,
      handshakeTimeout: 60_000,
    }).then(
      (ws) => {
        const timer = setTimeout(() => {
          outcome.timedOut = true;
          ws.destroy();
        }, caseTimeoutMs);
        ws.on('error', (error: NodeJS.ErrnoException) => {
          // The suite ends most cases by resetting the TCP connection (Twisted's
          // abortConnection, also right after a clean closing handshake): that is its way of
          // closing, judged by the suite itself (behaviorClose), not a fault of the agent.
          if (error.code !== undefined && transportResets.has(error.code)) outcome.resets++;
          else outcome.error ??= error;
        });
        ws.on('close', () => {
          clearTimeout(timer);
          resolve(outcome);
        });
        onOpen(ws);
      },
      (error: unknown) => {
        outcome.connectError = error instanceof Error ? error : new Error(String(error));
        resolve(outcome);
      },
    );
  });
}

const problems: string[] = [];
let resetCases = 0;

function check(what: string, outcome: Outcome): void {
  if (outcome.connectError !== null) problems.push(`${what}: could not connect: ${outcome.connectError.message}`);
  if (outcome.error !== null) problems.push(`${what}: error: ${outcome.error.message}`);
  if (outcome.timedOut) problems.push(`${what}: still open after ${caseTimeoutMs} ms; destroyed`);
  if (outcome.resets > 0) resetCases++;
}

async function main(): Promise<void> {
  let count = NaN;
  const counted = await session(`${base}/getCaseCount`, (ws) => {
    ws.on('message', (data) => {
      count = Number(data);
    });
  });
  check('getCaseCount', counted);
  if (!Number.isInteger(count) || count < 1) {
    problems.push(`getCaseCount: no usable case count (got ${count})`);
    count = 0;
  }
  console.log(`${count} cases`);
  for (let i = 1; i <= count; i++) {
    const outcome = await session(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws) => {
      ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    check(`case ${i}`, outcome);
    if (i % 50 === 0) console.log(`${i}/${count}`);
  }
  if (count > 0) {
    const updated = await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, () => undefined);
    check('updateReports', updated);
    if (updated.connectError === null) console.log('reports updated');
  }
  console.log(`${resetCases} connection(s) ended by a TCP reset from the suite (its usual way of closing)`);
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`client agent: ${problems.length} problem(s)`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
