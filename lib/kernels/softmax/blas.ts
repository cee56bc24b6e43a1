/**
 * Softmax for the BLAS backend: the reference's f64 arithmetic, bit for bit, with the loops
 * turned around: each row `[inner]` of the axis is swept in order for every column at once (max,
 * then the sum of exponentials, in f64 per-column arrays), instead of gathering each column's
 * `len` values with a stride of `inner` (the class planes of `[N, K, H, W]`). Outputs go into
 * pooled arrays (every element is written).
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { f32of } from "../../device/host.ts";
import { expectLength } from "../_check.ts";

/** `softmax` (or `log_softmax`) of `[outer, len, inner]` along len, into `y`. */
export function softmax(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
  log: boolean,
  y: Float32Array = new Float32Array(outer * len * inner),
): Float32Array {
  expectLength("softmax", "x", x, outer * len * inner);
  expectLength("softmax", "y", y, outer * len * inner);
  const max = new Float64Array(inner), sum = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    max.fill(-Infinity);
    sum.fill(0);
    for (let l = 0; l < len; l++) {
      const r = base + l * inner;
      for (let i = 0; i < inner; i++) max[i] = Math.max(max[i], x[r + i]);
    }
    for (let l = 0; l < len; l++) {
      const r = base + l * inner;
      for (let i = 0; i < inner; i++) sum[i] += Math.exp(x[r + i] - max[i]);
    }
    if (log) { for (let i = 0; i < inner; i++) sum[i] = Math.log(sum[i]); }
    for (let l = 0; l < len; l++) {
      const r = base + l * inner;
      if (log) { for (let i = 0; i < inner; i++) y[r + i] = x[r + i] - max[i] - sum[i]; }
      else for (let i = 0; i < inner; i++) y[r + i] = Math.exp(x[r + i] - max[i]) / sum[i];
    }
  }
  return y;
}

/** Backward of {@linkcode softmax} from its output `y`, into `dx`. */
export function softmaxGrad(
  y: Float32Array,
  dy: Float32Array,
  outer: number,
  len: number,
  inner: number,
  log: boolean,
  dx: Float32Array = new Float32Array(outer * len * inner),
): Float32Array {
  for (const [name, a] of [["y", y], ["dy", dy], ["dx", dx]] as const) {
    expectLength("softmaxGrad", name, a, outer * len * inner);
  }
  const s = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * len * inner;
    s.fill(0);
    for (let l = 0; l < len; l++) {
      const r = base + l * inner;
      if (log) { for (let i = 0; i < inner; i++) s[i] += dy[r + i]; }
      else for (let i = 0; i < inner; i++) s[i] += dy[r + i] * y[r + i];
    }
    for (let l = 0; l < len; l++) {
      const r = base + l * inner;
      if (log) {
        for (let i = 0; i < inner; i++) dx[r + i] = dy[r + i] - Math.exp(y[r + i]) * s[i];
      } else for (let i = 0; i < inner; i++) dx[r + i] = y[r + i] * (dy[r + i] - s[i]);
    }
  }
  return dx;
}

/** The softmax slice of the BLAS backend: swept row by row, into pooled arrays. */
export const softmaxBlas: KernelSlice<BlasRuntime, "softmax"> = {
  softmax: (rt, { x, outer, len, inner, log }) => {
    const y = rt.pool.f32(outer * len * inner);
    return rt.track(softmax(f32of(x), outer, len, inner, log, y));
  },
  softmaxGrad: (rt, { y, dy, outer, len, inner, log }) => {
    const dx = rt.pool.f32(outer * len * inner);
    return rt.track(softmaxGrad(f32of(y), f32of(dy), outer, len, inner, log, dx));
  },
};
