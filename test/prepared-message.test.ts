/**
 * Mirror test for lib/prepared-message (with `Connection.sendPrepared`,
 * `FrameProtocol.sendPrepared`, `PerMessageDeflate.sharedEncoding` and
 * `WebSocketDuplex.send(prepared)`).
 *
 * The central property: on every connection configuration (server without extensions;
 * server with permessage-deflate, context takeover or not, every window, level,
 * memLevel and threshold, `compress` true / false / unset; a client, masked, with or
 * without permessage-deflate), `sendPrepared(prepared)` returns the very bytes that
 * `send()` of the same message returns on a twin connection with the same history, so
 * the peer decodes the same messages; where the server compresses alone (no context
 * takeover) or not at all, those bytes do not depend on the history (RFC 7692 7.1.1.1,
 * 7.2.1; RFC 6455 5.2), and the message is encoded once per setting for all connections.
 * Then the RFC's vectors, the cache, the states, and the stream.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import * as http from 'node:http';
import WebSocket from 'ws';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  LocalProtocolError,
  PerMessageDeflate,
  PreparedMessage,
  TextMessage,
  connect,
  handleUpgrade,
  type ConnectionEvent,
  type PerMessageDeflateOptions,
  type WebSocketDuplex,
} from '../lib/index';
import { drainPool } from '../lib/extensions/zlib-backend';
import { KEY, hex, merge, type Merged } from './helpers/bytes';
import { expectLocal } from './helpers/http';
import { listen, once, until } from './helpers/net';
import { params } from './helpers/extension-params';

type Role = 'client' | 'server';

/** One connection configuration; `deflate` null: no extension. */
interface Config {
  role: Role;
  deflate: null | {
    /** Server role: what the client offers. */
    offerNoContext: boolean;
    offerBits: number | null; // 8 to 15
    clientNoContext: boolean;
    /** Our side's options. */
    ownNoContext: boolean;
    ownBits: number | null; // 9 to 15
    threshold: number;
    level: number;
    memLevel: number;
  };
}

/** Fresh negotiated extensions for our side and the peer's (a new pair per connection). */
function negotiate(config: Config): { ours: PerMessageDeflate[]; peer: PerMessageDeflate[] } {
  const d = config.deflate;
  if (d === null) return { ours: [], peer: [] };
  const tuning = { threshold: d.threshold, level: d.level, memLevel: d.memLevel };
  if (config.role === 'server') {
    const offer = [
      ...(d.offerNoContext ? ['server_no_context_takeover'] : []),
      ...(d.offerBits !== null ? [`server_max_window_bits=${d.offerBits}`] : []),
      ...(d.clientNoContext ? ['client_no_context_takeover'] : []),
      'client_max_window_bits',
    ].join('; ');
    const ours = new PerMessageDeflate({
      ...tuning,
      serverNoContextTakeover: d.ownNoContext,
      ...(d.ownBits !== null ? { serverMaxWindowBits: d.ownBits } : {}),
    });
    const response = ours.accept(params(offer));
    expect(response, offer).to.not.equal(null);
    const peer = new PerMessageDeflate({ serverNoContextTakeover: d.offerNoContext });
    peer.finalize(params(response!));
    return { ours: [ours], peer: [peer] };
  }
  const ours = new PerMessageDeflate({
    ...tuning,
    clientNoContextTakeover: d.ownNoContext,
    clientMaxWindowBits: d.ownBits ?? true,
  });
  const peer = new PerMessageDeflate();
  const response = peer.accept(params(ours.offer()));
  expect(response).to.not.equal(null);
  ours.finalize(params(response!));
  return { ours: [ours], peer: [peer] };
}

/** A connection of `config` (fixed masking key: a client's frames are then reproducible) and its peer. */
function pair(config: Config): { conn: Connection; peer: Connection } {
  const { ours, peer } = negotiate(config);
  return {
    conn: new Connection(config.role, { extensions: ours, maskKey: () => KEY }),
    peer: new Connection(config.role === 'server' ? 'client' : 'server', { extensions: peer }),
  };
}

/** Feed `bytes` to `peer` and return the events (whole messages merged). */
function decode(peer: Connection, bytes: Buffer): Merged[] {
  peer.receiveData(Buffer.from(bytes));
  return merge([...peer.events()]);
}

/** A message as the test generates it. */
interface Spec {
  kind: 'text' | 'bytes' | 'text-as-binary';
  text: string;
  bytes: Buffer;
  compress: boolean | undefined;
}

function prepare(spec: Spec): PreparedMessage {
  const options = spec.compress === undefined ? {} : { compress: spec.compress };
  if (spec.kind === 'bytes') return new PreparedMessage(spec.bytes, options);
  return new PreparedMessage(spec.text, { ...options, binary: spec.kind === 'text-as-binary' });
}

/** The event `send()` takes for the same message. */
function event(spec: Spec): TextMessage | BytesMessage {
  const compress = spec.compress === undefined ? {} : { compress: spec.compress };
  if (spec.kind === 'text') return new TextMessage({ data: spec.text, ...compress });
  const data = spec.kind === 'bytes' ? spec.bytes : Buffer.from(spec.text, 'utf8');
  return new BytesMessage({ data, ...compress });
}

/** What the peer must receive (a string's lone surrogates travel as U+FFFD). */
function expected(spec: Spec): Merged {
  if (spec.kind === 'text') return { type: 'text', data: Buffer.from(spec.text, 'utf8').toString('utf8') };
  const data = spec.kind === 'bytes' ? spec.bytes : Buffer.from(spec.text, 'utf8');
  return { type: 'bytes', data: data.toString('hex') };
}

function payloadLength(spec: Spec): number {
  return spec.kind === 'bytes' ? spec.bytes.length : Buffer.byteLength(spec.text, 'utf8');
}

/** How `config` sends `spec` (the oracle, from RFC 7692 7.1.1.1 and the options' documentation). */
function route(config: Config, spec: Spec): 'plain' | 'own-context' | 'masked' | string {
  if (config.role === 'client') return 'masked';
  const d = config.deflate;
  if (d === null) return 'plain';
  const compressed = spec.compress === true || (spec.compress !== false && payloadLength(spec) >= d.threshold);
  if (!compressed) return 'plain';
  if (!(d.offerNoContext || d.ownNoContext)) return 'own-context';
  // The window negotiated (RFC 7692 7.1.2.1: the smaller of both; without an option, the
  // default memory mode's 12), 8 running as 9.
  const bits = Math.max(9, Math.min(d.ownBits ?? 12, d.offerBits ?? 15));
  return `${bits}:${d.level}:${d.memLevel}`;
}

// ---- arbitraries ----

const SIZES = [0, 1, 125, 126, 127, 1023, 1024, 1025, 65535, 65536, 70000];

const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', 'é', '\u{1F600}', 'a\ud800b', '\udc00'),
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }), fc.constantFrom(...SIZES))
    .map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)),
);

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  // Low entropy, many symbols: the block boundaries depend on memLevel, the matches on the window.
  fc.uint8Array({ minLength: 1024, maxLength: 4000 }).map((a) => Buffer.from(a.map((b) => 0x61 + (b & 3)))),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.constantFrom(...SIZES)).map(([unit, n]) => {
    return Buffer.alloc(n, Buffer.from(unit));
  }),
  // Incompressible, > 64 KiB.
  fc.integer({ min: 1, max: 2 ** 31 - 1 }).map((seed) => {
    const out = Buffer.alloc(66000);
    let x = seed;
    for (let i = 0; i < out.length; i++) out[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    return out;
  }),
);

const spec: fc.Arbitrary<Spec> = fc.record({
  kind: fc.constantFrom('text' as const, 'bytes' as const, 'text-as-binary' as const),
  text,
  bytes,
  compress: fc.constantFrom(undefined, true, false),
});

const config: fc.Arbitrary<Config> = fc.record({
  role: fc.constantFrom('server' as const, 'server' as const, 'client' as const),
  deflate: fc.option(
    fc.record({
      offerNoContext: fc.boolean(),
      // Settings repeat often across the connections of a run, so that encodings are shared.
      offerBits: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.integer({ min: 8, max: 15 })),
      clientNoContext: fc.boolean(),
      ownNoContext: fc.boolean(),
      ownBits: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, fc.integer({ min: 9, max: 15 })),
      threshold: fc.constantFrom(0, 1, 126, 1024, 65536, 100000),
      level: fc.constantFrom(-1, -1, 1, 9),
      memLevel: fc.constantFrom(8, 8, 1, 9),
    }),
    { nil: null, freq: 4 },
  ),
});

/** One step on a connection: message `index` sent normally or prepared, or a fragmented message. */
type Step = { kind: 'send' | 'prepared'; index: number } | { kind: 'fragmented'; text: string };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constantFrom('send' as const, 'prepared' as const), index: fc.nat(3) }),
  fc.record({ kind: fc.constant('prepared' as const), index: fc.nat(3) }),
  fc.record({ kind: fc.constant('fragmented' as const), text: fc.string({ maxLength: 1500 }) }),
);

describe('PreparedMessage', () => {
  describe('the central property: sendPrepared is send(), encoded once where the wire allows it', () => {
    /**
     * A sends every step with send(), its twin B takes the prepared steps with
     * sendPrepared; B's peer decodes. `fresh`: every compression starts from a fresh
     * zlib context (the shared pool drained first), where compression is a function of
     * the input and the parameters, so the bytes are compared everywhere. Otherwise the
     * pool is as the library leaves it: a context reset in the pool does not always
     * compress exactly as a fresh one (see "the pool" below), so compressed frames are
     * compared by what the peer decodes, uncompressed ones byte for byte.
     */
    function check(fresh: boolean) {
      const run = <T>(f: () => T): T => {
        if (fresh) drainPool();
        return f();
      };
      const same = (got: Buffer, want: Buffer, what: string) => {
        // RFC 7692 6: RSV1 (0x40) marks a compressed message; both must decide alike.
        expect(got[0]! & 0x40, `${what}: compressed alike`).to.equal(want[0]! & 0x40);
        if (fresh || (want[0]! & 0x40) === 0) expect(got.equals(want), `${what}: same bytes`).to.equal(true);
      };
      fc.assert(
        fc.property(
          fc.array(spec, { minLength: 4, maxLength: 4 }),
          fc.array(fc.tuple(config, fc.array(step, { minLength: 1, maxLength: 6 })), { minLength: 1, maxLength: 5 }),
          (specs, connections) => {
            const prepared = specs.map(prepare);
            const routes = specs.map(() => new Set<string>()); // the shared encodings each message needs
            for (const [cfg, steps] of connections) {
              const a = pair(cfg);
              const b = pair(cfg);
              const where = `${cfg.role} ${JSON.stringify(cfg.deflate)}`;
              for (const s of steps) {
                if (s.kind === 'fragmented') {
                  // A message of the connection's own, in two frames, between the prepared ones.
                  const half = Math.floor(s.text.length / 2);
                  for (const [data, last] of [
                    [s.text.slice(0, half), false],
                    [s.text.slice(half), true],
                  ] as const) {
                    const piece = new TextMessage({ data, messageFinished: last });
                    const wire = run(() => b.conn.send(piece));
                    same(
                      wire,
                      run(() => a.conn.send(piece)),
                      `${where} fragment`,
                    );
                    decode(b.peer, wire);
                  }
                  continue;
                }
                const m = specs[s.index]!;
                const want = run(() => a.conn.send(event(m)));
                const got = run(() =>
                  s.kind === 'prepared' ? b.conn.sendPrepared(prepared[s.index]!) : b.conn.send(event(m)),
                );
                same(got, want, `${where} ${m.kind} ${s.kind}`);
                expect(decode(b.peer, got)).to.deep.equal([expected(m)]);
                const how = route(cfg, m);
                if (s.kind === 'prepared' && how !== 'own-context' && how !== 'masked') {
                  routes[s.index]!.add(how);
                  // Compressed alone or plain: the history does not matter; a fresh connection agrees.
                  same(
                    got,
                    run(() => pair(cfg).conn.send(event(m))),
                    `${where} ${m.kind} on a fresh connection`,
                  );
                }
              }
              // Both ends are still consistent: a last normal message goes through.
              const last = run(() => b.conn.send(new TextMessage({ data: 'the end', compress: true })));
              expect(decode(b.peer, last)).to.deep.equal([{ type: 'text', data: 'the end' }]);
            }
            // One encoding per setting used (the plain frame counts as one), none for the others.
            prepared.forEach((p, i) => expect(p.encodings, `message ${i}`).to.equal(routes[i]!.size));
          },
        ),
        { numRuns: fresh ? 200 : 300 },
      );
    }

    it('RFC 6455 5.2 / RFC 7692 7.2.1: from fresh zlib contexts, the very bytes of send() on a twin, the same messages at the peer, one encoding per setting (property)', () => {
      check(true);
    });

    it('with the shared pool as it comes: the same messages at the peer, compressed exactly when send() compresses, uncompressed frames byte for byte, one encoding per setting (property)', () => {
      check(false);
    });
  });

  describe('RFC vectors', () => {
    // Fresh zlib contexts: one reset in the shared pool may find other matches (see above).
    beforeEach(drainPool);
    const server = (extensions: PerMessageDeflate[] = []) => new Connection('server', { extensions });
    const deflateServer = (offer: string, options: PerMessageDeflateOptions = {}) => {
      const ext = new PerMessageDeflate(options);
      expect(ext.accept(params(offer))).to.not.equal(null);
      return ext;
    };

    it('RFC 6455 5.7: a single-frame unmasked text message "Hello" (server without extensions)', () => {
      expect(server().sendPrepared(new PreparedMessage('Hello')).toString('hex')).to.equal('810548656c6c6f');
    });

    it('RFC 6455 5.7: 256 bytes binary in a single unmasked frame (16-bit length)', () => {
      const data = Buffer.alloc(256, 0xab);
      const wire = server().sendPrepared(new PreparedMessage(data));
      expect(wire.subarray(0, 4).toString('hex')).to.equal('827e0100');
      expect(wire.subarray(4).equals(data)).to.equal(true);
    });

    it('RFC 6455 5.7: 64 KiB binary in a single unmasked frame (64-bit length)', () => {
      const data = Buffer.alloc(65536, 0xcd);
      const wire = server().sendPrepared(new PreparedMessage(data));
      expect(wire.subarray(0, 10).toString('hex')).to.equal('827f0000000000010000');
      expect(wire.length).to.equal(10 + 65536);
    });

    it('RFC 6455 5.2: a string with binary: true goes as opcode 0x2 with its UTF-8', () => {
      const message = new PreparedMessage('héllo', { binary: true });
      expect([message.binary, Buffer.isBuffer(message.data)]).to.deep.equal([true, true]);
      expect(server().sendPrepared(message).toString('hex')).to.equal('8206' + Buffer.from('héllo').toString('hex'));
    });

    it('RFC 7692 7.2.3.1: "Hello" compressed alone (server_no_context_takeover), the same on every message', () => {
      const conn = server([deflateServer('server_no_context_takeover', { threshold: 0 })]);
      const message = new PreparedMessage('Hello');
      expect(conn.sendPrepared(message).toString('hex')).to.equal('c107f248cdc9c90700');
      expect(conn.sendPrepared(message).toString('hex')).to.equal('c107f248cdc9c90700');
      expect(message.encodings).to.equal(1);
    });

    it('RFC 7692 7.2.3.2: with context takeover the second "Hello" uses the connection\'s context (not the cache)', () => {
      const conn = server([deflateServer('', { threshold: 0 })]);
      const message = new PreparedMessage('Hello');
      expect(conn.sendPrepared(message).toString('hex')).to.equal('c107f248cdc9c90700');
      expect(conn.sendPrepared(message).toString('hex')).to.equal('c105f200110000');
      expect(message.encodings, 'nothing cached for a connection with its own context').to.equal(0);
    });

    it('RFC 7692 7.2.3.6: an empty message compressed alone is c1 01 00', () => {
      const conn = server([deflateServer('server_no_context_takeover')]);
      expect(conn.sendPrepared(new PreparedMessage('', { compress: true })).toString('hex')).to.equal('c10100');
    });

    it('RFC 7692 7.2.1 / threshold: below it, or with compress: false, the plain frame (RSV1 clear)', () => {
      const conn = server([deflateServer('server_no_context_takeover')]);
      expect(conn.sendPrepared(new PreparedMessage('Hello')).toString('hex')).to.equal('810548656c6c6f');
      const big = 'x'.repeat(2000);
      const wire = conn.sendPrepared(new PreparedMessage(big, { compress: false }));
      expect(wire[0]).to.equal(0x81);
      expect(wire.subarray(4).toString()).to.equal(big);
    });

    it('RFC 6455 5.3: a client masks a prepared message like any other (fresh key per frame)', () => {
      let n = 0;
      const keys = [hex('37 fa 21 3d'), hex('01 02 03 04')];
      const conn = new Connection('client', { maskKey: () => keys[n++ % 2]! });
      const message = new PreparedMessage('Hello');
      // RFC 6455 5.7: a single-frame masked text message "Hello".
      expect(conn.sendPrepared(message).toString('hex')).to.equal('818537fa213d7f9f4d5158');
      expect(conn.sendPrepared(message).subarray(2, 6).toString('hex')).to.equal('01020304');
      expect(message.encodings).to.equal(0);
    });
  });

  describe('encoded once', () => {
    beforeEach(drainPool);
    const noContext = (offer: string, options: PerMessageDeflateOptions = {}) => {
      // memory 'high': no window of our own unless an option or the offer sets one.
      const ext = new PerMessageDeflate({ threshold: 0, memory: 'high', ...options });
      expect(ext.accept(params(offer))).to.not.equal(null);
      return new Connection('server', { extensions: [ext] });
    };

    it('two no-context-takeover connections with the same parameters return the very same Buffer', () => {
      const message = new PreparedMessage(Buffer.alloc(5000, 'abc'));
      const first = noContext('server_no_context_takeover').sendPrepared(message);
      const second = noContext('server_no_context_takeover').sendPrepared(message);
      expect(second).to.equal(first); // the same object, not only equal bytes
      expect(message.encodings).to.equal(1);
      // A server without extensions adds the plain frame, once.
      const plain = new Connection('server').sendPrepared(message);
      expect(new Connection('server').sendPrepared(message)).to.equal(plain);
      expect(message.encodings).to.equal(2);
    });

    it('different window bits make separate encodings (8 and 9 share one: 8 runs as 9)', () => {
      // Repeats 900 bytes apart: out of reach of a 10-bit window (1024 less zlib's 262 lookahead).
      let x = 7;
      const unit = Buffer.from(
        Array.from({ length: 900 }, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24),
      );
      const data = Buffer.concat([unit, unit, unit]);
      const message = new PreparedMessage(data);
      const w15 = noContext('server_no_context_takeover').sendPrepared(message);
      const w10 = noContext('server_no_context_takeover; server_max_window_bits=10').sendPrepared(message);
      const w9 = noContext('server_no_context_takeover; server_max_window_bits=9').sendPrepared(message);
      const w8 = noContext('server_no_context_takeover; server_max_window_bits=8').sendPrepared(message);
      expect(message.encodings).to.equal(3);
      expect(w8).to.equal(w9);
      expect(w15.equals(w10)).to.equal(false);
      // A server that announces its own smaller window unasked, and other levels, are settings too.
      noContext('', { serverNoContextTakeover: true, serverMaxWindowBits: 12 }).sendPrepared(message);
      noContext('server_no_context_takeover', { level: 1 }).sendPrepared(message);
      noContext('server_no_context_takeover', { memLevel: 9 }).sendPrepared(message);
      expect(message.encodings).to.equal(6);
    });

    it('a context-takeover connection leaves the cache alone, decodes right, and its next normal message too', () => {
      const ext = new PerMessageDeflate({ threshold: 0 });
      const response = ext.accept(params('client_max_window_bits'));
      const conn = new Connection('server', { extensions: [ext] });
      const peerExt = new PerMessageDeflate();
      peerExt.finalize(params(response!));
      const peer = new Connection('client', { extensions: [peerExt] });
      const message = new PreparedMessage("a broadcast, compressed with this connection's own context");
      noContext('server_no_context_takeover').sendPrepared(message);
      expect(message.encodings).to.equal(1);
      const events: Merged[] = [];
      for (let round = 0; round < 3; round++) {
        events.push(...decode(peer, conn.sendPrepared(message)));
        events.push(...decode(peer, conn.send(new TextMessage({ data: `normal ${round}` }))));
      }
      expect(message.encodings, 'unchanged').to.equal(1);
      expect(events).to.deep.equal(
        [0, 1, 2].flatMap((round) => [
          { type: 'text', data: message.data },
          { type: 'text', data: `normal ${round}` },
        ]),
      );
    });
  });

  describe('misuse', () => {
    it('inside a fragmented message: ERR_INVALID_STATE, and the message can still be finished', () => {
      for (const first of [
        new TextMessage({ data: 'part', messageFinished: false }),
        new BytesMessage({ data: Buffer.from('part'), messageFinished: false }),
      ]) {
        const conn = new Connection('server');
        const start = conn.send(first);
        expectLocal(() => conn.sendPrepared(new PreparedMessage('x')), 'ERR_INVALID_STATE', /inside another message/);
        expectLocal(() => conn.sendPrepared(new PreparedMessage(Buffer.from('x'))), 'ERR_INVALID_STATE');
        const end = conn.send(
          first.type === 'text'
            ? new TextMessage({ data: '!', messageFinished: true })
            : new BytesMessage({ data: Buffer.from('!'), messageFinished: true }),
        );
        const peer = new Connection('client');
        const got = decode(peer, Buffer.concat([start, end]));
        expect(got).to.have.length(1);
        expect(conn.sendPrepared(new PreparedMessage('after')).toString('hex')).to.equal('8105' + '6166746572');
      }
    });

    it('in every closing state it throws as send() does (ERR_INVALID_STATE), and changes nothing', () => {
      const states: Array<[string, () => Connection]> = [
        ['LOCAL_CLOSING', () => withClose(new Connection('server'), 'local')],
        ['REMOTE_CLOSING', () => withClose(new Connection('server'), 'remote')],
        ['CLOSED', () => withClose(withClose(new Connection('server'), 'remote'), 'local')],
      ];
      for (const [state, make] of states) {
        const conn = make();
        expect(conn.state).to.equal(state);
        let sendError: unknown;
        try {
          conn.send(new TextMessage({ data: 'x' }));
        } catch (error) {
          sendError = error;
        }
        expect(sendError).to.be.instanceOf(LocalProtocolError);
        for (const message of [new PreparedMessage('x'), new PreparedMessage(Buffer.from('x'))]) {
          expectLocal(() => conn.sendPrepared(message), (sendError as LocalProtocolError).code, /in state/);
          expect(message.encodings).to.equal(0);
        }
        expect(conn.state).to.equal(state);
      }
    });

    it('data that is neither a string nor bytes: ERR_INVALID_EVENT', () => {
      for (const bad of [42, null, undefined, {}, new ArrayBuffer(4), [1, 2]]) {
        expectLocal(() => new PreparedMessage(bad as unknown as string), 'ERR_INVALID_EVENT');
      }
    });

    it('a Uint8Array view is sent as exactly its bytes (offset and length respected)', () => {
      const backing = Buffer.from('xxHELLOyy');
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 2, 5);
      const message = new PreparedMessage(view);
      expect(message.payload.toString()).to.equal('HELLO');
      expect(new Connection('server').sendPrepared(message).toString('hex')).to.equal('8205' + '48454c4c4f');
    });
  });

  describe('WebSocketDuplex.send(prepared)', () => {
    it('one prepared message to ws and to our clients, with and without permessage-deflate: all receive it; one encoding per setting', async () => {
      const streams: WebSocketDuplex[] = [];
      const server = http.createServer();
      server.on('upgrade', (req, socket, head) => {
        streams.push(
          handleUpgrade(req, socket, head, { perMessageDeflate: { serverNoContextTakeover: true, threshold: 0 } }),
        );
      });
      const srv = await listen(server);
      try {
        const url = `ws://127.0.0.1:${srv.port}/`;
        const wsDeflate = new WebSocket(url, { perMessageDeflate: true });
        const wsPlain = new WebSocket(url, { perMessageDeflate: false });
        const opened = Promise.all([once(wsDeflate, 'open'), once(wsPlain, 'open')]);
        const ours = await Promise.all([connect(url, { perMessageDeflate: true }), connect(url)]);
        await opened;
        await until(() => streams.length === 4 && streams.every((s) => s.readyState === 1));
        const received: Array<Promise<unknown[]>> = [
          once(wsDeflate, 'message'),
          once(wsPlain, 'message'),
          ...ours.map((c) => once(c, 'message')),
        ];
        const message = new PreparedMessage('to everyone: ' + 'é'.repeat(3000));
        for (const s of streams) expect(s.send(message, { binary: true, compress: false })).to.be.a('boolean');
        const got = await Promise.all(received);
        expect(got.map(([data]) => String(data))).to.deep.equal(Array(4).fill(message.data));
        expect(got.map(([, isBinary]) => isBinary)).to.deep.equal([false, false, false, false]);
        expect(message.encodings, 'one compressed (15 bits, no context takeover) and one plain').to.equal(2);
        for (const c of [wsDeflate, wsPlain]) c.close();
        for (const c of ours) c.close();
        await Promise.all([...ours.map((c) => once(c, 'close')), once(wsDeflate, 'close'), once(wsPlain, 'close')]);
      } finally {
        await srv.close();
      }
    });

    it('a client stream sends a prepared message masked; after close the callback gets ERR_INVALID_STATE', async () => {
      const server = http.createServer();
      const got: string[] = [];
      server.on('upgrade', (req, socket, head) => {
        handleUpgrade(req, socket, head).on('message', (data) => got.push(String(data)));
      });
      const srv = await listen(server);
      try {
        const client = await connect(`ws://127.0.0.1:${srv.port}/`);
        const message = new PreparedMessage('from a client');
        client.send(message);
        client.send(message);
        await until(() => got.length === 2);
        expect(got).to.deep.equal(['from a client', 'from a client']);
        expect(message.encodings).to.equal(0);
        client.close();
        const error = await new Promise<Error | null | undefined>((resolve) => client.send(message, {}, resolve));
        expect(error).to.be.instanceOf(LocalProtocolError);
        expect((error as LocalProtocolError).code).to.equal('ERR_INVALID_STATE');
        await once(client, 'close');
      } finally {
        await srv.close();
      }
    });
  });
});

/** Move `conn` through a close: ours ('local') or the peer's ('remote'). */
function withClose(conn: Connection, side: 'local' | 'remote'): Connection {
  if (side === 'local') conn.send(new CloseConnection({ code: 1000 }));
  else {
    conn.receiveData(hex('88 82 00 00 00 00 03 e8'));
    const events: ConnectionEvent[] = [...conn.events()];
    expect(events.map((e) => e.type)).to.deep.equal(['close']);
  }
  return conn;
}
