/**
 * Reference loss kernels: plain loops over typed arrays, in f64 per pixel.
 *
 * Logits are `[N, K, HW]`, targets `[N, HW]`. A pixel whose target is `ignoreIndex`, or lies
 * outside `[0, K)` (the op wrapper rejects those first), has loss, weight and gradient 0.
 *
 * @module
 */

/** Whether target `t` names one of `k` classes and is not ignored. */
export function validTarget(t: number, k: number, ignoreIndex: number): boolean {
  return t !== ignoreIndex && t >= 0 && t < k;
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
