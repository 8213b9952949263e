/**
 * The npm package as people get it: `npm pack` the build, install the tarball in a fresh
 * project outside this repository (test/package/packed.ts, shared with test/package/),
 * and use it from an ES module and from CommonJS. Only what `files` and `exports` in
 * package.json publish is reachable there, so a missing file, a broken ESM face or a
 * leaked deep import shows up here first. The install is a plain `npm install`: it must
 * compile nothing and pull only readable-stream's small tree. The TypeScript consumers
 * and the types checker are in test/package/types.test.ts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXPECTED_OUTPUT, JS_CONSUMER, NAMES } from './package/consumers';
import { type Packed, packed, requireInstall, root, run } from './package/packed';

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  version: string;
  dependencies?: Record<string, string>;
};

/** Every file and directory below `dir`. */
function entries(dir: string): fs.Dirent[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true });
}

describe('the npm package (npm pack, installed in a fresh project)', function () {
  this.timeout(180000);

  let p: Packed;
  before(async () => {
    p = await packed();
  });

  it('contains dist/lib, README.md, LICENSE, CHANGELOG.md and package.json, and nothing else', () => {
    const outside = p.files.filter(
      (f) => !f.startsWith('dist/lib/') && !['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json'].includes(f),
    );
    expect(outside, 'files outside the published set').to.deep.equal([]);
    for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) expect(p.files).to.include(f);
    // Compiled library only: no tests, examples, benchmarks or TypeScript sources.
    const unexpected = p.files.filter((f) => f.startsWith('dist/lib/') && !/\.(js|mjs|d\.ts|d\.mts|js\.map)$/.test(f));
    expect(unexpected, 'unexpected kinds of files in dist/lib').to.deep.equal([]);
    // The entry points of "main", "types" and "exports".
    for (const f of ['dist/lib/index.js', 'dist/lib/index.mjs', 'dist/lib/index.d.ts', 'dist/lib/index.d.mts']) {
      expect(p.files).to.include(f);
    }
    // Every module of lib/ is there, compiled and declared.
    const sources = fs
      .readdirSync(path.join(root, 'lib'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.split(path.sep).join('/').replace(/\.ts$/, ''));
    for (const module of sources) {
      expect(p.files).to.include(`dist/lib/${module}.js`);
      expect(p.files).to.include(`dist/lib/${module}.d.ts`);
    }
  });

  it('ships source maps that lead somewhere: each carries the text of its sources', () => {
    const broken: string[] = [];
    for (const js of p.files.filter((f) => f.endsWith('.js'))) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(path.join(root, js), 'utf8'))?.[1];
      if (url === undefined) continue;
      const map = path.posix.join(path.posix.dirname(js), url);
      if (!p.files.includes(map)) {
        broken.push(`${js}: ${url} is not in the package`);
        continue;
      }
      const { sources, sourcesContent } = JSON.parse(fs.readFileSync(path.join(root, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      sources.forEach((source, i) => {
        const shipped = p.files.includes(path.posix.join(path.posix.dirname(map), source));
        if (!shipped && typeof sourcesContent?.[i] !== 'string') broken.push(`${map}: ${source} leads nowhere`);
      });
    }
    expect(broken).to.deep.equal([]);
  });

  it('a plain npm install compiles nothing and pulls only readable-stream and its dependencies', function () {
    requireInstall(this, p);
    const modules = path.join(p.project, 'node_modules');
    const lock = JSON.parse(fs.readFileSync(path.join(modules, '.package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; optional?: boolean; peer?: boolean }>;
    };
    const installed = Object.keys(lock.packages).map((k) => k.replace(/^.*node_modules\//, ''));
    const scripted = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([k]) => k);
    expect(scripted, 'packages with install scripts').to.deep.equal([]);
    expect(p.installLog).to.not.match(/node-gyp|gyp info|prebuild/);
    const builds = entries(modules)
      .filter((e) => (e.isDirectory() && e.name === 'build') || e.name.endsWith('.node'))
      .map((e) => path.relative(modules, path.join(e.parentPath, e.name)));
    expect(builds, 'build/ directories and native addons').to.deep.equal([]);
    expect(installed).to.include('wsproto');
    expect(installed.filter((n) => n.startsWith('@types/') || n === 'zlib-sync')).to.deep.equal([]);
    // wsproto, readable-stream 4 and readable-stream's 9 dependencies (abort-controller,
    // buffer, events, process, string_decoder and theirs): a new one is a decision.
    expect(installed.length, installed.join(', ')).to.be.at.most(11);
    expect(Object.keys(pkg.dependencies ?? {})).to.deep.equal(['readable-stream']);
    const bytes = entries(modules)
      .filter((e) => e.isFile())
      .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
    console.log(
      `      note: ${installed.length} packages, ${Math.round(bytes / 1000)} kB, installed in ${p.installMs} ms`,
    );
  });

  it('require(): a CommonJS consumer does a handshake, messages and the close', async function () {
    requireInstall(this, p);
    fs.writeFileSync(path.join(p.project, 'consumer.cjs'), `const ${NAMES} = require('wsproto');\n${JS_CONSUMER}`);
    const result = await run(process.execPath, ['consumer.cjs'], p.project, 30000);
    expect(result.stderr).to.equal('');
    expect(JSON.parse(result.stdout)).to.deep.equal(EXPECTED_OUTPUT);
  });

  it('import: an ES module consumer does the same, with the same classes as require(), and no default export', async function () {
    requireInstall(this, p);
    const esm =
      `import ${NAMES} from 'wsproto';\nimport * as namespace from 'wsproto';\n` +
      `import { createRequire } from 'node:module';\n` +
      `if (createRequire(import.meta.url)('wsproto').TextMessage !== TextMessage) throw new Error('two copies');\n` +
      // The declarations of the import condition (index.d.mts) have no default export either.
      `if ('default' in namespace) throw new Error('a default export that the types do not declare');\n` +
      JS_CONSUMER;
    fs.writeFileSync(path.join(p.project, 'consumer.mjs'), esm);
    const result = await run(process.execPath, ['consumer.mjs'], p.project, 30000);
    expect(result.stderr).to.equal('');
    expect(JSON.parse(result.stdout)).to.deep.equal(EXPECTED_OUTPUT);
  });

  it('exposes only the package root: deep imports are refused', async function () {
    requireInstall(this, p);
    const probe = `
      const out = [];
      for (const p of ['wsproto/dist/lib/connection.js', 'wsproto/lib/connection']) {
        try { require(p); out.push(p + ' loaded'); } catch (e) { out.push(e.code); }
      }
      out.push(require('wsproto/package.json').version);
      console.log(JSON.stringify(out));`;
    const result = await run(process.execPath, ['-e', probe], p.project, 30000);
    expect(JSON.parse(result.stdout)).to.deep.equal([
      'ERR_PACKAGE_PATH_NOT_EXPORTED',
      'ERR_PACKAGE_PATH_NOT_EXPORTED',
      pkg.version,
    ]);
  });
});
