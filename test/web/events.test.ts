/**
 * Mirror test for lib/web/events: `CloseEvent` and the event handler attributes (HTML's
 * "event handlers": one listener per type, in the position of the first assignment).
 */
import { expect } from 'chai';
import { CloseEvent, EventHandlers } from '../../lib/web/events';

describe('web/events', () => {
  it('CloseEvent carries code, reason and wasClean, read-only, with the defaults of the standard', () => {
    const event = new CloseEvent('close', { code: 4000, reason: 'bye', wasClean: true });
    expect([event.type, event.code, event.reason, event.wasClean]).to.deep.equal(['close', 4000, 'bye', true]);
    expect(event).to.be.instanceOf(Event);
    expect(() => ((event as unknown as { code: number }).code = 1)).to.throw(TypeError);
    const plain = new CloseEvent('close');
    expect([plain.code, plain.reason, plain.wasClean, plain.bubbles, plain.cancelable]).to.deep.equal([
      0,
      '',
      false,
      false,
      false,
    ]);
  });

  it('a handler keeps the position of its first assignment; reassigning replaces it in place', () => {
    const target = new EventTarget();
    const handlers = new EventHandlers(target);
    const calls: string[] = [];
    target.addEventListener('x', () => calls.push('listener 1'));
    handlers.set('x', () => calls.push('handler A'));
    target.addEventListener('x', () => calls.push('listener 2'));
    handlers.set('x', () => calls.push('handler B'));
    target.dispatchEvent(new Event('x'));
    expect(calls).to.deep.equal(['listener 1', 'handler B', 'listener 2']);
  });

  it('null (or a value that is not a function) removes the handler; a new one goes last', () => {
    const target = new EventTarget();
    const handlers = new EventHandlers(target);
    const calls: string[] = [];
    handlers.set('x', () => calls.push('handler A'));
    target.addEventListener('x', () => calls.push('listener'));
    handlers.set('x', null);
    expect(handlers.get('x')).to.equal(null);
    target.dispatchEvent(new Event('x'));
    handlers.set('x', () => calls.push('handler B'));
    handlers.set('y', 'not a function');
    expect(handlers.get('y')).to.equal(null);
    target.dispatchEvent(new Event('x'));
    expect(calls).to.deep.equal(['listener', 'listener', 'handler B']);
  });

  it('a handler is called with the target as this; returning false cancels a cancelable event', () => {
    const target = new EventTarget();
    const handlers = new EventHandlers(target);
    let calledOnTarget = false;
    handlers.set('x', function (this: unknown) {
      calledOnTarget = this === target;
      return false;
    });
    const event = new Event('x', { cancelable: true });
    target.dispatchEvent(event);
    expect(calledOnTarget).to.equal(true);
    expect(event.defaultPrevented).to.equal(true);
  });
});
