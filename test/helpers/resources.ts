/**
 * Counting what an operation leaves behind: live sockets, pending connects, timers
 * (`process.getActiveResourcesInfo()`), for tests that prove an abort or a failure
 * released everything. Counted, never timed.
 */
import { expect } from 'chai';
import { until } from './net';

/** The handle kinds an attempt may hold. */
const KINDS = ['TCPSocketWrap', 'ConnectWrap', 'TLSWrap', 'Timeout', 'PipeWrap', 'GetAddrInfoReqWrap'];

/** Live resources by kind, now. */
export function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

/** The count before an operation, taken a turn later (mocha arms its test timer after the test started). */
export async function baselineNow(): Promise<Record<string, number>> {
  await new Promise((r) => setImmediate(r));
  return resources();
}

/** Wait until the live sockets, connects and timers are back to `baseline` (bounded), else fail showing both. */
export async function backTo(baseline: Record<string, number>): Promise<void> {
  const relevant = (r: Record<string, number>) => JSON.stringify(KINDS.map((k) => r[k] ?? 0));
  await until(() => relevant(resources()) === relevant(baseline), 3000, 'the resources to be released').catch(() =>
    expect(resources()).to.deep.equal(baseline),
  );
}
