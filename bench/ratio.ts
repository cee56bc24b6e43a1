/**
 * Ratios of our time to a peer's, given as a range: one figure from two medians says less than
 * how far the ratio moved while the machine was measured.
 *
 * @module
 */
import type { BenchResult } from "./types.ts";

/** Our time over the peer's (above 1: the peer is faster), with the range it moved over. */
export interface RatioRange {
  /** Our median over the peer's. */
  ratio: number;
  /** Smallest and largest ratio over the rounds, runs or extremes (see `basis`). */
  lo: number;
  hi: number;
  /**
   * Where the range comes from: `rounds` = per-round ratios of rows timed in interleaved
   * rounds; `runs` = per-run median ratios (`--runs` >= 2); `extremes` = our fastest over the
   * peer's slowest to our slowest over the peer's fastest (one run, not interleaved).
   */
  basis: "rounds" | "runs" | "extremes";
}

function span(xs: number[]): [number, number] {
  return [Math.min(...xs), Math.max(...xs)];
}

/**
 * Our time over the peer's for the same case, with its range; null unless both have a time.
 *
 * @example
 * ```ts
 * import { timeRatio } from "./ratio.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const base = { section: "ort", id: "a", label: "a", pass: "forward", interleaved: true } as const;
 * const ours = { ...base, impl: "blas", peer: false, ms: 300, samples: [300, 280, 330] };
 * const ort = { ...base, impl: "ort", peer: true, ms: 200, samples: [200, 200, 220] };
 * assertEquals(timeRatio(ours, ort), { ratio: 1.5, lo: 1.4, hi: 1.5, basis: "rounds" });
 * ```
 */
export function timeRatio(ours: BenchResult, peer: BenchResult): RatioRange | null {
  if (!(ours.ms && peer.ms)) return null;
  const ratio = ours.ms / peer.ms;
  const a = ours.samples ?? [ours.ms], b = peer.samples ?? [peer.ms];
  if (ours.interleaved && peer.interleaved && a.length === b.length) {
    const [lo, hi] = span(a.map((t, i) => t / b[i]));
    return { ratio, lo, hi, basis: "rounds" };
  }
  const ra = ours.runMs ?? [], rb = peer.runMs ?? [];
  if (ra.length >= 2 && ra.length === rb.length) {
    const [lo, hi] = span(ra.map((t, i) => t / rb[i]));
    return { ratio, lo, hi, basis: "runs" };
  }
  return {
    ratio,
    lo: Math.min(...a) / Math.max(...b),
    hi: Math.max(...a) / Math.min(...b),
    basis: "extremes",
  };
}

/**
 * A ratio for a table cell: `1.50x` when the range rounds to one figure, else `1.50x
 * [1.40-1.60]`; `fmt` formats each number.
 */
export function ratioCell(r: RatioRange, fmt: (v: number) => string): string {
  const lo = fmt(r.lo), hi = fmt(r.hi);
  return lo === hi ? `${fmt(r.ratio)}x` : `${fmt(r.ratio)}x [${lo}-${hi}]`;
}
