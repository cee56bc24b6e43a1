/**
 * The layout that turns a convolution of column stride 1 into KW shifted GEMMs, with an
 * im2col over kernel rows only (KH copies of the image instead of KH*KW).
 *
 * Output rows are computed "wide": `WP = OW + (KW-1)*dilW` columns each, the last `WP - OW`
 * of them garbage. For a band of output rows `[r0, r1)` (`B = (r1-r0)*WP` wide columns):
 * - rows `z [C*KH, L]`, `L >= B + (KW-1)*dilW`: row `c*KH + ki`, segment `oh - r0` holds input
 *   row `ih = oh*strideH - padH + ki*dilH` of channel c with `padW` zeros on its left, zeros
 *   past its right end (and the whole segment 0 where ih is padding);
 * - taps `wt [KW, K, C*KH]`: `wt[kj][k][c*KH + ki] = w[k][c][ki][kj]`;
 * - then `yWide [K, B] = sum over kj of wt[kj] @ z[:, kj*dilW ...]` (ldb L): kernel column kj
 *   is a shift of the same rows by `kj*dilW` elements.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";

/** Width of a wide output row (`OW + (KW-1)*dilW`). */
export function wideWidth(g: ConvGeom): number {
  return g.ow + (g.kw - 1) * g.dilW;
}

/**
 * Rounds a row stride up to 16 elements (64 bytes): BLAS packs operands whose rows all start
 * on a cache line markedly faster (the GEMMs of a 64 -> 64 3x3 layer at 224x224, one thread:
 * 25 ms against 40 ms).
 */
function aligned(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** Row stride of `z` for `rows` output rows: `rows*WP + (KW-1)*dilW`, aligned. */
export function rowLength(g: ConvGeom, rows: number): number {
  return aligned(rows * wideWidth(g) + (g.kw - 1) * g.dilW);
}

/** Row stride of a wide output `[K, rows*WP]`, aligned. */
export function wideStride(g: ConvGeom, rows: number): number {
  return aligned(rows * wideWidth(g));
}

/** Columns `[lo, hi)` of a wide row that hold input pixels (`0 <= q - padW < W`). */
function inputSpan(g: ConvGeom): [number, number] {
  const wp = wideWidth(g);
  const lo = Math.min(wp, Math.max(0, g.padW));
  return [lo, Math.max(lo, Math.min(wp, g.padW + g.w))];
}

/** Fills `z` (`[C*KH, L]`) with the rows of output rows `[r0, r1)` of the image at `x[xOff..]`. */
export function buildRows(
  x: Float32Array,
  xOff: number,
  g: ConvGeom,
  r0: number,
  r1: number,
  z: Float32Array,
): void {
  const wp = wideWidth(g), len = rowLength(g, r1 - r0), [lo, hi] = inputSpan(g);
  for (let c = 0; c < g.c; c++) {
    for (let ki = 0; ki < g.kh; ki++) {
      const row = (c * g.kh + ki) * len;
      for (let oh = r0; oh < r1; oh++) {
        const seg = row + (oh - r0) * wp, ih = oh * g.strideH - g.padH + ki * g.dilH;
        if (ih < 0 || ih >= g.h || lo === hi) {
          z.fill(0, seg, seg + wp);
          continue;
        }
        const src = xOff + (c * g.h + ih) * g.w + lo - g.padW;
        z.fill(0, seg, seg + lo);
        z.set(x.subarray(src, src + hi - lo), seg + lo);
        z.fill(0, seg + hi, seg + wp);
      }
      z.fill(0, row + (r1 - r0) * wp, row + len);
    }
  }
}

/**
 * Adds the row gradient `dz` (`[C*KH, L]`, as laid out by {@linkcode buildRows}) of output rows
 * `[r0, r1)` into the input gradient of the image at `dx[dxOff..]`.
 */
export function addRows(
  dz: Float32Array,
  g: ConvGeom,
  r0: number,
  r1: number,
  dx: Float32Array,
  dxOff: number,
): void {
  const wp = wideWidth(g), len = rowLength(g, r1 - r0), [lo, hi] = inputSpan(g);
  for (let c = 0; c < g.c; c++) {
    for (let ki = 0; ki < g.kh; ki++) {
      const row = (c * g.kh + ki) * len;
      for (let oh = r0; oh < r1; oh++) {
        const ih = oh * g.strideH - g.padH + ki * g.dilH;
        if (ih < 0 || ih >= g.h) continue;
        const src = row + (oh - r0) * wp, dst = dxOff + (c * g.h + ih) * g.w - g.padW;
        for (let q = lo; q < hi; q++) dx[dst + q] += dz[src + q];
      }
    }
  }
}

/**
 * Packs w `[K, C, KH, KW]` as taps `wt [KW, K, C*KH]`: w seen as `[K*C*KH, KW]`, transposed.
 * One pass reading w in order: half the time of a strided pass per tap (3x3, 512 -> 512: ~3 ms).
 */
export function packTaps(w: Float32Array, g: ConvGeom, wt: Float32Array): void {
  const rows = g.k * g.c * g.kh, kw = g.kw;
  if (kw === 3) {
    for (let r = 0, s = 0; r < rows; r++, s += 3) {
      wt[r] = w[s];
      wt[rows + r] = w[s + 1];
      wt[2 * rows + r] = w[s + 2];
    }
    return;
  }
  for (let r = 0, s = 0; r < rows; r++, s += kw) {
    for (let kj = 0; kj < kw; kj++) wt[kj * rows + r] = w[s + kj];
  }
}

/** Unpacks taps `wt [KW, K, C*KH]` into w `[K, C, KH, KW]` (`into`, or a new array). */
export function unpackTaps(wt: Float32Array, g: ConvGeom, into?: Float32Array): Float32Array {
  const rows = g.k * g.c * g.kh, kw = g.kw;
  const w = into ?? new Float32Array(rows * kw);
  if (kw === 3) {
    for (let r = 0, s = 0; r < rows; r++, s += 3) {
      w[s] = wt[r];
      w[s + 1] = wt[rows + r];
      w[s + 2] = wt[2 * rows + r];
    }
    return w;
  }
  for (let r = 0, s = 0; r < rows; r++, s += kw) {
    for (let kj = 0; kj < kw; kj++) w[s + kj] = wt[kj * rows + r];
  }
  return w;
}

/**
 * Copies output rows `[r0, r1)` of `[K, OH, OW]` at `y[yOff..]` to or from the wide layout
 * `[K, (r1-r0)*WP]` (row stride {@linkcode wideStride}); `toWide` also zeroes the garbage
 * columns, so that they add nothing.
 */
export function copyWide(
  y: Float32Array,
  yOff: number,
  g: ConvGeom,
  r0: number,
  r1: number,
  wide: Float32Array,
  toWide: boolean,
): void {
  const wp = wideWidth(g), band = wideStride(g, r1 - r0);
  for (let k = 0; k < g.k; k++) {
    for (let oh = r0; oh < r1; oh++) {
      const a = yOff + (k * g.oh + oh) * g.ow, b = k * band + (oh - r0) * wp;
      if (toWide) {
        wide.set(y.subarray(a, a + g.ow), b);
        wide.fill(0, b + g.ow, b + wp);
      } else {
        y.set(wide.subarray(b, b + g.ow), a);
      }
    }
  }
}
