/**
 * Reference resize kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { Planes } from "../../device/backend.ts";

/** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` (PyTorch's rules). */
export function interpolate(
  x: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Float32Array {
  throw new Error("resize.interpolate: not implemented");
}

/** Backward of interpolate: dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
export function interpolateGrad(
  dy: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Float32Array {
  throw new Error("resize.interpolateGrad: not implemented");
}

/** `x[:, :, top:top+oh, left:left+ow]`. */
export function crop(
  x: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
): Float32Array {
  throw new Error("resize.crop: not implemented");
}

/** dy `[N, C, oh, ow]` placed into zeros `[N, C, H, W]`. */
export function cropGrad(
  dy: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
): Float32Array {
  throw new Error("resize.cropGrad: not implemented");
}
