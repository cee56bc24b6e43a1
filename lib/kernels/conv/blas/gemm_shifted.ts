/**
 * Convolution of column stride 1 by KW shifted GEMMs per band of output rows, in the layout of
 * `./shifted.ts` (`CKH = C*KH`, `z [CKH, L]` the rows, `wt [KW, K, CKH]` the taps, wide
 * outputs of row stride `ld`):
 * - forward: `yWide [K, B] = sum over kj of wt[kj] @ z[:, kj*dilW ...]` (+ bias as initial C);
 * - backward-data: `dz[:, kj*dilW ...] += wt[kj]^T @ dyWide`, then the rows are added into dx;
 * - backward-weight: `dwt[kj] += dyWide @ z[:, kj*dilW ...]^T`.
 *
 * Compared with a full im2col it copies KH rather than KH*KW images per band. OpenBLAS, two
 * threads, batch 1, forward / backward-data / backward-weight in ms, shifted against im2col:
 * 64 -> 64 channels 3x3 at 224x224: 38 / 37 / 36 against 67 / 61 / 54;
 * 128 -> 256 channels 3x3 at 112x112: 40 / 38 / 36 against 52 / 45 / 43.
 * Outputs are allocated by the caller (zeroed for backward-data), except backward-weight's;
 * buffer sizes are checked there too.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import { allocate, bandRows, fillBias, type GemmContext } from "./gemm_context.ts";
import * as sh from "./shifted.ts";

/** Whether this layout pays: column stride 1, and weights no larger than the outputs. */
export function applies(g: ConvGeom): boolean {
  // Packing the taps copies the weights (nothing to copy when KW = 1): fc6-like layers, with
  // more filters than output pixels, are cheaper by im2col.
  return g.strideW === 1 && (g.kw === 1 || g.k <= g.n * g.oh * g.ow);
}

/** One band: image n, output rows [r0, r1), z row stride `len`, `cols` wide columns, `ld`. */
interface Band {
  n: number;
  r0: number;
  r1: number;
  len: number;
  cols: number;
  ld: number;
}

/** Rows per band and the scratch regions: taps (empty when KW = 1), rows z, wide output. */
interface Plan {
  rows: number;
  tapBuf: Float32Array;
  zBuf: Float32Array;
  wideBuf: Float32Array;
}

/** Plans bands whose rows and wide output fit the scratch budget together. */
function plan(ctx: GemmContext, g: ConvGeom): Plan {
  const ckh = g.c * g.kh, tail = (g.kw - 1) * g.dilW;
  const perRow = (ckh + g.k) * sh.wideWidth(g);
  const fixed = ckh * (tail + 16) + g.k * 16; // the tails and the alignment of each row
  const rows = bandRows(g, ctx.scratch.budget, perRow, fixed);
  const [tapBuf, zBuf, wideBuf] = ctx.scratch.regions(
    g.kw === 1 ? 0 : g.k * ckh * g.kw,
    ckh * sh.rowLength(g, rows),
    g.k * sh.wideStride(g, rows),
  );
  return { rows, tapBuf, zBuf, wideBuf };
}

/** The bands of every image, `rows` output rows each (fewer in the last). */
function* bands(g: ConvGeom, rows: number): Generator<Band> {
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows);
      const len = sh.rowLength(g, r1 - r0), ld = sh.wideStride(g, r1 - r0);
      yield { n, r0, r1, len, cols: (r1 - r0) * sh.wideWidth(g), ld };
    }
  }
}

/** The taps `[KW, K, CKH]` of w: w itself when KW = 1, else packed into `into`. */
function taps(w: Float32Array, g: ConvGeom, into: Float32Array): Float32Array {
  if (g.kw === 1) return w;
  sh.packTaps(w, g, into);
  return into;
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> y `[N, K, OH, OW]` (without the ReLU). */
export function forward(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  y: Float32Array,
): void {
  const ckh = g.c * g.kh, { rows, tapBuf, zBuf, wideBuf } = plan(ctx, g);
  const wt = taps(w, g, tapBuf);
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const yw = wideBuf.subarray(0, g.k * ld);
    fillBias(yw, 0, g.k, cols, ld, b);
    if (ckh > 0) {
      sh.buildRows(x, n * g.c * g.h * g.w, g, r0, r1, zBuf);
      for (let kj = 0; kj < g.kw; kj++) {
        const tap = wt.subarray(kj * g.k * ckh), z = zBuf.subarray(kj * g.dilW);
        ctx.sgemm(false, false, g.k, cols, ckh, 1, tap, ckh, z, len, 1, yw, ld);
      }
    }
    sh.copyWide(y, n * g.k * g.oh * g.ow, g, r0, r1, yw, false);
  }
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]` (zeroed by the caller). */
export function backwardData(
  ctx: GemmContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
  dx: Float32Array,
): void {
  const ckh = g.c * g.kh, { rows, tapBuf, zBuf: dzBuf, wideBuf } = plan(ctx, g);
  const wt = taps(w, g, tapBuf);
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const dyw = wideBuf.subarray(0, g.k * ld);
    sh.copyWide(dy, n * g.k * g.oh * g.ow, g, r0, r1, dyw, true);
    // kj = 0 overwrites columns [0, cols) of each row (beta 0); the tails are zeroed here.
    for (let r = 0; r < ckh; r++) dzBuf.fill(0, r * len + cols, (r + 1) * len);
    for (let kj = 0; kj < g.kw; kj++) {
      const tap = wt.subarray(kj * g.k * ckh), dz = dzBuf.subarray(kj * g.dilW);
      ctx.sgemm(true, false, ckh, cols, g.k, 1, tap, ckh, dyw, ld, kj === 0 ? 0 : 1, dz, len);
    }
    sh.addRows(dzBuf, g, r0, r1, dx, n * g.c * g.h * g.w);
  }
}

/**
 * dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`, summed over the batch, in an
 * array from `ctx.alloc` (at least one band: N, OH > 0; the first overwrites, beta 0).
 */
export function backwardWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
): Float32Array {
  const ckh = g.c * g.kh, { rows, tapBuf, zBuf, wideBuf } = plan(ctx, g);
  // With KW = 1 the taps are laid out as the weights: accumulate into the result directly.
  const dwt = g.kw === 1 ? allocate(ctx, g.k * ckh) : tapBuf;
  let beta = 0;
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const dyw = wideBuf.subarray(0, g.k * ld);
    sh.copyWide(dy, n * g.k * g.oh * g.ow, g, r0, r1, dyw, true);
    sh.buildRows(x, n * g.c * g.h * g.w, g, r0, r1, zBuf);
    for (let kj = 0; kj < g.kw; kj++) {
      const tap = dwt.subarray(kj * g.k * ckh), z = zBuf.subarray(kj * g.dilW);
      ctx.sgemm(false, true, g.k, ckh, cols, 1, dyw, ld, z, len, beta, tap, ckh);
    }
    beta = 1;
  }
  return g.kw === 1 ? dwt : sh.unpackTaps(dwt, g, allocate(ctx, g.k * ckh * g.kw));
}
