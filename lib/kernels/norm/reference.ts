/**
 * Reference norm kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { Planes } from "../../device/backend.ts";

/** Per-channel mean and biased variance of x `[N, C, H, W]`. */
export function batchNormStats(
  x: Float32Array,
  p: Planes,
): { mean: Float32Array; var: Float32Array } {
  throw new Error("norm.batchNormStats: not implemented");
}

/** `(x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]`. */
export function batchNorm(
  x: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  p: Planes,
  eps: number,
): Float32Array {
  throw new Error("norm.batchNorm: not implemented");
}

/** Backward of batchNorm (with the batch statistics' gradient when training). */
export function batchNormGrad(
  dy: Float32Array,
  x: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  gamma: Float32Array,
  p: Planes,
  eps: number,
  training: boolean,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  throw new Error("norm.batchNormGrad: not implemented");
}
