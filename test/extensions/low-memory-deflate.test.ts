/**
 * The compressor of `memory: 'low'`: one shared zlib context, a replayed history in
 * place of context takeover. Its output is decoded here by a plain inflater as a
 * receiver would (RFC 7692 7.2.2), with and without context takeover.
 */
import { expect } from 'chai';
import { HISTORY_SIZE, LowMemoryDeflate } from '../../lib/extensions/low-memory-deflate';
import {
  DEFLATE_TAIL,
  createInflater,
  drainPool,
  inflateBounded,
  liveContexts,
  type Inflater,
} from '../../lib/extensions/zlib-backend';
import { rng } from '../helpers/bytes';

const CONFIG = { windowBits: 12, level: -1, memLevel: 5 };

/** JSON-like messages that repeat keys and values across messages. */
function messages(count: number, seed: number): Buffer[] {
  const rand = rng(seed);
  const names = ['ada', 'bob', 'cyd', 'dee', 'eve'];
  return Array.from({ length: count }, (_, i) => {
    const items = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => ({
      user: names[Math.floor(rand() * names.length)],
      score: Math.floor(rand() * 1000),
      text: 'lorem ipsum dolor sit amet'.slice(0, Math.floor(rand() * 26)),
    }));
    return Buffer.from(JSON.stringify({ type: 'update', seq: i, items }));
  });
}

/** The receiver's side: inflate one message (7.2.2 appends the tail). */
function receive(inflater: Inflater, payload: Buffer): Buffer {
  return inflateBounded(inflater, Buffer.concat([payload, DEFLATE_TAIL]), 1 << 24);
}

/** Send `frames` (one message) through `deflate`: each frame's output. */
function send(deflate: LowMemoryDeflate, frames: Buffer[]): Buffer {
  return Buffer.concat(frames.map((f, i) => deflate.deflate(f, i === 0, i === frames.length - 1)));
}

describe('extensions/low-memory-deflate', () => {
  beforeEach(drainPool);
  afterEach(drainPool);

  it('context takeover: a peer that keeps its window decodes every message', () => {
    const deflate = new LowMemoryDeflate(CONFIG, true);
    const peer = createInflater('node:zlib', 12);
    for (const message of messages(200, 1)) {
      expect(receive(peer, send(deflate, [message]))).to.deep.equal(message);
    }
    deflate.release();
    peer.release();
  });

  it('context takeover: the history makes a repeated message cheap', () => {
    const deflate = new LowMemoryDeflate(CONFIG, true);
    const message = messages(1, 2)[0]!.subarray(0, 900);
    const first = send(deflate, [message]);
    const second = send(deflate, [message]);
    expect(second.length).to.be.lessThan(first.length / 5);
    const peer = createInflater('node:zlib', 12);
    expect(receive(peer, first)).to.deep.equal(message);
    expect(receive(peer, second)).to.deep.equal(message);
    deflate.release();
    peer.release();
  });

  it(`keeps only the last ${HISTORY_SIZE} bytes, across small and large messages`, () => {
    const deflate = new LowMemoryDeflate(CONFIG, true);
    const peer = createInflater('node:zlib', 12);
    const sizes = [10, 3000, 1, 700, 500, HISTORY_SIZE, HISTORY_SIZE - 1, 0, 5000, 20];
    const rand = rng(3);
    for (const size of sizes) {
      const message = Buffer.from(Array.from({ length: size }, () => 'abcdefgh'.charCodeAt(Math.floor(rand() * 8))));
      expect(receive(peer, send(deflate, [message])), `size ${size}`).to.deep.equal(message);
    }
    deflate.release();
    peer.release();
  });

  it('no context takeover: each message decodes alone, and repeats cost the same', () => {
    const deflate = new LowMemoryDeflate(CONFIG, false);
    const message = messages(1, 4)[0]!;
    const outputs = [send(deflate, [message]), send(deflate, [message])];
    expect(outputs[1]).to.deep.equal(outputs[0]);
    for (const output of outputs) {
      const fresh = createInflater('node:zlib', 12);
      expect(receive(fresh, output)).to.deep.equal(message);
      fresh.release();
    }
    deflate.release();
  });

  it('fragmented messages decode like whole ones, whatever the frame sizes', () => {
    const deflate = new LowMemoryDeflate(CONFIG, true);
    const peer = createInflater('node:zlib', 12);
    for (const [i, message] of messages(40, 5).entries()) {
      const step = 1 + ((i * 37) % 400);
      const frames: Buffer[] = i % 2 === 0 ? [Buffer.alloc(0)] : []; // sometimes an empty first frame
      for (let offset = 0; offset < message.length; offset += step)
        frames.push(message.subarray(offset, offset + step));
      expect(receive(peer, send(deflate, frames))).to.deep.equal(message);
    }
    deflate.release();
    peer.release();
  });

  it('N connections share one deflate context; a fragmented message borrows one until its end', () => {
    const before = liveContexts().deflate;
    const connections = Array.from({ length: 50 }, () => new LowMemoryDeflate(CONFIG, true));
    for (const [i, connection] of connections.entries()) {
      for (const message of messages(2, i)) send(connection, [message]);
    }
    expect(liveContexts().deflate).to.equal(before + 1);
    expect(liveContexts().shared).to.equal(1);
    const [a, b] = messages(2, 9);
    connections[0]!.deflate(a!, true, false);
    expect(liveContexts().deflate).to.equal(before + 2); // held across frames
    send(connections[1]!, [b!]); // meanwhile, another connection uses the shared one
    connections[0]!.deflate(b!, false, true);
    expect(liveContexts()).to.include({ deflate: before + 2, pooled: 1 }); // parked
    for (const connection of connections) connection.release();
    drainPool();
    expect(liveContexts().deflate).to.equal(before);
  });

  it('release() in the middle of a message gives the borrowed context back', () => {
    const deflate = new LowMemoryDeflate(CONFIG, true);
    deflate.deflate(Buffer.from('part one'), true, false);
    deflate.release();
    expect(liveContexts()).to.include({ pooled: 1 });
  });

  it('never refers further back than a 9-bit window when configured so (RFC 7692 7.1.2)', () => {
    const deflate = new LowMemoryDeflate({ windowBits: 9, level: 9, memLevel: 9 }, true);
    const peer = createInflater('node:zlib', 9);
    for (const message of messages(60, 6)) {
      expect(receive(peer, send(deflate, [message]))).to.deep.equal(message);
    }
    deflate.release();
    peer.release();
  });
});
