/**
 * Timing one benchmark: warm-up, then timed runs each ended by a device sync, bounded by a time
 * budget so that slow backends (llvmpipe) still finish.
 *
 * @module
 */
import { type RowLoad, startLoad } from "./load.ts";
import { summarize, type Summary } from "./stats.ts";

/** How many runs to time and how long to spend. */
export interface TimingOptions {
  /** Untimed runs first (default 1): pipeline compilation, buffer pools, JIT, caches. */
  warmup?: number;
  /** More warm-up runs (up to 5 in all) while the warm-up has taken less than this, ms (default 0). */
  warmupMs?: number;
  /** Timed runs wanted (default 5). */
  reps?: number;
  /** Stop before `reps` once the timed runs have taken this long, ms (default 3000); at least one. */
  budgetMs?: number;
  /** Go on past `reps` (up to `maxReps`) while the timed runs have taken less than this, ms (default 0): cheap kernels get more samples. */
  minTimeMs?: number;
  /** Most timed runs (default `reps`). */
  maxReps?: number;
  /**
   * A warm-up run at least this long (ms) is kept as the only sample instead of being
   * repeated (default Infinity): for runs of many seconds, where first-run costs are noise.
   */
  singleRunMs?: number;
  /** The clock, ms (default `performance.now`; tests pass a fake one). */
  clock?: () => number;
}

/** What {@linkcode measure} found. */
export interface Timing extends Summary {
  /** Every timed run, ms, in order. */
  samples: number[];
  /** True when the single sample is the warm-up run itself (see `singleRunMs`). */
  cold: boolean;
  /** The machine's load during the timed runs (null off Linux). */
  load: RowLoad | null;
}

/**
 * Times `run` followed by `sync` (which must wait until the work is done, e.g.
 * `device.flush()`): `warmup` untimed runs (more while under `warmupMs`), then up to `reps`
 * timed runs within `budgetMs`, and more (up to `maxReps`) while under `minTimeMs`. The
 * result is the median with the spread of the runs, and the machine's load while they ran.
 *
 * @example
 * ```ts
 * import { measure } from "./timing.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * let calls = 0;
 * const t = await measure(() => calls++, () => Promise.resolve(), { warmup: 1, reps: 3 });
 * assertEquals([calls, t.runs], [4, 3]);
 * ```
 */
export async function measure(
  run: () => unknown,
  sync: () => Promise<unknown>,
  options: TimingOptions = {},
): Promise<Timing> {
  const { warmup = 1, warmupMs = 0, reps = 5, budgetMs = 3000, singleRunMs = Infinity } = options;
  const { minTimeMs = 0, maxReps = reps, clock = () => performance.now() } = options;
  if (!(reps >= 1)) throw new RangeError(`measure: expected reps >= 1 but got ${reps}`);
  const once = async () => {
    const t0 = clock();
    await run();
    await sync();
    return clock() - t0;
  };
  let warm = 0;
  for (let i = 0; i < warmup || (warm < warmupMs && i < 5); i++) {
    const window = startLoad();
    const ms = await once();
    if (ms >= singleRunMs) {
      return { ...summarize([ms]), samples: [ms], cold: true, load: window.end() };
    }
    warm += ms;
  }
  const samples: number[] = [];
  let spent = 0;
  const more = () =>
    samples.length === 0 ||
    (samples.length < reps && spent < budgetMs) ||
    (samples.length < maxReps && spent < minTimeMs);
  const window = startLoad();
  while (more()) {
    const ms = await once();
    samples.push(ms);
    spent += ms;
  }
  return { ...summarize(samples), samples, cold: false, load: window.end() };
}

/** The fields of a result row that a {@linkcode Timing} gives: median ms, samples, spread, cold, load. */
export function timingFields(
  t: Timing,
): { ms: number; samples: number[]; spreadPct: number; cold: boolean; load?: RowLoad } {
  const f = { ms: t.median, samples: t.samples, spreadPct: t.spreadPct, cold: t.cold };
  return t.load ? { ...f, load: t.load } : f;
}
