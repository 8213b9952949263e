/** Running the programs of examples/ as a user would: built, as child processes, on PORT=0. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { once, until } from './net';

export const root = path.join(__dirname, '..', '..', '..');

/** A running example: its process, what it printed so far, and the `ws://` URL it prints. */
export interface RunningExample {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  errors: () => string;
  /** The first `ws://` URL it prints (waits for it). */
  url: () => Promise<string>;
}

/**
 * Start an example with PORT=0: `name` is a directory of examples/ (its main.js runs), a
 * .js file under dist/examples/, or `scripts/start.js` (what `npm start` runs).
 */
export function startExample(name: string, args: string[] = [], env: Record<string, string> = {}): RunningExample {
  const file = name.startsWith('scripts/')
    ? path.join(root, name)
    : path.join(root, 'dist', 'examples', name.endsWith('.js') ? name : path.join(name, 'main.js'));
  const child = spawn(process.execPath, [file, ...args], { cwd: root, env: { ...process.env, PORT: '0', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const pattern = /ws:\/\/[\d.]+:\d+\/\S*/;
  return {
    child,
    output: () => out,
    errors: () => err,
    url: async () => {
      await until(() => pattern.test(out), 10000, `${name} to print its URL (stderr: ${err})`);
      return pattern.exec(out)![0];
    },
  };
}

/** Kill an example that is still running (SIGKILL), and wait for it to exit. */
export function stopExample(child: ChildProcessWithoutNullStreams): Promise<unknown> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = once(child, 'exit', 5000).catch(() => null);
  child.kill('SIGKILL');
  return exited;
}
