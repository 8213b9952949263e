/** `Connection`: every state transition and every misuse (wsproto connection.py behaviour). */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Ping,
  Pong,
  TextMessage,
  type ConnectionEvent,
  type ConnectionRole,
} from '../lib/index';
import { SPLIT_MIN } from '../lib/frame/encoder';
import { masked, merge, splitAt } from './helpers/bytes';

const { OPEN, LOCAL_CLOSING, REMOTE_CLOSING, CLOSED } = ConnectionState;

/** A client and a server wired together in memory. */
function pair(options = {}) {
  const client = new Connection(ConnectionType.CLIENT, options);
  const server = new Connection(ConnectionType.SERVER, options);
  const toServer = (e: ConnectionEvent): ConnectionEvent[] => {
    server.receiveData(client.send(e));
    return [...server.events()];
  };
  const toClient = (e: ConnectionEvent): ConnectionEvent[] => {
    client.receiveData(server.send(e));
    return [...client.events()];
  };
  return { client, server, toServer, toClient };
}

describe('Connection state machine', () => {
  it('starts OPEN', () => {
    expect(new Connection(ConnectionType.SERVER).state).to.equal(OPEN);
    expect(new Connection(ConnectionType.CLIENT).type).to.equal('client');
  });

  it('rejects an unknown connection type', () => {
    expect(() => new Connection('peer' as 'client')).to.throw(LocalProtocolError);
  });

  it('local close first: OPEN -> LOCAL_CLOSING -> CLOSED when the peer answers', () => {
    const { client, server, toServer, toClient } = pair();
    const received = toServer(new CloseConnection({ code: 1000, reason: 'done' }));
    expect(client.state).to.equal(LOCAL_CLOSING);
    expect(server.state).to.equal(REMOTE_CLOSING);
    expect(received).to.have.length(1);
    const close = received[0] as CloseConnection;
    expect(close).to.be.instanceOf(CloseConnection);
    expect([close.code, close.reason]).to.deep.equal([1000, 'done']);
    const answer = toClient(close.response());
    expect(server.state).to.equal(CLOSED);
    expect(client.state).to.equal(CLOSED);
    expect(merge(answer)).to.deep.equal([{ type: 'close', code: 1000, reason: 'done' }]);
  });

  it('remote close first: OPEN -> REMOTE_CLOSING -> CLOSED when we answer', () => {
    const { client, server, toClient } = pair();
    toClient(new CloseConnection({ code: 1001 }));
    expect(client.state).to.equal(REMOTE_CLOSING);
    expect(server.state).to.equal(LOCAL_CLOSING);
    client.send(new CloseConnection({ code: 1001 }));
    expect(client.state).to.equal(CLOSED);
  });

  it('messages, pings and pongs flow both ways while OPEN', () => {
    const { toServer, toClient } = pair();
    expect(merge(toServer(new TextMessage({ data: 'hi' })))).to.deep.equal([{ type: 'text', data: 'hi' }]);
    expect(merge(toClient(new BytesMessage({ data: Buffer.from([1, 2]) })))).to.deep.equal([
      { type: 'bytes', data: '0102' },
    ]);
    const ping = toServer(new Ping({ payload: Buffer.from('p') }))[0] as Ping;
    expect(merge(toClient(ping.response()))).to.deep.equal([{ type: 'pong', payload: '70' }]);
  });

  const misuse: Array<[string, ConnectionEvent]> = [
    ['text', new TextMessage({ data: 'x' })],
    ['bytes', new BytesMessage({ data: Buffer.from('x') })],
    ['ping', new Ping()],
    ['pong', new Pong()],
  ];
  for (const [name, event] of misuse) {
    it(`cannot send '${name}' in LOCAL_CLOSING, REMOTE_CLOSING or CLOSED`, () => {
      const { client, server, toServer } = pair();
      toServer(new CloseConnection({ code: 1000 }));
      for (const conn of [client, server]) {
        expect(() => conn.send(event))
          .to.throw(LocalProtocolError, new RegExp(`cannot send '${name}' in state ${conn.state}`))
          .with.property('code', 'ERR_INVALID_STATE');
      }
      server.send(new CloseConnection({ code: 1000 }));
      expect(() => server.send(event)).to.throw(LocalProtocolError, /in state CLOSED/);
    });
  }

  it('cannot send a second close', () => {
    const { client } = pair();
    client.send(new CloseConnection({ code: 1000 }));
    expect(() => client.send(new CloseConnection({ code: 1000 }))).to.throw(LocalProtocolError, /LOCAL_CLOSING/);
  });

  it('cannot send something that is not an event', () => {
    const conn = new Connection(ConnectionType.SERVER);
    expect(() => conn.send({ type: 'request' } as unknown as ConnectionEvent))
      .to.throw(LocalProtocolError)
      .with.property('code', 'ERR_INVALID_EVENT');
  });

  it('7.1.5 transport EOF without a close frame: CloseConnection 1006, CLOSED', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.receiveData(masked({ opcode: 0x1, payload: 'hello' }).subarray(0, 9));
    conn.receiveData(null);
    const events = [...conn.events()];
    expect(events.map((e) => e.type)).to.deep.equal(['text', 'close']);
    expect((events[1] as CloseConnection).code).to.equal(1006);
    expect(conn.state).to.equal(CLOSED);
  });

  it('EOF after the close handshake finished adds no event', () => {
    const { client, toServer, toClient } = pair();
    const close = toServer(new CloseConnection({ code: 1000 }))[0] as CloseConnection;
    toClient(close.response());
    client.receiveData(null);
    expect([...client.events()]).to.deep.equal([]);
  });

  it('receiving bytes after CLOSED is a LocalProtocolError', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.receiveData(null);
    expect(() => conn.receiveData(Buffer.from([0x81]))).to.throw(LocalProtocolError, /CLOSED/);
  });

  it('a protocol violation moves OPEN to REMOTE_CLOSING; answering it closes', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.receiveData(Buffer.from([0x81, 0x00])); // unmasked
    const [event] = [...conn.events()];
    expect(event).to.be.instanceOf(CloseConnection);
    expect((event as CloseConnection).code).to.equal(1002);
    expect(conn.state).to.equal(REMOTE_CLOSING);
    expect(() => conn.send(new TextMessage({ data: 'x' }))).to.throw(LocalProtocolError);
    conn.send((event as CloseConnection).response());
    expect(conn.state).to.equal(CLOSED);
  });

  it('a protocol violation in LOCAL_CLOSING moves to CLOSED', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.send(new CloseConnection({ code: 1000 }));
    conn.receiveData(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
    expect([...conn.events()].map((e) => e.type)).to.deep.equal(['close']);
    expect(conn.state).to.equal(CLOSED);
  });

  it('messages arriving in LOCAL_CLOSING are still delivered (RFC 6455 7.1.2)', () => {
    const { client, server } = pair();
    server.receiveData(client.send(new TextMessage({ data: 'in flight' })));
    server.send(new CloseConnection({ code: 1000 }));
    expect(merge([...server.events()])).to.deep.equal([{ type: 'text', data: 'in flight' }]);
    expect(server.state).to.equal(LOCAL_CLOSING);
  });

  it('trailingData is processed as the first received bytes', () => {
    const conn = new Connection(ConnectionType.SERVER, { trailingData: masked({ opcode: 0x1, payload: 'early' }) });
    expect(merge([...conn.events()])).to.deep.equal([{ type: 'text', data: 'early' }]);
  });

  it('accepts Uint8Array input (not only Buffer)', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.receiveData(new Uint8Array(masked({ opcode: 0x2, payload: 'u8' })));
    expect(merge([...conn.events()])).to.deep.equal([{ type: 'bytes', data: '7538' }]);
  });

  it('nextEvent() returns null when nothing is buffered', () => {
    expect(new Connection(ConnectionType.SERVER).nextEvent()).to.equal(null);
  });
});

describe('round trip (property): encode -> decode gives back the messages', () => {
  const message = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 300 }) }),
    fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 70000 }) }),
    fc.record({ kind: fc.constant('ping' as const), bytes: fc.uint8Array({ maxLength: 125 }) }),
  );
  for (const role of ['client', 'server'] as const) {
    it(`${role} to peer, with random fragmentation and random chunking`, () => {
      fc.assert(
        fc.property(
          fc.array(message, { maxLength: 6 }),
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 6, maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 10 }),
          (messages, fragments, cuts) => {
            const sender = new Connection(role);
            const receiver = new Connection(role === 'client' ? 'server' : 'client');
            const wire: Buffer[] = [];
            const expected: unknown[] = [];
            messages.forEach((m, i) => {
              if (m.kind === 'ping') {
                wire.push(sender.send(new Ping({ payload: m.bytes })));
                expected.push({ type: 'ping', payload: Buffer.from(m.bytes).toString('hex') });
                return;
              }
              const n = fragments[i]!;
              if (m.kind === 'text') {
                const chars = [...m.text];
                const step = Math.ceil(chars.length / n) || 1;
                for (let k = 0; k < n; k++) {
                  const piece = chars.slice(k * step, (k + 1) * step).join('');
                  wire.push(sender.send(new TextMessage({ data: piece, messageFinished: k === n - 1 })));
                }
                expected.push({ type: 'text', data: m.text });
              } else {
                const step = Math.ceil(m.bytes.length / n) || 1;
                for (let k = 0; k < n; k++) {
                  const piece = m.bytes.subarray(k * step, (k + 1) * step);
                  wire.push(sender.send(new BytesMessage({ data: piece, messageFinished: k === n - 1 })));
                }
                expected.push({ type: 'bytes', data: Buffer.from(m.bytes).toString('hex') });
              }
            });
            const all = Buffer.concat(wire);
            const events: ConnectionEvent[] = [];
            for (const chunk of splitAt(
              all,
              cuts.map((c) => c % (all.length + 1)),
            )) {
              receiver.receiveData(chunk);
              events.push(...receiver.events());
            }
            expect(merge(events)).to.deep.equal(expected);
          },
        ),
        { seed: role === 'client' ? 1 : 2, numRuns: 150 },
      );
    });
  }
});

describe('Connection.sendSplit: a large unmasked payload apart from its header', () => {
  const big = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff));

  it('server, binary of 16 KiB or more: [header, the payload itself], the bytes send() makes', () => {
    for (const n of [SPLIT_MIN, 0xffff, 0x10000, 200_000]) {
      const data = big(n);
      const parts = new Connection(ConnectionType.SERVER).sendSplit(new BytesMessage({ data }));
      expect(Buffer.isBuffer(parts)).to.equal(false);
      const [header, payload] = parts as readonly [Buffer, Buffer];
      expect(payload).to.equal(data); // the same buffer: not copied
      const whole = new Connection(ConnectionType.SERVER).send(new BytesMessage({ data }));
      expect(Buffer.concat([header, payload]).equals(whole), `${n} bytes`).to.equal(true);
    }
  });

  it('a Uint8Array payload is split as a view of the same memory', () => {
    const bytes = new Uint8Array(big(SPLIT_MIN + 3));
    const [, payload] = new Connection(ConnectionType.SERVER).sendSplit(new BytesMessage({ data: bytes })) as readonly [
      Buffer,
      Buffer,
    ];
    expect(payload.buffer).to.equal(bytes.buffer);
    expect(payload.length).to.equal(bytes.length);
  });

  it('fragments keep their opcodes and FIN bits (binary, then continuation)', () => {
    const conn = new Connection(ConnectionType.SERVER);
    const first = conn.sendSplit(new BytesMessage({ data: big(SPLIT_MIN), messageFinished: false }));
    const last = conn.sendSplit(new BytesMessage({ data: big(SPLIT_MIN) }));
    expect((first as readonly Buffer[])[0]![0]).to.equal(0x02);
    expect((last as readonly Buffer[])[0]![0]).to.equal(0x80);
  });

  it('anything else comes back whole, as send() makes it: small, text, masked (client), control frames', () => {
    const cases: Array<[ConnectionRole, ConnectionEvent]> = [
      [ConnectionType.SERVER, new BytesMessage({ data: big(SPLIT_MIN - 1) })],
      [ConnectionType.SERVER, new TextMessage({ data: 'x'.repeat(SPLIT_MIN * 2) })],
      [ConnectionType.CLIENT, new BytesMessage({ data: big(SPLIT_MIN * 2) })],
      [ConnectionType.SERVER, new Ping({ payload: Buffer.from('p') })],
      [ConnectionType.SERVER, new CloseConnection({ code: 1000 })],
    ];
    for (const [role, event] of cases) {
      const key = () => Uint8Array.of(1, 2, 3, 4);
      const out = new Connection(role, { maskKey: key }).sendSplit(event);
      expect(Buffer.isBuffer(out), `${role} ${event.type}`).to.equal(true);
      expect((out as Buffer).equals(new Connection(role, { maskKey: key }).send(event))).to.equal(true);
    }
  });

  it('follows the state machine as send() does: cannot send bytes in state CLOSED', () => {
    const conn = new Connection(ConnectionType.SERVER);
    conn.sendSplit(new CloseConnection({ code: 1000 }));
    expect(conn.state).to.equal(ConnectionState.LOCAL_CLOSING);
    expect(() => conn.sendSplit(new BytesMessage({ data: big(SPLIT_MIN) }))).to.throw(LocalProtocolError);
  });
});
