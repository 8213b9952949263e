/**
 * Run counts and seeds of the fuzz properties (test/fuzz/*.test.ts).
 *
 * `npm test` runs every property a small, fixed number of times from a fixed seed, so
 * the suite is deterministic and the whole fuzz part stays within seconds. `npm run fuzz`
 * (scripts/fuzz.js) runs the same properties with many more runs:
 *
 *     WSPROTO_FUZZ_RUNS   runs per property (each property scales it by its own cost)
 *     WSPROTO_FUZZ_SEED   the base seed (default 0x5eed); each property derives its own
 *
 * A failure prints fast-check's seed and path; replay it with those two variables, or
 * with `fc.assert(..., { seed, path })` in the failing property.
 */
import type { Parameters as FcParameters } from 'fast-check';

function envInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return value;
}

/** Runs per property asked for by `npm run fuzz`, or undefined under `npm test`. */
export const FUZZ_RUNS = envInteger('WSPROTO_FUZZ_RUNS');

/** The base seed. */
export const FUZZ_SEED = envInteger('WSPROTO_FUZZ_SEED') ?? 0x5eed;

/** True when running the long campaign (scripts/fuzz.js). */
export const LONG_RUN = FUZZ_RUNS !== undefined;

// A stable 31-bit hash, so that every property gets its own seed from the base seed.
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/**
 * fast-check parameters for one property: `quick` runs under `npm test`; under
 * `npm run fuzz`, WSPROTO_FUZZ_RUNS times `weight` (expensive properties weigh less).
 */
export function fuzzParams<T>(name: string, quick: number, weight = 1): FcParameters<T> {
  const numRuns = FUZZ_RUNS === undefined ? quick : Math.max(1, Math.round(FUZZ_RUNS * weight));
  // Shrinking is for the long campaign; in npm test a failure reports its first case.
  return { seed: (FUZZ_SEED ^ hash(name)) | 0, numRuns, endOnFailure: !LONG_RUN };
}
