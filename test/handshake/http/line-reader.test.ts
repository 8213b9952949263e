import { expect } from 'chai';
import { LineReader, type LineResult } from '../../../lib/handshake/http/line-reader';
import { chunkings } from '../../helpers/bytes';

/** Feeds `chunks` with unlimited room; returns every line found (CR kept), as latin1. */
function lines(chunks: readonly Buffer[], cap = 1024): string[] {
  const reader = new LineReader(cap);
  const out: string[] = [];
  for (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) {
      const found = reader.read(chunk, pos, cap);
      if (found === 'overflow') throw new Error('unexpected overflow');
      if (found === 'more') break;
      out.push(found.line.toString('latin1'));
      pos = found.next;
    }
  }
  return out;
}

function whole(found: LineResult): { line: Buffer; next: number } {
  if (typeof found === 'string') throw new Error(`expected a line, got ${found}`);
  return found;
}

describe('handshake/http/line-reader', () => {
  it('RFC 9112 2.2: a line within one chunk is a view of it, CR kept, next after the LF', () => {
    const chunk = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n', 'latin1');
    const found = whole(new LineReader(64).read(chunk, 0, 64));
    expect(found.line.toString('latin1')).to.equal('GET / HTTP/1.1\r');
    expect(found.next).to.equal(16);
    expect(found.line.buffer).to.equal(chunk.buffer);
    expect(found.line.byteOffset).to.equal(chunk.byteOffset);
  });

  it('RFC 9112 2.2: lines of the RFC 6455 1.2 request come out the same at every chunking', () => {
    const data = Buffer.from('GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n', 'latin1');
    for (const chunks of chunkings(data)) {
      expect(lines(chunks), `chunking ${chunks.map((c) => c.length).join('+')}`).to.deep.equal([
        'GET /chat HTTP/1.1\r',
        'Host: server.example.com\r',
        '\r',
      ]);
    }
  });

  it('a split line is held (buffered) until its LF arrives', () => {
    const reader = new LineReader(64);
    expect(reader.read(Buffer.from('Host: '), 0, 64)).to.equal('more');
    expect(reader.buffered).to.equal(6);
    expect(reader.read(Buffer.from('exa'), 0, 58)).to.equal('more');
    expect(reader.buffered).to.equal(9);
    const found = whole(reader.read(Buffer.from('mple\r\nrest'), 0, 55));
    expect(found.line.toString('latin1')).to.equal('Host: example\r');
    expect(found.next).to.equal(6);
    expect(reader.buffered).to.equal(0);
  });

  it('a long line gathered in small pieces grows the scratch buffer and keeps every byte', () => {
    const text = Array.from({ length: 1500 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join('');
    const data = Buffer.from(`${text}\r\n`, 'latin1');
    const pieces = Array.from({ length: Math.ceil(data.length / 7) }, (_, i) => data.subarray(i * 7, i * 7 + 7));
    expect(lines(pieces, 2048)).to.deep.equal([`${text}\r`]);
  });

  it('room: a line of exactly `room` bytes (LF included) is read, one byte less is an overflow', () => {
    const chunk = Buffer.from('abc\r\nx', 'latin1');
    expect(whole(new LineReader(64).read(chunk, 0, 5)).next).to.equal(5);
    const reader = new LineReader(64);
    expect(reader.read(chunk, 0, 4)).to.equal('overflow');
    expect(reader.buffered).to.equal(0); // nothing was kept
  });

  it('room: a chunk that ends within `room` is kept, whatever its length', () => {
    const reader = new LineReader(64);
    expect(reader.read(Buffer.from('abcd'), 0, 4)).to.equal('more');
    expect(reader.buffered).to.equal(4);
    // the caller's room is what the line may still take: 0 with more bytes is an overflow
    expect(reader.read(Buffer.from('e'), 0, 0)).to.equal('overflow');
    expect(reader.buffered).to.equal(4);
  });

  it('reads from `pos` on, not from the start of the chunk', () => {
    const chunk = Buffer.from('skip\nline\n', 'latin1');
    const found = whole(new LineReader(64).read(chunk, 5, 64));
    expect(found.line.toString('latin1')).to.equal('line');
    expect(found.next).to.equal(10);
  });
});
