/** `closeReport`: the arguments of the stream's 'close' event, read from the core's closing state. */
import { expect } from 'chai';
import { CloseConnection, Connection, RemoteProtocolError } from '../../lib/index';
import { closeReport } from '../../lib/stream/close-report';
import { masked } from '../helpers/bytes';

/** A server connection that received these frames from its client. */
function server(...frames: Buffer[]): Connection {
  const conn = new Connection('server', { autoCloseReply: true });
  for (const f of frames) conn.receiveData(f);
  for (const event of conn.events()) void event;
  return conn;
}

const closeFrom = (code: number, reason: string) =>
  masked({ opcode: 0x8, payload: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]) });

describe('closeReport (the stream close event)', () => {
  it('before the handshake completed: 1006, why it did not complete, the cause', () => {
    const cause = new Error('boom');
    expect(closeReport(null, cause, 'rejected with 403')).to.deep.equal([1006, 'rejected with 403', false, cause]);
    expect(closeReport(null, cause, '')).to.deep.equal([1006, 'boom', false, cause]);
    expect(closeReport(null, null, '')[1]).to.match(/before the handshake completed/);
  });

  it('RFC 6455 7.1.5: a completed close handshake reports the code and reason received, clean, no cause', () => {
    const conn = server(closeFrom(4001, 'see you'));
    conn.receiveData(null);
    for (const event of conn.events()) void event;
    expect(closeReport(conn, new Error('ignored'), '')).to.deep.equal([4001, 'see you', true, null]);
  });

  it('a peer that broke the protocol: the code we failed it with, its message, the failure as the cause', () => {
    const conn = server(masked({ opcode: 0x3, payload: Buffer.alloc(0) }));
    const [code, reason, clean, cause] = closeReport(conn, null, '');
    expect([code, clean]).to.deep.equal([1002, false]);
    expect((cause as RemoteProtocolError).code).to.equal('ERR_RESERVED_OPCODE');
    expect(reason).to.equal(cause!.message);
  });

  it('our close never answered, then EOF: 1006; a stream-level cause (a timeout) wins over the core', () => {
    const conn = server();
    conn.send(new CloseConnection({ code: 1000 }));
    conn.receiveData(null);
    for (const event of conn.events()) void event;
    const [code, , clean, cause] = closeReport(conn, null, '');
    expect([code, clean, (cause as RemoteProtocolError).code]).to.deep.equal([1006, false, 'ERR_ABNORMAL_CLOSURE']);
    const timeout = new RemoteProtocolError('late', { code: 'ERR_CLOSE_TIMEOUT', closeCode: 1006 });
    expect(closeReport(conn, timeout, '')).to.deep.equal([1006, 'late', false, timeout]);
  });

  it("the peer's close received but never answered: the peer's code, not clean, the stream's cause", () => {
    const conn = new Connection('server'); // no automatic reply
    conn.receiveData(closeFrom(1001, 'away'));
    for (const event of conn.events()) void event;
    const cause = new Error('ECONNRESET');
    expect(closeReport(conn, cause, '')).to.deep.equal([1001, 'away', false, cause]);
  });

  it('a stream that was dropped while open (no EOF seen by the core): 1006 ERR_ABNORMAL_CLOSURE', () => {
    const [code, , clean, cause] = closeReport(server(), null, '');
    expect([code, clean, (cause as RemoteProtocolError).code]).to.deep.equal([1006, false, 'ERR_ABNORMAL_CLOSURE']);
  });
});
