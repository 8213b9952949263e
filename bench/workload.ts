/**
 * What a workload is: something measured for our library and for ws in the same run.
 */
import type { BenchConfig } from './common';

/** The two sides of every comparison. */
export type Lib = 'ours' | 'ws';

/** How a figure is printed. */
export type Unit =
  | 'msg/s' // messages per second (also printed as ns per message)
  | 'B/s' // payload bytes per second
  | 'rt/s' // round trips per second
  | 'B/conn' // bytes per connection
  | 'B' // bytes
  | 'ms'; // a duration, or CPU time, in milliseconds

/** One row of the table. */
export interface Metric {
  /** Key in the record a measurement returns. */
  key: string;
  /** The row's title. */
  title: string;
  unit: Unit;
  /**
   * 'higher': throughput (ratio = ours / ws, want >= target); 'lower': memory, size (want
   * <= target); 'shorter': a duration (ratio = ws / ours, how many times faster: want >= target).
   */
  better: 'higher' | 'lower' | 'shorter';
  /** The target for ours / ws, or null when there is none. */
  target: number | null;
  /** The target for ours / the baseline (raw TCP), judged in the notes (issue 17). */
  baselineTarget?: number;
  /** A rate in msg/s of messages of this many bytes: printed in MB/s too. */
  bytesPerUnit?: number;
}

/**
 * What one pass over prebuilt input did: units (messages or bytes) in `ms` of timed
 * work (wall clock), which took `cpuMs` of process CPU time.
 */
export interface PassResult {
  units: number;
  ms: number;
  cpuMs: number;
}

/**
 * A pass: runs once over the prebuilt input (fresh state made when the pass is
 * created); `close` releases that state after the repetition.
 */
export type Pass = (() => PassResult | Promise<PassResult>) & { close?: () => void };

/** One workload: set up once, measured alternately for ours and ws. */
export interface Workload {
  /** Name for `--only`. */
  name: string;
  /** Its rows. */
  metrics: Metric[];
  /** Prebuild inputs, start servers (outside any timed region). */
  setup?(config: BenchConfig): Promise<void> | void;
  /**
   * CPU-bound workloads: a new pass function for `lib` (its state, e.g. a fresh
   * Connection, made here, outside the timed region). The runner interleaves passes of
   * ours and ws within each repetition until both have `minMs` of timed work, so that
   * load from other processes hits both alike. Units per second is the figure.
   */
  pass?(lib: Lib): Pass;
  /** Other workloads: one measurement for one library (`warmup`: a short run whose result is dropped). */
  measure?(lib: Lib, config: BenchConfig, warmup: boolean): Promise<Record<string, number>> | Record<string, number>;
  /**
   * An optional baseline measured in the same rounds (raw TCP), shown beside the pair.
   * With `ratio`, it is a third side compared with ours (ours over HTTP/1.1 beside ours
   * over HTTP/2): measured in rotation with ours and ws, and the notes give the median of
   * the per-repetition ratios ours / baseline (its min–max, and its CPU-time ratio when
   * measured), named `ratio`.
   */
  baseline?: {
    label: string;
    ratio?: string;
    measure(config: BenchConfig, warmup: boolean): Promise<Record<string, number>> | Record<string, number>;
  };
  /** Key of the Python wsproto figure (bench/py/wsproto_bench.py) for this workload's first metric. */
  python?: string;
  /** Deterministic: measured once, no repetitions. */
  once?: boolean;
  /** Paired repetitions (default: config.reps). */
  reps?(config: BenchConfig): number;
  /** No warm-up (memory workloads run each measurement in a fresh process). */
  noWarmup?: boolean;
  /** Stop servers, free memory. */
  teardown?(): Promise<void> | void;
}

/** A single-metric measurement's record. */
export function value(v: number): Record<string, number> {
  return { value: v };
}
