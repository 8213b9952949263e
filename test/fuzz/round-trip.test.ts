/**
 * Fuzz: round trips. Whatever one end sends with `send()` (text and binary messages of
 * random sizes, fragmented or not, compressed or not, pings and pongs between fragments,
 * both directions, both roles), the other end receives the same messages over any
 * chunking, then the close handshake completes with the code and reason that were sent.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  BytesMessage,
  CloseConnection,
  Ping,
  Pong,
  TextMessage,
  type ConnectionEvent,
  type WSConnection,
} from '../../lib/index';
import { merge, type Merged } from '../helpers/bytes';
import { chunking } from './arbitraries';
import { fuzzParams } from './config';
import { cut, drive } from './invariants';
import { connectionOf, deflateSetup, handshakePair } from './pair';

/** One thing to send: a message (cut into fragments, pings between them) or a control frame. */
const action = fc.record({
  fromClient: fc.boolean(),
  kind: fc.constantFrom('text', 'bytes', 'ping', 'pong'),
  text: fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.repeat(400)) },
  ),
  bytes: fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: 126, max: 70_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
  ),
  control: fc.uint8Array({ maxLength: 125 }),
  fragments: fc.oneof(
    { weight: 3, arbitrary: fc.constant(1) },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: 5 }) },
  ),
  pingsBetween: fc.array(fc.boolean(), { maxLength: 5 }),
  compress: fc.constantFrom(undefined, true, false),
});
type Action = typeof action extends fc.Arbitrary<infer T> ? T : never;

/** Cut text into `n` pieces on code point boundaries (the API sends whole code points). */
function splitText(text: string, n: number): string[] {
  const points = [...text];
  const step = Math.ceil(points.length / n) || 1;
  return Array.from({ length: n }, (_, k) => points.slice(k * step, (k + 1) * step).join(''));
}

function splitBytes(bytes: Uint8Array, n: number): Uint8Array[] {
  const step = Math.ceil(bytes.length / n) || 1;
  return Array.from({ length: n }, (_, k) => bytes.subarray(k * step, (k + 1) * step));
}

/** Send `a` from `ws`: its frames, and what the peer must see. */
function perform(ws: WSConnection, a: Action): { bytes: Buffer[]; expected: Merged[] } {
  const bytes: Buffer[] = [];
  const expected: Merged[] = [];
  const compress = a.compress === undefined ? {} : { compress: a.compress };
  if (a.kind === 'ping' || a.kind === 'pong') {
    const Event = a.kind === 'ping' ? Ping : Pong;
    bytes.push(ws.send(new Event({ payload: a.control })));
    expected.push({ type: a.kind, payload: Buffer.from(a.control).toString('hex') });
    return { bytes, expected };
  }
  const pieces = a.kind === 'text' ? splitText(a.text, a.fragments) : splitBytes(a.bytes, a.fragments);
  pieces.forEach((piece, i) => {
    const last = i === pieces.length - 1;
    const init = { messageFinished: last, ...compress };
    bytes.push(
      ws.send(
        typeof piece === 'string'
          ? new TextMessage({ data: piece, ...init })
          : new BytesMessage({ data: piece, ...init }),
      ),
    );
    if (!last && a.pingsBetween[i]) {
      bytes.push(ws.send(new Ping({ payload: Buffer.from([i]) })));
      expected.push({ type: 'ping', payload: Buffer.from([i]).toString('hex') });
    }
  });
  expected.push(
    a.kind === 'text' ? { type: 'text', data: a.text } : { type: 'bytes', data: Buffer.from(a.bytes).toString('hex') },
  );
  return { bytes, expected };
}

describe('fuzz: round trips between a client and a server', () => {
  it('any sequence of sends arrives intact over any chunking, with or without compression', () => {
    fc.assert(
      fc.property(
        fc.option(deflateSetup, { freq: 2 }),
        fc.array(action, { maxLength: 8 }),
        chunking,
        chunking,
        fc.record({
          fromClient: fc.boolean(),
          code: fc.constantFrom(1000, 1001, 1003, 1008, 1011, 3000, 4999),
          reason: fc.string({ unit: 'binary', maxLength: 60 }),
        }),
        (setup, actions, toServerChunks, toClientChunks, close) => {
          const pair = handshakePair(setup);
          const wire = { toServer: [] as Buffer[], toClient: [] as Buffer[] };
          const expected = { toServer: [] as Merged[], toClient: [] as Merged[] };
          for (const a of actions) {
            const { bytes, expected: e } = perform(a.fromClient ? pair.client : pair.server, a);
            (a.fromClient ? wire.toServer : wire.toClient).push(...bytes);
            (a.fromClient ? expected.toServer : expected.toClient).push(...e);
          }
          // The close: RFC 6455 5.5: the reason is cut to fit 123 bytes on a code point boundary.
          const closer = close.fromClient ? pair.client : pair.server;
          (close.fromClient ? wire.toServer : wire.toClient).push(
            closer.send(new CloseConnection({ code: close.code, reason: close.reason })),
          );
          let reason = close.reason;
          while (Buffer.byteLength(reason) > 123) reason = [...reason].slice(0, -1).join('');
          (close.fromClient ? expected.toServer : expected.toClient).push({ type: 'close', code: close.code, reason });

          const deliver = (to: 'server' | 'client', bytes: Buffer[], c: typeof toServerChunks): ConnectionEvent[] => {
            const all = Buffer.concat(bytes);
            const chunks =
              c.byteByByte && all.length < 2000 ? Array.from(all, (b) => Buffer.from([b])) : cut(all, c.cuts);
            return drive(connectionOf(to === 'server' ? pair.server : pair.client), chunks).events;
          };
          // The closer's peer gets the close first, answers it, and the closer gets the answer.
          const first = close.fromClient ? 'server' : 'client';
          const firstEvents = deliver(
            first,
            first === 'server' ? wire.toServer : wire.toClient,
            first === 'server' ? toServerChunks : toClientChunks,
          );
          expect(merge(firstEvents)).to.deep.equal(first === 'server' ? expected.toServer : expected.toClient);
          const peer = first === 'server' ? pair.server : pair.client;
          expect(peer.state).to.equal('REMOTE_CLOSING');
          const answer = peer.send((firstEvents[firstEvents.length - 1] as CloseConnection).response());
          expect(peer.state).to.equal('CLOSED');

          const second = first === 'server' ? 'client' : 'server';
          const secondWire = second === 'server' ? wire.toServer : wire.toClient;
          const secondEvents = deliver(
            second,
            [...secondWire, answer],
            second === 'server' ? toServerChunks : toClientChunks,
          );
          const secondExpected = second === 'server' ? expected.toServer : expected.toClient;
          expect(merge(secondEvents, false)).to.deep.equal([
            ...secondExpected,
            { type: 'close', code: close.code, reason: '' },
          ]);
          expect(closer.state).to.equal('CLOSED');
        },
      ),
      fuzzParams('round trip', 300, 0.5),
    );
  });
});
