/**
 * Garbage collection for tests that pin what a connection releases, by reachability
 * rather than by timings (mocha is not started with --expose-gc).
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');

/** A full garbage collection. */
export const collect = vm.runInNewContext('gc') as () => void;

/** True once nothing holds the target of `ref` (after a few collections and turns). */
export async function released(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    collect();
  }
  return ref.deref() === undefined;
}
