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
});
