/**
 * Cross entropy for the BLAS backend: the reference's f64 arithmetic per pixel, bit for bit,
 * with the loops turned around: each class plane `[HW]` is swept in order for every pixel at
 * once (max, then the sum of exponentials, in f64 per-pixel arrays), instead of gathering each
 * pixel's K logits from K planes. Outputs may be passed in (`out`: any contents, every element
 * is written), so the backend hands in recycled arrays.
 *
 * @module
 */
import * as ref from "./reference.ts";
import type { KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { f32of, i32of } from "../../device/host.ts";
import { expectLength } from "../_check.ts";

/**
 * Per-pixel max and `sum(exp(x - max))` over the K planes `[K, HW]` of image `b`, in the
 * reference's order (classes ascending), into `max` and `sum` (`[HW]`, f64).
 */
function softmaxStats(
  logits: Float32Array,
  base: number,
  k: number,
  hw: number,
  max: Float64Array,
  sum: Float64Array,
): void {
  max.fill(-Infinity);
  sum.fill(0);
  for (let c = 0; c < k; c++) {
    const o = base + c * hw;
    for (let p = 0; p < hw; p++) max[p] = Math.max(max[p], logits[o + p]);
  }
  for (let c = 0; c < k; c++) {
    const o = base + c * hw;
    for (let p = 0; p < hw; p++) sum[p] += Math.exp(logits[o + p] - max[p]);
  }
}

/** Per-pixel `-w[t] * log_softmax(x)[t]` and `w[t]`, 0 where ignored; logits `[N, K, HW]`. */
export function crossEntropy(
  logits: Float32Array,
  target: Int32Array,
  weight: Float32Array | null,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
  out?: { loss: Float32Array; weight: Float32Array },
): { loss: Float32Array; weight: Float32Array } {
  expectLength("crossEntropy", "logits", logits, n * k * hw);
  expectLength("crossEntropy", "target", target, n * hw);
  if (out) {
    expectLength("crossEntropy", "loss", out.loss, n * hw);
    expectLength("crossEntropy", "weight out", out.weight, n * hw);
  }
  const loss = out?.loss ?? new Float32Array(n * hw),
    wOut = out?.weight ?? new Float32Array(n * hw);
  const max = new Float64Array(hw), sum = new Float64Array(hw);
  for (let b = 0; b < n; b++) {
    const base = b * k * hw;
    softmaxStats(logits, base, k, hw, max, sum);
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p], o = b * hw + p;
      if (!ref.validTarget(t, k, ignoreIndex)) {
        loss[o] = 0;
        wOut[o] = 0;
        continue;
      }
      const w = weight ? weight[t] : 1;
      loss[o] = w * (max[p] + Math.log(sum[p]) - logits[base + t * hw + p]);
      wOut[o] = w;
    }
  }
  return { loss, weight: wOut };
}

/** `g * w[t] * (softmax(x) - onehot(t))`, g `[N, HW]` or one element; 0 where ignored. */
export function crossEntropyGrad(
  logits: Float32Array,
  target: Int32Array,
  weight: Float32Array | null,
  g: Float32Array,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
  out?: Float32Array,
): Float32Array {
  if (g.length !== 1 && g.length !== n * hw) {
    throw new RangeError(
      `crossEntropyGrad: expected g of 1 or ${n * hw} elements but got ${g.length}`,
    );
  }
  expectLength("crossEntropyGrad", "logits", logits, n * k * hw);
  expectLength("crossEntropyGrad", "target", target, n * hw);
  if (out) expectLength("crossEntropyGrad", "out", out, n * k * hw);
  const dx = out ?? new Float32Array(n * k * hw);
  const max = new Float64Array(hw), sum = new Float64Array(hw), scale = new Float64Array(hw);
  const cls = new Int32Array(hw);
  for (let b = 0; b < n; b++) {
    const base = b * k * hw;
    softmaxStats(logits, base, k, hw, max, sum);
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p];
      // -1: an ignored pixel, whose gradient is 0 in every class.
      cls[p] = ref.validTarget(t, k, ignoreIndex) ? t : -1;
      scale[p] = cls[p] < 0 ? 0 : g[g.length === 1 ? 0 : b * hw + p] * (weight ? weight[t] : 1);
    }
    for (let c = 0; c < k; c++) {
      const o = base + c * hw;
      for (let p = 0; p < hw; p++) {
        if (cls[p] < 0) {
          dx[o + p] = 0;
          continue;
        }
        const soft = Math.exp(logits[o + p] - max[p]) / sum[p];
        dx[o + p] = scale[p] * (soft - (c === cls[p] ? 1 : 0));
      }
    }
  }
  return dx;
}

/**
 * The loss slice of the BLAS backend: cross entropy swept plane by plane, into pooled arrays;
 * the negative log-likelihood (one gather per pixel) and the target check are the reference's.
 */
export const lossBlas: KernelSlice<BlasRuntime, "loss"> = {
  crossEntropy: (rt, { logits, target, weight, n, k, hw, ignoreIndex }) => {
    const out = { loss: rt.pool.f32(n * hw), weight: rt.pool.f32(n * hw) };
    const w = weight ? f32of(weight) : null;
    const r = crossEntropy(f32of(logits), i32of(target), w, n, k, hw, ignoreIndex, out);
    return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
  },
  crossEntropyGrad: (rt, { logits, target, weight, g, n, k, hw, ignoreIndex }) => {
    const [x, t, w] = [f32of(logits), i32of(target), weight ? f32of(weight) : null];
    const out = rt.pool.f32(n * k * hw);
    return rt.track(crossEntropyGrad(x, t, w, f32of(g), n, k, hw, ignoreIndex, out));
  },
  nllLoss: (rt, { logProbs, target, weight, n, k, hw, ignoreIndex }) => {
    const w = weight ? f32of(weight) : null;
    const r = ref.nllLoss(f32of(logProbs), i32of(target), w, n, k, hw, ignoreIndex);
    return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
  },
  nllLossGrad: (rt, { target, weight, g, n, k, hw, ignoreIndex }) => {
    const w = weight ? f32of(weight) : null;
    return rt.track(ref.nllLossGrad(i32of(target), w, f32of(g), n, k, hw, ignoreIndex));
  },
  checkTargets: (_rt, { target, k, ignoreIndex, op }) =>
    ref.checkTargets(i32of(target), k, ignoreIndex, op),
};
