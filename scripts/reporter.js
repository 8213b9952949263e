'use strict';
// Mocha reporter: mocha's "spec" output, then one plain line "N passed, N failed[, N skipped]"
// built from the runner's own counts, which CI reads. The same counts are written to
// dist/test-results.json so that .ci/run can print the line last, after npm's own output.
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

class CountingReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      const line = `${passes} passed, ${failures} failed` + (pending > 0 ? `, ${pending} skipped` : '');
      process.stdout.write(`${line}\n`);
      try {
        fs.writeFileSync(
          path.join(__dirname, '..', 'dist', 'test-results.json'),
          JSON.stringify({ passes, failures, pending }),
        );
      } catch {
        // dist/ missing: the line above is still printed.
      }
    });
  }
}

module.exports = CountingReporter;
