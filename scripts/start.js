'use strict';
// `npm start`: runs the demo chat (examples/chat), building it first in a fresh clone.
// PORT and HOST (default 8080 and 127.0.0.1) say where it listens.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const demo = path.join(root, 'dist', 'examples', 'chat', 'main.js');
if (!fs.existsSync(demo)) {
  console.log('Building first (npm run build) ...');
  require('node:child_process').execSync('npm run build', { stdio: 'inherit', cwd: root });
}
require(demo);
