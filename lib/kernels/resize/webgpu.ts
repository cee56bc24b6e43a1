/**
 * resize kernels on WebGPU.
 *
 * @module
 */
import type { Planes, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` (PyTorch's rules). */
export function interpolate(
  rt: WebGpuRuntime,
  x: Storage,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Storage {
  throw new Error("resize.interpolate: not implemented on WebGPU");
}

/** Backward of interpolate: dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
export function interpolateGrad(
  rt: WebGpuRuntime,
  dy: Storage,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Storage {
  throw new Error("resize.interpolateGrad: not implemented on WebGPU");
}

/** `x[:, :, top:top+oh, left:left+ow]`. */
export function crop(
  rt: WebGpuRuntime,
  x: Storage,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
): Storage {
  throw new Error("resize.crop: not implemented on WebGPU");
}

/** dy `[N, C, oh, ow]` placed into zeros `[N, C, H, W]`. */
export function cropGrad(
  rt: WebGpuRuntime,
  dy: Storage,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
): Storage {
  throw new Error("resize.cropGrad: not implemented on WebGPU");
}
