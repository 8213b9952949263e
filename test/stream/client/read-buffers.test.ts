/**
 * Mirror test for lib/stream/client/read-buffers: where a client socket's reads land.
 * The unit part drives the `onread` hooks as Node's read path calls them (buffer, read
 * into it, callback, buffer ...) on a recording socket; the last part runs a client over
 * real TCP against a server sending large messages.
 */
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, handleUpgrade, type WebSocketDuplex } from '../../../lib/index';
import { KEEP_MIN, MIN_ROOM, SHARED_SIZE, SLAB_SIZE, readBuffers } from '../../../lib/stream/client/read-buffers';

/** Drives one socket's hooks as Node does: each read fills the buffer the last call offered. */
function reader(pushResult = true) {
  const hooks = readBuffers();
  const pushed: Buffer[] = [];
  const socket = { push: (chunk: Buffer) => (pushed.push(chunk), pushResult) };
  const gen = hooks.buffer as () => Uint8Array;
  const callback = hooks.callback as (this: unknown, n: number, buf: Uint8Array) => boolean;
  let offered = gen();
  return {
    pushed,
    get offered(): Uint8Array {
      return offered;
    },
    /** One read of `data` (it must fit the offered buffer); returns what the callback returned. */
    read(data: Buffer): boolean {
      expect(data.length, 'a read fits the offered buffer').to.be.at.most(offered.length);
      offered.set(data);
      const result = callback.call(socket, data.length, offered);
      offered = gen();
      return result;
    },
  };
}

const sameMemory = (a: Uint8Array, b: Uint8Array): boolean => a.buffer === b.buffer;

describe('stream/client/read-buffers', () => {
  it('small reads land in the shared buffer and are copied out at their exact size', () => {
    const r = reader();
    const shared = r.offered;
    expect(shared.length).to.equal(SHARED_SIZE);
    r.read(Buffer.from('hello'));
    r.read(Buffer.from('world!'));
    expect(r.pushed.map(String)).to.deep.equal(['hello', 'world!']);
    expect(
      r.pushed.some((chunk) => sameMemory(chunk, shared)),
      'no chunk is a view of the shared buffer',
    ).to.equal(false);
    expect(r.offered, 'the shared buffer is offered again').to.equal(shared);
    shared.fill(0x21);
    expect(r.pushed.map(String), 'later reads into the shared buffer leave pushed chunks alone').to.deep.equal([
      'hello',
      'world!',
    ]);
  });

  it('every socket reading little shares one buffer (an idle client holds none of its own)', () => {
    expect(reader().offered).to.equal(reader().offered);
  });

  it('a large read is copied out of the shared buffer, and the next reads land in a slab of its own', () => {
    const r = reader();
    const first = randomBytes(KEEP_MIN);
    r.read(first);
    expect(r.pushed[0]).to.deep.equal(first);
    expect(sameMemory(r.pushed[0]!, reader().offered)).to.equal(false);
    expect(r.offered.length, 'a fresh slab').to.equal(SLAB_SIZE);
    expect(r.offered.buffer.byteLength).to.equal(SLAB_SIZE);
    expect(r.offered.buffer).to.not.equal(reader().offered.buffer);
  });

  it('large reads in a slab are pushed as views, each right after the one before', () => {
    const r = reader();
    r.read(randomBytes(KEEP_MIN)); // into the shared buffer: switches to a slab
    const a = randomBytes(KEEP_MIN + 100);
    const b = randomBytes(3 * KEEP_MIN);
    r.read(a);
    r.read(b);
    const [pa, pb] = r.pushed.slice(1) as [Buffer, Buffer];
    expect(pa).to.deep.equal(a);
    expect(pb).to.deep.equal(b);
    expect(pa.buffer, 'one slab').to.equal(pb.buffer);
    expect(pa.buffer.byteLength).to.equal(SLAB_SIZE);
    expect(pb.byteOffset, 'adjacent').to.equal(pa.byteOffset + pa.length);
    expect(r.offered.byteOffset, 'the next read lands after them').to.equal(pb.byteOffset + pb.length);
  });

  it('a slab with less than MIN_ROOM free is replaced; views of the old one stay intact', () => {
    const r = reader();
    r.read(randomBytes(KEEP_MIN));
    const kept: Buffer[] = [];
    let slab = r.offered.buffer;
    let replaced = 0;
    for (let i = 0; i < 12; i++) {
      const data = randomBytes(MIN_ROOM - 1000);
      kept.push(data);
      r.read(data);
      expect(r.offered.length, 'a read is always offered MIN_ROOM or more').to.be.at.least(MIN_ROOM);
      if (r.offered.buffer !== slab) {
        replaced++;
        slab = r.offered.buffer;
      }
    }
    expect(replaced).to.be.greaterThan(2);
    expect(r.pushed.slice(1)).to.deep.equal(kept);
  });

  it('a small read in a slab is copied out and sends the socket back to the shared buffer', () => {
    const r = reader();
    const shared = r.offered;
    r.read(randomBytes(KEEP_MIN));
    r.read(randomBytes(KEEP_MIN));
    const slabView = r.pushed[1]!;
    r.read(Buffer.from('tail'));
    expect(String(r.pushed[2])).to.equal('tail');
    expect(sameMemory(r.pushed[2]!, slabView), 'the small read was copied out of the slab').to.equal(false);
    expect(r.offered, 'back to the shared buffer').to.equal(shared);
  });

  it("the socket's push result is returned (false: Node stops reading until resumed)", () => {
    expect(reader(false).read(Buffer.from('x'))).to.equal(false);
    expect(reader(true).read(Buffer.from('x'))).to.equal(true);
  });

  describe('over TCP: a client receiving large messages', () => {
    let server: http.Server;
    let port: number;
    before(async () => {
      server = http.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => server.close());

    it('gets every message intact and in order, large ones as views of its read slabs (no join copy)', async function () {
      this.timeout(30000);
      // Sizes around the read and slab boundaries, large and small mixed.
      const sizes = [5, 70_000, 65_536, 65_546, 200, 300_000, 1 << 20, 16_384, 3, 131_072, 500_000, 64];
      for (let i = 0; i < 60; i++) sizes.push(1 + ((i * 7919) % 400_000));
      const payloads = sizes.map((n) => randomBytes(n));
      server.removeAllListeners('upgrade');
      server.on('upgrade', (req, socket, head) => {
        const ws = handleUpgrade(req, socket, head);
        ws.once('open', () => {
          for (const payload of payloads) ws.send(payload);
          ws.close(1000);
        });
      });
      const client: WebSocketDuplex = await connect(`ws://127.0.0.1:${port}/`);
      const got: Buffer[] = [];
      client.on('message', (data) => got.push(data as Buffer));
      await new Promise((resolve) => client.once('close', resolve));
      const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(got.map(digest)).to.deep.equal(payloads.map(digest));
      const slabViews = got.filter((b) => b.buffer.byteLength === SLAB_SIZE && b.length > KEEP_MIN);
      expect(slabViews.length, 'large messages handed out as views of slabs').to.be.greaterThan(0);
    });

    it('a reader that is behind stops the socket reading (the sender backs up), then gets everything in order', async function () {
      this.timeout(30000);
      const count = 400;
      const payload = (i: number): Buffer => Buffer.alloc(64 * 1024 + (i % 7), i & 0xff);
      let sender: WebSocketDuplex | null = null;
      server.removeAllListeners('upgrade');
      server.on('upgrade', (req, socket, head) => {
        const ws = handleUpgrade(req, socket, head);
        sender = ws;
        ws.once('open', () => {
          for (let i = 0; i < count; i++) ws.send(payload(i));
        });
      });
      const client: WebSocketDuplex = await connect(`ws://127.0.0.1:${port}/`);
      const messages = client.messages({ highWaterMark: 4 })[Symbol.asyncIterator]();
      const first = await messages.next();
      expect(first.value?.data).to.deep.equal(payload(0));
      await new Promise((resolve) => setTimeout(resolve, 500));
      // About 25 MiB was sent; the kernel's loopback buffers and our high-water marks hold a
      // few MiB, so most of it must still wait at the sender while we do not read.
      const waiting = sender!.bufferedAmount;
      expect(waiting, 'bytes still waiting at the sender').to.be.greaterThan(8 * 1024 * 1024);
      for (let i = 1; i < count; i++) {
        const { value } = await messages.next();
        expect(value?.data, `message ${i}`).to.deep.equal(payload(i));
      }
      client.close(1000);
      await new Promise((resolve) => client.once('close', resolve));
    });
  });
});
