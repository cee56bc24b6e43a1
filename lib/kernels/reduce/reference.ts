/**
 * Reference reduce kernels: plain loops over typed arrays. Sums accumulate in f64 (JS numbers),
 * so even a full sum of millions of f32 elements is exact to f32 rounding.
 *
 * @module
 */
import type { AxisArgs } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";

/**
 * `[outer, len, inner]` -> `[outer, inner]` index of the first max along len. A NaN counts as
 * larger than every number (PyTorch's rule), so the first NaN wins.
 */
export function argmax({ x, outer, len, inner }: OnHost<AxisArgs>): Int32Array {
  const y = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let best = 0;
      let bv = x[base];
      for (let l = 1; l < len && !Number.isNaN(bv); l++) {
        const v = x[base + l * inner];
        if (v > bv || Number.isNaN(v)) {
          bv = v;
          best = l;
        }
      }
      y[o * inner + i] = best;
    }
  }
  return y;
}

/** `[outer, len, inner]` -> `[outer, inner]` sums along len, accumulated in f64. */
export function sum({ x, outer, len, inner }: OnHost<AxisArgs>): Float32Array {
  const y = new Float32Array(outer * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    const base = o * len * inner;
    for (let l = 0; l < len; l++) {
      const row = base + l * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[row + i];
    }
    y.set(acc, o * inner);
  }
  return y;
}

/** `[outer, inner]` -> `[outer, len, inner]`, each row repeated `len` times. */
export function broadcast({ x, outer, len, inner }: OnHost<AxisArgs>): Float32Array {
  const y = new Float32Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    const row = x.subarray(o * inner, (o + 1) * inner);
    for (let l = 0; l < len; l++) y.set(row, (o * len + l) * inner);
  }
  return y;
}
