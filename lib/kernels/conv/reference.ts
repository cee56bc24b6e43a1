/**
 * Reference conv kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { ConvGeom, Planes } from "../../device/backend.ts";

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  relu: boolean,
): Float32Array {
  throw new Error("conv.conv2d: not implemented");
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function conv2dGradInput(dy: Float32Array, w: Float32Array, g: ConvGeom): Float32Array {
  throw new Error("conv.conv2dGradInput: not implemented");
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
export function conv2dGradWeight(dy: Float32Array, x: Float32Array, g: ConvGeom): Float32Array {
  throw new Error("conv.conv2dGradWeight: not implemented");
}

/** x `[N, C, H, W]` -> `[C]` sums over N, H, W. */
export function channelSum(x: Float32Array, p: Planes): Float32Array {
  throw new Error("conv.channelSum: not implemented");
}
