/**
 * The demo (`npm start`: scripts/start.js running examples/chat) stops on Ctrl+C even
 * with a browser tab open. Regression: upgraded sockets kept `server.close()` waiting, so
 * SIGINT did nothing while a WebSocket was open.
 */
import { expect } from 'chai';
import WebSocket from 'ws';
import { startExample, stopExample } from './helpers/examples';
import { once } from './helpers/net';

const EXIT_BOUND_MS = 3000;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  it(`chat (npm start) stops on ${signal} with a WebSocket open: close 1001, exit within ${EXIT_BOUND_MS} ms`, async function () {
    this.timeout(20000);
    const demo = startExample('scripts/start.js');
    try {
      const url = await demo.url();
      // A browser tab: an open WebSocket, and the page's keep-alive HTTP connection.
      const page = await fetch(new URL('/', url.replace('ws:', 'http:')));
      expect(page.status).to.equal(200);
      await page.text();
      const tab = new WebSocket(url);
      await once(tab, 'open');
      const closed = once<[number, Buffer]>(tab, 'close', EXIT_BOUND_MS);
      const exited = once<[number | null, string | null]>(demo.child, 'exit', EXIT_BOUND_MS);
      const sent = Date.now();
      demo.child.kill(signal);
      const [code, reason] = await closed;
      expect(code).to.equal(1001);
      expect(String(reason)).to.equal('server shutting down');
      const [exitCode] = await exited;
      expect(exitCode, demo.errors()).to.equal(0);
      expect(Date.now() - sent).to.be.below(EXIT_BOUND_MS);
    } finally {
      await stopExample(demo.child);
    }
  });
}
