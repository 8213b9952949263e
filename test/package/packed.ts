/**
 * The npm package as people get it, made once for every test file of the package checks
 * (test/package.test.ts and test/package/): `npm pack` of the build, then a plain
 * `npm install <tarball>` into an empty project outside this repository (no flags that
 * skip scripts or optional packages, so the install is what a user's is).
 *
 * The install needs readable-stream and its dependencies from the npm cache or the
 * registry. Without a network (and an empty cache) the tests that need it skip with a
 * message, except in CI (CI=true), where they fail.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const root = path.join(__dirname, '..', '..', '..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[], cwd: string, timeout = 90000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** npm through the same node, when npm runs the tests; else the `npm` on the PATH. */
export function npm(args: string[], cwd: string, timeout?: number): Promise<Run> {
  const cli = process.env.npm_execpath;
  return cli !== undefined && /npm-cli\.js$/.test(cli)
    ? run(process.execPath, [cli, ...args], cwd, timeout)
    : run('npm', args, cwd, timeout);
}

export interface Packed {
  /** The temporary directory that holds everything below (removed at exit). */
  dir: string;
  tarball: string;
  /** The paths inside the tarball, sorted. */
  files: string[];
  /** The consumer project, with the tarball installed: `<project>/node_modules/wsproto`. */
  project: string;
  /** npm's output for the install, or why it failed (`installed` false). */
  installLog: string;
  installed: boolean;
  installMs: number;
}

let pending: Promise<Packed> | undefined;

/** Packs and installs once per mocha run; every caller shares the result. */
export function packed(): Promise<Packed> {
  pending ??= packAndInstall();
  return pending;
}

async function packAndInstall(): Promise<Packed> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsproto-pack-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  // --ignore-scripts: a prepack/prepare script must not rebuild dist/ under the tests.
  const pack = await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], root);
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  const report = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = report[0]!.files.map((f) => f.path).sort();
  const tarball = path.join(dir, path.basename(report[0]!.filename));

  const project = path.join(dir, 'consumer');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const started = Date.now();
  const install = await npm(
    ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
    project,
    90000,
  );
  const installMs = Date.now() - started;
  return {
    dir,
    tarball,
    files,
    project,
    installLog: `${install.stdout}\n${install.stderr}`.trim(),
    installed: install.code === 0,
    installMs,
  };
}

const NETWORK_ERROR =
  /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENOTCACHED|network/i;

/** Skips (locally) when the install failed for lack of a network; fails otherwise. */
export function requireInstall(ctx: Mocha.Context, pkg: Packed): void {
  if (pkg.installed) return;
  if (NETWORK_ERROR.test(pkg.installLog) && process.env.CI !== 'true') {
    console.log('      skipped: npm install of the packed tarball needs the registry (or readable-stream and');
    console.log('      its dependencies in the npm cache) and the network is not available; CI=true makes');
    console.log('      this a failure');
    ctx.skip();
  }
  throw new Error(`npm install of the packed tarball failed:\n${pkg.installLog}`);
}
