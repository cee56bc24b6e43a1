/**
 * Convolution through GEMM (BLAS backend), per image, or per band of output rows where one
 * image's scratch would pass the budget (64 MB by default); one scratch buffer is reused.
 *
 * Column stride 1 (every VGG/FCN layer but the fc6 of huge kernels) uses the shifted layout of
 * `./shifted.ts`: an im2col over kernel rows only and KW GEMMs whose B operands are the same
 * rows shifted by `kj*dilW`. Other layers use a full im2col, with `CKK = C*KH*KW`:
 * - forward: `y[n] [K, OH*OW] = w [K, CKK] @ col [CKK, OH*OW]`;
 * - backward-data: `dcol [CKK, OH*OW] = w^T @ dy[n]`, then col2im into `dx[n]`;
 * - backward-weight: `dw [K, CKK] += dy[n] [K, OH*OW] @ col^T`.
 *
 * The bias is the GEMM's initial C (beta 1); ReLU is a branch-free pass over the output.
 *
 * @module
 */
import type { ConvGeom } from "../../device/backend.ts";
import type { Sgemm } from "../../device/blas_ffi.ts";
import { reluInPlace } from "../elementwise/blas.ts";
import { col2im, im2col } from "./im2col.ts";
import * as sh from "./shifted.ts";

/** Default scratch budget: 16M floats (64 MB) of column matrix. */
export const SCRATCH_ELEMS = 16 * 1024 * 1024;

/** One reusable scratch buffer, grown on demand up to what a call needs. */
export class Scratch {
  #buf = new Float32Array(0);
  /** Largest band the conv kernels plan for, in elements. */
  readonly budget: number;

  /** A scratch planning bands of at most `budget` elements (one output row at least). */
  constructor(budget: number = SCRATCH_ELEMS) {
    if (!(budget >= 1)) throw new RangeError(`Expected budget >= 1 but found ${budget}`);
    this.budget = budget;
  }

  /** A view of `n` elements (contents undefined). */
  get(n: number): Float32Array {
    if (this.#buf.length < n) this.#buf = new Float32Array(n);
    return this.#buf.subarray(0, n);
  }

  /** Elements held. */
  get size(): number {
    return this.#buf.length;
  }

  /** Drops the buffer. */
  release(): void {
    this.#buf = new Float32Array(0);
  }
}

/** What the conv kernels need from the backend. */
export interface GemmContext {
  /** The library's row-major GEMM. */
  sgemm: Sgemm;
  /** The reused buffer for column matrices and wide outputs. */
  scratch: Scratch;
}

/** Throws unless `a` holds `n` elements: BLAS would read past a short array instead of failing. */
function expectLength(what: string, a: Float32Array, n: number, g: ConvGeom): void {
  if (a.length !== n) {
    throw new RangeError(
      `${what}: expected ${n} elements for the geometry ${JSON.stringify(g)} but found ${a.length}`,
    );
  }
}

/** Output rows per band so that `fixed + perRow * rows` elements fit the budget (>= 1). */
function bandRows(g: ConvGeom, budget: number, perRow: number, fixed = 0): number {
  return Math.max(1, Math.min(g.oh, Math.floor((budget - fixed) / Math.max(1, perRow))));
}

/** Sets `rows` rows of `cols` elements (row stride `ld`) from `off` to `b[k]`, or 0. */
function fillBias(
  y: Float32Array,
  off: number,
  rows: number,
  cols: number,
  ld: number,
  b: Float32Array | null,
): void {
  for (let k = 0; k < rows; k++) y.fill(b ? b[k] : 0, off + k * ld, off + k * ld + cols);
}

/**
 * Whether the shifted layout pays: column stride 1, and weights no larger than the outputs
 * (packing the taps copies the weights; fc6-like layers with huge kernels use im2col instead).
 * With KW = 1 the taps are the weights themselves and nothing is copied.
 */
function useShifted(g: ConvGeom): boolean {
  return g.strideW === 1 && (g.kw === 1 || g.k <= g.n * g.oh * g.ow);
}

/** The taps `[KW, K, C*KH]` of w: w itself when KW = 1, else packed into `into`. */
function taps(w: Float32Array, g: ConvGeom, into: Float32Array): Float32Array {
  if (g.kw === 1) return w;
  sh.packTaps(w, g, into);
  return into;
}

/** Views of `sizes` consecutive regions of the scratch buffer. */
function regions(scratch: Scratch, ...sizes: number[]): Float32Array[] {
  const buf = scratch.get(sizes.reduce((a, b) => a + b, 0));
  let off = 0;
  return sizes.map((n) => buf.subarray(off, off += n));
}

/** Bands for the shifted layout: rows of z and of the wide output fit the budget together. */
function shiftedBands(g: ConvGeom, budget: number): number {
  const ckh = g.c * g.kh, tail = (g.kw - 1) * g.dilW;
  return bandRows(g, budget, (ckh + g.k) * sh.wideWidth(g), ckh * (tail + 16) + g.k * 16);
}

/** Forward with column stride 1: KW shifted GEMMs per band into a wide output. */
function forwardShifted(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  y: Float32Array,
): void {
  const ckh = g.c * g.kh, ohw = g.oh * g.ow, rows = shiftedBands(g, ctx.scratch.budget);
  const maxLen = sh.rowLength(g, rows), maxB = sh.wideStride(g, rows);
  const wtSize = g.kw === 1 ? 0 : g.k * ckh * g.kw;
  const [wtBuf, zBuf, ywBuf] = regions(ctx.scratch, wtSize, ckh * maxLen, g.k * maxB);
  const wt = taps(w, g, wtBuf);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows), len = sh.rowLength(g, r1 - r0);
      const cols = (r1 - r0) * sh.wideWidth(g), ld = sh.wideStride(g, r1 - r0);
      const yw = ywBuf.subarray(0, g.k * ld);
      fillBias(yw, 0, g.k, cols, ld, b);
      if (ckh > 0) {
        sh.buildRows(x, n * g.c * g.h * g.w, g, r0, r1, zBuf);
        for (let kj = 0; kj < g.kw; kj++) {
          const tap = wt.subarray(kj * g.k * ckh), z = zBuf.subarray(kj * g.dilW);
          ctx.sgemm(false, false, g.k, cols, ckh, 1, tap, ckh, z, len, 1, yw, ld);
        }
      }
      sh.copyWide(y, n * g.k * ohw, g, r0, r1, yw, false);
    }
  }
}

/** Forward by im2col, for any stride. */
function forwardIm2col(
  ctx: GemmContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  y: Float32Array,
): void {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, hw = g.h * g.w;
  const rows = bandRows(g, ctx.scratch.budget, ckk * g.ow);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows),
        cols = (r1 - r0) * g.ow,
        off = n * g.k * ohw + r0 * g.ow;
      fillBias(y, off, g.k, cols, ohw, b);
      if (ckk === 0) continue;
      const col = ctx.scratch.get(ckk * cols);
      im2col(x, n * g.c * hw, g, r0, r1, col);
      ctx.sgemm(false, false, g.k, cols, ckk, 1, w, ckk, col, cols, 1, y.subarray(off), ohw);
    }
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
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, hw = g.h * g.w;
  expectLength("conv2d input x", x, g.n * g.c * hw, g);
  expectLength("conv2d weight w", w, g.k * ckk, g);
  if (b) expectLength("conv2d bias b", b, g.k, g);
  const y = new Float32Array(g.n * g.k * ohw);
  if (y.length === 0) return y;
  if (useShifted(g)) forwardShifted(ctx, x, w, b, g, y);
  else forwardIm2col(ctx, x, w, b, g, y);
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
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, hw = g.h * g.w;
  expectLength("conv2dGradInput dy", dy, g.n * g.k * ohw, g);
  expectLength("conv2dGradInput weight w", w, g.k * ckk, g);
  const dx = new Float32Array(g.n * g.c * hw);
  if (dx.length === 0 || ohw === 0 || g.k === 0) return dx;
  if (!useShifted(g)) {
    const rows = bandRows(g, ctx.scratch.budget, ckk * g.ow);
    for (let n = 0; n < g.n; n++) {
      for (let r0 = 0; r0 < g.oh; r0 += rows) {
        const r1 = Math.min(g.oh, r0 + rows), cols = (r1 - r0) * g.ow;
        const dcol = ctx.scratch.get(ckk * cols);
        const dyBand = dy.subarray(n * g.k * ohw + r0 * g.ow);
        ctx.sgemm(true, false, ckk, cols, g.k, 1, w, ckk, dyBand, ohw, 0, dcol, cols);
        col2im(dcol, g, r0, r1, dx, n * g.c * hw);
      }
    }
    return dx;
  }
  // Column stride 1: dz [C*KH, L] = sum over kj of wt[kj]^T @ dyWide, shifted by kj*dilW.
  const ckh = g.c * g.kh, rows = shiftedBands(g, ctx.scratch.budget);
  const maxLen = sh.rowLength(g, rows), maxB = sh.wideStride(g, rows);
  const wtSize = g.kw === 1 ? 0 : g.k * ckk;
  const [wtBuf, dzBuf, dywBuf] = regions(ctx.scratch, wtSize, ckh * maxLen, g.k * maxB);
  const wt = taps(w, g, wtBuf);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows), len = sh.rowLength(g, r1 - r0);
      const cols = (r1 - r0) * sh.wideWidth(g), ld = sh.wideStride(g, r1 - r0);
      const dyw = dywBuf.subarray(0, g.k * ld);
      sh.copyWide(dy, n * g.k * ohw, g, r0, r1, dyw, true);
      // kj = 0 overwrites columns [0, cols) of each row; the tails are zeroed here.
      for (let r = 0; r < ckh; r++) dzBuf.fill(0, r * len + cols, (r + 1) * len);
      for (let kj = 0; kj < g.kw; kj++) {
        const tap = wt.subarray(kj * g.k * ckh), dz = dzBuf.subarray(kj * g.dilW);
        ctx.sgemm(true, false, ckh, cols, g.k, 1, tap, ckh, dyw, ld, kj === 0 ? 0 : 1, dz, len);
      }
      sh.addRows(dzBuf, g, r0, r1, dx, n * g.c * hw);
    }
  }
  return dx;
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`, summed over the batch. */
export function conv2dGradWeight(
  ctx: GemmContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
): Float32Array {
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, hw = g.h * g.w;
  expectLength("conv2dGradWeight dy", dy, g.n * g.k * ohw, g);
  expectLength("conv2dGradWeight input x", x, g.n * g.c * hw, g);
  if (g.k * ckk === 0 || ohw === 0) return new Float32Array(g.k * ckk);
  if (!useShifted(g)) {
    const dw = new Float32Array(g.k * ckk);
    const rows = bandRows(g, ctx.scratch.budget, ckk * g.ow);
    for (let n = 0; n < g.n; n++) {
      for (let r0 = 0; r0 < g.oh; r0 += rows) {
        const r1 = Math.min(g.oh, r0 + rows), cols = (r1 - r0) * g.ow;
        const col = ctx.scratch.get(ckk * cols);
        im2col(x, n * g.c * hw, g, r0, r1, col);
        const dyBand = dy.subarray(n * g.k * ohw + r0 * g.ow);
        ctx.sgemm(false, true, g.k, ckk, cols, 1, dyBand, ohw, col, cols, 1, dw, ckk);
      }
    }
    return dw;
  }
  // Column stride 1: dwt[kj] [K, C*KH] += dyWide @ z[:, kj*dilW ...]^T.
  const ckh = g.c * g.kh, rows = shiftedBands(g, ctx.scratch.budget);
  const maxLen = sh.rowLength(g, rows), maxB = sh.wideStride(g, rows);
  const [dwtBuf, zBuf, dywBuf] = regions(
    ctx.scratch,
    g.kw === 1 ? 0 : g.k * ckk,
    ckh * maxLen,
    g.k * maxB,
  );
  const dwt = g.kw === 1 ? new Float32Array(g.k * ckk) : dwtBuf.fill(0);
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows), len = sh.rowLength(g, r1 - r0);
      const cols = (r1 - r0) * sh.wideWidth(g), ld = sh.wideStride(g, r1 - r0);
      const dyw = dywBuf.subarray(0, g.k * ld);
      sh.copyWide(dy, n * g.k * ohw, g, r0, r1, dyw, true);
      sh.buildRows(x, n * g.c * hw, g, r0, r1, zBuf);
      for (let kj = 0; kj < g.kw; kj++) {
        const tap = dwt.subarray(kj * g.k * ckh), z = zBuf.subarray(kj * g.dilW);
        ctx.sgemm(false, true, g.k, ckh, cols, 1, dyw, ld, z, len, 1, tap, ckh);
      }
    }
  }
  return g.kw === 1 ? dwt : sh.unpackTaps(dwt, g);
}
