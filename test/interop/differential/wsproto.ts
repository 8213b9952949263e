/**
 * Differential testing, the Python side: one wsproto process (test/interop/peers/
 * wsproto_diff.py) for every case, JSON lines in and out, in order.
 */
import { PythonProcess } from '../python-peers';
import { normalize, runOurs, ZLIB_SYNC, ONLY_ZLIB_SYNC, type Conversation, type Entry, type Raw } from './conversation';
import type { DiffCase } from './generator';
import { judge, type Context, type Verdict } from './judge';

export interface PyCase {
  id: string;
  role: 'client' | 'server';
  chunks: string[];
  eof: boolean;
  deflate: string | null;
  patched: boolean;
}

/** One wsproto process for every case: JSON lines in, JSON lines out, in order. */
export class Wsproto {
  readonly py = new PythonProcess('wsproto_diff.py', []);
  #next = 0;

  send(c: PyCase): Promise<boolean> {
    const ok = this.py.child.stdin.write(`${JSON.stringify(c)}\n`);
    if (ok) return Promise.resolve(true);
    return new Promise((resolve) => this.py.child.stdin.once('drain', () => resolve(true)));
  }

  /** The answer to the next case sent (answers come in order). */
  async receive(id: string): Promise<Raw[]> {
    const line = await this.py.line<{ id: string; events: Raw[] }>(this.#next++, 60000);
    if (line.id !== id) throw new Error(`wsproto_diff.py answered ${line.id} for ${id}`);
    this.py.lines[this.#next - 1] = null; // done with it
    return line.events;
  }
}

export function toPy(c: Pick<DiffCase, 'id' | 'role' | 'chunks' | 'eof' | 'deflate'>, patched = false): PyCase {
  const id = patched ? `${c.id}/patched` : c.id;
  return {
    id,
    role: c.role,
    chunks: c.chunks.map((b) => b.toString('base64')),
    eof: c.eof,
    deflate: c.deflate,
    patched,
  };
}

/** The answers to one run: wsproto's conversation and, with deflate, the patched one's. */
export async function runBoth(
  py: Wsproto,
  r: DiffCase,
): Promise<() => Promise<{ ours: Conversation; theirs: Conversation; ctx: Context }>> {
  const ours = runOurs(r);
  await py.send(toPy(r));
  if (r.deflate !== null) await py.send(toPy(r, true));
  return async () => {
    const theirs = normalize(await py.receive(r.id));
    const ctx: Context = r.deflate === null ? {} : { patched: normalize(await py.receive(`${r.id}/patched`)) };
    return { ours, theirs, ctx };
  };
}

/**
 * Send a case (with deflate, its patched run too); return a function that collects the
 * answers (they come in order) and judges the case. A cut case whose verdict needs the
 * uncut stream comes back with `needsSibling`: pass it to `judgeWithSibling`.
 */
export async function submit(
  py: Wsproto,
  c: DiffCase,
): Promise<() => Promise<{ verdict: Verdict; ours: Conversation; theirs: Conversation; ctx: Context }>> {
  const collect = await runBoth(py, c);
  return async () => {
    const { ours, theirs, ctx } = await collect();
    return { verdict: judge(c, ours, theirs, ctx), ours, theirs, ctx };
  };
}

/** Judge a cut case again with its uncut stream run on both sides. */
export async function judgeWithSibling(
  py: Wsproto,
  c: DiffCase,
  ours: Conversation,
  theirs: Conversation,
  ctx: Context,
): Promise<Verdict> {
  const full: DiffCase = { ...c, id: `${c.id}/full`, cut: null, chunks: [c.stream] };
  const s = await (await runBoth(py, full))();
  const sibling = { verdict: judge(full, s.ours, s.theirs, s.ctx), ours: s.ours, theirs: s.theirs };
  return judge(c, ours, theirs, { ...ctx, sibling });
}

/** What a failing case prints: enough to replay it. */
export function describeCase(
  c: DiffCase,
  ours: Conversation,
  theirs: Conversation,
  verdict: Verdict,
  full = false,
): string {
  const fed = c.cut === null ? c.stream : c.stream.subarray(0, c.cut);
  const shown =
    fed.length > 400 && !full
      ? `${fed.subarray(0, 400).toString('hex')}... (${fed.length} bytes)`
      : fed.toString('hex');
  const clip = (v: string | number) => (typeof v === 'string' && v.length > 80 && !full ? `${v.slice(0, 80)}...` : v);
  const short = (entries: Entry[]) => JSON.stringify(entries.map((e) => e.map(clip)));
  return [
    `case ${c.id}: ${verdict.kind}${verdict.detail ? ` (${verdict.detail})` : ''}`,
    `  role ${c.role}, deflate ${c.deflate === null ? 'off' : `${c.deflate} (ours: ${(c.zlibSync || ONLY_ZLIB_SYNC) && ZLIB_SYNC ? 'zlib-sync' : 'node:zlib'})`}, eof ${c.eof}, ${c.cut === null ? 'uncut' : `cut at ${c.cut} of ${c.stream.length}`}, ` +
      `${c.huge ? 'huge length, ' : ''}chunks ${c.chunks.map((b) => b.length).join('+')}`,
    `  bytes ${shown}`,
    `  ours    ${short(ours.entries)}`,
    `  wsproto ${short(theirs.entries)}`,
  ].join('\n');
}
