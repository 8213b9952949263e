/**
 * Mirror test for lib/web/websocket-error: the WebSocketError class (a DOMException
 * named 'WebSocketError', fields as in Chromium) and the close code and reason checks.
 */
import { expect } from 'chai';
import { checkCloseInfo, webSocketError, WebSocketError } from '../../lib/web/websocket-error';
import { thrown } from '../helpers/dom-exception';

describe('web/websocket-error', () => {
  it('is a DOMException named WebSocketError (code 0) with closeCode null and reason "" by default', () => {
    const error = new WebSocketError();
    expect(error).to.be.instanceOf(DOMException);
    expect(error).to.be.instanceOf(Error);
    expect([error.name, error.message, error.code, error.closeCode, error.reason]).to.deep.equal([
      'WebSocketError',
      '',
      0,
      null,
      '',
    ]);
    expect(Object.keys(error)).to.deep.equal([]); // accessors on the prototype, as in Chromium
    expect(Object.getOwnPropertyNames(WebSocketError.prototype).sort()).to.deep.equal(
      ['closeCode', 'constructor', 'reason'].sort(),
    );
  });

  it('a reason without a code means 1000; a code alone keeps reason ""', () => {
    const withReason = new WebSocketError('m', { reason: 'r' });
    expect([withReason.message, withReason.closeCode, withReason.reason]).to.deep.equal(['m', 1000, 'r']);
    expect(new WebSocketError('m', { closeCode: 4999 }).closeCode).to.equal(4999);
    expect(new WebSocketError('m', { closeCode: 3000 }).reason).to.equal('');
  });

  it('the constructor refuses codes other than 1000 and 3000–4999 (InvalidAccessError) and long reasons (SyntaxError)', () => {
    for (const closeCode of [0, 999, 1001, 1006, 1015, 2999, 5000, 3000.5, Number.NaN]) {
      const error = thrown(() => new WebSocketError('', { closeCode }));
      expect(error.name, String(closeCode)).to.equal('InvalidAccessError');
      expect(error.message).to.include("Failed to construct 'WebSocketError'");
    }
    expect(thrown(() => new WebSocketError('', { reason: '€'.repeat(41) + 'x' })).name).to.equal('SyntaxError');
    expect(new WebSocketError('', { reason: '€'.repeat(41) }).reason).to.have.length(41); // 123 bytes
  });

  it('checkCloseInfo: the message names the caller; nothing given is no code', () => {
    expect(checkCloseInfo({}, 'ctx')).to.deep.equal({ closeCode: null, reason: '' });
    expect(checkCloseInfo({ closeCode: 1000, reason: 'ok' }, 'ctx')).to.deep.equal({ closeCode: 1000, reason: 'ok' });
    expect(thrown(() => checkCloseInfo({ closeCode: 1001 }, 'ctx')).message).to.equal(
      'ctx: The close code must be either 1000, or between 3000 and 4999. 1001 is neither.',
    );
  });

  it('webSocketError (internal) makes any code, 1006 too, with a cause', () => {
    const cause = new Error('socket hang up');
    const error = webSocketError('lost', 1006, '', cause);
    expect(error).to.be.instanceOf(WebSocketError);
    expect([error.name, error.message, error.closeCode, error.reason, error.cause]).to.deep.equal([
      'WebSocketError',
      'lost',
      1006,
      '',
      cause,
    ]);
    expect(webSocketError('x', null)).to.not.have.property('cause');
  });
});
