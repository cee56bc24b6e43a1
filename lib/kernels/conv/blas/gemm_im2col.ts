/**
 * Convolution by a full im2col per band of output rows, for any stride; with `CKK = C*KH*KW`:
 * - forward: `y[n] [K, OH*OW] = w [K, CKK] @ col [CKK, OH*OW]` (+ bias as the initial C); for
 *   bands of few columns, `y^T = col^T @ w^T`, transposed back (fc6: 1.3x as fast);
 * - backward-data: `dcol [CKK, OH*OW] = w^T @ dy[n]`, then col2im into `dx[n]`; for bands of
 *   few columns (fc6: 4096 x 25088 weights, 49 columns), `dcol^T = dy[n]^T @ w` instead, which
 *   OpenBLAS runs 1.5x as fast there (one thread; 3x on two);
 * - backward-weight: `dw [K, CKK] = sum over bands of dy[n] [K, OH*OW] @ col^T` (the first
 *   band overwrites, beta 0, so dw may hold anything before).
 *
 * Outputs are allocated by the caller (zeroed for backward-data); buffer sizes are checked
 * there too.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import { bandRows, fillBias, type GemmContext } from "./gemm_context.ts";
import { col2im, im2col } from "./im2col.ts";

/** Visits the bands `[r0, r1)` of every image that fit the scratch budget. */
function eachBand(ctx: GemmContext, g: ConvGeom, f: (n: number, r0: number, r1: number) => void) {
  const rows = bandRows(g, ctx.scratch.budget, g.c * g.kh * g.kw * g.ow);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) f(n, r0, Math.min(g.oh, r0 + rows));
  }
}

/**
 * Bands of fewer output columns than this take the transposed forward and backward-data GEMMs,
 * whose long side OpenBLAS splits between its threads.
 */
export const THIN_COLUMNS = 128;

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
    if (ckk === 0) return fillBias(y, off, g.k, cols, ohw, b);
    if (cols < THIN_COLUMNS) {
      // y^T [cols, K] = col^T @ w^T, then transposed into y with the bias.
      const [col, yt] = ctx.scratch.regions(ckk * cols, cols * g.k);
      im2col(x, n * g.c * g.h * g.w, g, r0, r1, col);
      ctx.sgemm(true, true, cols, g.k, ckk, 1, col, cols, w, ckk, 0, yt, g.k);
      for (let k = 0; k < g.k; k++) {
        const bias = b ? b[k] : 0, row = off + k * ohw;
        for (let q = 0; q < cols; q++) y[row + q] = yt[q * g.k + k] + bias;
      }
      return;
    }
    fillBias(y, off, g.k, cols, ohw, b);
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
    const thin = cols < THIN_COLUMNS;
    if (thin) ctx.sgemm(true, false, cols, ckk, g.k, 1, dyBand, ohw, w, ckk, 0, dcol, ckk);
    else ctx.sgemm(true, false, ckk, cols, g.k, 1, w, ckk, dyBand, ohw, 0, dcol, cols);
    col2im(dcol, g, r0, r1, dx, n * g.c * g.h * g.w, thin);
  });
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, CKK]` (at least one band: N, OH > 0). */
export function backwardWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
  dw: Float32Array,
): void {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  let beta = 0;
  eachBand(ctx, g, (n, r0, r1) => {
    const cols = (r1 - r0) * g.ow, col = ctx.scratch.get(ckk * cols);
    im2col(x, n * g.c * g.h * g.w, g, r0, r1, col);
    const dyBand = dy.subarray(n * g.k * ohw + r0 * g.ow);
    ctx.sgemm(false, true, g.k, ckk, cols, 1, dyBand, ohw, col, cols, beta, dw, ckk);
    beta = 1;
  });
}
