/**
 * Soak (b): connect - exchange - close, many times over 127.0.0.1 (`connect()` against
 * a `handleUpgrade` echo server), checking that nothing accumulates: heap and RSS come
 * back near their baseline after a GC, no MaxListenersExceededWarning (or any other
 * warning) is emitted, and every close, on both ends, is the expected clean 1000.
 *
 *     node dist/test/soak/cycles.js [--cycles 100000] [--concurrency 50] [--deflate]
 *          [--progress 5000] [--max-heap-growth-mib 16] [--max-rss-growth-mib 64]
 *
 * Exits non-zero when a check fails.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, handleUpgrade } from '../../lib/index';
import { MiB, ensureLimits, parseArgs, pool, settledMemory, size } from './common';

const USAGE =
  'usage: node dist/test/soak/cycles.js [--cycles N] [--concurrency C] [--deflate] [--progress P] ' +
  '[--max-heap-growth-mib M] [--max-rss-growth-mib M]';
const args = parseArgs(
  {
    cycles: 100_000,
    concurrency: 50,
    deflate: false as boolean,
    progress: 5_000,
    maxHeapGrowthMib: 16,
    maxRssGrowthMib: 64,
  },
  USAGE,
);
ensureLimits(4 * args.concurrency + 256);

const warnings: Error[] = [];
process.on('warning', (warning) => {
  warnings.push(warning);
  console.log(`WARNING ${warning.name}: ${warning.message}`);
});

/** Counts of `key` occurrences. */
class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  toString(): string {
    return [...this.counts].map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
  }
}

async function main(): Promise<void> {
  const serverCloses = new Tally();
  const clientCloses = new Tally();
  const errors = new Tally();
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    const ws = handleUpgrade(req, socket, head, { perMessageDeflate: args.deflate });
    ws.on('message', (data: string | Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
    ws.on('error', (error: Error) => errors.add(`server ${error.name}: ${error.message}`));
    ws.on('close', (code: number, _reason: string, clean: boolean) =>
      serverCloses.add(`${code}${clean ? '' : ' unclean'}`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/soak`;

  const cycle = async (i: number): Promise<void> => {
    let ws: Awaited<ReturnType<typeof connect>> | null = null;
    try {
      ws = await connect(url, { perMessageDeflate: args.deflate });
      const closed = new Promise<void>((resolve) =>
        ws!.once('close', (code: number, _reason: string, clean: boolean) => {
          clientCloses.add(`${code}${clean ? '' : ' unclean'}`);
          resolve();
        }),
      );
      ws.on('error', (error: Error) => errors.add(`client ${error.name}: ${error.message}`));
      const text = `cycle ${i} ${'x'.repeat(Math.abs(i) % 200)}`;
      const echo = await new Promise<string>((resolve) => {
        ws!.once('message', (data) => resolve(String(data)));
        ws!.send(text, args.deflate ? { compress: true } : {});
      });
      if (echo !== text) errors.add('wrong echo');
      ws.close(1000, 'done');
      await closed;
    } catch (error) {
      errors.add(`cycle: ${(error as Error).message}`);
      ws?.destroy();
    }
  };

  const started = Date.now();
  const warmup = Math.min(1000, Math.max(1, Math.floor(args.cycles / 10)));
  console.log(
    `${args.cycles} cycles, ${args.concurrency} at a time, ${args.deflate ? 'with' : 'without'} permessage-deflate; ` +
      `baseline after ${warmup} warm-up cycles`,
  );
  await pool(warmup, args.concurrency, (i) => cycle(-1 - i));
  const baseline = await settledMemory();
  const line = (done: number, m: NodeJS.MemoryUsage) =>
    `${String(done).padStart(7)} cycles  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ` +
    `heap ${size(m.heapUsed).padStart(9)} (${size(m.heapUsed - baseline.heapUsed)})  ` +
    `rss ${size(m.rss).padStart(9)} (${size(m.rss - baseline.rss)})`;
  console.log(line(0, baseline));

  let done = 0;
  while (done < args.cycles) {
    const batch = Math.min(args.progress, args.cycles - done);
    const from = done;
    await pool(batch, args.concurrency, (k) => cycle(from + k));
    done += batch;
    console.log(line(done, await settledMemory()));
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise((r) => setTimeout(r, 100));
  const end = await settledMemory();
  const seconds = (Date.now() - started) / 1000;
  const heapGrowth = end.heapUsed - baseline.heapUsed;
  const rssGrowth = end.rss - baseline.rss;

  const total = args.cycles + warmup;
  const expectedServer = serverCloses.counts.get('1000') ?? 0;
  const expectedClient = clientCloses.counts.get('1000') ?? 0;
  console.log(`done: ${args.cycles} cycles in ${seconds.toFixed(1)} s (${(args.cycles / seconds).toFixed(0)}/s)`);
  console.log(`server closes: ${serverCloses}`);
  console.log(`client closes: ${clientCloses}`);
  console.log(`errors: ${errors}`);
  console.log(`warnings: ${warnings.length}`);
  console.log(`heap growth over the baseline: ${size(heapGrowth)}; RSS growth: ${size(rssGrowth)}`);
  const failures: string[] = [];
  if (expectedServer !== total) failures.push(`server: ${expectedServer} clean 1000 closes of ${total}`);
  if (expectedClient !== total) failures.push(`client: ${expectedClient} clean 1000 closes of ${total}`);
  if (errors.counts.size > 0) failures.push('errors');
  if (warnings.length > 0) failures.push(`${warnings.length} process warnings`);
  if (heapGrowth > args.maxHeapGrowthMib * MiB) failures.push(`heap grew by ${size(heapGrowth)}`);
  if (rssGrowth > args.maxRssGrowthMib * MiB) failures.push(`RSS grew by ${size(rssGrowth)}`);
  console.log(failures.length === 0 ? 'PASS' : `FAIL: ${failures.join('; ')}`);
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
