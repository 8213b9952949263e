/**
 * `sizeLimits`: the checked `maxMessageSize` / `maxFrameSize` of a connection, with
 * defaults, shared between connections with the same limits. The limits in use (1009 on
 * a frame or message over them) are tested in test/frame/protocol.test.ts.
 */
import { expect } from 'chai';
import { LocalProtocolError } from '../../lib/errors';
import { DEFAULT_MAX_MESSAGE_SIZE, sizeLimits } from '../../lib/frame/limits';

describe('sizeLimits', () => {
  it('defaults: 64 MiB messages, frames up to the message limit', () => {
    expect({ ...sizeLimits({}) }).to.deep.equal({
      message: DEFAULT_MAX_MESSAGE_SIZE,
      frame: DEFAULT_MAX_MESSAGE_SIZE,
      whole: DEFAULT_MAX_MESSAGE_SIZE,
    });
    expect(DEFAULT_MAX_MESSAGE_SIZE).to.equal(64 * 1024 * 1024);
  });

  it('maxFrameSize defaults to maxMessageSize; whole is the smaller of the two', () => {
    expect({ ...sizeLimits({ maxMessageSize: 100 }) }).to.deep.equal({ message: 100, frame: 100, whole: 100 });
    expect(sizeLimits({ maxMessageSize: 100, maxFrameSize: 10 }).whole).to.equal(10);
    expect(sizeLimits({ maxMessageSize: 10, maxFrameSize: 100 }).whole).to.equal(10);
  });

  it('connections with the same limits share one frozen record; other limits get another', () => {
    const a = sizeLimits({});
    expect(sizeLimits({ maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE })).to.equal(a);
    expect(Object.isFrozen(a)).to.equal(true);
    expect(sizeLimits({ maxMessageSize: 1000 })).to.equal(sizeLimits({ maxMessageSize: 1000, maxFrameSize: 1000 }));
    expect(sizeLimits({ maxMessageSize: 1000 })).to.not.equal(sizeLimits({ maxMessageSize: 1001 }));
  });

  it('the shared records are bounded: ever new limits still get correct records', () => {
    for (let i = 0; i < 500; i++) {
      const limits = sizeLimits({ maxMessageSize: 5000 + i, maxFrameSize: 7000 });
      expect({ ...limits }).to.deep.equal({ message: 5000 + i, frame: 7000, whole: 5000 + i });
    }
  });

  for (const name of ['maxMessageSize', 'maxFrameSize'] as const) {
    for (const value of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      it(`${name} ${value} throws ERR_INVALID_OPTION`, () => {
        expect(() => sizeLimits({ [name]: value }))
          .to.throw(LocalProtocolError, `${name} must be a non-negative safe integer`)
          .with.property('code', 'ERR_INVALID_OPTION');
      });
    }
  }
});
