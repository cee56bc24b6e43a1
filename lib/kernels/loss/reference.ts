/**
 * Reference loss kernels: plain loops over typed arrays.
 *
 * @module
 */

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
  throw new Error("loss.crossEntropy: not implemented");
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
  throw new Error("loss.crossEntropyGrad: not implemented");
}
