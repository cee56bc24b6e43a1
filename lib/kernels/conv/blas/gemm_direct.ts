/**
 * Pointwise convolution (1x1 kernel, stride 1, no padding) as plain GEMMs on the tensors
 * themselves, with `HW = H*W` (= OH*OW):
 * - forward: `y[n] [K, HW] = w [K, C] @ x[n] [C, HW]` (+ bias as the initial C);
 * - backward-data: `dx[n] [C, HW] = w^T @ dy[n]`;
 * - backward-weight: `dw [K, C] = sum over n of dy[n] @ x[n]^T`.
 *
 * No column matrix, no copies: ResNet's bottlenecks are two thirds 1x1 convolutions, and the
 * row copies of the shifted layout cost them as much as a third of their GEMM time. Outputs
 * are allocated by the caller and overwritten (beta 0), so they may hold anything.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import { fillBias, type GemmContext } from "./gemm_context.ts";

/** Whether the convolution is pointwise: 1x1, stride 1, no padding (dilation is moot). */
export function applies(g: ConvGeom): boolean {
  return g.kh === 1 && g.kw === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 &&
    g.padW === 0;
}

/** x `[N, C, HW]`, w `[K, C]`, b `[K]` -> y `[N, K, HW]` (without the ReLU). */
export function forward(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  y: Float32Array,
): void {
  const hw = g.h * g.w;
  for (let n = 0; n < g.n; n++) {
    const yn = y.subarray(n * g.k * hw, (n + 1) * g.k * hw);
    if (b || g.c === 0) fillBias(yn, 0, g.k, hw, hw, b);
    if (g.c === 0) continue;
    const xn = x.subarray(n * g.c * hw);
    ctx.sgemm(false, false, g.k, hw, g.c, 1, w, g.c, xn, hw, b ? 1 : 0, yn, hw);
  }
}

/** dy `[N, K, HW]`, w `[K, C]` -> dx `[N, C, HW]` (any contents before). */
export function backwardData(
  ctx: GemmContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
  dx: Float32Array,
): void {
  const hw = g.h * g.w;
  for (let n = 0; n < g.n; n++) {
    const dyn = dy.subarray(n * g.k * hw), dxn = dx.subarray(n * g.c * hw);
    ctx.sgemm(true, false, g.c, hw, g.k, 1, w, g.c, dyn, hw, 0, dxn, hw);
  }
}

/** dy `[N, K, HW]`, x `[N, C, HW]` -> dw `[K, C]` (any contents before; N > 0). */
export function backwardWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
  dw: Float32Array,
): void {
  const hw = g.h * g.w;
  for (let n = 0; n < g.n; n++) {
    const dyn = dy.subarray(n * g.k * hw), xn = x.subarray(n * g.c * hw);
    ctx.sgemm(false, true, g.k, g.c, hw, 1, dyn, hw, xn, hw, n === 0 ? 0 : 1, dw, g.c);
  }
}
