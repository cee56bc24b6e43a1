/**
 * Convolution by a full im2col per band of output rows, for any stride; with `CKK = C*KH*KW`:
 * - forward: `y[n] [K, OH*OW] = w [K, CKK] @ col [CKK, OH*OW]` (+ bias as the initial C);
 * - backward-data: `dcol [CKK, OH*OW] = w^T @ dy[n]`, then col2im into `dx[n]`;
 * - backward-weight: `dw [K, CKK] += dy[n] [K, OH*OW] @ col^T`.
 *
 * Outputs are allocated, zeroed, by the caller; buffer sizes are checked there too.
 *
 * @module
 */
import type { ConvGeom } from "../../device/backend.ts";
import { bandRows, fillBias, type GemmContext } from "./gemm_context.ts";
import { col2im, im2col } from "./im2col.ts";

/** Visits the bands `[r0, r1)` of every image that fit the scratch budget. */
function eachBand(ctx: GemmContext, g: ConvGeom, f: (n: number, r0: number, r1: number) => void) {
  const rows = bandRows(g, ctx.scratch.budget, g.c * g.kh * g.kw * g.ow);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) f(n, r0, Math.min(g.oh, r0 + rows));
  }
}

/** x `[N, C, H, W]`, w `[K, CKK]`, b `[K]` -> y `[N, K, OH, OW]` (without the ReLU). */
export function forward(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  y: Float32Array,
): void {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  eachBand(ctx, g, (n, r0, r1) => {
    const cols = (r1 - r0) * g.ow, off = n * g.k * ohw + r0 * g.ow;
    fillBias(y, off, g.k, cols, ohw, b);
    if (ckk === 0) return;
    const col = ctx.scratch.get(ckk * cols);
    im2col(x, n * g.c * g.h * g.w, g, r0, r1, col);
    ctx.sgemm(false, false, g.k, cols, ckk, 1, w, ckk, col, cols, 1, y.subarray(off), ohw);
  });
}

/** dy `[N, K, OH, OW]`, w `[K, CKK]` -> dx `[N, C, H, W]` (zeroed by the caller). */
export function backwardData(
  ctx: GemmContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
  dx: Float32Array,
): void {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  eachBand(ctx, g, (n, r0, r1) => {
    const cols = (r1 - r0) * g.ow, dcol = ctx.scratch.get(ckk * cols);
    const dyBand = dy.subarray(n * g.k * ohw + r0 * g.ow);
    ctx.sgemm(true, false, ckk, cols, g.k, 1, w, ckk, dyBand, ohw, 0, dcol, cols);
    col2im(dcol, g, r0, r1, dx, n * g.c * g.h * g.w);
  });
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, CKK]` (zeroed by the caller). */
export function backwardWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
  dw: Float32Array,
): void {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  eachBand(ctx, g, (n, r0, r1) => {
    const cols = (r1 - r0) * g.ow, col = ctx.scratch.get(ckk * cols);
    im2col(x, n * g.c * g.h * g.w, g, r0, r1, col);
    const dyBand = dy.subarray(n * g.k * ohw + r0 * g.ow);
    ctx.sgemm(false, true, g.k, ckk, cols, 1, dyBand, ohw, col, cols, 1, dw, ckk);
  });
}
