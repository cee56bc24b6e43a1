/**
 * `--runs R`: the sections repeated R times, one after the other; the rows of the same item and
 * implementation merged into one, keeping each run's median for the ratio ranges.
 *
 * @module
 */
import { summarize } from "./stats.ts";
import { worstLoad } from "./load.ts";
import type { BenchResult } from "./types.ts";

/** Throughputs that scale as 1 / time. */
const RATES = ["gflops", "gbps", "imagesPerSec"] as const;

/** One row from the rows of the same item and implementation over the runs. */
function mergeGroup(rows: BenchResult[]): BenchResult {
  const timed = rows.filter((r) => r.ms !== undefined && r.samples?.length);
  if (timed.length === 0) return rows[0];
  if (timed.length === 1 && rows.length === 1) return rows[0];
  const first = timed[0];
  const samples = timed.flatMap((r) => r.samples!);
  const s = summarize(samples);
  const out: BenchResult = {
    ...first,
    ms: s.median,
    samples,
    spreadPct: s.spreadPct,
    cold: timed.every((r) => r.cold),
    runMs: timed.map((r) => r.ms!),
  };
  for (const k of RATES) {
    if (first[k] !== undefined) out[k] = first[k]! * first.ms! / s.median;
  }
  const peaks = timed.map((r) => r.peakBytes).filter((v): v is number => v !== undefined);
  if (peaks.length) out.peakBytes = Math.max(...peaks);
  const rss = timed.map((r) => r.rssBytes).filter((v): v is number => v !== undefined);
  if (rss.length) out.rssBytes = Math.max(...rss);
  const load = worstLoad(timed.map((r) => r.load));
  if (load) out.load = load;
  if (timed.length < rows.length) {
    out.note = `${rows.length - timed.length} of ${rows.length} runs not measured: ${
      rows.find((r) => r.ms === undefined)?.note ?? "n/a"
    }`;
  }
  return out;
}

/**
 * Merges the rows of several runs: one row per section, id and implementation, in first-seen
 * order; samples concatenated, the median over all of them, `runMs` = each run's median, rates
 * rescaled to the merged median, the largest peaks and the worst load.
 *
 * @example
 * ```ts
 * import { mergeRuns } from "./runs.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const r = { section: "models", id: "m", label: "m", pass: "forward", impl: "blas", peer: false } as const;
 * const merged = mergeRuns([
 *   { ...r, ms: 10, samples: [9, 10, 11], imagesPerSec: 100 },
 *   { ...r, ms: 20, samples: [20, 20, 21], imagesPerSec: 50 },
 * ]);
 * assertEquals([merged.length, merged[0].ms, merged[0].runMs, merged[0].imagesPerSec], [1, 15.5, [10, 20], 100 * 10 / 15.5]);
 * ```
 */
export function mergeRuns(results: readonly BenchResult[]): BenchResult[] {
  const groups = new Map<string, BenchResult[]>();
  for (const r of results) {
    const key = `${r.section}\u0000${r.id}\u0000${r.impl}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()].map(mergeGroup);
}
