/**
 * A real browser for tests: Debian's Chromium (/usr/bin/chromium), driven headless by
 * playwright-core (a devDependency; no browser download). Tests call `requireChromium`
 * in their `before` (a skip locally when it is missing, a failure in CI), then
 * `launchChromium()`, and close the browser with `within(browser.close(), ...)`.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { requirePeer } from './peers';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox', // we may run as root, where Chromium refuses to start sandboxed
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-proxy-server', // never send loopback traffic to a proxy from the environment
];

type Playwright = typeof import('playwright-core');
export type Browser = import('playwright-core').Browser;
export type Page = import('playwright-core').Page;

let playwright: Playwright | null = null;
try {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded if present
  playwright = require('playwright-core') as Playwright;
} catch {
  playwright = null;
}

/** Skip (locally) or fail (CI) unless Chromium and playwright-core are there. */
export function requireChromium(ctx: Mocha.Context): void {
  requirePeer(
    ctx,
    existsSync(CHROMIUM) && playwright !== null,
    `Chromium at ${CHROMIUM} and playwright-core`,
    'apt-get install chromium, and npm install (playwright-core is a devDependency)',
  );
}

/**
 * Launch headless Chromium (playwright makes, and removes, a fresh --user-data-dir), with
 * `extraArgs` after the usual ones (e.g. `trustCertificate(cert)`).
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return playwright!.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 20000,
  });
}

/**
 * The launch flag that makes Chromium trust one self-signed certificate (PEM) and no other:
 * `--ignore-certificate-errors-spki-list` with the base64 SHA-256 of its public key (SPKI,
 * DER). Unlike a context's `ignoreHTTPSErrors`, any other bad certificate still fails.
 */
export function trustCertificate(certPem: Buffer | string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `--ignore-certificate-errors-spki-list=${createHash('sha256').update(spki).digest('base64')}`;
}

/** Reject after `ms` if `promise` has not settled. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
