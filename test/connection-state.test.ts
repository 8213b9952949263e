/**
 * `Connection` owns closing: what it records in each state (closeSent, closeReceived,
 * closeCode, closeReason, wasClean, canSend), when the transport is expected to end and
 * who ends it (closeExpected, shouldEndTransport), and the automatic replies (autoPong,
 * autoCloseReply) it queues in `dataToSend()`. Every case runs for both roles.
 */
import { expect } from 'chai';
import {
  CloseConnection,
  Connection,
  ConnectionState,
  RemoteProtocolError,
  type ConnectionEvent,
  type SendableType,
} from '../lib/index';
import { frame, hex, masked } from './helpers/bytes';
import { closeBody, readFrames, type ReadFrame } from './helpers/read-frame';

type Role = 'client' | 'server';
const ROLES: Role[] = ['server', 'client'];
const TYPES: SendableType[] = ['text', 'bytes', 'ping', 'pong', 'close'];
const { OPEN, LOCAL_CLOSING, REMOTE_CLOSING, CLOSED } = ConnectionState;

/** A frame as the peer of `role` sends it: masked to a server, unmasked to a client. */
function fromPeer(role: Role, spec: Parameters<typeof frame>[0]): Buffer {
  return role === 'server' ? masked(spec) : frame(spec);
}

/** The peer's close frame: code (none for an empty body) and reason. */
function peerClose(role: Role, code: number | null, reason = ''): Buffer {
  if (code === null) return fromPeer(role, { opcode: 0x8 });
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code);
  return fromPeer(role, { opcode: 0x8, payload: Buffer.concat([body, Buffer.from(reason)]) });
}

/** Feed bytes (or EOF) and return the events they make. */
function receive(conn: Connection, data: Buffer | null): ConnectionEvent[] {
  conn.receiveData(data === null ? null : Buffer.from(data));
  return [...conn.events()];
}

/** The frames queued in `dataToSend()`, parsed. */
function queued(conn: Connection): ReadFrame[] {
  return readFrames(Buffer.concat(conn.dataToSend()));
}

interface StateCase {
  name: string;
  state: string;
  make: (role: Role) => Connection;
  closeSent: [number, string] | null;
  closeReceived: [number, string] | null;
  closeCode: number | null;
  closeReason: string;
  wasClean: boolean;
  canSend: SendableType[];
  closeExpected: boolean;
  shouldEndTransport: Record<Role, boolean>;
}

const STATES: StateCase[] = [
  {
    name: 'OPEN',
    state: OPEN,
    make: (role) => new Connection(role),
    closeSent: null,
    closeReceived: null,
    closeCode: null,
    closeReason: '',
    wasClean: false,
    canSend: TYPES,
    closeExpected: false,
    shouldEndTransport: { server: false, client: false },
  },
  {
    name: 'LOCAL_CLOSING (we sent 1000 "bye")',
    state: LOCAL_CLOSING,
    make: (role) => {
      const conn = new Connection(role);
      conn.send(new CloseConnection({ code: 1000, reason: 'bye' }));
      return conn;
    },
    closeSent: [1000, 'bye'],
    closeReceived: null,
    closeCode: null,
    closeReason: '',
    wasClean: false,
    canSend: [],
    closeExpected: true,
    shouldEndTransport: { server: false, client: false },
  },
  {
    name: 'REMOTE_CLOSING (the peer sent 1001 "away")',
    state: REMOTE_CLOSING,
    make: (role) => {
      const conn = new Connection(role);
      receive(conn, peerClose(role, 1001, 'away'));
      return conn;
    },
    closeSent: null,
    closeReceived: [1001, 'away'],
    closeCode: 1001,
    closeReason: 'away',
    wasClean: false,
    canSend: ['close'],
    closeExpected: false,
    shouldEndTransport: { server: false, client: false },
  },
  {
    name: 'CLOSED, clean, we closed first',
    state: CLOSED,
    make: (role) => {
      const conn = new Connection(role);
      conn.send(new CloseConnection({ code: 1000, reason: 'bye' }));
      receive(conn, peerClose(role, 1000, 'bye'));
      return conn;
    },
    closeSent: [1000, 'bye'],
    closeReceived: [1000, 'bye'],
    closeCode: 1000,
    closeReason: 'bye',
    wasClean: true,
    canSend: [],
    closeExpected: true,
    // RFC 6455 7.1.1: the server closes the TCP connection first; a client waits for it.
    shouldEndTransport: { server: true, client: false },
  },
  {
    name: 'CLOSED, clean, the peer closed first',
    state: CLOSED,
    make: (role) => {
      const conn = new Connection(role);
      const [close] = receive(conn, peerClose(role, 1001, 'away'));
      conn.send((close as CloseConnection).response());
      return conn;
    },
    closeSent: [1001, 'away'],
    closeReceived: [1001, 'away'],
    closeCode: 1001,
    closeReason: 'away',
    wasClean: true,
    canSend: [],
    closeExpected: true,
    shouldEndTransport: { server: true, client: false },
  },
];

describe('Connection close state', () => {
  describe('what each state records and allows', () => {
    for (const row of STATES) {
      for (const role of ROLES) {
        it(`${role} in ${row.name}`, () => {
          const conn = row.make(role);
          expect(conn.state).to.equal(row.state);
          const pair = (e: CloseConnection | null): [number, string] | null => (e === null ? null : [e.code, e.reason]);
          expect(pair(conn.closeSent), 'closeSent').to.deep.equal(row.closeSent);
          expect(pair(conn.closeReceived), 'closeReceived').to.deep.equal(row.closeReceived);
          expect(conn.closeCode, 'closeCode').to.equal(row.closeCode);
          expect(conn.closeReason, 'closeReason').to.equal(row.closeReason);
          expect(conn.wasClean, 'wasClean').to.equal(row.wasClean);
          expect(conn.failure, 'failure').to.equal(null);
          expect(conn.failed, 'failed').to.equal(false);
          for (const type of TYPES) {
            expect(conn.canSend(type), `canSend('${type}')`).to.equal(row.canSend.includes(type));
          }
          expect(conn.closeExpected(), 'closeExpected').to.equal(row.closeExpected);
          expect(conn.shouldEndTransport(), 'shouldEndTransport').to.equal(row.shouldEndTransport[role]);
        });
      }
    }
  });

  describe('closeExpected and shouldEndTransport', () => {
    it('server after a clean close: true / true', () => {
      const conn = STATES[3]!.make('server');
      expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([true, true]);
    });

    it('client after a clean close: true / false until the server EOF, then true (still clean)', () => {
      for (const row of [STATES[3]!, STATES[4]!]) {
        const conn = row.make('client');
        expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([true, false]);
        expect(receive(conn, null)).to.deep.equal([]);
        expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([true, true]);
        expect(conn.wasClean).to.equal(true);
        expect(conn.failure).to.equal(null);
        expect(conn.closeCode).to.equal(row.closeCode);
      }
    });

    for (const role of ROLES) {
      it(`${role} after a failure: false / false until the close is answered, then true / true`, () => {
        const conn = new Connection(role);
        const [event] = receive(conn, fromPeer(role, { opcode: 0x3 }));
        expect(event).to.be.instanceOf(CloseConnection);
        expect(conn.state).to.equal(REMOTE_CLOSING);
        expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([false, false]);
        conn.send((event as CloseConnection).response());
        expect(conn.state).to.equal(CLOSED);
        expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([true, true]);
        expect(conn.wasClean).to.equal(false);
        expect(conn.closeCode).to.equal(1002);
        expect(conn.failure?.code).to.equal('ERR_RESERVED_OPCODE');
      });

      it(`${role} after a failure in LOCAL_CLOSING: CLOSED, true / true, not clean`, () => {
        const conn = new Connection(role);
        conn.send(new CloseConnection({ code: 1000 }));
        receive(conn, fromPeer(role, { opcode: 0x1, payload: hex('ff') }));
        expect(conn.state).to.equal(CLOSED);
        expect([conn.closeExpected(), conn.shouldEndTransport()]).to.deep.equal([true, true]);
        expect(conn.wasClean).to.equal(false);
        expect(conn.closeSent?.code).to.equal(1000);
        expect(conn.closeReceived).to.equal(null);
        expect([conn.closeCode, conn.failure?.code]).to.deep.equal([1007, 'ERR_INVALID_UTF8']);
      });

      it(`${role}: a later EOF keeps the first failure as the reason`, () => {
        const conn = new Connection(role);
        receive(conn, fromPeer(role, { opcode: 0x3 }));
        receive(conn, null);
        expect(conn.state).to.equal(CLOSED);
        expect([conn.failure?.code, conn.closeCode]).to.deep.equal(['ERR_RESERVED_OPCODE', 1002]);
      });
    }
  });

  describe('RFC 6455 7.1.5: transport EOF without a close frame', () => {
    for (const role of ROLES) {
      for (const autoCloseReply of [false, true]) {
        it(`${role} in OPEN (autoCloseReply ${autoCloseReply}): 1006, ERR_ABNORMAL_CLOSURE, CLOSED, nothing sent`, () => {
          const conn = new Connection(role, { autoCloseReply });
          const events = receive(conn, null);
          expect(events).to.have.length(1);
          const close = events[0] as CloseConnection;
          expect(close).to.be.instanceOf(CloseConnection);
          expect([close.code, close.errorCode]).to.deep.equal([1006, 'ERR_ABNORMAL_CLOSURE']);
          const failure = conn.failure;
          expect(failure).to.be.instanceOf(RemoteProtocolError);
          expect([failure?.code, failure?.closeCode]).to.deep.equal(['ERR_ABNORMAL_CLOSURE', 1006]);
          expect(close.reason).to.equal(failure?.message);
          expect(conn.closeCode).to.equal(1006);
          expect(conn.closeReason).to.equal(failure?.message);
          expect(conn.state).to.equal(CLOSED);
          expect([conn.closeExpected(), conn.shouldEndTransport(), conn.wasClean]).to.deep.equal([true, true, false]);
          expect(conn.dataToSend()).to.deep.equal([]);
          expect(conn.closeReceived).to.equal(null);
        });
      }

      it(`${role} in LOCAL_CLOSING (the peer never answered our close): 1006, CLOSED, not clean`, () => {
        const conn = new Connection(role);
        conn.send(new CloseConnection({ code: 1000 }));
        const [close] = receive(conn, null);
        expect([(close as CloseConnection).code, (close as CloseConnection).errorCode]).to.deep.equal([
          1006,
          'ERR_ABNORMAL_CLOSURE',
        ]);
        expect([conn.closeCode, conn.failure?.code, conn.state]).to.deep.equal([1006, 'ERR_ABNORMAL_CLOSURE', CLOSED]);
        expect([conn.closeExpected(), conn.shouldEndTransport(), conn.wasClean]).to.deep.equal([true, true, false]);
      });

      it(`${role} in REMOTE_CLOSING: EOF before our answer keeps the peer's close code and reason, not 1006`, () => {
        // RFC 6455 7.1.5: "_The WebSocket Connection Close Code_ is defined as the status
        // code contained in the first Close control frame received"; 1006 is for a
        // connection closed with no close frame received.
        const conn = new Connection(role);
        receive(conn, peerClose(role, 1001, 'away'));
        receive(conn, null);
        expect(conn.state).to.equal(CLOSED);
        expect([conn.closeExpected(), conn.shouldEndTransport(), conn.wasClean]).to.deep.equal([true, true, false]);
        expect(conn.closeReceived?.code).to.equal(1001);
        expect([conn.closeCode, conn.closeReason]).to.deep.equal([1001, 'away']);
      });
    }
  });

  describe('autoPong (RFC 6455 5.5.2, 5.5.3)', () => {
    for (const role of ROLES) {
      it(`${role}: a ping queues exactly one pong with the same payload`, () => {
        const conn = new Connection(role, { autoPong: true });
        const events = receive(conn, fromPeer(role, { opcode: 0x9, payload: 'Hello' }));
        expect(events.map((e) => e.type)).to.deep.equal(['ping']);
        const frames = queued(conn);
        expect(frames).to.have.length(1);
        const pong = frames[0]!;
        expect([pong.fin, pong.rsv, pong.opcode, pong.masked]).to.deep.equal([true, 0, 0xa, role === 'client']);
        expect(pong.payload.toString()).to.equal('Hello');
        expect(conn.dataToSend()).to.deep.equal([]);
        expect(conn.state).to.equal(OPEN);
      });

      it(`${role}: several pings (empty, 125 bytes) queue one pong each, in order`, () => {
        const conn = new Connection(role, { autoPong: true });
        const big = Buffer.alloc(125, 0x7a);
        receive(
          conn,
          Buffer.concat([
            fromPeer(role, { opcode: 0x9 }),
            fromPeer(role, { opcode: 0x9, payload: big }),
            fromPeer(role, { opcode: 0x9, payload: 'x' }),
          ]),
        );
        expect(queued(conn).map((f) => [f.opcode, f.payload.toString('hex')])).to.deep.equal([
          [0xa, ''],
          [0xa, big.toString('hex')],
          [0xa, '78'],
        ]);
      });

      it(`${role}: with autoPong off (the default) nothing is queued`, () => {
        const conn = new Connection(role);
        expect(receive(conn, fromPeer(role, { opcode: 0x9, payload: 'p' })).map((e) => e.type)).to.deep.equal(['ping']);
        expect(conn.dataToSend()).to.deep.equal([]);
      });

      it(`${role}: no pong after our close was sent (the ping is still reported)`, () => {
        const conn = new Connection(role, { autoPong: true });
        conn.send(new CloseConnection({ code: 1000 }));
        expect(receive(conn, fromPeer(role, { opcode: 0x9, payload: 'p' })).map((e) => e.type)).to.deep.equal(['ping']);
        expect(conn.dataToSend()).to.deep.equal([]);
        expect(conn.state).to.equal(LOCAL_CLOSING);
      });
    }
  });

  describe('autoCloseReply (RFC 6455 5.5.1)', () => {
    for (const role of ROLES) {
      it(`${role}: echoes the code and the reason of the peer's close; CLOSED, clean`, () => {
        const conn = new Connection(role, { autoCloseReply: true });
        const [event] = receive(conn, peerClose(role, 4001, 'see you ✓'));
        expect([(event as CloseConnection).code, (event as CloseConnection).reason]).to.deep.equal([4001, 'see you ✓']);
        const frames = queued(conn);
        expect(frames).to.have.length(1);
        const reply = frames[0]!;
        expect([reply.opcode, reply.masked]).to.deep.equal([0x8, role === 'client']);
        expect(closeBody(reply.payload)).to.deep.equal({ code: 4001, reason: 'see you ✓' });
        expect(conn.state).to.equal(CLOSED);
        expect(conn.wasClean).to.equal(true);
        expect([conn.closeSent?.code, conn.closeSent?.reason]).to.deep.equal([4001, 'see you ✓']);
        expect(conn.closeExpected()).to.equal(true);
        expect(conn.shouldEndTransport()).to.equal(role === 'server');
        expect(TYPES.filter((t) => conn.canSend(t))).to.deep.equal([]);
      });

      it(`${role}: a close without a code (reported as 1005) is answered with an empty close`, () => {
        const conn = new Connection(role, { autoCloseReply: true });
        const [event] = receive(conn, peerClose(role, null));
        expect((event as CloseConnection).code).to.equal(1005);
        const frames = queued(conn);
        expect(frames.map((f) => [f.opcode, f.payload.length])).to.deep.equal([[0x8, 0]]);
        expect([conn.state, conn.closeCode, conn.wasClean]).to.deep.equal([CLOSED, 1005, true]);
      });

      it(`${role}: the peer's answer to our close is not answered`, () => {
        const conn = new Connection(role, { autoCloseReply: true });
        conn.send(new CloseConnection({ code: 1000 }));
        receive(conn, peerClose(role, 1000));
        expect(conn.dataToSend()).to.deep.equal([]);
        expect([conn.state, conn.wasClean]).to.deep.equal([CLOSED, true]);
      });

      it(`${role}: with autoCloseReply off nothing is queued; sending response() gives the same close`, () => {
        const manual = new Connection(role);
        const [event] = receive(manual, peerClose(role, 1001, 'away'));
        expect(manual.dataToSend()).to.deep.equal([]);
        expect(manual.state).to.equal(REMOTE_CLOSING);
        const [mine] = readFrames(manual.send((event as CloseConnection).response()));
        const auto = new Connection(role, { autoCloseReply: true });
        receive(auto, peerClose(role, 1001, 'away'));
        const [theirs] = queued(auto);
        expect(closeBody(mine!.payload)).to.deep.equal(closeBody(theirs!.payload));
        expect(manual.state).to.equal(CLOSED);
      });
    }

    it('CloseConnection.response() echoes code and reason (as wsproto), without the errorCode', () => {
      const close = new CloseConnection({ code: 1007, reason: 'bad text', errorCode: 'ERR_INVALID_UTF8' });
      const response = close.response();
      expect(response).to.be.instanceOf(CloseConnection);
      expect(response).to.not.equal(close);
      expect([response.code, response.reason, response.errorCode]).to.deep.equal([1007, 'bad text', null]);
    });

    it('a 123-byte multi-byte reason is echoed whole', () => {
      const reason = 'é'.repeat(61) + 'a'; // 123 bytes
      expect(Buffer.byteLength(reason)).to.equal(123);
      const conn = new Connection('server', { autoCloseReply: true });
      receive(conn, peerClose('server', 1000, reason));
      expect(closeBody(queued(conn)[0]!.payload)).to.deep.equal({ code: 1000, reason });
    });
  });
});
