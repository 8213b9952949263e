/**
 * Fuzz: a mutation corpus. Valid conversations, recorded from the library's own `send()`
 * (both roles, with and without permessage-deflate, handshake included), are replayed to
 * a fresh receiver after random mutations: bit flips, truncation, duplicated, deleted and
 * inserted ranges, and splices from other conversations, in any chunking. Every outcome
 * is a documented one: events (checked by test/fuzz/invariants.ts once open), or during
 * the handshake a `RemoteProtocolError` (with a `RejectConnection` hint on a server).
 * Unmutated, every conversation replays exactly.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  PerMessageDeflate,
  Ping,
  Pong,
  RejectConnection,
  RemoteProtocolError,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionEvent,
  type PerMessageDeflateOptions,
  type WSConnectionOptions,
} from '../../lib/index';
import { acceptKey } from '../../lib/handshake/handshake';
import { merge, rng, type Merged } from '../helpers/bytes';
import { chunking } from './arbitraries';
import { fuzzParams } from './config';
import { cut, drive } from './invariants';

/** How a recorded conversation was set up, so that a receiver can be set up the same way. */
interface Setup {
  name: string;
  deflate: null | { client: PerMessageDeflateOptions; server: PerMessageDeflateOptions };
  subprotocols: string[];
  limits: WSConnectionOptions;
}

/** A recorded conversation: what each end sent, and what the other end made of it. */
interface Recording {
  setup: Setup;
  /** Request head + the client's frames. */
  toServer: Buffer;
  /** 101 head + the server's frames. */
  toClient: Buffer;
  /** The Sec-WebSocket-Accept in `toClient` (a replaying client has another key). */
  accept: string;
  expectedByServer: Merged[];
  expectedByClient: Merged[];
}

const SETUPS: Setup[] = [
  { name: 'plain', deflate: null, subprotocols: [], limits: {} },
  { name: 'subprotocols', deflate: null, subprotocols: ['chat', 'superchat'], limits: { maxMessageSize: 100_000 } },
  { name: 'deflate', deflate: { client: {}, server: { threshold: 0 } }, subprotocols: [], limits: {} },
  {
    name: 'deflate, no context takeover, 9-bit windows',
    deflate: {
      client: { clientNoContextTakeover: true, serverNoContextTakeover: true, clientMaxWindowBits: 9, threshold: 0 },
      server: { serverMaxWindowBits: 9, threshold: 0, level: 9 },
    },
    subprotocols: ['chat'],
    limits: {},
  },
];

function maskKeys(seed: number): () => Uint8Array {
  const r = rng(seed);
  return () => Uint8Array.from({ length: 4 }, () => Math.floor(r() * 256));
}

/** Record one conversation: a few of everything, from both ends, ending with a close. */
function record(setup: Setup, seed: number): Recording {
  const client = new WSConnection('client', { ...setup.limits, maskKey: maskKeys(seed) });
  const server = new WSConnection('server', setup.limits);
  const ext = (o: PerMessageDeflateOptions | undefined) => (o === undefined ? [] : [new PerMessageDeflate(o)]);
  const request = client.send(
    new Request({
      host: 'example.com',
      target: '/corpus?x=1',
      subprotocols: setup.subprotocols,
      extensions: ext(setup.deflate?.client),
      extraHeaders: [['Origin', 'https://example.com']],
    }),
  );
  server.receiveData(Buffer.from(request));
  expect([...server.events()].map((e) => e.type)).to.deep.equal(['request']);
  const response = server.send(
    new AcceptConnection({ subprotocol: setup.subprotocols[0] ?? null, extensions: ext(setup.deflate?.server) }),
  );
  client.receiveData(Buffer.from(response));
  expect([...client.events()].map((e) => e.type)).to.deep.equal(['accept']);

  const big = Buffer.alloc(70_000, 0x5a);
  const script = (ws: WSConnection, who: string): Buffer[] => [
    ws.send(new TextMessage({ data: `hello from the ${who} ☃ 𝄞` })),
    ws.send(new BytesMessage({ data: Buffer.from([0, 1, 2, 253, 254, 255]) })),
    ws.send(new TextMessage({ data: 'frag', messageFinished: false })),
    ws.send(new Ping({ payload: Buffer.from('between') })),
    ws.send(new TextMessage({ data: 'mented 💡', messageFinished: true })),
    ws.send(new BytesMessage({ data: big.subarray(0, 300), messageFinished: false, compress: true })),
    ws.send(new BytesMessage({ data: big.subarray(300), messageFinished: true })),
    ws.send(new TextMessage({ data: 'x'.repeat(2000), compress: false })),
    ws.send(new Pong({ payload: Buffer.from('unsolicited') })),
    ws.send(new TextMessage({ data: '' })),
  ];
  const fromClient = script(client, 'client');
  const fromServer = script(server, 'server');
  fromClient.push(client.send(new CloseConnection({ code: 1000, reason: 'bye ☃' })));
  fromServer.push(server.send(new CloseConnection({ code: 4001, reason: 'going' })));
  const accept = /Sec-WebSocket-Accept: (\S+)\r\n/.exec(response.toString('latin1'))![1]!;
  const expected = (who: string, close: Merged): Merged[] => [
    { type: 'text', data: `hello from the ${who} ☃ 𝄞` },
    { type: 'bytes', data: '000102fdfeff' },
    { type: 'ping', payload: Buffer.from('between').toString('hex') },
    { type: 'text', data: 'fragmented 💡' },
    { type: 'bytes', data: big.toString('hex') },
    { type: 'text', data: 'x'.repeat(2000) },
    { type: 'pong', payload: Buffer.from('unsolicited').toString('hex') },
    { type: 'text', data: '' },
    close,
  ];
  return {
    setup,
    toServer: Buffer.concat([request, ...fromClient]),
    toClient: Buffer.concat([response, ...fromServer]),
    accept,
    expectedByServer: expected('client', { type: 'close', code: 1000, reason: 'bye ☃' }),
    expectedByClient: expected('server', { type: 'close', code: 4001, reason: 'going' }),
  };
}

/** What a replay came to. */
interface Replay {
  handshakeError: RemoteProtocolError | null;
  events: ConnectionEvent[];
}

/**
 * Feed `chunks` to a fresh receiver of `role` set up like the recording: through the
 * handshake (a server accepts any valid request), then the connection's invariants.
 */
function replay(rec: Recording, role: 'server' | 'client', data: Buffer, split: (b: Buffer) => Buffer[]): Replay {
  const { setup } = rec;
  const ws = new WSConnection(role, setup.limits);
  let accept: string | null = null;
  if (role === 'client') {
    const request = ws.send(
      new Request({
        host: 'example.com',
        target: '/',
        subprotocols: setup.subprotocols,
        extensions: setup.deflate === null ? [] : [new PerMessageDeflate(setup.deflate.client)],
      }),
    );
    accept = acceptKey(/Sec-WebSocket-Key: (\S+)\r\n/.exec(request.toString('latin1'))![1]!);
  }
  // The recording's Sec-WebSocket-Accept answered another key: put ours in its place
  // (a mutation may have broken it; then the handshake fails, a fine outcome too).
  const chunks = split(
    accept === null ? data : Buffer.from(data.toString('latin1').replace(rec.accept, accept), 'latin1'),
  );
  let fed = 0;
  let index = 0;
  try {
    while (ws.connection === null && index < chunks.length && ws.state !== 'CLOSED') {
      const chunk = chunks[index++]!;
      fed += chunk.length;
      ws.receiveData(Buffer.from(chunk));
      for (let e = ws.nextEvent(); e !== null; e = ws.connection === null ? ws.nextEvent() : null) {
        if (e instanceof Request) {
          const offered = e.subprotocols.find((p) => setup.subprotocols.includes(p)) ?? null;
          const extensions = setup.deflate === null ? [] : [new PerMessageDeflate(setup.deflate.server)];
          ws.send(new AcceptConnection({ subprotocol: offered, extensions }));
        }
      }
    }
    if (ws.connection === null) {
      // Rejected or incomplete: the rest goes in too, and EOF.
      for (; index < chunks.length && ws.state !== 'CLOSED'; index++) {
        ws.receiveData(Buffer.from(chunks[index]!));
        for (const e of ws.events()) void e;
      }
      if (ws.state !== 'CLOSED') ws.receiveData(null);
      return { handshakeError: null, events: [] };
    }
  } catch (error) {
    if (!(error instanceof RemoteProtocolError)) throw error;
    expect(ws.connection, 'a RemoteProtocolError only during the handshake').to.equal(null);
    if (role === 'server') expect(error.eventHint).to.be.instanceOf(RejectConnection);
    return { handshakeError: error, events: [] };
  }
  const limit = setup.limits.maxMessageSize;
  const outcome = drive(ws.connection, chunks.slice(index), {
    eof: true,
    alreadyFed: fed,
    ...(limit === undefined ? {} : { maxMessageSize: limit }),
  });
  return { handshakeError: null, events: outcome.events };
}

/** A position: mostly in the head and the first frames, where structure is dense. */
const where = fc.oneof({ weight: 3, arbitrary: fc.nat({ max: 700 }) }, { weight: 1, arbitrary: fc.nat() });

/** One mutation of a byte string. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: where, bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: where }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: where,
    len: fc.integer({ min: 1, max: 64 }),
    to: where,
  }),
  fc.record({ op: fc.constant('delete' as const), at: where, len: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ op: fc.constant('insert' as const), to: where, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({
    op: fc.constant('splice' as const),
    from: where,
    at: where,
    len: fc.integer({ min: 1, max: 200 }),
    to: where,
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(data: Buffer, m: Mutation, corpus: readonly Buffer[]): Buffer {
  const n = data.length;
  const pos = (x: number) => (n === 0 ? 0 : x % n);
  switch (m.op) {
    case 'flip': {
      const out = Buffer.from(data);
      if (n > 0) out[pos(m.at)]! ^= m.bits;
      return out;
    }
    case 'truncate':
      return data.subarray(0, pos(m.at));
    case 'duplicate': {
      const piece = data.subarray(pos(m.at), pos(m.at) + m.len);
      const to = m.to % (n + 1);
      return Buffer.concat([data.subarray(0, to), piece, data.subarray(to)]);
    }
    case 'delete':
      return Buffer.concat([data.subarray(0, pos(m.at)), data.subarray(pos(m.at) + m.len)]);
    case 'insert': {
      const to = m.to % (n + 1);
      return Buffer.concat([data.subarray(0, to), m.bytes, data.subarray(to)]);
    }
    case 'splice': {
      const other = corpus[m.from % corpus.length]!;
      const at = other.length === 0 ? 0 : m.at % other.length;
      const to = m.to % (n + 1);
      return Buffer.concat([data.subarray(0, to), other.subarray(at, at + m.len), data.subarray(to)]);
    }
  }
}

describe('fuzz: mutation corpus (recorded conversations, mutated)', () => {
  const recordings = SETUPS.flatMap((s, i) => [record(s, 1 + i), record(s, 100 + i)]);
  const corpus = recordings.flatMap((r) => [r.toServer, r.toClient]);

  it('unmutated, every recorded conversation replays exactly, for both roles, in any chunking', () => {
    fc.assert(
      fc.property(fc.nat(), chunking, fc.boolean(), (which, c, toServer) => {
        const rec = recordings[which % recordings.length]!;
        const data = toServer ? rec.toServer : rec.toClient;
        const got = replay(rec, toServer ? 'server' : 'client', data, (b) => cut(b, c.cuts));
        expect(got.handshakeError).to.equal(null);
        const messages = merge(got.events).filter((m) => !(m.type === 'close' && m.code === 1006));
        expect(messages).to.deep.equal(toServer ? rec.expectedByServer : rec.expectedByClient);
      }),
      fuzzParams('corpus intact', 60, 0.1),
    );
  });

  for (const role of ['server', 'client'] as const) {
    it(`${role}: mutated conversations give events or a documented handshake error`, () => {
      fc.assert(
        fc.property(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), chunking, (which, mutations, c) => {
          const rec = recordings[which % recordings.length]!;
          let data = role === 'server' ? rec.toServer : rec.toClient;
          for (const m of mutations) data = mutate(data, m, corpus);
          const split = (b: Buffer) =>
            c.byteByByte && b.length < 600 ? Array.from(b, (x) => Buffer.from([x])) : cut(b, c.cuts);
          replay(rec, role, data, split);
        }),
        fuzzParams(`corpus mutated ${role}`, 600),
      );
    });
  }
});
