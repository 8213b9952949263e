/** Native zlib contexts: the live counters, the pool and the shared compressors. */
import { expect } from 'chai';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as zlib from 'node:zlib';
import {
  NodeContext,
  drainPool,
  liveContexts,
  pooledContexts,
  sharedContext,
  takeContext,
} from '../../lib/extensions/zlib-context';

const deflate = (): zlib.DeflateRaw => new zlib.DeflateRaw({ windowBits: 12, memLevel: 5 });
const inflate = (): zlib.InflateRaw => new zlib.InflateRaw({ windowBits: 12 });

// mocha is not started with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;

describe('extensions/zlib-context', () => {
  beforeEach(drainPool);
  afterEach(drainPool);

  it('counts every open context by kind, once, until it is closed', () => {
    const before = liveContexts();
    const d = new NodeContext('d12:-1:5', deflate());
    const i = new NodeContext('i12', inflate());
    expect(liveContexts()).to.include({ deflate: before.deflate + 1, inflate: before.inflate + 1 });
    d.close();
    d.close(); // a second close frees nothing more
    i.close();
    expect(liveContexts()).to.include({ deflate: before.deflate, inflate: before.inflate });
  });

  it('keeps a released context in the pool (still live) and hands it out again', () => {
    const before = liveContexts();
    const context = takeContext('i12', inflate);
    context.release();
    expect(pooledContexts()).to.deep.equal({ deflate: 0, inflate: 1 });
    expect(liveContexts()).to.include({ inflate: before.inflate + 1, pooled: 1 });
    expect(takeContext('i12', inflate)).to.equal(context);
    expect(pooledContexts().inflate).to.equal(0);
    context.release();
    drainPool();
    expect(liveContexts()).to.include({ inflate: before.inflate, pooled: 0 });
  });

  it('makes one shared context per setting, freed by drainPool', () => {
    const before = liveContexts();
    const a = sharedContext('d12:-1:5', deflate);
    expect(sharedContext('d12:-1:5', deflate)).to.equal(a);
    const b = sharedContext('d9:1:1', () => new zlib.DeflateRaw({ windowBits: 9, level: 1, memLevel: 1 }));
    expect(b).to.not.equal(a);
    expect(liveContexts()).to.include({ deflate: before.deflate + 2, shared: 2 });
    drainPool();
    expect(liveContexts()).to.include({ deflate: before.deflate, shared: 0 });
    expect(sharedContext('d12:-1:5', deflate)).to.not.equal(a); // made again on demand
  });

  it('replaces a shared context that failed', () => {
    const broken = sharedContext('d12:-1:5', deflate);
    broken.broken = true;
    const next = sharedContext('d12:-1:5', deflate);
    expect(next).to.not.equal(broken);
    expect(liveContexts().shared).to.equal(1);
  });

  it('process(input, false) runs the input for its effect and drops the output', () => {
    const context = new NodeContext('d12:-1:5', deflate());
    const text = Buffer.from('the same words, the same words, the same words');
    expect(context.process(text, false).length).to.equal(0);
    // The window now holds `text`: compressing it again is a few back-references.
    const again = context.process(text);
    context.reset();
    const fresh = context.process(text);
    expect(again.length).to.be.lessThan(fresh.length);
    context.close();
  });

  it('keeps only the native handle: the zlib stream object it came from is collected, and the context still works', async () => {
    let ref!: WeakRef<object>;
    const context = new NodeContext(
      'd12:-1:5',
      (() => {
        const stream = deflate();
        ref = new WeakRef(stream);
        return stream;
      })(),
    );
    for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      collect();
    }
    expect(ref.deref(), 'the DeflateRaw stream object').to.equal(undefined);
    const text = Buffer.from('{"hello":"world","hello again":"world"}'.repeat(20));
    const compressed = context.process(text);
    expect(compressed.length).to.be.lessThan(text.length);
    expect(
      zlib.inflateRawSync(Buffer.concat([compressed, Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff])])).equals(text),
    ).to.equal(true);
    context.close();
  });
});
