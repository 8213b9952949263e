/**
 * The demo server (`npm start`: scripts/start.js running examples/echo-server) stops on
 * Ctrl+C even with a browser tab open. Regression: upgraded sockets kept `server.close()`
 * waiting, so SIGINT did nothing while a WebSocket was open.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import WebSocket from 'ws';
import { once, until } from './helpers/net';

const root = path.join(__dirname, '..', '..');
const EXIT_BOUND_MS = 3000;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  it(`echo-server (npm start) stops on ${signal} with a WebSocket open: close 1001, exit within ${EXIT_BOUND_MS} ms`, async function () {
    this.timeout(20000);
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: { ...process.env, PORT: '0' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    try {
      await until(() => /ws:\/\/[\d.]+:\d+\//.test(out), 10000, `the URL (stderr: ${err})`);
      const url = /ws:\/\/[\d.]+:\d+\//.exec(out)![0];
      // A browser tab: an open WebSocket, and the page's keep-alive HTTP connection.
      const page = await fetch(url.replace('ws:', 'http:'));
      expect(page.status).to.equal(200);
      await page.text();
      const tab = new WebSocket(url);
      await once(tab, 'open');
      const closed = once<[number, Buffer]>(tab, 'close', EXIT_BOUND_MS);
      const exited = once<[number | null, string | null]>(child, 'exit', EXIT_BOUND_MS);
      const sent = Date.now();
      child.kill(signal);
      const [code, reason] = await closed;
      expect(code).to.equal(1001);
      expect(String(reason)).to.equal('server shutting down');
      const [exitCode] = await exited;
      expect(exitCode, err).to.equal(0);
      expect(Date.now() - sent).to.be.below(EXIT_BOUND_MS);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
}
