/**
 * Estimates of how long a case will take, from the cases already measured, so that slow
 * backends (software WebGPU) skip what would not finish in reasonable time.
 *
 * @module
 */
import { type KernelCase, type ModelCase, relativeCost } from "./cases.ts";

/**
 * Estimated ms of kernel case `c` from the throughput of the last measured case of the same
 * kind and pass; null when none was measured.
 *
 * @example
 * ```ts
 * import { KernelEstimator } from "./estimate.ts";
 * import { kernelCases } from "./cases.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const [a, , , b] = kernelCases(); // conv 3->64 and 64->64 at 224, forward
 * const e = new KernelEstimator();
 * e.record(a, 10);
 * assertEquals(Math.round(e.estimate(b)!), Math.round(10 * b.flops / a.flops));
 * ```
 */
export class KernelEstimator {
  #rates = new Map<string, number>();

  /** Work units of a case: flops, else bytes. */
  static work(c: KernelCase): number {
    return c.flops > 0 ? c.flops : c.bytes;
  }

  /** Records that case `c` took `ms`. */
  record(c: KernelCase, ms: number): void {
    if (ms > 0) this.#rates.set(`${c.kind}/${c.pass}`, KernelEstimator.work(c) / ms);
  }

  /** Estimated ms of `c`, or null. */
  estimate(c: KernelCase): number | null {
    const rate = this.#rates.get(`${c.kind}/${c.pass}`);
    return rate ? KernelEstimator.work(c) / rate : null;
  }
}

/**
 * Estimated ms of model case `c` from the most expensive case of the same model measured so far,
 * scaled by pixels x batch (train counting 3 forwards); null before any measurement.
 *
 * @example
 * ```ts
 * import { estimateModelMs } from "./estimate.ts";
 * import { modelCase } from "./cases.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const done = [{ c: modelCase("fcn8s", 64, 1, "forward"), ms: 100 }];
 * assertEquals(estimateModelMs(modelCase("fcn8s", 128, 4, "train"), done), 100 * 4 * 4 * 3);
 * ```
 */
export function estimateModelMs(
  c: ModelCase,
  done: readonly { c: ModelCase; ms: number }[],
): number | null {
  const same = done.filter((d) => d.c.model === c.model);
  if (same.length === 0) return null;
  const ref = same.reduce((a, b) => relativeCost(a.c) >= relativeCost(b.c) ? a : b);
  return ref.ms * relativeCost(c) / relativeCost(ref.c);
}

/** The note of a case skipped because its estimate exceeds the cap. */
export function skipNote(estMs: number, capMs: number, per: string): string {
  return `skipped: ~${(estMs / 1000).toFixed(0)} s per ${per} estimated > cap ${
    (capMs / 1000).toFixed(0)
  } s`;
}
