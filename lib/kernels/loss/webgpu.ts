/**
 * loss kernels on WebGPU.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** Per-pixel `-w[t] * log_softmax(x)[t]` and `w[t]`, 0 where ignored; logits `[N, K, HW]`. */
export function crossEntropy(
  rt: WebGpuRuntime,
  logits: Storage,
  target: Storage,
  weight: Storage | null,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): { loss: Storage; weight: Storage } {
  throw new Error("loss.crossEntropy: not implemented on WebGPU");
}

/** `g * w[t] * (softmax(x) - onehot(t))`, g `[N, HW]` or one element. */
export function crossEntropyGrad(
  rt: WebGpuRuntime,
  logits: Storage,
  target: Storage,
  weight: Storage | null,
  g: Storage,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): Storage {
  throw new Error("loss.crossEntropyGrad: not implemented on WebGPU");
}
