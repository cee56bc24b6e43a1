/**
 * Deterministic inputs for the benchmarks (values do not matter, only that they are finite and
 * the same for every implementation).
 *
 * @module
 */

/**
 * `n` values in `[-scale, scale)` from a linear congruential generator seeded by `seed`.
 *
 * @example
 * ```ts
 * import { randomF32 } from "./random.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * assertEquals(randomF32(4, 7), randomF32(4, 7));
 * ```
 */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2147483648 - 1) * scale;
  }
  return a;
}

/**
 * `n` class ids in `[0, classes)`.
 *
 * @example
 * ```ts
 * import { randomLabels } from "./random.ts";
 * import { assert } from "../tests/assert.ts";
 *
 * assert(randomLabels(100, 21, 1).every((v) => v >= 0 && v < 21));
 * ```
 */
export function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const a = new Int32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s >>> 8) % classes;
  }
  return a;
}
