#!/usr/bin/env node
'use strict';
// The long fuzzing campaign: the fast-check properties of test/fuzz/ (compiled to
// dist/test/fuzz/ by `npm run build`) with many more runs than `npm test` gives them.
//
//   npm run fuzz                          10,000 runs per property, a fresh random seed
//   npm run fuzz -- 100000                100,000 runs per property
//   npm run fuzz -- 100000 12345          ... from seed 12345 (replays a reported run)
//   npm run fuzz -- 5000 --grep deflate   other arguments go to mocha
//
// The same through the environment: WSPROTO_FUZZ_RUNS, WSPROTO_FUZZ_SEED. Each property
// scales the run count by its cost (see test/fuzz/config.ts) and shrinks a failure to a
// small counterexample; the seed is printed first so that any run can be replayed.
// Exits with mocha's status.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'dist', 'test', 'fuzz');
const numbers = [];
const rest = [];
for (const arg of process.argv.slice(2)) {
  if (/^\d+$/.test(arg) && numbers.length < 2 && rest.length === 0) numbers.push(arg);
  else rest.push(arg);
}
const runs = numbers[0] ?? process.env.WSPROTO_FUZZ_RUNS ?? '10000';
const seed = numbers[1] ?? process.env.WSPROTO_FUZZ_SEED ?? String(Math.floor(Math.random() * 0x7fffffff));
for (const [name, value] of [
  ['runs', runs],
  ['seed', seed],
]) {
  if (!Number.isSafeInteger(Number(value)) || Number(value) < 0) {
    console.error(`usage: node scripts/fuzz.js [runs] [seed] [mocha options] (bad ${name}: ${value})`);
    process.exit(2);
  }
}
if (!fs.existsSync(dir)) {
  console.error(`${path.relative(root, dir)} is missing: run npm run build first`);
  process.exit(2);
}
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => path.join(dir, f));
console.log(`fuzz: ${files.length} files, WSPROTO_FUZZ_RUNS=${runs} WSPROTO_FUZZ_SEED=${seed}`);
const started = Date.now();
const mocha = require.resolve('mocha/bin/mocha.js');
const result = spawnSync(
  process.execPath,
  [mocha, '--no-config', '--timeout', '0', '--enable-source-maps', '--reporter', 'spec', ...rest, ...files],
  { cwd: root, env: { ...process.env, WSPROTO_FUZZ_RUNS: runs, WSPROTO_FUZZ_SEED: seed }, stdio: 'inherit' },
);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(`fuzz: ${result.status === 0 ? 'passed' : 'FAILED'} in ${seconds} s (replay: WSPROTO_FUZZ_SEED=${seed})`);
process.exit(result.status ?? 1);
