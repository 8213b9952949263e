/**
 * `Ending`: when a stream's output ends, when the stream is destroyed (both sides ended,
 * our output taken), what a deadline that passes does, and which cause the 'close' reports.
 */
import { expect } from 'chai';
import { CloseReason } from '../../lib/close-codes';
import { RemoteProtocolError } from '../../lib/errors';
import { CloseConnectionEvent } from '../../lib/events';
import { Ending, type EndingOwner } from '../../lib/stream/ending';

/** What the fake owner's `core()` returns once the handshake completed. */
interface FakeCore {
  closeExpected(): boolean;
  shouldEndTransport(): boolean;
  closeReceived: CloseConnectionEvent | null;
  failure: RemoteProtocolError | null;
}

const openCore = (over: Partial<FakeCore> = {}): FakeCore => ({
  closeExpected: () => false,
  shouldEndTransport: () => false,
  closeReceived: null,
  failure: null,
  ...over,
});

/** An ending over a fake stream that records what it is asked to do; `core` null = handshaking. */
function setup(core: FakeCore | null = openCore()) {
  const log: string[] = [];
  const state = { core, destroyed: false, taken: false, behindButMoving: false, pending: 0 };
  const taken: Array<() => void> = [];
  const owner: EndingOwner = {
    endOutput: () => log.push('endOutput'),
    onceOutputTaken: (callback) => taken.push(callback),
    outputTaken: () => state.taken,
    core: () => state.core,
    readerBehindButMoving: () => state.behindButMoving,
    outputPending: () => state.pending,
    timers: { armClose: () => log.push('armClose'), postponeClose: () => log.push('postponeClose') },
    isDestroyed: () => state.destroyed,
    destroy: () => {
      log.push('destroy');
      state.destroyed = true;
    },
  };
  /** The transport took all of our output: the stream's 'end'. */
  const takeOutput = () => {
    state.taken = true;
    for (const callback of taken.splice(0)) callback();
  };
  return { ending: new Ending(owner), log, state, takeOutput };
}

describe('Ending (how the stream ends)', () => {
  describe('both sides of the transport', () => {
    it('endWire ends the output once and arms the close deadline', () => {
      const { ending, log } = setup();
      expect([ending.wireEnded, ending.outputOver]).to.deep.equal([false, false]);
      ending.endWire();
      ending.endWire();
      expect(log).to.deep.equal(['endOutput', 'armClose']);
      expect([ending.wireEnded, ending.outputOver]).to.deep.equal([true, true]);
    });

    it("lingers after our output was taken until the peer's EOF (no RST over our close frame), then destroys", () => {
      const { ending, log, takeOutput } = setup();
      ending.endWire();
      takeOutput();
      expect(log, 'the peer has not ended its side').to.deep.equal(['endOutput', 'armClose']);
      let sawPeerEnded = false;
      ending.peerEnd(() => (sawPeerEnded = ending.peerEnded));
      expect(sawPeerEnded, 'peerEnded is already true while the core takes the EOF').to.equal(true);
      expect(log).to.deep.equal(['endOutput', 'armClose', 'destroy']);
    });

    it("after the peer's EOF, destroys only once the transport took all of our output", () => {
      const { ending, log, takeOutput } = setup();
      ending.peerEnd(() => undefined);
      expect(log, 'a WebSocket whose output goes on').to.deep.equal([]);
      ending.endWire();
      expect(log, 'the output is not taken yet').to.deep.equal(['endOutput', 'armClose']);
      takeOutput();
      expect(log).to.deep.equal(['endOutput', 'armClose', 'destroy']);
    });

    it('a refused handshake is done once the response is out, without waiting for the peer', () => {
      const { ending, log, takeOutput } = setup(null);
      ending.endWire();
      expect(log).to.deep.equal(['endOutput', 'armClose']);
      takeOutput();
      expect(log).to.deep.equal(['endOutput', 'armClose', 'destroy']);
    });

    it('an EOF during the opening handshake ends our output too', () => {
      const { ending, log, takeOutput } = setup(null);
      ending.peerEnd(() => log.push('takeEof'));
      expect(log).to.deep.equal(['takeEof', 'endOutput', 'armClose']);
      takeOutput();
      expect(log.at(-1)).to.equal('destroy');
    });

    it("an EOF after the handshake leaves our output to the core (the core's close follows)", () => {
      const { ending, log } = setup();
      ending.peerEnd(() => log.push('takeEof'));
      expect(log).to.deep.equal(['takeEof']);
      expect([ending.peerEnded, ending.wireEnded]).to.deep.equal([true, false]);
    });
  });

  describe('followCore', () => {
    it('does nothing during the handshake or once destroyed', () => {
      const handshaking = setup(null);
      handshaking.ending.followCore();
      expect(handshaking.log).to.deep.equal([]);
      const destroyed = setup(openCore({ closeExpected: () => true, shouldEndTransport: () => true }));
      destroyed.state.destroyed = true;
      destroyed.ending.followCore();
      expect(destroyed.log).to.deep.equal([]);
      expect(destroyed.ending.outputOver, 'destroyed: nothing more is sent').to.equal(true);
    });

    it('arms the close deadline when the core expects the close (our close sent: the peer has closeTimeout to answer)', () => {
      const { ending, log } = setup(openCore({ closeExpected: () => true }));
      ending.followCore();
      expect(log).to.deep.equal(['armClose']);
      expect(ending.wireEnded).to.equal(false);
    });

    it('ends our output when the core says this side ends the transport', () => {
      const { ending, log } = setup(openCore({ closeExpected: () => true, shouldEndTransport: () => true }));
      ending.followCore();
      expect(log).to.deep.equal(['armClose', 'endOutput', 'armClose']);
      expect(ending.wireEnded).to.equal(true);
    });
  });

  describe('deadlines and causes', () => {
    const cases = [
      ['handshakeTimedOut', 'ERR_HANDSHAKE_TIMEOUT', /opening handshake timed out/],
      ['closeTimedOut', 'ERR_CLOSE_TIMEOUT', /did not answer the close within closeTimeout/],
      ['pongTimedOut', 'ERR_PONG_TIMEOUT', /within pongTimeout of a keepalive ping/],
    ] as const;
    for (const [hook, code, message] of cases) {
      it(`${hook} drops the transport with ${code} as the cause (close 1006)`, () => {
        const { ending, log } = setup(hook === 'handshakeTimedOut' ? null : openCore());
        ending[hook]();
        expect(log).to.deep.equal(['destroy']);
        const cause = ending.cause;
        expect(cause).to.be.instanceOf(RemoteProtocolError);
        const error = cause as RemoteProtocolError;
        expect([error.code, error.closeCode]).to.deep.equal([code, CloseReason.ABNORMAL_CLOSURE]);
        expect(error.message).to.match(message);
      });
    }

    it('the close deadline waits for our own slow reader (it is not the peer being late)', () => {
      const { ending, log, state } = setup();
      state.behindButMoving = true;
      ending.closeTimedOut();
      expect(log).to.deep.equal(['postponeClose']);
      expect(ending.cause).to.equal(null);
      state.behindButMoving = false;
      ending.closeTimedOut();
      expect(log).to.deep.equal(['postponeClose', 'destroy']);
      expect((ending.cause as RemoteProtocolError).code).to.equal('ERR_CLOSE_TIMEOUT');
    });

    it('the close deadline waits while the peer still takes our output (slowly), not when it takes nothing', () => {
      const { ending, log, state } = setup();
      state.pending = 300_000; // our close frame waits behind this
      ending.closeTimedOut(); // first look: it was more before (the close was queued behind it)
      state.pending = 200_000;
      ending.closeTimedOut(); // the peer took 100 kB since: it reads, slowly
      expect(log).to.deep.equal(['postponeClose', 'postponeClose']);
      ending.closeTimedOut(); // nothing taken since the last look: a peer that stopped reading
      expect(log).to.deep.equal(['postponeClose', 'postponeClose', 'destroy']);
      expect((ending.cause as RemoteProtocolError).code).to.equal('ERR_CLOSE_TIMEOUT');
    });

    it('with all of our output taken, the close deadline drops a peer that does not answer', () => {
      const { ending, log } = setup();
      ending.closeTimedOut();
      expect(log).to.deep.equal(['destroy']);
    });

    it('the close deadline after a completed close handshake only drops a slow transport: no cause', () => {
      const received = setup(openCore({ closeReceived: new CloseConnectionEvent({ code: 1000, reason: '' }) }));
      received.ending.closeTimedOut();
      expect(received.log).to.deep.equal(['destroy']);
      expect(received.ending.cause).to.equal(null);
      const failed = setup(openCore({ failure: new RemoteProtocolError('bad frame') }));
      failed.ending.closeTimedOut();
      expect(failed.log).to.deep.equal(['destroy']);
      expect(failed.ending.cause).to.equal(null);
    });

    it('other deadlines report their cause even after a close was received', () => {
      const { ending } = setup(openCore({ closeReceived: new CloseConnectionEvent({ code: 1000, reason: '' }) }));
      ending.pongTimedOut();
      expect((ending.cause as RemoteProtocolError).code).to.equal('ERR_PONG_TIMEOUT');
    });

    it('the first cause wins', () => {
      const { ending } = setup();
      const first = new Error('the application failed');
      ending.noteCause(first);
      ending.noteCause(new Error('later'));
      ending.pongTimedOut();
      expect(ending.cause).to.equal(first);
    });

    it("abort: the transport's failure is the cause; a clean transport close leaves none", () => {
      const failed = setup();
      const reset = new Error('read ECONNRESET');
      failed.ending.abort(reset);
      expect(failed.log).to.deep.equal(['destroy']);
      expect(failed.ending.cause).to.equal(reset);
      const closed = setup();
      closed.ending.abort(null);
      expect(closed.log).to.deep.equal(['destroy']);
      expect(closed.ending.cause).to.equal(null);
    });

    it('abort after the stream was destroyed changes nothing', () => {
      const { ending, log, state } = setup();
      state.destroyed = true;
      ending.abort(new Error('late'));
      expect(log).to.deep.equal([]);
      expect(ending.cause).to.equal(null);
    });
  });
});
