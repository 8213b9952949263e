/**
 * A command-line client: connect to a URL, send each stdin line as a text message,
 * print what comes back.
 *
 *     node dist/examples/client/main.js ws://127.0.0.1:8080/
 */
import * as readline from 'node:readline';
import { connect } from 'wsproto';

async function main(): Promise<void> {
  const url = process.argv[2] ?? 'ws://127.0.0.1:8080/';
  const ws = await connect(url, { perMessageDeflate: true });
  console.error(`connected to ${url}`);
  ws.on('message', (data: string | Buffer, isBinary: boolean) => {
    console.log(isBinary ? `<binary ${(data as Buffer).length} bytes>` : data);
  });
  ws.on('close', (code: number, reason: string) => {
    console.error(`closed: ${code} ${reason}`);
    process.exit(0);
  });
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => ws.send(line));
  lines.on('close', () => ws.close(1000, 'end of input'));
}

main().catch((error: unknown) => {
  console.error(String(error));
  process.exit(1);
});
