/**
 * examples/in-memory: the sans-I/O recipe of docs/embedding.md over an in-memory wire.
 * The program runs as a user would run it, and what each side sees is the same
 * whatever the chunk size of the wire.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const program = path.join(root, 'dist', 'examples', 'in-memory', 'main.js');

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [program, ...args], { cwd: root, timeout: 15000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** The conversation as printed, without the first line (which names the chunk size). */
function transcript(stdout: string): string[] {
  return stdout.trimEnd().split('\n').slice(1);
}

const EXPECTED = [
  '',
  '== 1. a conversation',
  'client: request /chat',
  'server: request /chat from example.com, subprotocols [chat.v1]',
  'server: accepted: subprotocol chat.v1, extensions [permessage-deflate]',
  'client: open: subprotocol chat.v1, extensions [permessage-deflate]',
  'client: sent 3 messages and a ping',
  'server: text "Hello, server": echo',
  'server: text "one message, three frames": echo',
  'server: bytes <deadbeef>: echo',
  'server: ping "are you there?"',
  'client: echo: text "Hello, server"',
  'client: echo: text "one message, three frames"',
  'client: echo: bytes <deadbeef>',
  'client: pong "are you there?"',
  'server: close 1000 "bye"',
  'server: transport end',
  'client: close 1000 "bye"',
  'client: waiting for the server to close the transport',
  'client: EOF from the peer',
  'client: transport end',
  'server: EOF from the peer',
  'final states: client CLOSED, server CLOSED',
  '',
  '== 2. the client breaks the protocol',
  'client: request /',
  'server: request / from example.com, subprotocols []',
  'server: accepted: subprotocol none, extensions []',
  'client: open: subprotocol none, extensions []',
  'server: close 1002 "server received an unmasked frame" (the peer broke the protocol)',
  'server: transport end',
  'client: close 1002 "server received an unmasked frame"',
  'client: waiting for the server to close the transport',
  'client: EOF from the peer',
  'client: transport end',
  'server: EOF from the peer',
  'final states: client CLOSED, server CLOSED',
  '',
  '== 3. the transport drops without a close',
  'client: request /',
  'server: request / from example.com, subprotocols []',
  'server: accepted: subprotocol none, extensions []',
  'client: open: subprotocol none, extensions []',
  'client: EOF from the peer',
  'client: close 1006 "the transport ended without a close frame"',
  'client: transport end',
  'server: EOF from the peer',
  'server: close 1006 "the transport ended without a close frame"',
  'server: transport end',
  'final states: client CLOSED, server CLOSED',
  '',
  '== 4. a request that is not a WebSocket handshake',
  'server: handshake failed: ERR_BAD_HANDSHAKE (the Upgrade header must contain "websocket")',
  'server: sent 426',
  'server: transport end',
  'raw client: got "HTTP/1.1 426 Upgrade Required"',
  'final state: server CLOSED',
];

describe('examples/in-memory (docs/embedding.md)', function () {
  this.timeout(30000);

  it('prints the whole conversation: handshake, messages, ping, close, failures', async () => {
    const { code, stdout, stderr } = await run();
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout.split('\n')[0]).to.equal('(every write arrives in chunks of at most 7 bytes)');
    expect(transcript(stdout)).to.deep.equal(EXPECTED);
  });

  it('sees the same conversation when the wire delivers one byte at a time, or everything at once', async () => {
    const [bytewise, whole] = await Promise.all([run('1'), run('100000')]);
    expect(bytewise.code).to.equal(0);
    expect(whole.code).to.equal(0);
    expect(transcript(bytewise.stdout)).to.deep.equal(EXPECTED);
    expect(transcript(whole.stdout)).to.deep.equal(EXPECTED);
  });

  it('refuses a chunk size that is not a positive integer', async () => {
    const { code, stderr } = await run('0');
    expect(code).to.equal(2);
    expect(stderr).to.include('usage:');
  });
});
