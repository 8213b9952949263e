'use strict';
// `npm start`: runs the demo echo server once the Duplex wrapper exists (examples/echo-server).
const fs = require('node:fs');
const path = require('node:path');

const demo = path.join(__dirname, '..', 'dist', 'examples', 'echo-server', 'main.js');
if (!fs.existsSync(demo)) {
  console.log('Building first (npm run build) ...');
  require('node:child_process').execSync('npm run build', { stdio: 'inherit', cwd: path.join(__dirname, '..') });
}
if (fs.existsSync(demo)) {
  require(demo);
} else {
  console.log('The demo echo server arrives with the Duplex stream wrapper (examples/echo-server).');
  console.log('Until then: `npm test` runs the suite, and examples/ holds runnable sans-I/O programs.');
}
