/**
 * Mirror test for lib/stream/wire-output: the two places a stream's wire bytes can go,
 * answering the same questions (behind or not, how much is pending, all taken or not).
 */
import { expect } from 'chai';
import { PassThrough, Writable } from 'node:stream';
import { Duplex } from 'readable-stream';
import { ReadableOutput, TransportOutput } from '../../lib/stream/wire-output';

describe('stream/wire-output', () => {
  it("ReadableOutput: the Duplex's readable side holds the bytes until read; taken once read to the end", async () => {
    const stream = new Duplex({ read() {}, write: (_c, _e, cb: () => void) => cb(), readableHighWaterMark: 4 });
    const output = new ReadableOutput(stream);
    expect(output.push(Buffer.from('ab'))).to.equal(true);
    expect(output.push(Buffer.from('cdef'))).to.equal(false); // at the high-water mark
    expect(output.readableLength).to.equal(6);
    expect(output.readableHighWaterMark).to.equal(4);
    output.end();
    expect(output.taken).to.equal(false); // nobody read it yet
    const taken = new Promise<void>((resolve) => output.onceTaken(resolve));
    const read: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => read.push(chunk));
    await taken;
    expect(output.taken).to.equal(true);
    expect(Buffer.concat(read).toString()).to.equal('abcdef');
  });

  it('TransportOutput: bytes go to the transport at once; its write buffer is what is pending; taken when ended', async () => {
    const written: string[] = [];
    // A transport that does not finish its writes until told (so its buffer fills).
    const pending: Array<() => void> = [];
    const transport = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _e, cb) {
        written.push(chunk.toString());
        pending.push(cb);
      },
    });
    const output = new TransportOutput(transport, 4);
    expect(output.push(Buffer.from('ab'))).to.equal(true); // 2 pending < 4
    expect(output.push(Buffer.from('cd'))).to.equal(false); // 4 pending: behind
    expect(output.readableLength).to.equal(4);
    expect(written).to.deep.equal(['ab']); // the transport took the first write, buffers the next
    while (pending.length > 0) pending.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    while (pending.length > 0) pending.shift()!();
    expect(written).to.deep.equal(['ab', 'cd']);
    expect(output.readableLength).to.equal(0);
    expect(output.taken).to.equal(false);
    output.end();
    expect(output.taken).to.equal(true);
    expect(transport.writableEnded).to.equal(true);
    await new Promise<void>((resolve) => output.onceTaken(resolve));
  });

  it('TransportOutput: a destroyed transport takes nothing more and raises no error (the output drains into the void)', () => {
    const transport = new PassThrough();
    const errors: Error[] = [];
    transport.on('error', (e) => errors.push(e));
    transport.destroy();
    const output = new TransportOutput(transport, 16);
    expect(output.push(Buffer.from('late'))).to.equal(true);
    output.end();
    expect(output.taken).to.equal(true);
    expect(errors).to.deep.equal([]);
  });

  it('ReadableOutput: a split frame is pushed as one chunk (a reader of the Duplex gets a frame per chunk, as before)', () => {
    const stream = new Duplex({ read() {}, write: (_c, _e, cb: () => void) => cb() });
    const output = new ReadableOutput(stream);
    output.pushSplit(Buffer.from('hd'), Buffer.from('payload'));
    expect(stream.readableLength).to.equal(9);
    expect((stream.read() as Buffer).toString()).to.equal('hdpayload');
  });

  it('TransportOutput: a split frame goes to the transport corked, header and payload in one writev, the payload not copied', () => {
    const writes: Buffer[][] = [];
    const transport = new Writable({
      writev(chunks, cb) {
        writes.push(chunks.map((c) => c.chunk as Buffer));
        cb();
      },
      write(chunk: Buffer, _e, cb) {
        writes.push([chunk]);
        cb();
      },
    });
    const output = new TransportOutput(transport, 1024 * 1024);
    const payload = Buffer.alloc(20_000, 9);
    expect(output.pushSplit(Buffer.from([0x82, 0x7e, 0x4e, 0x20]), payload)).to.equal(true);
    expect(writes).to.have.length(1);
    expect(writes[0]).to.have.length(2);
    expect(writes[0]![1]).to.equal(payload);
  });

  it('TransportOutput: a split frame to a destroyed transport drains into the void', () => {
    const transport = new PassThrough();
    transport.destroy();
    const output = new TransportOutput(transport, 16);
    expect(output.pushSplit(Buffer.from('h'), Buffer.from('late'))).to.equal(true);
  });
});
