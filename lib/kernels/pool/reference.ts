/**
 * Reference pool kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { PoolGeom } from "../../device/backend.ts";

/** x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its plane. */
export function maxPool2d(x: Float32Array, g: PoolGeom): { y: Float32Array; idx: Int32Array } {
  throw new Error("pool.maxPool2d: not implemented");
}

/** dy `[N, C, OH, OW]` -> dx `[N, C, H, W]`, routing each gradient to its max. */
export function maxPool2dGrad(dy: Float32Array, idx: Int32Array, g: PoolGeom): Float32Array {
  throw new Error("pool.maxPool2dGrad: not implemented");
}
