/** Every program in examples/ runs, and does what its comment says (the chat of `npm start`: examples-chat*.test.ts). */
import { expect } from 'chai';
import * as http from 'node:http';
import * as net from 'node:net';
import WebSocket from 'ws';
import { handleUpgrade } from '../lib/index';
import { startExample as start, stopExample as stop } from './helpers/examples';
import { listen, once, until } from './helpers/net';
import { requirePeer } from './helpers/peers';
import { startTinyproxy, tinyproxyAvailable } from './helpers/proxies';

async function exchange(url: string, send: string[]): Promise<string[]> {
  const client = new WebSocket(url);
  await once(client, 'open');
  const got: string[] = [];
  client.on('message', (d) => got.push(d.toString()));
  for (const s of send) client.send(s);
  await until(() => got.length === send.length);
  client.close();
  await once(client, 'close');
  return got;
}

describe('examples/', function () {
  this.timeout(20000);

  it('client: sends stdin lines, prints the replies', async () => {
    const server = http.createServer();
    server.on('upgrade', (req, socket, head) => {
      const ws = handleUpgrade(req, socket, head, { perMessageDeflate: true });
      ws.on('message', (d) => ws.send(`echo:${String(d)}`));
    });
    const srv = await listen(server);
    const ex = start('client', [`ws://127.0.0.1:${srv.port}/`]);
    try {
      ex.child.stdin.write('first\nsecond\n');
      await until(() => ex.output().includes('echo:second'), 10000, 'replies');
      expect(ex.output().trim().split('\n')).to.deep.equal(['echo:first', 'echo:second']);
      ex.child.stdin.end();
      await once(ex.child, 'exit', 10000);
      expect(ex.errors()).to.include('closed: 1000');
    } finally {
      await stop(ex.child);
      await srv.close();
    }
  });

  it('client: through a real forward proxy (tinyproxy), following a redirect (--proxy, --follow-redirects)', async function () {
    requirePeer(this, tinyproxyAvailable(), 'tinyproxy', 'apt-get install tinyproxy');
    this.timeout(20000);
    const server = http.createServer();
    const via: string[] = [];
    server.on('upgrade', (req, socket, head) => {
      via.push(`${req.url}`);
      if (req.url === '/old') {
        socket.end('HTTP/1.1 308 Permanent Redirect\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const ws = handleUpgrade(req, socket, head);
      ws.on('message', (d) => ws.send(`echo:${String(d)}`));
    });
    const srv = await listen(server);
    const proxy = await startTinyproxy();
    const ex = start('client', ['--proxy', proxy.url, '--follow-redirects', `ws://127.0.0.1:${srv.port}/old`]);
    try {
      await until(() => ex.errors().includes('connected to'), 10000, `the client to connect (stderr: ${ex.errors()})`);
      expect(ex.errors()).to.include(`connected to ws://127.0.0.1:${srv.port}/new (status 101`);
      ex.child.stdin.write('through\n');
      await until(() => ex.output().includes('echo:through'), 10000, 'the reply');
      ex.child.stdin.end();
      await once(ex.child, 'exit', 10000);
      expect(via).to.deep.equal(['/old', '/new']);
      expect(proxy.output()).to.match(/CONNECT/);
    } finally {
      await stop(ex.child);
      await srv.close();
      await proxy.stop();
    }
  });

  it('client: a refusing proxy is reported with its status, exit code 1', async function () {
    requirePeer(this, tinyproxyAvailable(), 'tinyproxy', 'apt-get install tinyproxy');
    const proxy = await startTinyproxy({ basicAuth: { user: 'u', password: 'p' } });
    const ex = start('client', ['--proxy', proxy.url, 'ws://127.0.0.1:9/']);
    try {
      const [code] = await once<[number]>(ex.child, 'exit', 10000);
      expect(code).to.equal(1);
      expect(ex.errors()).to.include('the proxy said 407');
    } finally {
      await stop(ex.child);
      await proxy.stop();
    }
  });

  it('tcp-pipe: the socket.pipe(ws).pipe(socket) echo server', async () => {
    const ex = start('tcp-pipe');
    try {
      const url = new URL(await ex.url());
      expect(await exchange(url.href, ['a', 'b'])).to.deep.equal(['a', 'b']);
      // A plain HTTP request gets a 4xx, a reset is survived, and the server still serves.
      const plain = net.connect(Number(url.port), '127.0.0.1');
      const answer: Buffer[] = [];
      plain.on('data', (d: Buffer) => answer.push(d));
      plain.on('error', () => undefined);
      plain.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => plain.on('close', resolve));
      expect(Buffer.concat(answer).toString('latin1')).to.match(/^HTTP\/1\.1 4\d\d /);
      const reset = net.connect(Number(url.port), '127.0.0.1');
      reset.on('error', () => undefined);
      await new Promise((resolve) => reset.on('connect', resolve));
      reset.resetAndDestroy();
      expect(await exchange(url.href, ['still here'])).to.deep.equal(['still here']);
      expect(ex.child.exitCode).to.equal(null);
    } finally {
      await stop(ex.child);
    }
  });

  it('pipeline: an uppercase echo through an object-mode transform', async () => {
    const ex = start('pipeline');
    try {
      expect(await exchange(await ex.url(), ['shout', 'ü'])).to.deep.equal(['SHOUT', 'Ü']);
    } finally {
      await stop(ex.child);
    }
  });

  it('broadcast: every member gets every message; SIGTERM closes them with 1001', async () => {
    const ex = start('broadcast');
    try {
      const url = await ex.url();
      const a = new WebSocket(url);
      const b = new WebSocket(url);
      await Promise.all([once(a, 'open'), once(b, 'open')]);
      const gotA: string[] = [];
      const gotB: string[] = [];
      a.on('message', (d) => gotA.push(d.toString()));
      b.on('message', (d) => gotB.push(d.toString()));
      a.send('from a');
      b.send('from b');
      await until(() => gotA.length === 2 && gotB.length === 2);
      expect(gotA.sort()).to.deep.equal(['from a', 'from b']);
      expect(gotB.sort()).to.deep.equal(['from a', 'from b']);
      // SIGTERM: every member gets 1001, and the process exits 0.
      const closes = Promise.all([once<[number]>(a, 'close'), once<[number]>(b, 'close')]);
      ex.child.kill('SIGTERM');
      expect((await closes).map(([code]) => code)).to.deep.equal([1001, 1001]);
      const [code] = await once<[number]>(ex.child, 'exit', 10000);
      expect(code).to.equal(0);
    } finally {
      await stop(ex.child);
    }
  });

  it('sans-io server and client: the README walk-through over node:net', async () => {
    const server = start('sans-io/server.js');
    try {
      const url = await server.url();
      expect(await exchange(url, ['one', 'two'])).to.deep.equal(['one', 'two']);
      const client = start('sans-io/client.js', [url]);
      await once(client.child, 'exit', 10000);
      expect(client.output().trim().split('\n')).to.deep.equal([
        'connection established',
        'received message: wsproto is great',
        'received pong: hello',
        'connection closed: 1000',
        'final state: CLOSED',
      ]);
      await until(() => server.output().includes('close 1000 done'));
    } finally {
      await stop(server.child);
    }
  });
});
