'use strict';
// `node scripts/install-footprint.js [runs]` (after `npm run build`): what `npm install`
// costs a user, for wsproto's packed tarball and for `ws` (the version in node_modules),
// measured the same way. Each run installs into a new empty project with a new empty npm
// cache (every package comes from the registry, nothing from a warm cache), then once
// more with that cache warm (--prefer-offline). Prints the median times, the number of
// packages, the bytes in node_modules and whether anything ran an install script.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const runs = Number(process.argv[2] ?? 5);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-footprint-'));

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function bytes(dir) {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + fs.statSync(path.join(e.parentPath, e.name)).size, 0);
}

function installOnce(spec, cache, offline) {
  const project = fs.mkdtempSync(path.join(work, 'project-'));
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "footprint", "private": true }');
  const args = ['install', spec, '--no-audit', '--no-fund', '--cache', cache, '--foreground-scripts'];
  if (offline) args.push('--prefer-offline');
  const started = process.hrtime.bigint();
  const log = npm(args, project);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const lock = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', '.package-lock.json'), 'utf8'));
  const entries = Object.values(lock.packages);
  return {
    ms,
    packages: entries.length,
    bytes: bytes(path.join(project, 'node_modules')),
    scripts: entries.filter((e) => e.hasInstallScript).length,
    gyp: /gyp/.test(log),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(label, spec) {
  const cold = [];
  const warm = [];
  let last;
  for (let i = 0; i < runs; i++) {
    const cache = fs.mkdtempSync(path.join(work, 'cache-'));
    last = installOnce(spec, cache, false);
    cold.push(last.ms);
    warm.push(installOnce(spec, cache, true).ms);
  }
  console.log(
    `${label.padEnd(24)} cold ${median(cold).toFixed(0).padStart(5)} ms  warm ${median(warm).toFixed(0).padStart(5)} ms  ` +
      `${String(last.packages).padStart(2)} packages  ${(last.bytes / 1000).toFixed(0).padStart(5)} kB  ` +
      `install scripts: ${last.scripts}${last.gyp ? ' (node-gyp ran)' : ''}`,
  );
}

try {
  const packed = JSON.parse(npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work], root));
  const tarball = path.join(work, packed[0].filename);
  const ws = require(path.join(root, 'node_modules', 'ws', 'package.json')).version;
  console.log(`npm ${npm(['--version'], root).trim()}, node ${process.version}, median of ${runs} runs each`);
  measure(`wsproto ${packed[0].version} (tarball)`, tarball);
  measure(`ws ${ws}`, `ws@${ws}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
