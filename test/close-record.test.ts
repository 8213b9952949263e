/**
 * `CloseRecord`: the code and reason a connection reports from what it recorded (RFC
 * 6455 7.1.5, 7.1.6), and when its close was clean. The connection-level behaviour is in
 * test/connection-state.test.ts; this pins the rules on the record itself.
 */
import { expect } from 'chai';
import { CloseRecord } from '../lib/close-record';
import { RemoteProtocolError } from '../lib/errors';
import { CloseConnectionEvent } from '../lib/events';

const abnormal = (): RemoteProtocolError =>
  new RemoteProtocolError('the transport ended without a close frame', {
    code: 'ERR_ABNORMAL_CLOSURE',
    closeCode: 1006,
  });

describe('CloseRecord', () => {
  it('reports nothing before any close: code null, reason empty, not clean', () => {
    const record = new CloseRecord();
    expect([record.code, record.reason, record.clean]).to.deep.equal([null, '', false]);
  });

  it("RFC 6455 7.1.5: the peer's close code and reason are reported; clean once ours was sent too", () => {
    const record = new CloseRecord();
    record.received = new CloseConnectionEvent({ code: 4000, reason: 'bye' });
    expect([record.code, record.reason, record.clean]).to.deep.equal([4000, 'bye', false]);
    record.sent = new CloseConnectionEvent({ code: 4000, reason: 'bye' });
    expect(record.clean).to.equal(true);
  });

  it('RFC 6455 7.1.5: a peer close without a code reports 1005', () => {
    const record = new CloseRecord();
    record.received = new CloseConnectionEvent({ code: 1005 });
    expect([record.code, record.reason]).to.deep.equal([1005, '']);
  });

  it('RFC 6455 7.1.7: a failure reports the code we failed with, and is never clean', () => {
    const record = new CloseRecord();
    record.sent = new CloseConnectionEvent({ code: 1007 });
    record.received = new CloseConnectionEvent({ code: 1000 });
    record.failure = new RemoteProtocolError('invalid UTF-8', { code: 'ERR_INVALID_UTF8', closeCode: 1007 });
    expect([record.code, record.reason, record.clean]).to.deep.equal([1007, 'invalid UTF-8', false]);
  });

  it('RFC 6455 7.1.5: a transport that ended without the peer close reports 1006', () => {
    const record = new CloseRecord();
    record.failure = abnormal();
    expect([record.code, record.reason]).to.deep.equal([1006, 'the transport ended without a close frame']);
  });

  it("an EOF after the peer's close keeps the peer's code and reason, but the close is not clean", () => {
    const record = new CloseRecord();
    record.received = new CloseConnectionEvent({ code: 1001, reason: 'going' });
    record.failure = abnormal();
    expect([record.code, record.reason, record.clean]).to.deep.equal([1001, 'going', false]);
  });
});
