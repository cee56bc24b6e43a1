/**
 * norm kernels on WebGPU.
 *
 * @module
 */
import type { Planes, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** Per-channel mean and biased variance of x `[N, C, H, W]`. */
export function batchNormStats(
  rt: WebGpuRuntime,
  x: Storage,
  p: Planes,
): { mean: Storage; var: Storage } {
  throw new Error("norm.batchNormStats: not implemented on WebGPU");
}

/** `(x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]`. */
export function batchNorm(
  rt: WebGpuRuntime,
  x: Storage,
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  beta: Storage,
  p: Planes,
  eps: number,
): Storage {
  throw new Error("norm.batchNorm: not implemented on WebGPU");
}

/** Backward of batchNorm (with the batch statistics' gradient when training). */
export function batchNormGrad(
  rt: WebGpuRuntime,
  dy: Storage,
  x: Storage,
  mean: Storage,
  variance: Storage,
  gamma: Storage,
  p: Planes,
  eps: number,
  training: boolean,
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  throw new Error("norm.batchNormGrad: not implemented on WebGPU");
}
