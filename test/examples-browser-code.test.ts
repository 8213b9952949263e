/**
 * examples/browser-code: the same page script (client.js) in Node, on our `WebSocket`, and
 * in headless Chromium, on its own, against the example's echo service: the lines each
 * logs must be equal.
 */
import { expect } from 'chai';
import { launchChromium, requireChromium, within, type Browser } from './helpers/browser';
import { startExample, stopExample } from './helpers/examples';
import { once, until } from './helpers/net';

describe('examples/browser-code', function () {
  this.timeout(30000);

  let browser: Browser | null = null;
  before(function () {
    requireChromium(this);
  });
  after(async () => {
    if (browser !== null) await within(browser.close(), 10000, 'Chromium to close');
  });

  it('client.js logs the same lines in Node (our WebSocket) as in Chromium (its own)', async () => {
    const ex = startExample('browser-code');
    try {
      const pattern = /open (http:\/\/\S+) in a browser/;
      await until(() => pattern.test(ex.output()), 10000, `the Node run to finish (stderr: ${ex.errors()})`);
      const url = pattern.exec(ex.output())![1]!;
      const inNode = ex
        .output()
        .split('\n')
        .filter((line) => line.startsWith('node: '))
        .map((line) => line.slice('node: '.length));
      expect(inNode.at(-1)).to.equal('close: 1000 "done" wasClean=true, readyState 3');

      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitForSelector('#log[data-done="true"]', { timeout: 10000 });
      const inChromium = (await page.textContent('#log'))!.trimEnd().split('\n');
      expect(inNode).to.deep.equal(inChromium);
      expect(inNode).to.include('send before open: InvalidStateError');
      expect(inNode).to.include('message: binary "a blob"');

      ex.child.kill('SIGTERM'); // serves until stopped; exits 0
      const [code] = await once<[number | null]>(ex.child, 'exit', 10000);
      expect(code).to.equal(0);
    } finally {
      await stopExample(ex.child);
    }
  });
});
