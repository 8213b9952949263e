/** Mirror test for lib/stream/client/watch: listeners attached together are detached together. */
import { expect } from 'chai';
import { EventEmitter, getEventListeners } from 'node:events';
import { watch } from '../../../lib/stream/client/watch';

describe('stream/client/watch', () => {
  it('attaches every handler and the abort listener; the returned function removes them all', () => {
    const emitter = new EventEmitter();
    const controller = new AbortController();
    const seen: string[] = [];
    const unwatch = watch(
      emitter,
      { data: (d: string) => void seen.push(`data ${d}`), end: () => void seen.push('end') },
      controller.signal,
      () => void seen.push('abort'),
    );
    expect([emitter.listenerCount('data'), emitter.listenerCount('end')]).to.deep.equal([1, 1]);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(1);
    emitter.emit('data', 'x');
    emitter.emit('end');
    unwatch();
    unwatch(); // a second call does nothing
    emitter.emit('data', 'late');
    controller.abort();
    expect(seen).to.deep.equal(['data x', 'end']);
    expect([emitter.listenerCount('data'), emitter.listenerCount('end')]).to.deep.equal([0, 0]);
    expect(getEventListeners(controller.signal, 'abort')).to.have.length(0);
  });

  it('the abort listener fires once, and other listeners of the emitter are left alone', () => {
    const emitter = new EventEmitter();
    const theirs = () => undefined;
    emitter.on('error', theirs);
    const controller = new AbortController();
    let aborts = 0;
    const unwatch = watch(emitter, { error: () => undefined }, controller.signal, () => void aborts++);
    controller.abort();
    controller.abort();
    unwatch();
    expect(aborts).to.equal(1);
    expect(emitter.listeners('error')).to.deep.equal([theirs]);
  });

  it('without a signal, only the emitter is watched', () => {
    const emitter = new EventEmitter();
    const unwatch = watch(emitter, { close: () => undefined });
    expect(emitter.listenerCount('close')).to.equal(1);
    unwatch();
    expect(emitter.listenerCount('close')).to.equal(0);
  });
});
