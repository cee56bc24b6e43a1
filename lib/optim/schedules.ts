/**
 * Learning-rate schedules: step decay per epoch, and poly with linear warmup per iteration
 * (torchvision's segmentation reference).
 *
 * @module
 */

/** A schedule: the learning-rate factor at an iteration (0-based) of a run. */
export interface Schedule {
  /** Multiplier of the base learning rate at `iteration`. */
  factor(iteration: number): number;
}

/** Options of {@linkcode stepSchedule}. */
export interface StepScheduleOptions {
  /** Iterations per epoch. */
  itersPerEpoch: number;
  /** Epochs between decays. */
  stepSize: number;
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/**
 * `StepLR`: `gamma ^ floor(epoch / stepSize)`.
 *
 * @example
 * ```ts
 * import { stepSchedule } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const s = stepSchedule({ itersPerEpoch: 10, stepSize: 2, gamma: 0.5 });
 * assertEquals([s.factor(0), s.factor(19), s.factor(20)], [1, 1, 0.5]);
 * ```
 */
export function stepSchedule(o: StepScheduleOptions): Schedule {
  const gamma = o.gamma ?? 0.1;
  return {
    factor: (it) => gamma ** Math.floor(Math.floor(it / o.itersPerEpoch) / o.stepSize),
  };
}

/** Options of {@linkcode polySchedule}. */
export interface PolyScheduleOptions {
  /** Iterations of the whole run. */
  totalIters: number;
  /** Iterations of linear warmup (default 0). */
  warmupIters?: number;
  /** Factor at the first warmup iteration (default 1e-3). */
  warmupFactor?: number;
  /** Exponent (default 0.9). */
  power?: number;
}

/**
 * Linear warmup from `warmupFactor` over `warmupIters`, then `(1 - progress) ^ power`, where
 * progress counts the iterations after warmup.
 *
 * @example
 * ```ts
 * import { polySchedule } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const s = polySchedule({ totalIters: 110, warmupIters: 10 });
 * assertAlmostEquals(s.factor(0), 1e-3, 1e-12);
 * assertAlmostEquals(s.factor(10), 1, 1e-12);
 * assertAlmostEquals(s.factor(60), 0.5 ** 0.9, 1e-12);
 * ```
 */
export function polySchedule(o: PolyScheduleOptions): Schedule {
  const warm = o.warmupIters ?? 0;
  const start = o.warmupFactor ?? 1e-3;
  const power = o.power ?? 0.9;
  const main = Math.max(1, o.totalIters - warm);
  return {
    factor(it) {
      if (it < warm) return start + (1 - start) * (it / warm);
      return Math.max(0, 1 - (it - warm) / main) ** power;
    },
  };
}
