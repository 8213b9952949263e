/**
 * A command-line client: connect to a URL, send each stdin line as a text message,
 * print what comes back.
 *
 *     node dist/examples/client/main.js ws://127.0.0.1:8080/
 *     node dist/examples/client/main.js --proxy http://127.0.0.1:3128 --follow-redirects wss://example.test/chat
 *     HTTPS_PROXY=http://127.0.0.1:3128 node dist/examples/client/main.js --proxy env wss://example.test/
 *
 * Options: `--proxy URL|env` (a forward proxy, or the HTTPS_PROXY / HTTP_PROXY / NO_PROXY
 * variables), `--follow-redirects`, `--timeout MS` (an overall deadline for opening),
 * `--ca FILE` (trust this certificate for wss:// and an https:// proxy). Ctrl+C while
 * connecting aborts the attempt.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, ConnectError, HandshakeRejectedError, ProxyRejectedError } from 'wsproto';

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      proxy: { type: 'string' },
      'follow-redirects': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '30000' },
      ca: { type: 'string' },
    },
  });
  const url = positionals[0] ?? 'ws://127.0.0.1:8080/';
  const ca = values.ca === undefined ? undefined : fs.readFileSync(values.ca);
  // One signal for the whole opening: a deadline, and Ctrl+C.
  const opening = new AbortController();
  const onSigint = () => opening.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const deadline = setTimeout(
    () => opening.abort(new Error(`not open within ${values.timeout} ms`)),
    Number(values.timeout),
  );
  const ws = await connect(url, {
    perMessageDeflate: true,
    followRedirects: values['follow-redirects'],
    ...(values.proxy === undefined ? {} : { proxy: values.proxy }),
    ...(ca === undefined ? {} : { tls: { ca }, proxyTls: { ca } }),
    signal: opening.signal,
  });
  clearTimeout(deadline);
  process.off('SIGINT', onSigint);
  console.error(`connected to ${ws.url} (status ${ws.response?.statusCode}, subprotocol '${ws.protocol}')`);
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
  if (error instanceof ProxyRejectedError) console.error(`the proxy said ${error.statusCode}: ${error.message}`);
  else if (error instanceof HandshakeRejectedError) console.error(`the server said ${error.statusCode}`);
  else if (error instanceof ConnectError) console.error(`${error.code}: ${error.message}`);
  else console.error(String(error));
  process.exit(1);
});
