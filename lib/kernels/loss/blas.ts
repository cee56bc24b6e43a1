/**
 * Cross entropy for the BLAS backend: the reference's f64 arithmetic per pixel, bit for bit,
 * with the loops turned around: each class plane `[HW]` is swept in order for every pixel at
 * once (max, then the sum of exponentials, in f64 per-pixel arrays: the BLAS softmax's
 * `columnStats`), instead of gathering each pixel's K logits from K planes. Outputs may be
 * passed in (`out`: any contents, every element is written), so the backend hands in recycled
 * arrays.
 *
 * @module
 */
import * as ref from "./reference.ts";
import type { KernelArgs, KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { type OnHost, onHost } from "../../device/host.ts";
import { lossCpu } from "./cpu.ts";
import { columnStats } from "../softmax/blas.ts";
import { expectLength } from "../_check.ts";

/** Per-pixel `-w[t] * log_softmax(x)[t]` and `w[t]`, 0 where ignored; logits `[N, K, HW]`. */
export function crossEntropy(
  a: OnHost<KernelArgs["crossEntropy"]>,
  out?: { loss: Float32Array; weight: Float32Array },
): { loss: Float32Array; weight: Float32Array } {
  const { logits, target, weight, n, k, hw, ignoreIndex } = a;
  expectLength("crossEntropy", "logits", logits, n * k * hw);
  expectLength("crossEntropy", "target", target, n * hw);
  if (out) {
    expectLength("crossEntropy", "loss", out.loss, n * hw);
    expectLength("crossEntropy", "weight out", out.weight, n * hw);
  }
  const loss = out?.loss ?? new Float32Array(n * hw),
    wOut = out?.weight ?? new Float32Array(n * hw);
  const stats = { max: new Float64Array(hw), sum: new Float64Array(hw) };
  const { max, sum } = stats;
  for (let b = 0; b < n; b++) {
    const base = b * k * hw;
    columnStats(logits, [base, k, hw], stats);
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
  a: OnHost<KernelArgs["crossEntropyGrad"]>,
  out?: Float32Array,
): Float32Array {
  const { logits, target, weight, g, n, k, hw, ignoreIndex } = a;
  ref.expectG("crossEntropyGrad", g, n * hw);
  expectLength("crossEntropyGrad", "logits", logits, n * k * hw);
  expectLength("crossEntropyGrad", "target", target, n * hw);
  if (out) expectLength("crossEntropyGrad", "out", out, n * k * hw);
  const dx = out ?? new Float32Array(n * k * hw);
  const stats = { max: new Float64Array(hw), sum: new Float64Array(hw) };
  const { max, sum } = stats;
  const scale = new Float64Array(hw), cls = new Int32Array(hw);
  for (let b = 0; b < n; b++) {
    const base = b * k * hw;
    columnStats(logits, [base, k, hw], stats);
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
  ...lossCpu,
  crossEntropy: (rt, a) => {
    const out = { loss: rt.pool.f32(a.n * a.hw), weight: rt.pool.f32(a.n * a.hw) };
    const r = crossEntropy(onHost(a), out);
    return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
  },
  crossEntropyGrad: (rt, a) => rt.track(crossEntropyGrad(onHost(a), rt.pool.f32(a.n * a.k * a.hw))),
};
