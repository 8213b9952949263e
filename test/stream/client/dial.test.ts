/**
 * Mirror test for lib/stream/client/dial: each way of opening a transport, and an abort
 * at each stage (DNS, TCP, TLS, the proxy's answer, a caller's transport still coming)
 * leaving no socket, timer or listener behind: counted with
 * `process.getActiveResourcesInfo()` and `getEventListeners`, not timed.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { getEventListeners } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import * as tls from 'node:tls';
import { dial, handOver, type DialOptions } from '../../../lib/stream/client/dial';
import { ProxyRejectedError } from '../../../lib/stream/client/errors';
import { parseProxy } from '../../../lib/stream/client/proxy';
import { parseTarget } from '../../../lib/stream/client/target';
import { makeCertificate } from '../../helpers/proxies';
import { listen, once, until } from '../../helpers/net';
import { backTo, baselineNow } from '../../helpers/resources';

const NONE: DialOptions = {
  tls: undefined,
  proxy: null,
  proxyTls: undefined,
  proxyHeaders: [],
  createConnection: undefined,
  socket: {},
};

/** Start `stage`, abort when `reached` resolves; the attempt rejects with the signal's reason. */
async function abortAt(start: (signal: AbortSignal) => Promise<unknown>, reached: Promise<unknown>): Promise<unknown> {
  const controller = new AbortController();
  const reason = new Error('stop');
  const pending = start(controller.signal).then(
    () => null,
    (e: unknown) => e,
  );
  await reached;
  controller.abort(reason);
  const error = await pending;
  expect(error).to.equal(reason);
  expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  return error;
}

/** A TCP server whose accepted sockets are kept (and destroyed by `close`). */
async function keeper(onSocket: (socket: net.Socket) => void = () => undefined) {
  const sockets: net.Socket[] = [];
  const srv = await listen(
    net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      onSocket(socket);
    }),
  );
  const close = async () => {
    for (const s of sockets) s.destroy();
    await srv.close();
  };
  return { port: srv.port, sockets, close };
}

describe('stream/client/dial', () => {
  it('ws: a TCP connection to the host and port, connected when it resolves', async () => {
    const srv = await keeper();
    try {
      const socket = (await dial(
        parseTarget(`ws://127.0.0.1:${srv.port}/`),
        NONE,
        new AbortController().signal,
      )) as net.Socket;
      expect([socket.remotePort, socket.connecting]).to.deep.equal([srv.port, false]);
      expect(handOver(socket)).to.equal(null);
      socket.destroy();
    } finally {
      await srv.close();
    }
  });

  it("ws+unix: a unix socket at the URL's path", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-unix-'));
    const file = path.join(dir, 's.sock');
    const server = net.createServer((s) => s.end('hi'));
    await new Promise<void>((r) => server.listen(file, r));
    try {
      const socket = await dial(parseTarget(`ws+unix:${file}:/chat`), NONE, new AbortController().signal);
      handOver(socket);
      const [data] = await once<[Buffer]>(socket, 'data');
      expect(String(data)).to.equal('hi');
      socket.destroy();
    } finally {
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('createConnection: its transport is used as is (sync or a promise), and told where to lead', async () => {
    const seen: unknown[] = [];
    const made = new PassThrough();
    const sync = await dial(
      parseTarget('wss://example.test:8443/x'),
      { ...NONE, createConnection: (t) => (seen.push({ ...t, url: t.url.href }), made) },
      new AbortController().signal,
    );
    expect(sync).to.equal(made);
    expect(seen).to.deep.equal([
      { url: 'wss://example.test:8443/x', host: 'example.test', port: 8443, secure: true, socketPath: null },
    ]);
    const later = new PassThrough();
    const async = await dial(
      parseTarget('ws://h/'),
      { ...NONE, createConnection: () => Promise.resolve(later) },
      new AbortController().signal,
    );
    expect(async).to.equal(later);
  });

  it('an error while parked (before the stream takes the socket) is kept, not thrown: handOver returns it', async () => {
    const made = new Duplex({
      read() {},
      write(_c, _e, cb) {
        cb();
      },
    });
    const socket = await dial(
      parseTarget('ws://h/'),
      { ...NONE, createConnection: () => made },
      new AbortController().signal,
    );
    const boom = new Error('boom');
    socket.destroy(boom); // no listener of the test's: the parked one hears it
    await once(socket, 'close');
    expect(handOver(socket)).to.equal(boom);
    expect(socket.listenerCount('error')).to.equal(0);
  });

  it('a refusing proxy: ProxyRejectedError with the status, and the socket is destroyed', async () => {
    const srv = await keeper((s) =>
      s.once('data', () =>
        s.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 4\r\n\r\nauth',
        ),
      ),
    );
    try {
      const error = await dial(
        parseTarget('ws://origin.test/'),
        { ...NONE, proxy: parseProxy(`http://u:secret@127.0.0.1:${srv.port}`) },
        new AbortController().signal,
      ).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ProxyRejectedError);
      const e = error as ProxyRejectedError;
      expect([e.statusCode, String(e.body), e.proxy]).to.deep.equal([407, 'auth', `http://127.0.0.1:${srv.port}/`]);
      expect(e.message).to.not.include('secret');
    } finally {
      await srv.close();
    }
  });

  describe('an abort at each stage rejects with the reason and leaves nothing behind', () => {
    it('DNS: the lookup never answers', async () => {
      const baseline = await baselineNow();
      let asked!: () => void;
      const looked = new Promise<void>((r) => (asked = r));
      const lookup = (() => asked()) as unknown as net.LookupFunction;
      await abortAt((signal) => dial(parseTarget('ws://never.test/'), { ...NONE, socket: { lookup } }, signal), looked);
      await backTo(baseline);
    });

    it("TCP: the server's accept queue is full, the SYN goes unanswered", async function () {
      // A listener with backlog 0 that never accepts: one connection fills its queue, the next waits in SYN_SENT.
      const child: ChildProcess = spawn('python3', [
        '-c',
        'import socket,sys,time\ns=socket.socket();s.bind(("127.0.0.1",0));s.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
      ]);
      try {
        const [line] = await once<[Buffer]>(child.stdout!, 'data');
        const port = Number(String(line).trim());
        const fillers: net.Socket[] = [];
        for (let i = 0; i < 4; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => undefined));
        await new Promise((r) => setTimeout(r, 300));
        const baseline = await baselineNow();
        const connecting = () => process.getActiveResourcesInfo().filter((n) => n === 'ConnectWrap').length;
        await abortAt(
          (signal) => dial(parseTarget(`ws://127.0.0.1:${port}/`), NONE, signal),
          until(() => connecting() > (baseline.ConnectWrap ?? 0)),
        );
        await backTo(baseline);
        for (const f of fillers) f.destroy();
      } finally {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    });

    it('TLS: the server never answers the ClientHello', async () => {
      const srv = await keeper((s) => s.resume());
      try {
        const baseline = await baselineNow();
        await abortAt(
          (signal) => dial(parseTarget(`wss://localhost:${srv.port}/`), NONE, signal),
          until(() => srv.sockets.length === 1),
        );
        await until(() => srv.sockets[0]!.destroyed || srv.sockets[0]!.readableEnded);
        srv.sockets[0]!.destroy();
        await backTo({ ...baseline });
      } finally {
        await srv.close();
      }
    });

    it('proxy: the proxy reads the CONNECT and never answers', async () => {
      let got = '';
      const srv = await keeper((s) => s.on('data', (d: Buffer) => (got += String(d))));
      try {
        const baseline = await baselineNow();
        await abortAt(
          (signal) =>
            dial(parseTarget('wss://origin.test/'), { ...NONE, proxy: parseProxy(`127.0.0.1:${srv.port}`) }, signal),
          until(() => got.includes('\r\n\r\n')),
        );
        expect(got).to.equal('CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n');
        await until(() => srv.sockets[0]!.readableEnded);
        srv.sockets[0]!.destroy();
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it('TLS inside the proxy tunnel: the origin never answers the ClientHello', async () => {
      // The "proxy" answers 200 and then swallows everything, as an origin that never speaks TLS.
      const srv = await keeper((s) => s.once('data', () => (s.write('HTTP/1.1 200 OK\r\n\r\n'), s.resume())));
      try {
        const baseline = await baselineNow();
        await abortAt(
          (signal) =>
            dial(parseTarget('wss://origin.test/'), { ...NONE, proxy: parseProxy(`127.0.0.1:${srv.port}`) }, signal),
          until(() => srv.sockets.length === 1 && srv.sockets[0]!.bytesRead > 60),
        );
        await until(() => srv.sockets[0]!.readableEnded);
        srv.sockets[0]!.destroy();
        await backTo(baseline);
      } finally {
        await srv.close();
      }
    });

    it("createConnection: aborted while the caller's transport is coming; it is destroyed when it arrives", async () => {
      let deliver!: (d: Duplex) => void;
      const coming = new Promise<Duplex>((r) => (deliver = r));
      let called!: () => void;
      const asked = new Promise<void>((r) => (called = r));
      await abortAt(
        (signal) => dial(parseTarget('ws://h/'), { ...NONE, createConnection: () => (called(), coming) }, signal),
        asked,
      );
      const late = new PassThrough();
      deliver(late);
      await until(() => late.destroyed);
    });
  });

  it('wss: certificate checks hold (a self-signed origin without ca fails; with ca it connects)', async () => {
    const certificate = makeCertificate();
    const server = tls.createServer({ key: certificate.key, cert: certificate.cert }, (s) => s.end());
    const srv = await listen(server);
    try {
      const target = parseTarget(`wss://localhost:${srv.port}/`);
      const error = await dial(target, NONE, new AbortController().signal).catch((e: unknown) => e);
      expect(String(error)).to.match(/self.signed/);
      const socket = (await dial(
        target,
        { ...NONE, tls: { ca: certificate.cert } },
        new AbortController().signal,
      )) as tls.TLSSocket;
      expect(socket.authorized).to.equal(true);
      handOver(socket);
      socket.destroy();
    } finally {
      await srv.close();
      certificate.cleanup();
    }
  });
});
