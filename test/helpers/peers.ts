/**
 * Interop tests need peers that may not be installed on a developer machine. Locally a
 * missing peer skips the test with a message that says what to install; in CI
 * (CI=true) a missing peer fails the test, because .ci/run installs every peer.
 */
export function requirePeer(ctx: Mocha.Context, available: boolean, what: string, install: string): void {
  if (available) return;
  const message = `peer not available: ${what} (install with: ${install})`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI must run every interop test`);
  console.log(`      skipped: ${message}`);
  ctx.skip();
}
