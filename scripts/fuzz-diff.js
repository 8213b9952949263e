#!/usr/bin/env node
'use strict';
// Differential fuzzing against Python wsproto with many cases: runs the compiled
// test/interop/differential.test.ts (build first: npm run build) through mocha with
// WSPROTO_DIFF_CASES set.
//
//   node scripts/fuzz-diff.js [cases] [seed]      e.g. node scripts/fuzz-diff.js 100000
//   node scripts/fuzz-diff.js --only <case> [seed]   replay one case and print it in full
//
// Needs /usr/bin/python3 with wsproto (apt-get install python3-wsproto). Exits with
// mocha's status: non-zero when a difference is not one of the documented ones.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
// WSPROTO_DIFF_DIST: another build directory (default dist/).
const dist = path.resolve(root, process.env.WSPROTO_DIFF_DIST ?? 'dist');
const compiled = path.join(dist, 'test', 'interop', 'differential.test.js');
const args = process.argv.slice(2);
const env = { ...process.env };
if (args[0] === '--only') {
  env.WSPROTO_DIFF_ONLY = String(Number(args[1]));
  if (args[2] !== undefined) env.WSPROTO_DIFF_SEED = String(Number(args[2]));
} else {
  env.WSPROTO_DIFF_CASES = String(Number(args[0] ?? 100000));
  if (args[1] !== undefined) env.WSPROTO_DIFF_SEED = String(Number(args[1]));
}
for (const name of ['WSPROTO_DIFF_CASES', 'WSPROTO_DIFF_SEED', 'WSPROTO_DIFF_ONLY']) {
  if (env[name] !== undefined && !Number.isSafeInteger(Number(env[name]))) {
    console.error(`usage: node scripts/fuzz-diff.js [cases] [seed] | --only <case> [seed] (bad ${name})`);
    process.exit(2);
  }
}
if (!fs.existsSync(compiled)) {
  console.error(`${path.relative(root, compiled)} is missing: run npm run build first`);
  process.exit(2);
}
const mocha = require.resolve('mocha/bin/mocha.js');
const result = spawnSync(
  process.execPath,
  [mocha, '--no-config', '--timeout', '0', '--enable-source-maps', '--grep', 'generated cases', compiled],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
