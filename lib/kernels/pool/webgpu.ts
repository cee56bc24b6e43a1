/**
 * pool kernels on WebGPU.
 *
 * @module
 */
import type { PoolGeom, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its plane. */
export function maxPool2d(
  rt: WebGpuRuntime,
  x: Storage,
  g: PoolGeom,
): { y: Storage; idx: Storage } {
  throw new Error("pool.maxPool2d: not implemented on WebGPU");
}

/** dy `[N, C, OH, OW]` -> dx `[N, C, H, W]`, routing each gradient to its max. */
export function maxPool2dGrad(rt: WebGpuRuntime, dy: Storage, idx: Storage, g: PoolGeom): Storage {
  throw new Error("pool.maxPool2dGrad: not implemented on WebGPU");
}
