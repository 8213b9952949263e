/**
 * The layout rules of style.md, held by a test: test/ mirrors lib/ file for file, files
 * stay small, and only lib/stream/ does I/O (the core never imports sockets, streams,
 * timers or events).
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

function walk(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = `${dir}/${entry.name}`;
    return entry.isDirectory() ? walk(rel) : entry.name.endsWith('.ts') ? [rel] : [];
  });
}

const LIB = walk('lib');
const IO_MODULES = /from '(node:)?(net|tls|http|https|http2|stream|timers|events|readable-stream)'/;

describe('layout (style.md)', () => {
  it('every lib/ file has its mirror in test/', () => {
    const missing = LIB.map((f) => f.replace(/^lib\//, 'test/').replace(/\.ts$/, '.test.ts')).filter(
      (t) => !fs.existsSync(path.join(root, t)),
    );
    expect(missing).to.deep.equal([]);
  });

  it('no lib/ file is over 430 lines (about 400)', () => {
    const big = LIB.map((f) => [f, fs.readFileSync(path.join(root, f), 'utf8').split('\n').length] as const).filter(
      ([, lines]) => lines > 430,
    );
    expect(big).to.deep.equal([]);
  });

  it('only lib/stream/ imports I/O modules (sockets, streams, timers, events)', () => {
    const offenders = LIB.filter((f) => !f.startsWith('lib/stream/')).filter((f) =>
      IO_MODULES.test(fs.readFileSync(path.join(root, f), 'utf8')),
    );
    expect(offenders).to.deep.equal([]);
  });
});
