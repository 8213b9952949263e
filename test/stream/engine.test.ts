/**
 * Mirror test for lib/stream/engine: what an open connection keeps. The engine owns the
 * stream's parts, and once the handshake is over it holds neither the HTTP request nor
 * the hooks and options that came with it (an idle server keeps many connections; these
 * pin the release, by reachability after garbage collection, not by timings). Its
 * behaviour as a whole is tested through `WebSocketDuplex` (test/stream/*.test.ts); here
 * also how a server's large messages leave (header and payload apart, in one writev).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { connect, handleUpgrade, type WebSocketDuplex } from '../../lib/index';
import { released } from '../helpers/gc';
import { once } from '../helpers/net';

describe('stream/engine', () => {
  let server: http.Server;
  let port: number;
  const open: WebSocketDuplex[] = [];
  let refs: { req: WeakRef<object>; options: WeakRef<object>; hookState: WeakRef<object> }[] = [];

  beforeEach(async () => {
    refs = [];
    server = http.createServer();
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      const ws = handleUpgrade(req, socket, head, hooks(req));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      open.push(ws);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  /** The options of one connection, in a scope of their own (the listeners below must not hold them). */
  function hooks(req: http.IncomingMessage) {
    const hookState = { big: Buffer.alloc(1024) }; // something only the hook holds
    const options = {
      accept: () => (hookState.big.length > 0 ? { subprotocol: null } : false),
      verifyOrigin: (origin: string | undefined) => origin === undefined,
    };
    refs.push({ req: new WeakRef(req), options: new WeakRef(options), hookState: new WeakRef(hookState) });
    return options;
  }

  afterEach(async () => {
    for (const ws of open.splice(0)) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  it('an open server connection holds neither the request, nor its options, nor what its hooks hold', async () => {
    const client = await connect(`ws://127.0.0.1:${port}/`);
    const echo = once<[string]>(client, 'message');
    client.send('still alive');
    expect((await echo)[0]).to.equal('still alive');
    expect(open).to.have.length(1);
    const { req, options, hookState } = refs[0]!;
    expect(await released(req), 'the IncomingMessage').to.equal(true);
    expect(await released(options), 'the options object').to.equal(true);
    expect(await released(hookState), 'what the accept hook closes over').to.equal(true);
    // The connection itself still works after the release.
    const again = once<[string]>(client, 'message');
    client.send('after release');
    expect((await again)[0]).to.equal('after release');
    client.close();
    await once(client, 'close');
  });

  it('a connection that was never accepted still holds its hook (the decision may be pending)', async () => {
    // The control for the test above: before the handshake completes the hook is needed.
    server.removeAllListeners('upgrade');
    const pending: WebSocketDuplex[] = [];
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      const hookState = { big: Buffer.alloc(1024) };
      refs.push({ req: new WeakRef(req), options: new WeakRef({}), hookState: new WeakRef(hookState) });
      const ws = handleUpgrade(req, socket, head, {
        accept: () => new Promise(() => void hookState), // never decides
      });
      pending.push(ws);
      open.push(ws);
    });
    const attempt = connect(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 5000 }).catch((e: unknown) => e);
    for (let i = 0; i < 100 && pending.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pending).to.have.length(1);
    expect(await released(refs[0]!.req), 'the IncomingMessage').to.equal(false);
    pending[0]!.terminate();
    await attempt;
  });

  /** The parts alive in a child process holding open, idle connections (see test/helpers/live-parts). */
  type LiveParts = { connections: number; open: Record<string, number>; closedPair: number };
  async function liveParts(serverOptions: object): Promise<LiveParts> {
    const script = path.resolve(__dirname, '../helpers/live-parts.js');
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [script, JSON.stringify(serverOptions)], { timeout: 30000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
    });
    return JSON.parse(out) as LiveParts;
  }

  it('an open, idle connection keeps an engine and its output queue only: no opening, timers, flow, ending, message queue or close record (counted live)', async function () {
    this.timeout(40000);
    const { connections: n, open, closedPair } = await liveParts({});
    // Both ends are ours: n servers and n clients.
    expect(closedPair, 'close records once one pair closed (the count can see them)').to.equal(2);
    expect(open).to.deep.equal({
      Engine: 2 * n,
      OutQueue: 2 * n,
      Opening: 0,
      LifecycleTimers: 0,
      Flow: 0,
      Ending: 0,
      MessageQueue: 0,
      CloseRecord: 0,
    });
  });

  it('with keepalive (pingInterval), an open server connection keeps its timers, and nothing else more', async function () {
    this.timeout(40000);
    const { connections: n, open } = await liveParts({ pingInterval: 60000 });
    expect(open).to.deep.equal({
      Engine: 2 * n,
      OutQueue: 2 * n,
      Opening: 0,
      LifecycleTimers: n,
      Flow: 0,
      Ending: 0,
      MessageQueue: 0,
      CloseRecord: 0,
    });
  });

  it("a server's large binary messages go to the socket as header and payload, the payload not copied, in order with the rest", async () => {
    server.removeAllListeners('upgrade');
    const written: Buffer[] = [];
    const sent: Buffer[] = [];
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
      socket.write = ((chunk: Buffer) => (written.push(chunk), write(chunk))) as typeof socket.write;
      const ws = handleUpgrade(req, socket, head);
      ws.on('message', (data, isBinary) => {
        if (isBinary) sent.push(data as Buffer);
        ws.send(data, { binary: isBinary });
      });
      open.push(ws);
    });
    const client = await connect(`ws://127.0.0.1:${port}/`);
    const sizes = [16 * 1024 - 1, 16 * 1024, 64 * 1024, 64 * 1024 + 10, 300_000];
    const expected: Array<string | Buffer> = [];
    for (const [i, n] of sizes.entries()) {
      const data = Buffer.from(Array.from({ length: n }, (_, k) => (k * (i + 3)) & 0xff));
      expected.push(data, `after ${n}`);
    }
    const got: Array<string | Buffer> = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data) => {
        got.push(data);
        if (got.length === expected.length) resolve();
      }),
    );
    for (const message of expected) client.send(message);
    await all;
    expect(got.length).to.equal(expected.length);
    for (const [i, message] of expected.entries()) {
      expect(
        typeof got[i] === 'string' ? got[i] : (got[i] as Buffer).equals(message as Buffer),
        `message ${i}`,
      ).to.equal(typeof message === 'string' ? message : true);
    }
    // The echoed Buffers of 16 KiB and more went to the socket themselves; the smaller one was copied into its frame.
    const large = sent.filter((b) => b.length >= 16 * 1024);
    expect(large).to.have.length(4);
    for (const payload of large) expect(written.includes(payload), `${payload.length} bytes`).to.equal(true);
    expect(written.includes(sent[0]!)).to.equal(false);
    client.close();
    await once(client, 'close');
  });
});
