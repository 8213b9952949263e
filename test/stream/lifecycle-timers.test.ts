/**
 * Mirror test for lib/stream/lifecycle-timers: handshake and close deadlines, keepalive
 * judged by what is received, clear(), unref.
 *
 * Real timers with small intervals. Nothing here asserts how long a timer took: only
 * counts, and order against a sentinel timer (Node runs overdue timers in order of their
 * deadlines, so an order holds however late the event loop gets to them).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { LifecycleTimers, type TimerHooks } from '../../lib/stream/lifecycle-timers';
import { resolveTimings, type WebSocketDuplexOptions } from '../../lib/stream/options';
import { sleep, until } from '../helpers/net';

type Call = 'handshakeTimedOut' | 'closeTimedOut' | 'ping' | 'pongTimedOut';

/** Timers whose hooks record their calls in order; `onPing` runs inside sendKeepalivePing. */
function make(options: WebSocketDuplexOptions, onPing?: (n: number) => void) {
  const calls: Call[] = [];
  let pings = 0;
  const hooks: TimerHooks = {
    handshakeTimedOut: () => calls.push('handshakeTimedOut'),
    closeTimedOut: () => calls.push('closeTimedOut'),
    sendKeepalivePing: () => {
      calls.push('ping');
      onPing?.(++pings);
    },
    pongTimedOut: () => calls.push('pongTimedOut'),
  };
  return { timers: new LifecycleTimers(resolveTimings(options), hooks), calls };
}

describe('stream/lifecycle-timers', () => {
  describe('handshake deadline', () => {
    it('fires once when the handshake does not complete', async () => {
      const { timers, calls } = make({ handshakeTimeout: 20 });
      timers.startHandshake();
      await until(() => calls.length > 0, 5000, 'the handshake deadline');
      await sleep(60);
      expect(calls).to.deep.equal(['handshakeTimedOut']);
    });

    it('does not fire after opened()', async () => {
      const { timers, calls } = make({ handshakeTimeout: 20 });
      timers.startHandshake();
      timers.opened();
      await sleep(80);
      expect(calls).to.deep.equal([]);
    });

    it('handshakeTimeout 0 disables it', async () => {
      const { timers, calls } = make({ handshakeTimeout: 0 });
      timers.startHandshake();
      await sleep(40);
      expect(calls).to.deep.equal([]);
    });
  });

  describe('close deadline', () => {
    it('armClose is idempotent: a second call keeps the first deadline and it fires once', async () => {
      const { timers, calls } = make({ closeTimeout: 60 });
      const order: string[] = [];
      timers.armClose();
      await sleep(40);
      timers.armClose(); // would be due 60 ms from now if it restarted the deadline
      // Due 30 ms from now: after the first deadline, before a restarted one.
      setTimeout(() => order.push(`sentinel after ${calls.length} call(s)`), 30);
      await until(() => order.length === 1 && calls.length === 1, 5000, 'the close deadline');
      await sleep(100);
      expect(order).to.deep.equal(['sentinel after 1 call(s)']);
      expect(calls).to.deep.equal(['closeTimedOut']);
    });

    it('judged by what arrives: while the peer keeps sending it does not pass; it passes once the peer is quiet for closeTimeout', async () => {
      const { timers, calls } = make({ closeTimeout: 60 });
      timers.opened();
      timers.armClose();
      // Something arrives every 5 ms for 300 ms (five deadlines): the peer is alive.
      const busy = setInterval(() => timers.received(), 5);
      await sleep(300);
      clearInterval(busy);
      expect(calls).to.deep.equal([]);
      await until(() => calls.length > 0, 5000, 'the close deadline');
      await sleep(100);
      expect(calls).to.deep.equal(['closeTimedOut']);
    });

    it('armClose stops keepalive', async () => {
      const { timers, calls } = make({ pingInterval: 20, closeTimeout: 10000 });
      timers.opened();
      timers.armClose();
      await sleep(100);
      expect(calls).to.deep.equal([]);
      timers.clear();
    });
  });

  describe('keepalive', () => {
    it('pingInterval 0 (the default) sends no keepalive', async () => {
      const { timers, calls } = make({});
      timers.opened();
      await sleep(50);
      expect(calls).to.deep.equal([]);
    });

    it('nothing received: one ping after pingInterval, then pongTimedOut, then nothing more', async () => {
      const { timers, calls } = make({ pingInterval: 20, pongTimeout: 20 });
      timers.opened();
      await until(() => calls.includes('pongTimedOut'), 5000, 'the pong deadline');
      await sleep(80);
      expect(calls).to.deep.equal(['ping', 'pongTimedOut']);
    });

    it('calling received() repeatedly postpones the ping; it comes once the peer goes quiet', async () => {
      const { timers, calls } = make({ pingInterval: 60, pongTimeout: 10000 });
      timers.opened();
      // Something arrives every 5 ms for 300 ms: five times the interval, and no ping.
      const busy = setInterval(() => timers.received(), 5);
      await sleep(300);
      clearInterval(busy);
      expect(calls).to.deep.equal([]);
      await until(() => calls.length > 0, 5000, 'the keepalive ping');
      expect(calls).to.deep.equal(['ping']);
      timers.clear();
    });

    it('sending is not an input: the timers have no method for it, and our own ping does not count as an answer', async () => {
      const methods = Object.getOwnPropertyNames(LifecycleTimers.prototype).filter((n) => n !== 'constructor');
      expect(methods.sort()).to.deep.equal([
        'armClose',
        'armed', // a getter: whether any timer is armed
        'clear',
        'opened',
        'postponeClose',
        'received',
        'startHandshake',
      ]);
      // The ping hook is where the stream sends; sending it does not postpone the pong deadline.
      const { timers, calls } = make({ pingInterval: 20, pongTimeout: 20 });
      timers.opened();
      await until(() => calls.includes('pongTimedOut'), 5000, 'the pong deadline');
      expect(calls).to.deep.equal(['ping', 'pongTimedOut']);
    });

    it('something arriving after the ping cancels the pong deadline and keepalive goes on', async () => {
      // The peer answers the first ping (synchronously, inside the hook, and 5 ms later
      // for the second), then falls silent on the third.
      const { timers, calls } = make({ pingInterval: 20, pongTimeout: 40 }, (n) => {
        if (n === 1) timers.received();
        else if (n === 2) setTimeout(() => timers.received(), 5);
      });
      timers.opened();
      await until(() => calls.includes('pongTimedOut'), 5000, 'the pong deadline');
      await sleep(60);
      expect(calls).to.deep.equal(['ping', 'ping', 'ping', 'pongTimedOut']);
    });

    it('something that arrived before the ping does not count as its answer', async () => {
      const { timers, calls } = make({ pingInterval: 30, pongTimeout: 30 });
      timers.opened();
      await sleep(5);
      timers.received();
      await until(() => calls.includes('pongTimedOut'), 5000, 'the pong deadline');
      expect(calls).to.deep.equal(['ping', 'pongTimedOut']);
    });
  });

  describe('clear()', () => {
    it('cancels the handshake deadline, the close deadline, keepalive and the pong deadline', async () => {
      const handshake = make({ handshakeTimeout: 20 });
      handshake.timers.startHandshake();
      const keepalive = make({ pingInterval: 20 });
      keepalive.timers.opened();
      const close = make({ closeTimeout: 20 });
      close.timers.armClose();
      // Cleared right after the ping was sent (a microtask runs once the timer callback
      // returned), so the pong deadline is armed and must go too.
      let pongCleared = false;
      const pong = make({ pingInterval: 10, pongTimeout: 40 }, () =>
        queueMicrotask(() => {
          pong.timers.clear();
          pongCleared = true;
        }),
      );
      pong.timers.opened();
      for (const t of [handshake, keepalive, close]) t.timers.clear();
      await until(() => pongCleared, 5000, 'the keepalive ping');
      await sleep(100);
      expect([handshake.calls, keepalive.calls, close.calls, pong.calls]).to.deep.equal([[], [], [], ['ping']]);
    });
  });

  describe('armed', () => {
    it('says whether a deadline or keepalive is armed (the engine drops the timers when none is)', () => {
      const { timers } = make({ handshakeTimeout: 20 });
      expect(timers.armed, 'new').to.equal(false);
      timers.startHandshake();
      expect(timers.armed, 'handshake deadline').to.equal(true);
      timers.opened();
      expect(timers.armed, 'open, no keepalive').to.equal(false);
      timers.armClose();
      expect(timers.armed, 'close deadline').to.equal(true);
      timers.clear();
      expect(timers.armed, 'cleared').to.equal(false);
      const keepalive = make({ pingInterval: 1000 });
      keepalive.timers.opened();
      expect(keepalive.timers.armed, 'keepalive').to.equal(true);
      keepalive.timers.clear();
    });

    it('made when the close starts, the close deadline counts from then (it fires once after closeTimeout of quiet)', async () => {
      const { timers, calls } = make({ closeTimeout: 30 });
      timers.armClose();
      await until(() => calls.length > 0, 5000, 'the close deadline');
      await sleep(60);
      expect(calls).to.deep.equal(['closeTimedOut']);
    });
  });

  describe('clear() from inside a hook', () => {
    it('regression: clear() called by sendKeepalivePing (the stream destroyed while sending the ping) also cancels the pong deadline', async () => {
      const { timers, calls } = make({ pingInterval: 10, pongTimeout: 20 }, () => timers.clear());
      timers.opened();
      await until(() => calls.length > 0, 5000, 'the keepalive ping');
      await sleep(100);
      expect(calls).to.deep.equal(['ping']);
    });
  });

  describe('unref', () => {
    it('a process whose only work is armed timers exits at once', async function () {
      this.timeout(15000);
      const lib = path.resolve(__dirname, '../../lib/stream/lifecycle-timers.js');
      const script = `
        const { LifecycleTimers } = require(${JSON.stringify(lib)});
        const t = { handshakeTimeout: 60000, closeTimeout: 60000, pingInterval: 60000, pongTimeout: 60000,
                    highWaterMark: 1, appHighWaterMark: 1 };
        const noop = () => {};
        const hooks = { handshakeTimedOut: noop, closeTimedOut: noop, sendKeepalivePing: noop, pongTimedOut: noop };
        const a = new LifecycleTimers(t, hooks); a.startHandshake();
        const b = new LifecycleTimers(t, hooks); b.opened();
        const c = new LifecycleTimers(t, hooks); c.armClose();
        console.log('armed');
      `;
      const started = Date.now();
      const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        // A child kept alive by a ref'd timer would be killed here (at 10 s), with a signal.
        execFile(process.execPath, ['-e', script], { timeout: 10000 }, (error, out) => {
          resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout: out });
        });
      });
      expect(stdout.trim()).to.equal('armed');
      expect(code).to.equal(0);
      expect(Date.now() - started).to.be.below(10000);
    });
  });
});
