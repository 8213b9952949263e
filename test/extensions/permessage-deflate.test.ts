/**
 * permessage-deflate on the wire (RFC 7692 sections 6 and 7.2) through real
 * `Connection`s: the RFC's own examples, context takeover, fragmentation, RSV1 rules,
 * corrupt data, size limits, round trips, for each inflate backend.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  BytesMessage,
  CloseConnection,
  Connection,
  Ping,
  TextMessage,
  type ConnectionEvent,
  type ConnectionOptions,
} from '../../lib/index';
import {
  PerMessageDeflate,
  type InflateBackendName,
  type PerMessageDeflateOptions,
} from '../../lib/extensions/permessage-deflate';
import { drainPool, pooledContexts } from '../../lib/extensions/zlib-backend';
import { KEY, chunkings, feed, frame, hex, masked, merge, type Merged } from '../helpers/bytes';
import { requirePeer } from '../helpers/peers';
import { params } from '../helpers/extension-params';

type Role = 'client' | 'server';

/** A client extension the server answered with `response`. */
function clientExt(
  backend: InflateBackendName,
  response = '',
  options: PerMessageDeflateOptions = {},
): PerMessageDeflate {
  const ext = new PerMessageDeflate({ ...options, inflateBackend: backend });
  ext.finalize(params(response));
  return ext;
}

/** A server extension that accepted `offer`. */
function serverExt(backend: InflateBackendName, offer = '', options: PerMessageDeflateOptions = {}): PerMessageDeflate {
  const ext = new PerMessageDeflate({ ...options, inflateBackend: backend });
  expect(ext.accept(params(offer))).to.not.equal(null);
  return ext;
}

/**
 * Decode `data` under every chunking, each with a fresh extension; all must agree on
 * the whole messages and the close code. (Before a failure, how much of the broken
 * message was delivered depends on the chunking, so unfinished messages and close
 * reasons are left out.)
 */
function replay(role: Role, makeExt: () => PerMessageDeflate, data: Buffer, limits: ConnectionOptions = {}): Merged[] {
  const outcome = (chunks: Buffer[]): Merged[] =>
    merge(feed(chunks, role, { ...limits, extensions: [makeExt()] }).events, false).filter(
      (m) => m.type !== 'text-partial' && m.type !== 'bytes-partial',
    );
  const cases = chunkings(data, 10);
  const first = outcome(cases[0]!);
  for (const chunks of cases.slice(1)) {
    expect(outcome(chunks), `chunks ${chunks.map((c) => c.length).join(',')}`).to.deep.equal(first);
  }
  return first;
}

function text(data: string): Merged {
  return { type: 'text', data };
}

function close(code: number): Merged {
  return { type: 'close', code, reason: '' };
}

/** Frames of a server's output (unmasked), split apart: [first byte, payload]. */
function frames(wire: Buffer): Array<{ head: number; payload: Buffer }> {
  const out: Array<{ head: number; payload: Buffer }> = [];
  let i = 0;
  while (i < wire.length) {
    const head = wire[i]!;
    let length = wire[i + 1]! & 0x7f;
    let offset = i + 2;
    if (length === 126) {
      length = wire.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      length = Number(wire.readBigUInt64BE(offset));
      offset += 8;
    }
    out.push({ head, payload: wire.subarray(offset, offset + length) });
    i = offset + length;
  }
  return out;
}

const fixedKey = (): Uint8Array => KEY;

// RFC 7692 7.2.3: the examples, as frames from a server (unmasked).
const HELLO = 'c1 07 f2 48 cd c9 c9 07 00'; // 7.2.3.1
const HELLO_FRAGMENTED = '41 03 f2 48 cd  80 04 c9 c9 07 00'; // 7.2.3.1
const HELLO_TAKEOVER = 'c1 05 f2 00 11 00 00'; // 7.2.3.2, the second message
const HELLO_STORED = 'c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00'; // 7.2.3.3
const HELLO_BFINAL = 'c1 08 f3 48 cd c9 c9 07 00 00'; // 7.2.3.4
const HELLO_TWO_BLOCKS = 'c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00'; // 7.2.3.5
const EMPTY_MESSAGE = 'c1 01 00'; // 7.2.3.6
// 7.2.3.6: the data ran out after a flushed frame, so the last fragment is 0x00 alone.
const EMPTY_LAST_FRAGMENT = '41 0b f2 48 cd c9 c9 07 00 00 00 ff ff  80 01 00';

const BACKENDS: InflateBackendName[] = ['node:zlib', 'zlib-sync'];

for (const backend of BACKENDS) {
  describe(`permessage-deflate data (RFC 7692 7.2), inflating with ${backend}`, function () {
    before(function () {
      if (backend === 'zlib-sync') {
        requirePeer(
          this as unknown as Mocha.Context,
          PerMessageDeflate.zlibSyncAvailable,
          'zlib-sync',
          'npm install zlib-sync',
        );
      }
    });

    const client =
      (response = '', options: PerMessageDeflateOptions = {}) =>
      () =>
        clientExt(backend, response, options);
    const server =
      (offer = '', options: PerMessageDeflateOptions = {}) =>
      () =>
        serverExt(backend, offer, options);

    describe('the RFC 7692 7.2.3 examples, decoded by a client at every chunking', () => {
      const examples: Array<[string, string, Merged[]]> = [
        ['7.2.3.1 "Hello" in one compressed block', HELLO, [text('Hello')]],
        ['7.2.3.1 "Hello" in two fragments', HELLO_FRAGMENTED, [text('Hello')]],
        ['7.2.3.2 two messages sharing the LZ77 window', `${HELLO} ${HELLO_TAKEOVER}`, [text('Hello'), text('Hello')]],
        ['7.2.3.3 a block with no compression', HELLO_STORED, [text('Hello')]],
        ['7.2.3.4 a block with BFINAL set', HELLO_BFINAL, [text('Hello')]],
        ['7.2.3.5 two DEFLATE blocks in one message', HELLO_TWO_BLOCKS, [text('Hello')]],
        ['7.2.3.6 an empty message', EMPTY_MESSAGE, [text('')]],
        ['7.2.3.6 an empty last fragment', EMPTY_LAST_FRAGMENT, [text('Hello')]],
        [
          'all of them in a row, one connection',
          [
            HELLO,
            HELLO_TAKEOVER,
            HELLO_STORED,
            HELLO_TWO_BLOCKS,
            HELLO_FRAGMENTED,
            EMPTY_MESSAGE,
            HELLO_BFINAL,
            HELLO,
          ].join(' '),
          [...Array(5).fill(text('Hello')), text(''), text('Hello'), text('Hello')],
        ],
        [
          'an empty compressed payload (7.2.3.6 asks for 0x00) leaves the window usable',
          `c1 00 ${HELLO} ${HELLO_TAKEOVER}`,
          [text(''), text('Hello'), text('Hello')],
        ],
        [
          'a sender that kept the 00 00 ff ff of 7.2.1: no second tail',
          `c1 0b f2 48 cd c9 c9 07 00 00 00 ff ff ${HELLO_TAKEOVER}`,
          [text('Hello'), text('Hello')],
        ],
        [
          'an empty last fragment after a flushed one: no tail',
          `41 0b f2 48 cd c9 c9 07 00 00 00 ff ff 80 00 ${HELLO_TAKEOVER}`,
          [text('Hello'), text('Hello')],
        ],
        [
          'an uncompressed message (RSV1 clear) between compressed ones',
          `${HELLO} 81 02 68 69 ${HELLO_TAKEOVER}`,
          [text('Hello'), text('hi'), text('Hello')],
        ],
        [
          'a ping between compressed fragments',
          '41 03 f2 48 cd 89 01 70 80 04 c9 c9 07 00',
          [{ type: 'ping', payload: '70' }, text('Hello')],
        ],
      ];
      for (const [title, vector, expected] of examples) {
        it(title, () => {
          expect(replay('client', client(), hex(vector))).to.deep.equal(expected);
        });
      }

      it('7.2.3.4: the stream ends at BFINAL, so the next message starts a fresh window', () => {
        // 7.2.3.2's second message refers back to the first one: after a BFINAL block
        // there is nothing to refer to.
        expect(replay('client', client(), hex(`${HELLO_BFINAL} ${HELLO_TAKEOVER}`))).to.deep.equal([
          text('Hello'),
          close(1007),
        ]);
      });
    });

    describe('the same examples, masked, decoded by a server', () => {
      const compressed = (payload: string, fin = true, opcode = 0x1) =>
        masked({ fin, rsv: opcode === 0 ? 0 : 0x40, opcode, payload: hex(payload) });
      it('7.2.3.1 "Hello", whole and fragmented', () => {
        const data = Buffer.concat([
          compressed('f2 48 cd c9 c9 07 00'),
          compressed('f2 48 cd', false),
          compressed('c9 c9 07 00', true, 0),
        ]);
        expect(replay('server', server(), data)).to.deep.equal([text('Hello'), text('Hello')]);
      });
      it('7.2.3.2 context takeover from the client', () => {
        const data = Buffer.concat([compressed('f2 48 cd c9 c9 07 00'), compressed('f2 00 11 00 00')]);
        expect(replay('server', server(), data)).to.deep.equal([text('Hello'), text('Hello')]);
      });
      it('7.2.3.3 to 7.2.3.6', () => {
        const data = Buffer.concat(
          [
            '00 05 00 fa ff 48 65 6c 6c 6f 00',
            'f2 48 05 00 00 00 ff ff ca c9 c9 07 00',
            '00',
            'f3 48 cd c9 c9 07 00 00',
          ].map((p) => compressed(p)),
        );
        expect(replay('server', server(), data)).to.deep.equal([text('Hello'), text('Hello'), text(''), text('Hello')]);
      });
      it('a binary message', () => {
        const data = masked({ rsv: 0x40, opcode: 0x2, payload: hex('f2 48 cd c9 c9 07 00') });
        expect(replay('server', server(), data)).to.deep.equal([{ type: 'bytes', data: '48656c6c6f' }]);
      });
    });

    describe('RSV1 rules (RFC 7692 6)', () => {
      const cases: Array<[string, Role, Buffer]> = [
        ['client receives RSV1 on a ping', 'client', frame({ rsv: 0x40, opcode: 0x9, payload: 'x' })],
        ['client receives RSV1 on a pong', 'client', frame({ rsv: 0x40, opcode: 0xa })],
        ['client receives RSV1 on a close', 'client', frame({ rsv: 0x40, opcode: 0x8, payload: hex('03 e8') })],
        ['server receives RSV1 on a ping', 'server', masked({ rsv: 0x40, opcode: 0x9 })],
        [
          'client receives RSV1 on a continuation of a compressed message',
          'client',
          hex('41 03 f2 48 cd  c0 04 c9 c9 07 00'),
        ],
        [
          'client receives RSV1 on a continuation of an uncompressed message',
          'client',
          Buffer.concat([
            frame({ fin: false, opcode: 0x1, payload: 'He' }),
            frame({ rsv: 0x40, opcode: 0x0, payload: hex('f2 00') }),
          ]),
        ],
        [
          'server receives RSV1 on a continuation',
          'server',
          Buffer.concat([
            masked({ fin: false, opcode: 0x1, payload: 'a' }),
            masked({ rsv: 0x40, opcode: 0x0, payload: 'b' }),
          ]),
        ],
        ['client receives RSV2 (not ours)', 'client', frame({ rsv: 0x20, opcode: 0x1, payload: 'a' })],
      ];
      for (const [title, role, data] of cases) {
        it(`${title}: close 1002`, () => {
          const make = role === 'client' ? client() : server();
          const result = replay(role, make, data);
          expect(result.at(-1)).to.deep.equal(close(1002));
        });
      }
    });

    describe('corrupt and oversized data', () => {
      it('client receives an invalid block type: close 1007', () => {
        expect(replay('client', client(), hex('c1 01 ff'))).to.deep.equal([close(1007)]);
      });
      it('client receives a reference before the start of the window: close 1007', () => {
        expect(replay('client', client(), hex(HELLO_TAKEOVER))).to.deep.equal([close(1007)]);
      });
      it('server receives garbage after a good message: the good one is delivered, then 1007', () => {
        const data = Buffer.concat([
          masked({ rsv: 0x40, opcode: 1, payload: hex('f2 48 cd c9 c9 07 00') }),
          masked({ rsv: 0x40, opcode: 1, payload: hex('07 ff ee dd cc') }),
        ]);
        expect(replay('server', server(), data)).to.deep.equal([text('Hello'), close(1007)]);
      });
      it('client receives invalid UTF-8 inside a compressed text message: close 1007', () => {
        const sender = new Connection('server', { extensions: [serverExt(backend, '', { threshold: 0 })] });
        const wire = sender.send(new BytesMessage({ data: hex('48 ff 48') }));
        wire[0] = (wire[0]! & 0xf0) | 0x1; // turn the binary frame into a text frame
        expect(replay('client', client(), wire)).to.deep.equal([close(1007)]);
      });
      it('a compressed message over maxMessageSize once inflated: close 1009', () => {
        const sender = new Connection('server', { extensions: [serverExt(backend)] });
        const wire = sender.send(new TextMessage({ data: 'a'.repeat(5000) }));
        expect(wire.length).to.be.below(100);
        expect(replay('client', client(), wire, { maxMessageSize: 4999 })).to.deep.equal([close(1009)]);
        expect(replay('client', client(), wire, { maxMessageSize: 5000 })).to.deep.equal([text('a'.repeat(5000))]);
      });
      it('a compressed fragmented message over maxMessageSize: close 1009 at the fragment that crosses it', () => {
        const sender = new Connection('server', { extensions: [serverExt(backend)] });
        const wire = Buffer.concat([
          sender.send(new TextMessage({ data: 'b'.repeat(3000), messageFinished: false })),
          sender.send(new TextMessage({ data: 'b'.repeat(3000) })),
        ]);
        const { events } = feed([wire], 'client', { extensions: [clientExt(backend)], maxMessageSize: 4000 });
        expect(events[0]).to.be.instanceOf(TextMessage);
        expect((events[0] as TextMessage).data).to.equal('b'.repeat(3000));
        const last = events.at(-1);
        expect(last).to.be.instanceOf(CloseConnection);
        expect((last as CloseConnection).code).to.equal(1009);
      });
    });

    describe('context takeover (RFC 7692 7.1.1)', () => {
      const json = JSON.stringify(
        Array.from({ length: 40 }, (_, i) => ({ id: i, name: `user-${i}`, active: i % 2 === 0, score: i * 37 })),
      );

      it('server: the second identical message compresses much smaller', () => {
        const conn = new Connection('server', { extensions: [serverExt(backend)] });
        const first = conn.send(new TextMessage({ data: json }));
        const second = conn.send(new TextMessage({ data: json }));
        expect(first[0]).to.equal(0xc1);
        expect(second.length).to.be.below(first.length / 4);
        expect(replay('client', client(), Buffer.concat([first, second]))).to.deep.equal([text(json), text(json)]);
      });

      it('server with server_no_context_takeover: every message compresses alike', () => {
        const conn = new Connection('server', { extensions: [serverExt(backend, 'server_no_context_takeover')] });
        const first = conn.send(new TextMessage({ data: json }));
        const second = conn.send(new TextMessage({ data: json }));
        expect(second).to.deep.equal(first);
        expect(first.length).to.be.below(json.length);
        const decode = client('server_no_context_takeover');
        expect(replay('client', decode, Buffer.concat([first, second]))).to.deep.equal([text(json), text(json)]);
      });

      it('client with client_no_context_takeover: every message compresses alike', () => {
        const conn = new Connection('client', {
          extensions: [clientExt(backend, 'client_no_context_takeover')],
          maskKey: fixedKey,
        });
        const first = conn.send(new TextMessage({ data: json }));
        const second = conn.send(new TextMessage({ data: json }));
        expect(second).to.deep.equal(first);
        const decode = server('client_no_context_takeover');
        expect(replay('server', decode, Buffer.concat([first, second]))).to.deep.equal([text(json), text(json)]);
      });

      it('client: context takeover across many messages, decoded by a server', () => {
        const conn = new Connection('client', { extensions: [clientExt(backend)], maskKey: fixedKey });
        const wire = Buffer.concat(Array.from({ length: 5 }, (_, i) => conn.send(new TextMessage({ data: json + i }))));
        expect(wire.length).to.be.below(json.length);
        const result = feed([wire], 'server', { extensions: [serverExt(backend)] });
        expect(merge(result.events)).to.deep.equal(Array.from({ length: 5 }, (_, i) => text(json + i)));
      });

      it('client with server_no_context_takeover resets its inflater (zlib-sync too: such peers are inflated with node:zlib): 7.2.3.2 then fails with 1007', () => {
        const result = replay('client', client('server_no_context_takeover'), hex(`${HELLO} ${HELLO_TAKEOVER}`));
        expect(result).to.deep.equal([text('Hello'), close(1007)]);
      });
    });

    describe('streaming', () => {
      it('a compressed frame is delivered as it arrives, not at its end', () => {
        const sender = new Connection('server', { extensions: [serverExt(backend)] });
        const big = Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join('');
        const wire = sender.send(new TextMessage({ data: big }));
        const receiver = new Connection('client', { extensions: [clientExt(backend)] });
        receiver.receiveData(wire.subarray(0, wire.length >> 1));
        const partial = [...receiver.events()];
        expect(partial.length).to.be.greaterThan(0);
        const got = partial.map((e) => (e as TextMessage).data).join('');
        expect(got.length).to.be.greaterThan(big.length / 4);
        expect(big.startsWith(got)).to.equal(true);
        expect(partial.every((e) => e instanceof TextMessage && !e.messageFinished)).to.equal(true);
        receiver.receiveData(wire.subarray(wire.length >> 1));
        const rest = [...receiver.events()].map((e) => (e as TextMessage).data).join('');
        expect(got + rest).to.equal(big);
      });

      it('fragments of a compressed message are delivered one by one', () => {
        const sender = new Connection('client', { extensions: [clientExt(backend)], maskKey: fixedKey });
        const parts = ['first part, ', 'second part, ', 'third part'];
        const wires = parts.map((data, i) =>
          sender.send(new TextMessage({ data, messageFinished: i === parts.length - 1 })),
        );
        const receiver = new Connection('server', { extensions: [serverExt(backend)] });
        const seen: string[] = [];
        for (const wire of wires) {
          receiver.receiveData(wire);
          seen.push([...receiver.events()].map((e) => (e as TextMessage).data).join(''));
        }
        expect(seen).to.deep.equal(parts);
      });
    });

    describe('round trips', () => {
      it('every parameter combination, random messages both ways (fast-check)', () => {
        const messageArb = fc.record({
          binary: fc.boolean(),
          fragments: fc.array(
            fc.oneof(
              fc.string({ unit: 'binary', maxLength: 300 }),
              fc
                .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3000 }))
                .map(([s, n]) => s.repeat(n)),
            ),
            { minLength: 1, maxLength: 3 },
          ),
          compress: fc.constantFrom(true, false, undefined),
        });
        let combinations = 0;
        for (const [offerOptions, serverOptions] of combinationsToTry()) {
          fc.assert(
            fc.property(fc.array(messageArb, { minLength: 1, maxLength: 6 }), (messages) => {
              const { client: c, server: s } = pair(backend, offerOptions, serverOptions);
              const clientConn = new Connection('client', { extensions: [c], maskKey: fixedKey });
              const serverConn = new Connection('server', { extensions: [s] });
              for (const [from, to] of [
                [clientConn, serverConn],
                [serverConn, clientConn],
              ] as const) {
                const expected: Merged[] = [];
                const wire: Buffer[] = [];
                for (const m of messages) {
                  m.fragments.forEach((piece, i) => {
                    const init = {
                      messageFinished: i === m.fragments.length - 1,
                      ...(m.compress === undefined ? {} : { compress: m.compress }),
                    };
                    wire.push(
                      from.send(
                        m.binary
                          ? new BytesMessage({ data: Buffer.from(piece), ...init })
                          : new TextMessage({ data: piece, ...init }),
                      ),
                    );
                  });
                  const whole = m.fragments.join('');
                  expected.push(m.binary ? { type: 'bytes', data: Buffer.from(whole).toString('hex') } : text(whole));
                }
                const bytes = Buffer.concat(wire);
                const events: ConnectionEvent[] = [];
                // Two pieces at a random-ish point, to cross frame boundaries.
                const cut = bytes.length > 0 ? (messages.length * 7919) % bytes.length : 0;
                for (const piece of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
                  to.receiveData(piece);
                  events.push(...to.events());
                }
                expect(merge(events)).to.deep.equal(expected);
              }
            }),
            { numRuns: 6, seed: 7692 + combinations },
          );
          combinations++;
        }
        expect(combinations).to.equal(combinationsToTry().length);
      });
    });
  });
}

/** Client options (making the offer) and server options to negotiate in round trips. */
function combinationsToTry(): Array<[PerMessageDeflateOptions | string, PerMessageDeflateOptions]> {
  const out: Array<[PerMessageDeflateOptions | string, PerMessageDeflateOptions]> = [];
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [undefined, 9, 12]) {
        for (const clientMaxWindowBits of [true, false, 9]) {
          const options: PerMessageDeflateOptions = {
            serverNoContextTakeover,
            clientNoContextTakeover,
            clientMaxWindowBits,
            threshold: 16,
          };
          if (serverMaxWindowBits !== undefined) options.serverMaxWindowBits = serverMaxWindowBits;
          out.push([options, { threshold: 16 }]);
        }
      }
    }
  }
  // The server's own limits, and 8-bit windows both ways (zlib runs them as 9).
  out.push([
    { threshold: 0 },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 10, serverNoContextTakeover: true, threshold: 0 },
  ]);
  out.push([{ threshold: 0 }, { clientNoContextTakeover: true, memLevel: 1, level: 1, threshold: 0 }]);
  out.push(['server_max_window_bits=8; client_max_window_bits=8', { threshold: 0 }]);
  return out;
}

/** Negotiate a client/server pair: client options make the offer, or a raw offer string. */
function pair(
  backend: InflateBackendName,
  offer: PerMessageDeflateOptions | string,
  serverOptions: PerMessageDeflateOptions,
): { client: PerMessageDeflate; server: PerMessageDeflate } {
  const client = new PerMessageDeflate({
    ...(typeof offer === 'string' ? { threshold: 0 } : offer),
    inflateBackend: backend,
  });
  const server = new PerMessageDeflate({ ...serverOptions, inflateBackend: backend });
  const offered = typeof offer === 'string' ? offer : client.offer();
  const response = server.accept(params(offered === true ? '' : offered));
  expect(response).to.not.equal(null);
  client.finalize(params(response === true || response === null ? '' : response));
  return { client, server };
}

describe('permessage-deflate sending (RFC 7692 7.2.1)', () => {
  const server = (offer = '', options: PerMessageDeflateOptions = {}) =>
    new Connection('server', { extensions: [serverExt('node:zlib', offer, options)] });

  it('7.2.3.1 and 7.2.3.2: "Hello" twice, byte for byte, sharing the window', () => {
    const conn = server('', { threshold: 0 });
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex(HELLO));
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex(HELLO_TAKEOVER));
  });

  it('7.2.3.1 from a client: the same payload, masked', () => {
    const conn = new Connection('client', {
      extensions: [clientExt('node:zlib', '', { threshold: 0 })],
      maskKey: fixedKey,
    });
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(
      masked({ rsv: 0x40, opcode: 0x1, payload: hex('f2 48 cd c9 c9 07 00') }),
    );
  });

  it('7.2.3.6: an empty message is the single byte 0x00, fresh or after context', () => {
    const conn = server('', { threshold: 0 });
    expect(conn.send(new TextMessage({ data: '' }))).to.deep.equal(hex(EMPTY_MESSAGE));
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex('c1 07 f2 48 cd c9 c9 07 00'));
    expect(conn.send(new BytesMessage({ data: Buffer.alloc(0) }))).to.deep.equal(hex('c2 01 00'));
  });

  it('7.2.3.6: an empty last fragment is 0x00', () => {
    const conn = server();
    const first = conn.send(new TextMessage({ data: 'Hello', messageFinished: false }));
    const last = conn.send(new TextMessage({ data: '' }));
    expect(Buffer.concat([first, last])).to.deep.equal(hex(EMPTY_LAST_FRAGMENT));
  });

  it('with server_no_context_takeover, "Hello" twice is 7.2.3.1 twice', () => {
    const conn = server('server_no_context_takeover', { threshold: 0 });
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex(HELLO));
    expect(conn.send(new TextMessage({ data: 'Hello' }))).to.deep.equal(hex(HELLO));
  });

  it('a fragmented message: RSV1 on the first frame only, each frame flushed, the tail cut from the last', () => {
    const conn = server();
    const wire = Buffer.concat([
      conn.send(new TextMessage({ data: 'Hel', messageFinished: false })),
      conn.send(new TextMessage({ data: 'lo, ', messageFinished: false })),
      conn.send(new TextMessage({ data: 'world' })),
    ]);
    const parsed = frames(wire);
    expect(parsed.map((f) => f.head)).to.deep.equal([0x41, 0x00, 0x80]);
    expect(parsed[0]!.payload.subarray(-4)).to.deep.equal(hex('00 00 ff ff'));
    expect(parsed[1]!.payload.subarray(-4)).to.deep.equal(hex('00 00 ff ff'));
    expect(parsed[2]!.payload.subarray(-4)).to.not.deep.equal(hex('00 00 ff ff'));
    expect(merge(feed([wire], 'client', { extensions: [clientExt('node:zlib')] }).events)).to.deep.equal([
      text('Hello, world'),
    ]);
  });

  describe('what gets compressed', () => {
    const big = 'x'.repeat(1024);
    const cases: Array<[string, PerMessageDeflateOptions, string, boolean | undefined, boolean]> = [
      ['a message under the default threshold of 1024 bytes', {}, 'Hello', undefined, false],
      ['a message of exactly 1024 bytes', {}, big, undefined, true],
      ['a message of 1023 bytes', {}, big.slice(1), undefined, false],
      ['a small message with compress: true', {}, 'Hello', true, true],
      ['a large message with compress: false', {}, big + big, false, false],
      ['anything with threshold 0', { threshold: 0 }, 'a', undefined, true],
      ['a message under a threshold of 10', { threshold: 10 }, 'Hello', undefined, false],
    ];
    for (const [title, options, data, compress, compressed] of cases) {
      it(`${compressed ? 'compresses' : 'does not compress'} ${title}`, () => {
        const conn = server('', options);
        const init = compress === undefined ? { data } : { data, compress };
        const wire = conn.send(new TextMessage(init));
        expect(wire[0]).to.equal(compressed ? 0xc1 : 0x81);
        if (!compressed) expect(wire.subarray(-data.length).toString()).to.equal(data);
        const decoded = merge(feed([wire], 'client', { extensions: [clientExt('node:zlib')] }).events);
        expect(decoded).to.deep.equal([text(data)]);
      });
    }

    it('decides at the first frame of a fragmented message: small first fragment, compressed throughout', () => {
      const conn = server();
      const wire = Buffer.concat([
        conn.send(new TextMessage({ data: 'a', messageFinished: false })),
        conn.send(new TextMessage({ data: 'b' })),
      ]);
      expect(frames(wire).map((f) => f.head)).to.deep.equal([0x41, 0x80]);
      expect(merge(feed([wire], 'client', { extensions: [clientExt('node:zlib')] }).events)).to.deep.equal([
        text('ab'),
      ]);
    });

    it('decides at the first frame of a fragmented message: compress false holds for every fragment', () => {
      const conn = server('', { threshold: 0 });
      const wire = Buffer.concat([
        conn.send(new TextMessage({ data: big, messageFinished: false, compress: false })),
        conn.send(new TextMessage({ data: big })),
      ]);
      const parsed = frames(wire);
      expect(parsed.map((f) => f.head)).to.deep.equal([0x01, 0x80]);
      expect(parsed[1]!.payload.toString()).to.equal(big);
    });

    it('leaves control frames alone', () => {
      const conn = server('', { threshold: 0 });
      expect(conn.send(new Ping({ payload: Buffer.from('abc') }))).to.deep.equal(hex('89 03 61 62 63'));
      expect(conn.send(new CloseConnection({ code: 1000, reason: 'bye' }))).to.deep.equal(hex('88 05 03 e8 62 79 65'));
    });
  });

  describe('releasing zlib contexts', () => {
    it('no_context_takeover: contexts go back to the shared pool after each message', () => {
      drainPool();
      const offer = 'server_no_context_takeover; client_no_context_takeover';
      const serverConn = new Connection('server', { extensions: [serverExt('node:zlib', offer, { threshold: 0 })] });
      const clientConn = new Connection('client', { extensions: [clientExt('node:zlib', offer, { threshold: 0 })] });
      serverConn.receiveData(clientConn.send(new TextMessage({ data: 'ping?' })));
      expect(merge([...serverConn.events()])).to.deep.equal([text('ping?')]);
      // The client's deflater and the server's inflater are parked, not held.
      expect(pooledContexts()).to.deep.equal({ deflate: 1, inflate: 1 });
      clientConn.receiveData(serverConn.send(new TextMessage({ data: 'pong!' })));
      expect(merge([...clientConn.events()])).to.deep.equal([text('pong!')]);
      expect(pooledContexts()).to.deep.equal({ deflate: 1, inflate: 1 });
      drainPool();
      expect(pooledContexts()).to.deep.equal({ deflate: 0, inflate: 0 });
    });

    it('context takeover: contexts stay with the connection until it closes', () => {
      drainPool();
      const ext = serverExt('node:zlib', '', { threshold: 0 });
      const serverConn = new Connection('server', { extensions: [ext] });
      const clientConn = new Connection('client', {
        extensions: [clientExt('node:zlib', '', { threshold: 0 })],
        maskKey: fixedKey,
      });
      serverConn.receiveData(clientConn.send(new TextMessage({ data: 'hello' })));
      expect(merge([...serverConn.events()])).to.deep.equal([text('hello')]);
      serverConn.send(new TextMessage({ data: 'hello back' }));
      expect(pooledContexts()).to.deep.equal({ deflate: 0, inflate: 0 });
      serverConn.receiveData(null); // transport EOF: the connection closes and releases
      expect([...serverConn.events()].map((e) => e.type)).to.deep.equal(['close']);
      expect(pooledContexts()).to.deep.equal({ deflate: 1, inflate: 1 });
      drainPool();
    });
  });
});
