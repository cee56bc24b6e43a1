/**
 * Reference loss kernels: plain loops over typed arrays, in f64 per pixel.
 *
 * Logits (or log-probabilities) are `[N, K, HW]`, targets `[N, HW]`. A pixel whose target is
 * `ignoreIndex` has loss, weight and gradient 0. A target outside `[0, K)` that is not
 * `ignoreIndex` is an error: the ops run {@linkcode firstBadTarget}'s check (the `checkTargets`
 * kernel) before the loss and raise, as PyTorch does. The loss kernels themselves still give such
 * a pixel 0 rather than read outside the logits, since on WebGPU the check reports only at the
 * next read.
 *
 * @module
 */

/** Whether target `t` names one of `k` classes and is not ignored. */
export function validTarget(t: number, k: number, ignoreIndex: number): boolean {
  return t !== ignoreIndex && t >= 0 && t < k;
}

/** Index of the first target outside `[0, k)` that is not `ignoreIndex`, or -1 when none is. */
export function firstBadTarget(target: Int32Array, k: number, ignoreIndex: number): number {
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    if ((t < 0 || t >= k) && t !== ignoreIndex) return i;
  }
  return -1;
}

/**
 * The error of a target `value` (at flat element `index`) that names no class and is not ignored.
 *
 * @example
 * ```ts
 * import { badTargetError } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * assertEquals(
 *   badTargetError("nllLoss", 7, 3, 5, 255).message,
 *   "nllLoss: target 7 (element 3) is not a class id in 0..4 (5 classes) nor the ignore index 255",
 * );
 * ```
 */
export function badTargetError(
  op: string,
  value: number,
  index: number,
  k: number,
  ignoreIndex: number,
): RangeError {
  return new RangeError(
    `${op}: target ${value} (element ${index}) is not a class id in 0..${k - 1} (${k} classes) ` +
      `nor the ignore index ${ignoreIndex}`,
  );
}

/** Throws {@linkcode badTargetError} for the first target that names no class, if any. */
export function checkTargets(
  target: Int32Array,
  k: number,
  ignoreIndex: number,
  op: string,
): void {
  const i = firstBadTarget(target, k, ignoreIndex);
  if (i >= 0) throw badTargetError(op, target[i], i, k, ignoreIndex);
}

/** Max and `sum(exp(x - max))` over the K classes (stride `hw`) of the pixel at `base`. */
function softmaxStats(
  logits: Float32Array,
  base: number,
  k: number,
  hw: number,
): { max: number; sum: number } {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, logits[base + c * hw]);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(logits[base + c * hw] - max);
  return { max, sum };
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
): { loss: Float32Array; weight: Float32Array } {
  const loss = new Float32Array(n * hw);
  const wOut = new Float32Array(n * hw);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p];
      if (!validTarget(t, k, ignoreIndex)) continue;
      const base = b * k * hw + p;
      const { max, sum } = softmaxStats(logits, base, k, hw);
      const w = weight ? weight[t] : 1;
      loss[b * hw + p] = w * (max + Math.log(sum) - logits[base + t * hw]);
      wOut[b * hw + p] = w;
    }
  }
  return { loss, weight: wOut };
}

/** `g * w[t] * (softmax(x) - onehot(t))`, g `[N, HW]` or one element. */
export function crossEntropyGrad(
  logits: Float32Array,
  target: Int32Array,
  weight: Float32Array | null,
  g: Float32Array,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): Float32Array {
  if (g.length !== 1 && g.length !== n * hw) {
    throw new RangeError(
      `crossEntropyGrad: expected g of 1 or ${n * hw} elements but got ${g.length}`,
    );
  }
  const dx = new Float32Array(n * k * hw);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p];
      if (!validTarget(t, k, ignoreIndex)) continue;
      const base = b * k * hw + p;
      const { max, sum } = softmaxStats(logits, base, k, hw);
      const scale = g[g.length === 1 ? 0 : b * hw + p] * (weight ? weight[t] : 1);
      for (let c = 0; c < k; c++) {
        const soft = Math.exp(logits[base + c * hw] - max) / sum;
        dx[base + c * hw] = scale * (soft - (c === t ? 1 : 0));
      }
    }
  }
  return dx;
}

/** Per-pixel `-w[t] * x[t]` and `w[t]` of log-probabilities `[N, K, HW]`, 0 where ignored. */
export function nllLoss(
  logProbs: Float32Array,
  target: Int32Array,
  weight: Float32Array | null,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): { loss: Float32Array; weight: Float32Array } {
  const loss = new Float32Array(n * hw);
  const wOut = new Float32Array(n * hw);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p];
      if (!validTarget(t, k, ignoreIndex)) continue;
      const w = weight ? weight[t] : 1;
      loss[b * hw + p] = -w * logProbs[(b * k + t) * hw + p];
      wOut[b * hw + p] = w;
    }
  }
  return { loss, weight: wOut };
}

/** `-g * w[t]` at class t of each pixel, 0 elsewhere and where ignored; g `[N, HW]` or one. */
export function nllLossGrad(
  target: Int32Array,
  weight: Float32Array | null,
  g: Float32Array,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): Float32Array {
  if (g.length !== 1 && g.length !== n * hw) {
    throw new RangeError(`nllLossGrad: expected g of 1 or ${n * hw} elements but got ${g.length}`);
  }
  const dx = new Float32Array(n * k * hw);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      const t = target[b * hw + p];
      if (!validTarget(t, k, ignoreIndex)) continue;
      dx[(b * k + t) * hw + p] = -g[g.length === 1 ? 0 : b * hw + p] * (weight ? weight[t] : 1);
    }
  }
  return dx;
}
