/**
 * Convolution through GEMM (BLAS backend), per image, or per band of output rows where one
 * image's scratch would pass the budget (64 MB by default); one scratch buffer is reused.
 *
 * Column stride 1 (every VGG/FCN layer but fc6-like ones with more filters than output
 * pixels) goes through `./gemm_shifted.ts`: an im2col over kernel rows only and KW GEMMs on
 * shifted views of it. Everything else goes through the full im2col of `./gemm_im2col.ts`.
 * The bias is the GEMM's initial C (beta 1); the ReLU is a branch-free pass over the output.
 *
 * @module
 */
import type { ConvGeom } from "../../device/backend.ts";
import { reluInPlace } from "../elementwise/blas.ts";
import type { GemmContext } from "./gemm_context.ts";
import * as im2col from "./gemm_im2col.ts";
import * as shifted from "./gemm_shifted.ts";

export { type GemmContext, Scratch, SCRATCH_ELEMS } from "./gemm_context.ts";

/** Throws unless `a` holds `n` elements: BLAS would read past a short array instead of failing. */
function expectLength(what: string, a: Float32Array, n: number, g: ConvGeom): void {
  if (a.length !== n) {
    throw new RangeError(
      `${what}: expected ${n} elements for the geometry ${JSON.stringify(g)} but found ${a.length}`,
    );
  }
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  relu: boolean,
): Float32Array {
  expectLength("conv2d input x", x, g.n * g.c * g.h * g.w, g);
  expectLength("conv2d weight w", w, g.k * g.c * g.kh * g.kw, g);
  if (b) expectLength("conv2d bias b", b, g.k, g);
  const y = new Float32Array(g.n * g.k * g.oh * g.ow);
  if (y.length === 0) return y;
  (shifted.applies(g) ? shifted : im2col).forward(ctx, x, w, b, g, y);
  if (relu) reluInPlace(y);
  return y;
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function conv2dGradInput(
  ctx: GemmContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
): Float32Array {
  expectLength("conv2dGradInput dy", dy, g.n * g.k * g.oh * g.ow, g);
  expectLength("conv2dGradInput weight w", w, g.k * g.c * g.kh * g.kw, g);
  const dx = new Float32Array(g.n * g.c * g.h * g.w);
  if (dx.length === 0 || g.oh * g.ow === 0 || g.k === 0) return dx;
  (shifted.applies(g) ? shifted : im2col).backwardData(ctx, dy, w, g, dx);
  return dx;
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`, summed over the batch. */
export function conv2dGradWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
): Float32Array {
  expectLength("conv2dGradWeight dy", dy, g.n * g.k * g.oh * g.ow, g);
  expectLength("conv2dGradWeight input x", x, g.n * g.c * g.h * g.w, g);
  const size = g.k * g.c * g.kh * g.kw;
  if (size === 0 || g.oh * g.ow === 0) return new Float32Array(size);
  if (shifted.applies(g)) return shifted.backwardWeight(ctx, dy, x, g);
  const dw = new Float32Array(size);
  im2col.backwardWeight(ctx, dy, x, g, dw);
  return dw;
}
