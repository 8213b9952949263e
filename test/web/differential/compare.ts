/**
 * Comparing a scenario's two results (browser, Node): the intended differences are
 * checked on each side and blanked out, then the rest must be equal; on a mismatch the
 * message is a line diff of the two results (one trace entry or server record a line).
 */
import type { Difference } from './scenarios';

/** What one run of a scenario produced: the client's trace and the server's records. */
export interface RunResult {
  trace: unknown[];
  server: unknown[];
}

type Side = 'browser' | 'node';

/** Replace {base} and {host} in the strings of an expected value. */
function fill(value: unknown, baseUrl: string): unknown {
  if (typeof value === 'string')
    return value.replace('{base}', baseUrl).replace('{host}', baseUrl.slice('ws://'.length));
  if (Array.isArray(value)) return value.map((v) => fill(v, baseUrl));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, baseUrl)]));
  }
  return value;
}

/**
 * Does `actual` show `expected`? Objects: every key of `expected` matches (others are
 * free); arrays: the same length, element by element; anything else: equal.
 */
export function shows(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => shows(actual[i], e));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(expected).every(([k, v]) => k in record && shows(record[k], v));
  }
  return actual === expected;
}

/** Visit every value at `path` (keys, `*` for any), replacing it with `replace`'s answer. */
function rewrite(node: unknown, path: string[], at: string, replace: (value: unknown, at: string) => unknown): unknown {
  if (path.length === 0) return replace(node, at);
  if (node === null || typeof node !== 'object') return node;
  const [key, ...rest] = path as [string, ...string[]];
  const container = node as Record<string, unknown>;
  for (const k of Object.keys(container)) {
    if (key === '*' || key === k) container[k] = rewrite(container[k], rest, `${at}.${k}`, replace);
  }
  return node;
}

/**
 * Check and blank the intended differences of one side's result (a pinned value is
 * matched with `shows`: the keys it names must be there and equal). Returns the blanked
 * copy and the problems (a side that does not show the value its difference pins).
 */
export function applyDifferences(
  result: RunResult,
  side: Side,
  differences: readonly Difference[],
  baseUrl: string,
): { result: RunResult; problems: string[] } {
  const copy = structuredClone(result) as unknown as Record<string, unknown>;
  const problems: string[] = [];
  for (const difference of differences) {
    const expected = difference[side];
    const path = difference.path.split('.');
    const visit = (value: unknown, at: string) => {
      if (expected !== undefined && !shows(value, fill(expected, baseUrl))) {
        problems.push(
          `${side} at ${at}: the intended difference (${difference.reason}) expects ` +
            `${JSON.stringify(fill(expected, baseUrl))}, got ${JSON.stringify(value)}`,
        );
      }
      return '<intended difference>';
    };
    rewrite(copy, path, '', visit);
  }
  return { result: copy as unknown as RunResult, problems };
}

/** The lines of a result: one per trace entry and per server record. */
function lines(result: RunResult): string[] {
  return [
    'trace:',
    ...result.trace.map((e) => `  ${JSON.stringify(e)}`),
    'server:',
    ...result.server.map((r) => `  ${JSON.stringify(r)}`),
  ];
}

/** A unified-style line diff (LCS): '  ' same, '- ' browser only, '+ ' Node only. */
export function lineDiff(browser: RunResult, node: RunResult): string {
  const a = lines(browser);
  const b = lines(node);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`);
      j++;
    } else if (j < b.length && (i === a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${b[j++]}`);
    else out.push(`- ${a[i++]}`);
  }
  return out.join('\n');
}

/** Compare: null when equal (outside the intended differences), else the failure message. */
export function compareResults(
  browser: RunResult,
  node: RunResult,
  differences: readonly Difference[],
  baseUrl: string,
): string | null {
  const b = applyDifferences(browser, 'browser', differences, baseUrl);
  const n = applyDifferences(node, 'node', differences, baseUrl);
  const problems = [...b.problems, ...n.problems];
  if (problems.length === 0 && JSON.stringify(b.result) === JSON.stringify(n.result)) return null;
  return [
    ...problems,
    'the traces differ (- browser, + Node; intended differences blanked):',
    lineDiff(b.result, n.result),
  ].join('\n');
}
