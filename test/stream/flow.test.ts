/** `Flow`: the callbacks a stream holds for backpressure, and when it lets them go. */
import { expect } from 'chai';
import { Flow, settle } from '../../lib/stream/flow';

const tick = () => new Promise((r) => process.nextTick(r));

describe('Flow (held callbacks)', () => {
  it('calls the input back at once while the reader keeps up, holds it while the reader is behind', async () => {
    let behind = false;
    const flow = new Flow({ mustHoldInput: () => behind });
    const calls: string[] = [];
    flow.input(() => calls.push('a'));
    behind = true;
    flow.input(() => calls.push('b'));
    expect(calls).to.deep.equal(['a']);
    flow.releaseInput();
    await tick();
    expect(calls, 'still behind: held').to.deep.equal(['a']);
    behind = false;
    flow.releaseInput();
    expect(calls, 'released only after the reader took its chunk (next tick)').to.deep.equal(['a']);
    await tick();
    expect(calls).to.deep.equal(['a', 'b']);
  });

  it('holdInput holds whatever the reader does, until end()', async () => {
    const flow = new Flow({ mustHoldInput: () => false });
    let called = 0;
    flow.holdInput(() => called++);
    flow.releaseInput();
    await tick();
    expect(called).to.equal(1); // released: the reader is not behind
    flow.holdInput(() => called++);
    flow.end(new Error('gone'));
    expect(called).to.equal(2);
  });

  it('empty while nothing is held: no input, no writer (the engine drops the part then)', async () => {
    let behind = true;
    const flow = new Flow({ mustHoldInput: () => behind });
    expect(flow.empty, 'new').to.equal(true);
    flow.input(() => undefined);
    expect(flow.empty, 'input held').to.equal(false);
    behind = false;
    flow.releaseInput();
    await tick();
    expect(flow.empty, 'input released').to.equal(true);
    flow.holdWriter(() => undefined);
    expect(flow.empty, 'a writer held').to.equal(false);
    flow.releaseWriters();
    expect(flow.empty, 'writers released').to.equal(true);
  });

  it('releases writers in order when the transport drains; end() fails those still held', () => {
    const flow = new Flow({ mustHoldInput: () => false });
    const got: Array<string | undefined> = [];
    flow.holdWriter((e) => got.push(e?.message ?? 'ok1'));
    flow.holdWriter((e) => got.push(e?.message ?? 'ok2'));
    flow.releaseWriters();
    flow.holdWriter((e) => got.push(e?.message ?? 'ok3'));
    flow.end(new Error('closed'));
    flow.releaseWriters();
    expect(got).to.deep.equal(['ok1', 'ok2', 'closed']);
  });

  it('settle: calls a sender back on the next tick when queued, with the error when dropped, on drain when behind', async () => {
    const flow = new Flow({ mustHoldInput: () => false });
    const got: string[] = [];
    settle(
      true,
      () => got.push('queued'),
      () => new Error('x'),
      flow,
    );
    settle(
      null,
      (e) => got.push(`dropped: ${e?.message}`),
      () => new Error('closed'),
      flow,
    );
    settle(
      false,
      () => got.push('drained'),
      () => new Error('x'),
      flow,
    );
    expect(got).to.deep.equal([]);
    await tick();
    expect(got).to.deep.equal(['queued', 'dropped: closed']);
    flow.releaseWriters();
    expect(got).to.deep.equal(['queued', 'dropped: closed', 'drained']);
  });

  it('behindButMoving: true only while input is held and input moved since the last look (a slow reader, not a stuck one)', () => {
    let behind = false;
    const flow = new Flow({ mustHoldInput: () => behind });
    expect(flow.behindButMoving(), 'nothing held').to.equal(false);
    behind = true;
    flow.input(() => undefined); // moved, then held
    expect(flow.behindButMoving()).to.equal(true);
    expect(flow.behindButMoving(), 'held, but nothing moved since the last look').to.equal(false);
  });
});
