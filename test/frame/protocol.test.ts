/**
 * The frame protocol (lib/frame/protocol.ts) through `Connection`: every framing
 * violation has a stable `ERR_*` code. One table, one row per rule and role (server
 * receives masked frames, client receives unmasked ones), each row replayed whole, byte
 * by byte, at every split point and at random splits, with a valid ping as trailing data
 * (RFC 6455 7.1.7: after failing, nothing more is read). Each replay checks the event
 * sequence (partial events merged), the failure's `CloseConnection` (`code`,
 * `errorCode`, reason), `Connection.failure`, and the close reply: queued by the
 * connection with `autoCloseReply`, left to the caller without it.
 *
 * Then the FrameProtocol's own API: option checks, the close serializer, the stopped
 * state.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  Connection,
  LocalProtocolError,
  PerMessageDeflate,
  RemoteProtocolError,
  TextMessage,
  type ConnectionEvent,
  type ConnectionOptions,
  type RemoteErrorCode,
} from '../../lib/index';
import type { Extension } from '../../lib/extensions/extension';
import { randomMaskKey } from '../../lib/frame/mask';
import { FrameProtocol } from '../../lib/frame/protocol';
import { KEY, chunkings, frame, hex, masked, merge, splitAt, type Merged } from '../helpers/bytes';
import { closeBody, readFrames } from '../helpers/read-frame';

type Role = 'client' | 'server';

/** permessage-deflate, negotiated with no parameters, for `role`. */
function deflate(role: Role): PerMessageDeflate {
  const ext = new PerMessageDeflate();
  const bare = { name: 'permessage-deflate', params: [] };
  if (role === 'server') expect(ext.accept(bare)).to.not.equal(null);
  else ext.finalize(bare);
  expect(ext.enabled()).to.equal(true);
  return ext;
}

/** What `role` receives: masked frames for a server, unmasked ones for a client. */
function peerFrame(role: Role, spec: Parameters<typeof frame>[0]): Buffer {
  return role === 'server' ? masked(spec) : frame(spec);
}

/** A frame as the peer of `role` writes it, from raw header bytes and a payload. */
function raw(role: Role, head: string, payload: Buffer = Buffer.alloc(0)): Buffer {
  const bytes = hex(head);
  if (role === 'client') return Buffer.concat([bytes, payload]);
  bytes[1] = bytes[1]! | 0x80;
  const body = Buffer.from(payload.map((b, i) => b ^ KEY[i % 4]!));
  return Buffer.concat([bytes, KEY, body]);
}

/** A message compressed by the peer of `role` (permessage-deflate, no parameters). */
function compressedBy(peerOf: Role, text: string): Buffer {
  const peer: Role = peerOf === 'server' ? 'client' : 'server';
  const sender = new Connection(peer, { extensions: [deflate(peer)], maskKey: () => KEY });
  return sender.send(new TextMessage({ data: text }));
}

interface Row {
  /** The rule, with its RFC section. */
  rule: string;
  role: Role;
  data: Buffer;
  code: RemoteErrorCode;
  closeCode: number;
  /** Fresh options per replay (an extension is stateful). */
  options?: () => ConnectionOptions;
  /** The merged events before the failure's close (reason left out). */
  before?: Merged[];
}

const ROLES: Role[] = ['server', 'client'];
const withDeflate = (role: Role) => (): ConnectionOptions => ({ extensions: [deflate(role)] });

function rows(): Row[] {
  const out: Row[] = [];
  for (const role of ROLES) {
    const f = (spec: Parameters<typeof frame>[0]): Buffer => peerFrame(role, spec);
    const add = (row: Omit<Row, 'role'>): void => {
      out.push({ ...row, role });
    };

    // RFC 6455 5.2: reserved opcodes.
    for (const opcode of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
      add({
        rule: `RFC 6455 5.2 reserved opcode 0x${opcode.toString(16)}`,
        data: f({ opcode, payload: 'x' }),
        code: 'ERR_RESERVED_OPCODE',
        closeCode: 1002,
      });
    }

    // RFC 6455 5.2: RSV bits without an extension that claims them.
    for (const [name, rsv] of [
      ['RSV1', 0x40],
      ['RSV2', 0x20],
      ['RSV3', 0x10],
    ] as const) {
      add({
        rule: `RFC 6455 5.2 ${name} set with no extension negotiated`,
        data: f({ rsv, opcode: 0x1, payload: 'a' }),
        code: 'ERR_RESERVED_BITS',
        closeCode: 1002,
      });
    }
    add({
      rule: 'RFC 6455 5.2 RSV2 set with permessage-deflate negotiated (it claims RSV1 only)',
      data: f({ rsv: 0x20, opcode: 0x1, payload: 'a' }),
      code: 'ERR_RESERVED_BITS',
      closeCode: 1002,
      options: withDeflate(role),
    });
    // RFC 7692 6: RSV1 only on the first frame of a data message.
    add({
      rule: 'RFC 7692 6 RSV1 on a continuation frame under permessage-deflate',
      data: Buffer.concat([f({ fin: false, opcode: 0x1, payload: 'He' }), f({ rsv: 0x40, opcode: 0x0, payload: 'y' })]),
      code: 'ERR_RESERVED_BITS',
      closeCode: 1002,
      options: withDeflate(role),
      before: [{ type: 'text-partial', data: 'He' }],
    });
    for (const [name, opcode, payload] of [
      ['ping', 0x9, 'p'],
      ['pong', 0xa, ''],
      ['close', 0x8, hex('03 e8')],
    ] as const) {
      add({
        rule: `RFC 7692 6 RSV1 on a ${name} (control frame) under permessage-deflate`,
        data: f({ rsv: 0x40, opcode, payload }),
        code: 'ERR_RESERVED_BITS',
        closeCode: 1002,
        options: withDeflate(role),
      });
    }

    // RFC 6455 5.1: clients mask, servers do not.
    if (role === 'server') {
      add({
        rule: 'RFC 6455 5.1 server receives an unmasked frame',
        data: frame({ opcode: 0x1, payload: 'Hello' }),
        code: 'ERR_MASK_EXPECTED',
        closeCode: 1002,
      });
    } else {
      add({
        rule: 'RFC 6455 5.1 client receives a masked frame',
        data: masked({ opcode: 0x1, payload: 'Hello' }),
        code: 'ERR_UNEXPECTED_MASK',
        closeCode: 1002,
      });
    }

    // RFC 6455 5.2: "the minimal number of bytes MUST be used to encode the length".
    for (const n of [0, 5, 125]) {
      add({
        rule: `RFC 6455 5.2 ${n}-byte payload in the 16-bit length form`,
        data: f({ opcode: 0x2, payload: Buffer.alloc(n, 0x61), lengthForm: 16 }),
        code: 'ERR_NON_MINIMAL_LENGTH',
        closeCode: 1002,
      });
    }
    for (const n of [5, 126, 0xffff]) {
      add({
        rule: `RFC 6455 5.2 ${n}-byte payload in the 64-bit length form`,
        data: f({ opcode: 0x2, payload: Buffer.alloc(n, 0x61), lengthForm: 64 }),
        code: 'ERR_NON_MINIMAL_LENGTH',
        closeCode: 1002,
      });
    }
    // RFC 6455 5.2: "the most significant bit MUST be 0".
    add({
      rule: 'RFC 6455 5.2 64-bit length with its top bit set',
      data: raw(role, '82 7f 80 00 00 00 00 00 00 05', hex('01 02 03 04 05')),
      code: 'ERR_LENGTH_TOP_BIT',
      closeCode: 1002,
    });

    // RFC 6455 5.5: control frames are never fragmented and carry at most 125 bytes.
    for (const [name, opcode] of [
      ['ping', 0x9],
      ['pong', 0xa],
      ['close', 0x8],
    ] as const) {
      add({
        rule: `RFC 6455 5.5 fragmented ${name} (FIN clear)`,
        data: f({ fin: false, opcode, payload: name === 'close' ? hex('03 e8') : 'p' }),
        code: 'ERR_CONTROL_FRAGMENTED',
        closeCode: 1002,
      });
    }
    for (const [name, opcode] of [
      ['ping', 0x9],
      ['pong', 0xa],
      ['close', 0x8],
    ] as const) {
      add({
        rule: `RFC 6455 5.5 ${name} with a 126-byte payload`,
        data: f({ opcode, payload: Buffer.concat([hex('03 e8'), Buffer.alloc(124, 0x61)]) }),
        code: 'ERR_CONTROL_TOO_LONG',
        closeCode: 1002,
      });
    }

    // RFC 6455 5.4: fragments of one message, in order, not interleaved with another.
    add({
      rule: 'RFC 6455 5.4 continuation frame with no message started',
      data: f({ opcode: 0x0, payload: 'a' }),
      code: 'ERR_UNEXPECTED_CONTINUATION',
      closeCode: 1002,
    });
    add({
      rule: 'RFC 6455 5.4 continuation frame after a finished message',
      data: Buffer.concat([f({ opcode: 0x1, payload: 'done' }), f({ opcode: 0x0, payload: 'more' })]),
      code: 'ERR_UNEXPECTED_CONTINUATION',
      closeCode: 1002,
      before: [{ type: 'text', data: 'done' }],
    });
    add({
      rule: 'RFC 6455 5.4 new text frame inside a fragmented text message',
      data: Buffer.concat([f({ fin: false, opcode: 0x1, payload: 'a' }), f({ opcode: 0x1, payload: 'b' })]),
      code: 'ERR_EXPECTED_CONTINUATION',
      closeCode: 1002,
      before: [{ type: 'text-partial', data: 'a' }],
    });
    add({
      rule: 'RFC 6455 5.4 new binary frame inside a fragmented text message (after a ping)',
      data: Buffer.concat([
        f({ fin: false, opcode: 0x1, payload: 'a' }),
        f({ opcode: 0x9, payload: 'p' }),
        f({ opcode: 0x2, payload: 'b' }),
      ]),
      code: 'ERR_EXPECTED_CONTINUATION',
      closeCode: 1002,
      before: [
        { type: 'ping', payload: '70' },
        { type: 'text-partial', data: 'a' },
      ],
    });

    // RFC 6455 5.5.1: a close body is empty or starts with a 2-byte code.
    add({
      rule: 'RFC 6455 5.5.1 close frame with a 1-byte body',
      data: f({ opcode: 0x8, payload: hex('03') }),
      code: 'ERR_BAD_CLOSE_FRAME',
      closeCode: 1002,
    });
    // RFC 6455 7.4: codes that may not appear in a close frame.
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code);
      add({
        rule: `RFC 6455 7.4 close frame with code ${code}`,
        data: f({ opcode: 0x8, payload: body }),
        code: 'ERR_BAD_CLOSE_CODE',
        closeCode: 1002,
      });
    }

    // RFC 6455 8.1: text and close reasons are UTF-8.
    for (const [name, bytes] of [
      ['byte ff', 'ff 61'],
      ['bad continuation byte', 'c3 28'],
      ['truncated sequence at the end of the message', 'e2 82'],
      ['surrogate', 'ed a0 80'],
      ['overlong', 'c0 af'],
      ['code point above U+10FFFF', 'f4 90 80 80'],
    ] as const) {
      add({
        rule: `RFC 6455 8.1 text message with invalid UTF-8 (${name})`,
        data: f({ opcode: 0x1, payload: hex(bytes) }),
        code: 'ERR_INVALID_UTF8',
        closeCode: 1007,
      });
    }
    add({
      rule: 'RFC 6455 8.1 fragmented text message, a code point split across frames and broken',
      data: Buffer.concat([
        f({ fin: false, opcode: 0x1, payload: hex('61 e2') }),
        f({ opcode: 0x0, payload: hex('28') }),
      ]),
      code: 'ERR_INVALID_UTF8',
      closeCode: 1007,
      before: [{ type: 'text-partial', data: 'a' }],
    });
    add({
      rule: 'RFC 6455 8.1 fragmented text message ending inside a code point',
      data: Buffer.concat([
        f({ fin: false, opcode: 0x1, payload: hex('61 e2') }),
        f({ opcode: 0x0, payload: hex('82') }),
      ]),
      code: 'ERR_INVALID_UTF8',
      closeCode: 1007,
      before: [{ type: 'text-partial', data: 'a' }],
    });
    add({
      rule: 'RFC 6455 8.1 close reason with invalid UTF-8',
      data: f({ opcode: 0x8, payload: hex('03 e8 6f 6b ff') }),
      code: 'ERR_INVALID_UTF8',
      closeCode: 1007,
    });

    // RFC 7692 6.2 / RFC 6455 7.4.1: data that does not inflate is inconsistent with its type.
    add({
      rule: 'RFC 7692 6.2 RSV1 message whose payload is not DEFLATE data',
      data: f({ rsv: 0x40, opcode: 0x2, payload: hex('ff ff ff ff') }),
      code: 'ERR_BAD_COMPRESSED_DATA',
      closeCode: 1007,
      options: withDeflate(role),
    });

    // Size limits: RFC 6455 10.4 lets an endpoint bound frames and messages; 7.4.1 gives 1009.
    add({
      rule: 'RFC 6455 10.4 frame over maxFrameSize (11 > 10 bytes)',
      data: f({ opcode: 0x2, payload: Buffer.alloc(11, 0x61) }),
      code: 'ERR_FRAME_TOO_BIG',
      closeCode: 1009,
      options: () => ({ maxFrameSize: 10 }),
    });
    add({
      rule: 'RFC 6455 10.4 frame length over 2^53 - 1',
      data: raw(role, '82 7f 00 20 00 00 00 00 00 00'),
      code: 'ERR_FRAME_TOO_BIG',
      closeCode: 1009,
    });
    add({
      rule: 'RFC 6455 10.4 single frame over maxMessageSize (11 > 10 bytes, maxFrameSize 100)',
      data: f({ opcode: 0x2, payload: Buffer.alloc(11, 0x61) }),
      code: 'ERR_MESSAGE_TOO_BIG',
      closeCode: 1009,
      options: () => ({ maxMessageSize: 10, maxFrameSize: 100 }),
    });
    add({
      rule: 'RFC 6455 10.4 fragmented binary message over maxMessageSize (6 + 6 > 10 bytes)',
      data: Buffer.concat([
        f({ fin: false, opcode: 0x2, payload: Buffer.alloc(6, 0x61) }),
        f({ opcode: 0x0, payload: Buffer.alloc(6, 0x62) }),
      ]),
      code: 'ERR_MESSAGE_TOO_BIG',
      closeCode: 1009,
      options: () => ({ maxMessageSize: 10 }),
      before: [{ type: 'bytes-partial', data: '616161616161' }],
    });
    add({
      rule: 'RFC 6455 10.4 fragmented text message over maxMessageSize (6 + 6 > 10 bytes)',
      data: Buffer.concat([f({ fin: false, opcode: 0x1, payload: 'aaaaaa' }), f({ opcode: 0x0, payload: 'bbbbbb' })]),
      code: 'ERR_MESSAGE_TOO_BIG',
      closeCode: 1009,
      options: () => ({ maxMessageSize: 10 }),
      before: [{ type: 'text-partial', data: 'aaaaaa' }],
    });
    add({
      rule: 'RFC 7692 / 6455 10.4 small compressed message inflating past maxMessageSize (5000 > 4999)',
      data: compressedBy(role, 'a'.repeat(5000)),
      code: 'ERR_MESSAGE_TOO_BIG',
      closeCode: 1009,
      options: () => ({ extensions: [deflate(role)], maxMessageSize: 4999 }),
    });
  }
  return out;
}

/** Feed `chunks` (then a valid ping as trailing data) and collect what happened. */
function run(
  row: Row,
  chunks: readonly Buffer[],
  autoCloseReply: boolean,
): { conn: Connection; events: ConnectionEvent[]; sent: Buffer[] } {
  const conn = new Connection(row.role, { ...(row.options?.() ?? {}), autoCloseReply });
  const events: ConnectionEvent[] = [];
  const sent: Buffer[] = [];
  const trailing = peerFrame(row.role, { opcode: 0x9, payload: 'after' });
  for (const chunk of [...chunks, trailing]) {
    if (conn.state === 'CLOSED') break;
    // receiveData owns its input (a server unmasks in place): pass a copy.
    conn.receiveData(Buffer.from(chunk));
    for (const event of conn.events()) events.push(event);
    sent.push(...conn.dataToSend());
  }
  return { conn, events, sent };
}

/** Drop message pieces that the compressed rows deliver in chunk-dependent amounts. */
function outcome(row: Row, events: readonly ConnectionEvent[]): Merged[] {
  const merged = merge(events, false);
  if (row.code === 'ERR_MESSAGE_TOO_BIG' && row.options?.().extensions !== undefined) {
    return merged.filter((m) => m.type !== 'text-partial');
  }
  return merged;
}

function check(row: Row, chunks: readonly Buffer[], autoCloseReply: boolean): void {
  const where = `chunks ${chunks.map((c) => c.length).join(',')}, autoCloseReply ${autoCloseReply}`;
  const { conn, events, sent } = run(row, chunks, autoCloseReply);

  expect(outcome(row, events), where).to.deep.equal([
    ...(row.before ?? []),
    { type: 'close', code: row.closeCode, reason: '' },
  ]);
  const last = events.at(-1)!;
  expect(last.type, where).to.equal('close');
  if (last.type !== 'close') return;
  const failure = conn.failure;
  expect(failure, where).to.be.instanceOf(RemoteProtocolError);
  expect(failure!.code, where).to.equal(row.code);
  expect(failure!.closeCode, where).to.equal(row.closeCode);
  expect(last.errorCode, where).to.equal(row.code);
  expect(last.code, where).to.equal(row.closeCode);
  expect(last.reason, where).to.equal(failure!.message).and.not.equal('');
  expect(conn.failed, where).to.equal(true);
  expect(conn.closeReceived, where).to.equal(null);
  expect(conn.closeCode, where).to.equal(row.closeCode);
  expect(conn.closeReason, where).to.equal(failure!.message);
  expect(conn.wasClean, where).to.equal(false);

  if (!autoCloseReply) {
    expect(sent, where).to.deep.equal([]);
    expect(conn.dataToSend(), where).to.deep.equal([]);
    expect(conn.state, where).to.equal('REMOTE_CLOSING');
    expect(conn.closeSent, where).to.equal(null);
    expect(conn.closeExpected(), where).to.equal(false);
    expect(conn.shouldEndTransport(), where).to.equal(false);
    expect(conn.canSend('close'), where).to.equal(true);
    expect(conn.canSend('text'), where).to.equal(false);
    return;
  }
  const frames = readFrames(Buffer.concat(sent));
  expect(frames, where).to.have.length(1);
  const reply = frames[0]!;
  expect([reply.fin, reply.rsv, reply.opcode, reply.masked], where).to.deep.equal([
    true,
    0,
    0x8,
    row.role === 'client',
  ]);
  const body = closeBody(reply.payload);
  expect(body.code, where).to.equal(row.closeCode);
  // The reason is the failure's message, cut to fit 125 bytes on a code point boundary.
  expect(reply.payload.length, where).to.be.at.most(125);
  expect(failure!.message.startsWith(body.reason), where).to.equal(true);
  if (Buffer.byteLength(failure!.message) <= 123) expect(body.reason, where).to.equal(failure!.message);
  expect(conn.state, where).to.equal('CLOSED');
  expect(conn.closeSent?.code, where).to.equal(row.closeCode);
  expect(conn.closeExpected(), where).to.equal(true);
  expect(conn.shouldEndTransport(), where).to.equal(true);
  expect(conn.wasClean, where).to.equal(false);
  expect(conn.dataToSend(), where).to.deep.equal([]);
}

describe('frame protocol: every framing violation has a stable error code', () => {
  for (const row of rows()) {
    const who = row.role === 'server' ? 'server receives masked' : 'client receives unmasked';
    it(`${row.rule}: ${who} -> ${row.code} (${row.closeCode})`, () => {
      for (const chunks of chunkings(row.data, 10)) {
        check(row, chunks, false);
        check(row, chunks, true);
      }
    });
  }

  it('the table covers every post-handshake framing code, for both roles', () => {
    const framing: RemoteErrorCode[] = [
      'ERR_RESERVED_OPCODE',
      'ERR_RESERVED_BITS',
      'ERR_NON_MINIMAL_LENGTH',
      'ERR_LENGTH_TOP_BIT',
      'ERR_CONTROL_FRAGMENTED',
      'ERR_CONTROL_TOO_LONG',
      'ERR_UNEXPECTED_CONTINUATION',
      'ERR_EXPECTED_CONTINUATION',
      'ERR_BAD_CLOSE_FRAME',
      'ERR_BAD_CLOSE_CODE',
      'ERR_INVALID_UTF8',
      'ERR_BAD_COMPRESSED_DATA',
      'ERR_FRAME_TOO_BIG',
      'ERR_MESSAGE_TOO_BIG',
    ];
    const all = rows();
    for (const role of ROLES) {
      const codes = new Set(all.filter((r) => r.role === role).map((r) => r.code));
      for (const code of framing) expect(codes.has(code), `${role} ${code}`).to.equal(true);
    }
    expect(all.some((r) => r.role === 'server' && r.code === 'ERR_MASK_EXPECTED')).to.equal(true);
    expect(all.some((r) => r.role === 'client' && r.code === 'ERR_UNEXPECTED_MASK')).to.equal(true);
  });

  it('the limits are exact: a frame of maxFrameSize and a message of maxMessageSize pass', () => {
    for (const role of ROLES) {
      const f = (spec: Parameters<typeof frame>[0]): Buffer => peerFrame(role, spec);
      const frameOk = f({ opcode: 0x2, payload: Buffer.alloc(10, 0x61) });
      const messageOk = Buffer.concat([
        f({ fin: false, opcode: 0x2, payload: Buffer.alloc(5, 0x61) }),
        f({ opcode: 0x0, payload: Buffer.alloc(5, 0x61) }),
      ]);
      for (const [data, options] of [
        [frameOk, { maxFrameSize: 10 }],
        [messageOk, { maxMessageSize: 10 }],
      ] as const) {
        for (const chunks of chunkings(data, 5)) {
          const conn = new Connection(role, options);
          const events: ConnectionEvent[] = [];
          for (const chunk of chunks) {
            conn.receiveData(Buffer.from(chunk));
            events.push(...conn.events());
          }
          expect(merge(events)).to.deep.equal([{ type: 'bytes', data: '61'.repeat(10) }]);
          expect(conn.failure).to.equal(null);
        }
      }
    }
  });

  it('RFC 7692: a compressed message inflating to exactly maxMessageSize passes', () => {
    for (const role of ROLES) {
      const data = compressedBy(role, 'a'.repeat(5000));
      const conn = new Connection(role, { extensions: [deflate(role)], maxMessageSize: 5000 });
      conn.receiveData(data);
      expect(merge([...conn.events()])).to.deep.equal([{ type: 'text', data: 'a'.repeat(5000) }]);
    }
  });
});

describe('FrameProtocol', () => {
  const proto = (client: boolean, options = {}): FrameProtocol => new FrameProtocol(client, options, randomMaskKey);

  for (const name of ['maxMessageSize', 'maxFrameSize'] as const) {
    for (const value of [-1, 1.5, Number.NaN, 2 ** 53]) {
      it(`refuses ${name} ${value} (ERR_INVALID_OPTION)`, () => {
        expect(() => proto(false, { [name]: value }))
          .to.throw(LocalProtocolError, name)
          .with.property('code', 'ERR_INVALID_OPTION');
      });
    }
  }

  it('uses only the enabled extensions', () => {
    const idle = new PerMessageDeflate();
    const live = deflate('server');
    expect(proto(false, { extensions: [idle as Extension, live] }).extensions).to.deep.equal([live]);
  });

  it('stops after a failure: failure set, buffer dropped, later bytes ignored', () => {
    const p = proto(false);
    p.receiveBytes(Buffer.concat([hex('81 05 48 65 6c 6c 6f'), masked({ opcode: 0x1, payload: 'x' })]));
    const event = p.next();
    expect(event?.type).to.equal('close');
    expect(p.stopped).to.equal(true);
    expect(p.failure?.code).to.equal('ERR_MASK_EXPECTED');
    expect(p.bufferedAmount).to.equal(0);
    p.receiveBytes(masked({ opcode: 0x1, payload: 'y' }));
    expect(p.bufferedAmount).to.equal(0);
    expect(p.next()).to.equal(null);
  });

  it('stops after a close frame, without a failure (RFC 6455 5.5.1: no data after close)', () => {
    const p = proto(true);
    p.receiveBytes(Buffer.concat([hex('88 02 03 e8'), hex('81 01 61')]));
    const event = p.next();
    expect(event?.type === 'close' && [event.code, event.reason, event.errorCode]).to.deep.equal([1000, '', null]);
    expect(p.stopped).to.equal(true);
    expect(p.failure).to.equal(null);
    expect(p.next()).to.equal(null);
  });

  it('RFC 6455 7.1.5: an empty close body is reported as 1005', () => {
    const p = proto(true);
    p.receiveBytes(hex('88 00'));
    const event = p.next();
    expect(event?.type === 'close' && [event.code, event.reason]).to.deep.equal([1005, '']);
  });

  it('counts buffered bytes until they make an event', () => {
    const p = proto(true);
    p.receiveBytes(hex('81'));
    expect(p.next()).to.equal(null);
    expect(p.bufferedAmount).to.equal(1);
  });

  describe('close()', () => {
    it('1005 sends an empty body; with a reason it is a LocalProtocolError', () => {
      expect(proto(false).close(1005, '')).to.deep.equal(hex('88 00'));
      expect(() => proto(false).close(1005, 'why'))
        .to.throw(LocalProtocolError)
        .with.property('code', 'ERR_INVALID_CLOSE_CODE');
    });

    for (const code of [999, 1004, 1006, 1015, 2999, 5000]) {
      it(`RFC 6455 7.4 refuses to send code ${code}`, () => {
        expect(() => proto(false).close(code, ''))
          .to.throw(LocalProtocolError, String(code))
          .with.property('code', 'ERR_INVALID_CLOSE_CODE');
      });
    }

    it('code and reason, big-endian code first', () => {
      expect(proto(false).close(1001, 'bye')).to.deep.equal(hex('88 05 03 e9 62 79 65'));
    });

    it('RFC 6455 5.5: a long reason is cut to 123 bytes on a code point boundary', () => {
      // 'é' is 2 bytes: 61 of them are 122 bytes, the 62nd would make 124.
      const [one] = readFrames(proto(false).close(1000, 'é'.repeat(80)));
      expect(one!.payload.length).to.equal(2 + 122);
      expect(closeBody(one!.payload).reason).to.equal('é'.repeat(61));
      const [two] = readFrames(proto(false).close(1000, 'a'.repeat(200)));
      expect(two!.payload.length).to.equal(125);
    });

    it('a client masks its close frame', () => {
      const p = new FrameProtocol(true, {}, () => KEY);
      expect(p.close(1000, '')).to.deep.equal(Buffer.concat([hex('88 82'), KEY, hex('34 12')]));
    });
  });
});

describe('frame protocol: the whole-frame fast path', () => {
  /** Every field of an event, for exact comparison. */
  const fields = (e: ConnectionEvent): unknown => {
    switch (e.type) {
      case 'text':
        return [e.type, e.data, e.frameFinished, e.messageFinished];
      case 'bytes':
        return [e.type, e.data.toString('hex'), e.frameFinished, e.messageFinished];
      case 'ping':
      case 'pong':
        return [e.type, e.payload.toString('hex')];
      case 'close':
        return [e.type, e.code, e.reason, e.errorCode];
    }
  };
  const run = (role: Role, options: ConnectionOptions, chunks: Buffer[]): unknown[] => {
    const conn = new Connection(role, options);
    const out: unknown[] = [];
    for (const chunk of chunks) {
      if (conn.state === 'CLOSED') break;
      conn.receiveData(Buffer.from(chunk));
      for (const e of conn.events()) out.push(fields(e));
    }
    out.push([conn.state, conn.failure?.code ?? null, conn.bufferedAmount]);
    return out;
  };
  const payload = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((t) => Buffer.from(t)) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: 140 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 126, maxLength: 1500 }).map((b) => Buffer.from(b)) },
    { weight: 1, arbitrary: fc.constant(hex('03 e8 6f 6b')) },
  );
  const spec = fc.record({
    fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(0x40) }),
    opcode: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(0x1, 0x2) },
      { weight: 2, arbitrary: fc.constant(0x0) },
      { weight: 1, arbitrary: fc.constantFrom(0x8, 0x9, 0xa, 0x3) },
    ),
    payload,
  });
  const limit = fc.option(fc.integer({ min: 0, max: 1600 }), { nil: undefined });

  it('a frame read whole gives the events, failure and state of the general path (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Role>('server', 'client'),
        fc.array(spec, { maxLength: 12 }),
        limit,
        limit,
        (role, specs, maxMessageSize, maxFrameSize) => {
          const frames = specs.map((s) => peerFrame(role, s));
          const data = Buffer.concat(frames);
          const options: ConnectionOptions = {
            ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
            ...(maxFrameSize === undefined ? {} : { maxFrameSize }),
          };
          // Whole: every eligible frame takes the fast path. Cut after each frame's first
          // byte: no frame lies whole in one chunk, so all take readHeader(), and each
          // payload still arrives in one piece (one event per frame, as on the fast path).
          const cuts: number[] = [];
          let at = 0;
          for (const f of frames) {
            cuts.push(at + 1);
            at += f.length;
          }
          expect(run(role, options, [data])).to.deep.equal(run(role, options, splitAt(data, cuts)));
        },
      ),
      { seed: 0x17, numRuns: 1500 },
    );
  });
});
