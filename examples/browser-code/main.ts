/**
 * Browser code, unchanged, in Node: client.js is a page script written for browsers (the
 * global `WebSocket`, `Blob`, `TextDecoder`); this program serves it to browsers, and runs
 * the same file in Node with wsproto's `WebSocket` installed as the global.
 *
 *     node dist/examples/browser-code/main.js        then open the printed http:// URL
 *
 * It serves the page (`/`), the script (`/client.js`) and an echo service (`/echo`,
 * subprotocol `echo.v1`, permessage-deflate); runs client.js against it once, printing
 * each line as `node: ...`; then serves until Ctrl+C (SIGINT) or SIGTERM. A browser that
 * opens the page shows the same lines (test/examples-browser-code.test.ts compares them
 * with headless Chromium's). `--once` exits after the run in Node. `PORT`, `HOST`.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { WebSocket, WebSocketServer } from 'wsproto';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const once = process.argv.includes('--once');
const dir = path.join(__dirname, '..', '..', '..', 'examples', 'browser-code');
const script = fs.readFileSync(path.join(dir, 'client.js'), 'utf8');

const page = `<!doctype html>
<meta charset="utf-8"><title>browser code</title>
<pre id="log"></pre>
<script src="/client.js"></script>
<script>
  const out = document.getElementById('log');
  runClient(\`ws://\${location.host}/echo\`, (line) => (out.textContent += line + '\\n'))
    .then(() => (out.dataset.done = 'true'));
</script>
`;

const server = http.createServer((req, res) => {
  if (req.url === '/') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page);
  else if (req.url === '/client.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(script);
  else res.writeHead(404).end();
});
const wss = new WebSocketServer({
  server,
  path: '/echo',
  perMessageDeflate: true,
  selectSubprotocol: (offered) => (offered.includes('echo.v1') ? 'echo.v1' : null),
});
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));

async function main(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: actual } = server.address() as AddressInfo;
  // What a page has and Node 20 lacks, then the page's script as it is.
  Object.assign(globalThis, { WebSocket });
  vm.runInThisContext(script, { filename: path.join(dir, 'client.js') });
  const runClient = (
    globalThis as unknown as { runClient: (url: string, log: (line: string) => void) => Promise<void> }
  ).runClient;
  await runClient(`ws://${host}:${actual}/echo`, (line) => console.log(`node: ${line}`));
  if (once) return stop();
  console.log(`open http://${host}:${actual}/ in a browser to run the same code there (Ctrl+C stops)`);
  process.once('SIGINT', stop).once('SIGTERM', stop);
}

async function stop(): Promise<void> {
  await wss.close();
  server.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
  server.close();
});
