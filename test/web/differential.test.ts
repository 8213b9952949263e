/**
 * The WHATWG `WebSocket` on our stack against Chromium's own, scenario by scenario: each
 * scenario of differential/scenarios.ts runs in headless Chromium (the browser's
 * `WebSocket`, on a page served by the test server) and in Node (ours), against the same
 * server (differential/server.ts), through the same runner function
 * (differential/runner.ts). The two results (the client's trace of steps and events, and
 * the server's view of the connection) must be equal, except for the intended
 * differences a scenario lists with their reasons.
 *
 * WSPROTO_WEB_DIFF_TRACES=<dir> writes both results of every scenario there as JSON;
 * WSPROTO_WEB_DIFF_ONLY=<name> runs one scenario.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Blob as NodeBlob } from 'node:buffer';
import { WebSocket } from '../../lib/index';
import { launchChromium, requireChromium, within, type Browser, type Page } from '../helpers/browser';
import { compareResults, type RunResult } from './differential/compare';
import { runScenario, type WebSocketCtor } from './differential/runner';
import { COMMON_DIFFERENCES, SCENARIOS, type Scenario } from './differential/scenarios';
import { startDiffServer, type DiffServer } from './differential/server';

const TRACES = process.env.WSPROTO_WEB_DIFF_TRACES;
const ONLY = process.env.WSPROTO_WEB_DIFF_ONLY;

/** Run `scenario` in the page with the browser's WebSocket: the runner's source, evaluated there. */
function inBrowser(page: Page, baseUrl: string, scenario: Scenario): Promise<unknown[]> {
  const call = `(${runScenario.toString()})(WebSocket, ${JSON.stringify(baseUrl)}, ${JSON.stringify(scenario)}, Blob)`;
  return page.evaluate(call) as Promise<unknown[]>;
}

describe('web: WebSocket against Chromium, scenario by scenario (differential)', function () {
  this.timeout(30000);
  let browser: Browser | null = null;
  let page: Page | null = null;
  let server: DiffServer | null = null;
  const pageLog: string[] = [];

  before(async function () {
    requireChromium(this);
    server = await startDiffServer();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('console', (m) => pageLog.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => pageLog.push(`pageerror: ${e.message}`));
    await page.goto(server.pageUrl, { timeout: 10000, waitUntil: 'load' });
    if (TRACES !== undefined) fs.mkdirSync(TRACES, { recursive: true });
  });

  after(async function () {
    this.timeout(15000);
    if (browser !== null) await within(browser.close(), 10000, 'the browser to close').catch(() => undefined);
    if (server !== null) await server.close();
    browser = null;
    server = null;
  });

  it('has at least 45 scenarios with distinct names', function () {
    expect(SCENARIOS.length).to.be.at.least(45);
    expect(new Set(SCENARIOS.map((s) => s.name)).size).to.equal(SCENARIOS.length);
  });

  for (const scenario of SCENARIOS) {
    if (ONLY !== undefined && scenario.name !== ONLY) continue;
    it(`${scenario.name}: ${scenario.title}`, async function () {
      const srv = server!;
      pageLog.length = 0;
      const browserResult: RunResult = {
        trace: await inBrowser(page!, srv.baseUrl, scenario),
        server: await srv.take(scenario.name),
      };
      const nodeResult: RunResult = {
        trace: await runScenario(WebSocket as unknown as WebSocketCtor, srv.baseUrl, scenario, NodeBlob as typeof Blob),
        server: await srv.take(scenario.name),
      };
      if (TRACES !== undefined) {
        const file = path.join(TRACES, `${scenario.name}.json`);
        fs.writeFileSync(file, JSON.stringify({ browser: browserResult, node: nodeResult }, null, 1));
      }
      const differences = [...COMMON_DIFFERENCES, ...(scenario.differences ?? [])];
      const failure = compareResults(browserResult, nodeResult, differences, srv.baseUrl);
      if (failure !== null) expect.fail([failure, ...pageLog].join('\n'));
    });
  }
});
