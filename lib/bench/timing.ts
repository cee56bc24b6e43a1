/**
 * Timing one benchmark: warm-up, then timed runs each ended by a device sync, bounded by a time
 * budget so that slow backends (llvmpipe) still finish.
 *
 * @module
 */
import { summarize, type Summary } from "./stats.ts";

/** How many runs to time and how long to spend. */
export interface TimingOptions {
  /** Untimed runs first (default 1): pipeline compilation, buffer pools, caches. */
  warmup?: number;
  /** Timed runs wanted (default 5). */
  reps?: number;
  /** Stop adding timed runs once they have taken this long, ms (default 3000); at least one. */
  budgetMs?: number;
  /**
   * A warm-up run at least this long (ms) is kept as the only sample instead of being
   * repeated (default Infinity): for runs of many seconds, where first-run costs are noise.
   */
  singleRunMs?: number;
}

/** What {@linkcode measure} found. */
export interface Timing extends Summary {
  /** Every timed run, ms, in order. */
  samples: number[];
  /** True when the single sample is the warm-up run itself (see `singleRunMs`). */
  cold: boolean;
}

/**
 * Times `run` followed by `sync` (which must wait until the work is done, e.g.
 * `device.flush()`): `warmup` untimed runs, then up to `reps` timed runs within `budgetMs`.
 * The result is the median with the spread of the runs.
 *
 * @example
 * ```ts
 * import { measure } from "./timing.ts";
 * import { assertEquals } from "../../tests/assert.ts";
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
  const { warmup = 1, reps = 5, budgetMs = 3000, singleRunMs = Infinity } = options;
  if (!(reps >= 1)) throw new RangeError(`measure: expected reps >= 1 but got ${reps}`);
  const once = async () => {
    const t0 = performance.now();
    await run();
    await sync();
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) {
    const ms = await once();
    if (ms >= singleRunMs) return { ...summarize([ms]), samples: [ms], cold: true };
  }
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < reps && (samples.length === 0 || spent < budgetMs)) {
    const ms = await once();
    samples.push(ms);
    spent += ms;
  }
  return { ...summarize(samples), samples, cold: false };
}
