/**
 * Autobahn|Testsuite testee: the client agent, built on the public API (`connect`).
 * Against `wstest -m fuzzingserver` (compliance/fuzzingserver.json, ws://127.0.0.1:9002):
 * asks /getCaseCount, runs every /runCase?case=N&agent=... echoing each message back,
 * then asks /updateReports?agent=... so the suite writes its report.
 *
 *     node dist/compliance/client-agent.js [ws://127.0.0.1:9002] [agent-name]
 */
import { connect, type WebSocketDuplex } from 'wsproto';

const base = process.argv[2] ?? 'ws://127.0.0.1:9002';
const agent = process.argv[3] ?? 'wsproto';

/** Connect, run `onOpen`, resolve when the connection closes (never rejects). */
function session(url: string, onOpen: (ws: WebSocketDuplex) => void): Promise<void> {
  return new Promise((resolve) => {
    connect(url, {
      perMessageDeflate: { threshold: 0 },
      maxMessageSize: 64 * 1024 * 1024,
      handshakeTimeout: 60_000,
    }).then(
      (ws) => {
        ws.on('error', () => undefined);
        ws.on('close', () => resolve());
        onOpen(ws);
      },
      () => resolve(),
    );
  });
}

async function main(): Promise<void> {
  let count = 0;
  await session(`${base}/getCaseCount`, (ws) => {
    ws.on('message', (data) => {
      count = Number(data);
    });
  });
  console.log(`${count} cases`);
  for (let i = 1; i <= count; i++) {
    await session(`${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws) => {
      ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    });
    if (i % 50 === 0) console.log(`${i}/${count}`);
  }
  await session(`${base}/updateReports?agent=${encodeURIComponent(agent)}`, () => undefined);
  console.log('reports updated');
}

void main();
