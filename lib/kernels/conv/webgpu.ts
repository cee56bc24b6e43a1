/**
 * conv kernels on WebGPU.
 *
 * @module
 */
import type { ConvGeom, Planes, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(
  rt: WebGpuRuntime,
  x: Storage,
  w: Storage,
  b: Storage | null,
  g: ConvGeom,
  relu: boolean,
): Storage {
  throw new Error("conv.conv2d: not implemented on WebGPU");
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function conv2dGradInput(rt: WebGpuRuntime, dy: Storage, w: Storage, g: ConvGeom): Storage {
  throw new Error("conv.conv2dGradInput: not implemented on WebGPU");
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
export function conv2dGradWeight(rt: WebGpuRuntime, dy: Storage, x: Storage, g: ConvGeom): Storage {
  throw new Error("conv.conv2dGradWeight: not implemented on WebGPU");
}

/** x `[N, C, H, W]` -> `[C]` sums over N, H, W. */
export function channelSum(rt: WebGpuRuntime, x: Storage, p: Planes): Storage {
  throw new Error("conv.channelSum: not implemented on WebGPU");
}
