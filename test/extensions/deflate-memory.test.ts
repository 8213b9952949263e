/**
 * When permessage-deflate allocates and frees zlib contexts, pinned by counting them
 * (liveContexts), never by timing or RSS: none after the handshake, a compressor only
 * for a message at or above the threshold, a decompressor only for a compressed message,
 * released after each message when the peer resets (no context takeover), one shared
 * compressor for every connection with `memory: 'low'`, everything freed on close.
 *
 * The server's side is driven through the extension with client messages compressed by
 * plain `zlib` (which our counters do not see), so each count is the server's alone.
 */
import { expect } from 'chai';
import * as zlib from 'node:zlib';
import { Connection, TextMessage } from '../../lib/index';
import { PerMessageDeflate, type PerMessageDeflateOptions } from '../../lib/extensions/permessage-deflate';
import { drainPool, liveContexts } from '../../lib/extensions/zlib-backend';
import { params } from '../helpers/extension-params';

/** A server extension that accepted a browser-style offer (or `offer`). */
function server(options: PerMessageDeflateOptions = {}, offer = 'client_max_window_bits'): PerMessageDeflate {
  const ext = new PerMessageDeflate(options);
  expect(ext.accept(params(offer))).to.not.equal(null);
  return ext;
}

const BIG = 'x'.repeat(600) + JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, v: 'abc' })) });
const SMALL = '{"type":"ping"}';
const RSV1 = 0x40;
const BUDGET = 1 << 24;

/** A client's compressed message, as plain zlib makes it (RFC 7692 7.2.1). */
function compressed(text: string): Buffer {
  const out = zlib.deflateRawSync(Buffer.from(text), { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, -4);
}

/** The server receives `frames` (payloads of one compressed text message). */
function receive(ext: PerMessageDeflate, frames: Buffer[], afterFrame?: (index: number) => void): string {
  const out: Buffer[] = [];
  for (const [i, payload] of frames.entries()) {
    ext.inboundHeader(i === 0 ? 0x1 : 0x0, i === 0 ? RSV1 : 0, payload.length);
    out.push(ext.inboundPayload(payload, BUDGET));
    const tail = ext.inboundComplete(i === frames.length - 1, BUDGET);
    if (tail !== null) out.push(tail);
    afterFrame?.(i);
  }
  return Buffer.concat(out).toString();
}

/** The server sends a whole text message; true when it went out compressed. */
function send(ext: PerMessageDeflate, text: string): boolean {
  return (ext.outbound(0x1, 0, Buffer.from(text), true, undefined).rsv & RSV1) !== 0;
}

/** The contexts opened since `base` (pooled and shared ones included). */
function opened(base: ReturnType<typeof liveContexts>): { deflate: number; inflate: number } {
  const now = liveContexts();
  return { deflate: now.deflate - base.deflate, inflate: now.inflate - base.inflate };
}

describe('permessage-deflate zlib contexts: allocation and release, by count', () => {
  let base: ReturnType<typeof liveContexts>;
  beforeEach(() => {
    drainPool();
    base = liveContexts();
  });
  afterEach(drainPool);

  for (const memory of ['medium', 'high'] as const) {
    describe(`memory ${memory} (context takeover both ways)`, () => {
      it('no context after the handshake, none for messages under the threshold', () => {
        const ext = server({ memory });
        expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
        expect(send(ext, SMALL)).to.equal(false);
        expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
        ext.close();
      });

      it('a compressed message received: one inflater, kept for the next message', () => {
        const ext = server({ memory });
        expect(receive(ext, [compressed(BIG)])).to.equal(BIG);
        expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 1 });
        expect(receive(ext, [compressed(SMALL)])).to.equal(SMALL);
        expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 1 });
        ext.close();
      });

      it('a message at the threshold sent: one deflater, kept; close parks both', () => {
        const ext = server({ memory });
        expect(send(ext, BIG)).to.equal(true);
        expect(opened(base)).to.deep.equal({ deflate: 1, inflate: 0 });
        receive(ext, [compressed(BIG)]);
        send(ext, BIG);
        expect(opened(base)).to.deep.equal({ deflate: 1, inflate: 1 });
        ext.close();
        expect(liveContexts().pooled).to.equal(2); // reset, waiting for another connection
        drainPool();
        expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
      });
    });
  }

  it('client_no_context_takeover: the inflater lives from the first frame to the last only', () => {
    const ext = server({}, 'client_max_window_bits; client_no_context_takeover');
    const payload = compressed(BIG);
    const during: number[] = [];
    receive(ext, [payload.subarray(0, 40), payload.subarray(40)], () => during.push(liveContexts().pooled));
    expect(during).to.deep.equal([0, 1]); // held after frame 1, parked after the last
    expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 1 }); // the pooled one
    ext.close();
  });

  it('server_no_context_takeover: the deflater is parked after each message', () => {
    const ext = server({}, 'server_no_context_takeover');
    send(ext, BIG);
    expect(liveContexts().pooled).to.equal(1);
    send(ext, BIG);
    expect(opened(base)).to.deep.equal({ deflate: 1, inflate: 0 });
    ext.close();
  });

  describe("memory 'low'", () => {
    it('100 connections after traffic: one shared deflater, no inflater held', () => {
      const connections = Array.from({ length: 100 }, () => server({ memory: 'low' }));
      expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
      for (const ext of connections) {
        expect(receive(ext, [compressed(BIG)])).to.equal(BIG);
        expect(send(ext, BIG)).to.equal(true);
        expect(send(ext, SMALL)).to.equal(false);
      }
      // The shared compressor, and one pooled inflater every connection borrowed in turn.
      expect(liveContexts()).to.include({ shared: 1, pooled: 1 });
      expect(opened(base)).to.deep.equal({ deflate: 1, inflate: 1 });
      for (const ext of connections) ext.close();
      expect(opened(base)).to.deep.equal({ deflate: 1, inflate: 1 });
      drainPool();
      expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
    });

    it('messages received at the same time each borrow an inflater, all returned at their end', () => {
      const connections = Array.from({ length: 5 }, () => server({ memory: 'low' }));
      const payload = compressed(BIG);
      for (const ext of connections) {
        ext.inboundHeader(0x1, RSV1, 40);
        ext.inboundPayload(payload.subarray(0, 40), BUDGET);
        ext.inboundComplete(false, BUDGET);
      }
      expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 5 });
      for (const ext of connections) {
        ext.inboundHeader(0x0, 0, payload.length - 40);
        ext.inboundPayload(payload.subarray(40), BUDGET);
        ext.inboundComplete(true, BUDGET);
      }
      expect(liveContexts().pooled).to.equal(5);
    });
  });

  it('through Connections: closing releases both ends (transport EOF)', () => {
    const serverExt = new PerMessageDeflate();
    const clientExt = new PerMessageDeflate();
    clientExt.finalize(params(serverExt.accept(params(clientExt.offer()))));
    const serverConn = new Connection('server', { extensions: [serverExt] });
    const clientConn = new Connection('client', { extensions: [clientExt] });
    expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
    serverConn.receiveData(clientConn.send(new TextMessage({ data: BIG })));
    clientConn.receiveData(serverConn.send(new TextMessage({ data: BIG })));
    expect([...serverConn.events()].length + [...clientConn.events()].length).to.be.greaterThan(0);
    expect(opened(base)).to.deep.equal({ deflate: 2, inflate: 2 });
    expect(liveContexts().pooled).to.equal(0);
    serverConn.receiveData(null);
    clientConn.receiveData(null);
    expect([...serverConn.events(), ...clientConn.events()].map((e) => e.type)).to.deep.equal(['close', 'close']);
    expect(liveContexts().pooled).to.equal(4);
    drainPool();
    expect(opened(base)).to.deep.equal({ deflate: 0, inflate: 0 });
  });
});
