/**
 * Summarise Autobahn|Testsuite reports (`reports/servers/index.json`,
 * `reports/clients/index.json`) per case category, as Markdown tables.
 *
 *     node dist/compliance/summary.js <index.json> [title] [<index.json> [title] ...]
 *
 * Per category: the number of cases, the count of each `behavior` (the case verdict: OK,
 * NON-STRICT, INFORMATIONAL, FAILED, anything else under "other"), the count of cases whose
 * closing was UNCLEAN, every `behaviorClose` value seen, and the suite's time for the
 * category (the sum of the case durations it reports). Below each table, every case whose behavior or behaviorClose is not OK.
 *
 * Exit status: 0 when every case is OK, NON-STRICT or INFORMATIONAL and no closing is
 * UNCLEAN or FAILED; 1 otherwise; 2 on unreadable input.
 */
import * as fs from 'node:fs';

interface CaseResult {
  behavior: string;
  behaviorClose: string;
  remoteCloseCode: number | null;
  duration: number;
}

const categoryNames: Record<string, string> = {
  '1': 'framing',
  '2': 'pings/pongs',
  '3': 'reserved bits',
  '4': 'opcodes',
  '5': 'fragmentation',
  '6': 'UTF-8',
  '7': 'close handling',
  '9': 'limits/performance',
  '10': 'misc',
  '12': 'permessage-deflate, payloads',
  '13': 'permessage-deflate, parameters',
};

const passing = new Set(['OK', 'NON-STRICT', 'INFORMATIONAL']);
const badClose = new Set(['UNCLEAN', 'FAILED']);

function caseKey(id: string): number[] {
  return id.split('.').map(Number);
}

function compareIds(a: string, b: string): number {
  const x = caseKey(a);
  const y = caseKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

interface Row {
  cases: number;
  behaviors: Map<string, number>;
  closes: Map<string, number>;
  ms: number;
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function summarise(file: string, title: string): boolean {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, CaseResult>>;
  let clean = true;
  for (const [agent, cases] of Object.entries(report)) {
    const ids = Object.keys(cases).sort(compareIds);
    const rows = new Map<string, Row>();
    const total: Row = { cases: 0, behaviors: new Map(), closes: new Map(), ms: 0 };
    const notOk: string[] = [];
    for (const id of ids) {
      const r = cases[id]!;
      const category = id.split('.')[0]!;
      let row = rows.get(category);
      if (row === undefined) {
        row = { cases: 0, behaviors: new Map(), closes: new Map(), ms: 0 };
        rows.set(category, row);
      }
      for (const t of [row, total]) {
        t.cases++;
        bump(t.behaviors, r.behavior);
        bump(t.closes, r.behaviorClose);
        t.ms += r.duration;
      }
      if (r.behavior !== 'OK' || r.behaviorClose !== 'OK')
        notOk.push(`${id}: ${r.behavior}, close ${r.behaviorClose} (remote close code ${r.remoteCloseCode})`);
      if (!passing.has(r.behavior) || badClose.has(r.behaviorClose)) clean = false;
    }
    const cell = (row: Row, b: string) => String(row.behaviors.get(b) ?? 0);
    const other = (row: Row) =>
      String(
        [...row.behaviors]
          .filter(([b]) => !['OK', 'NON-STRICT', 'INFORMATIONAL', 'FAILED'].includes(b))
          .reduce((n, [, c]) => n + c, 0),
      );
    const closes = (row: Row) =>
      [...row.closes]
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${n}`)
        .join(', ');
    const line = (label: string, row: Row) =>
      `| ${label} | ${row.cases} | ${cell(row, 'OK')} | ${cell(row, 'NON-STRICT')} | ${cell(row, 'INFORMATIONAL')} | ` +
      `${String(row.closes.get('UNCLEAN') ?? 0)} | ${cell(row, 'FAILED')} | ${other(row)} | ${closes(row)} | ${seconds(row.ms)} |`;
    console.log(`\n${title} (agent ${agent}, ${file})\n`);
    console.log(
      '| category | cases | OK | NON-STRICT | INFORMATIONAL | UNCLEAN | FAILED | other | behaviorClose | case time |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    for (const [category, row] of rows) console.log(line(`${category} ${categoryNames[category] ?? ''}`.trim(), row));
    console.log(line('**all**', total));
    console.log(notOk.length === 0 ? '\nEvery case: OK, close OK.' : `\nNot OK (${notOk.length}):`);
    for (const n of notOk) console.log(`- ${n}`);
  }
  return clean;
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: node dist/compliance/summary.js <index.json> [title] [<index.json> [title] ...]');
  process.exit(2);
}
let allClean = true;
try {
  for (let i = 0; i < args.length; i++) {
    const file = args[i]!;
    const title = args[i + 1] !== undefined && !args[i + 1]!.endsWith('.json') ? args[++i]! : file;
    if (!summarise(file, title)) allClean = false;
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
process.exitCode = allClean ? 0 : 1;
