/**
 * Summaries of repeated timings: the median and how far the runs spread around it.
 *
 * @module
 */

/** Summary of timed runs, all in milliseconds. */
export interface Summary {
  /** Median of the runs. */
  median: number;
  /** Fastest run. */
  min: number;
  /** Slowest run. */
  max: number;
  /** Half the range over the median, in percent: a rough noise figure (0 for one run). */
  spreadPct: number;
  /** Number of runs. */
  runs: number;
}

/**
 * Median of `values` (the mean of the two middle values for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * assertEquals(median([5, 1, 3]), 3);
 * assertEquals(median([4, 1, 3, 2]), 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median: expected at least one value but got none");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Median, extremes and spread of `samples` (milliseconds).
 *
 * @example
 * ```ts
 * import { summarize } from "./stats.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * assertEquals(summarize([9, 10, 11]).spreadPct, 10);
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  const m = median(samples);
  const min = Math.min(...samples), max = Math.max(...samples);
  return {
    median: m,
    min,
    max,
    spreadPct: m > 0 ? (max - min) / 2 / m * 100 : 0,
    runs: samples.length,
  };
}
