/**
 * Convolution of stride 1 by one GEMM per kernel tap on a single zero-padded copy of the
 * input, for many input channels. With `T = KH*KW` taps, a band of output rows `[r0, r1)`:
 * - the padded block `pad [C, L]`: row c holds input rows `r0 - padH ...` of channel c, each
 *   `WP = W + 2*padW` wide (`padW` zeros either side), `BH = (r1-r0) + (KH-1)*dilH` of them,
 *   then zeros up to `L` (row stride, aligned);
 * - taps `wt [T, K, C]`: `wt[ki*KW + kj][k][c] = w[k][c][ki][kj]`;
 * - forward: `yWide [K, B] = sum over taps of wt[t] @ pad[:, ki*dilH*WP + kj*dilW ...]`
 *   (B = (r1-r0)*WP wide columns, the last `WP - OW` of each row garbage, as in
 *   `./shifted.ts`);
 * - backward-data: `dpad[:, shift(t) ...] += wt[t]^T @ dyWide`, then dpad's interior is added
 *   into dx;
 * - backward-weight: `dwt[t] = dyWide @ pad[:, shift(t) ...]^T`.
 *
 * Against the shifted layout (KH row copies of the input, KW GEMMs of inner size C*KH) it
 * copies the input once and runs T GEMMs of inner size C. From 16 input channels on that is
 * as fast or faster, one thread, ms, forward / backward-data / backward-weight, shifted
 * against taps: 64 -> 64 at 224x224: 50 / 52 / 50 against 40 / 42 / 47; 128 -> 256 at 56x56:
 * 14.8 / 14.3 / 15.9 against 13.3 / 13.8 / 15.4; FCN-ResNet's 2048 -> 512 head at 60x60
 * (23M floats copied become 8M): 528 / 510 / 522 against 488 / 470 / 505. With 3 input
 * channels (a first layer) the GEMMs are too thin: 5.6 / 6.4 / 6.9 against 7.8 / 10.7 / 12.6.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import { allocate, bandRows, fillBias, type GemmContext } from "./gemm_context.ts";
import { copyWide, wideStride, wideWidth } from "./shifted.ts";

/** Input channels from which the per-tap layout pays. */
export const TAPS_MIN_CHANNELS = 16;

/** Whether this layout applies and pays: stride 1, several taps, many input channels. */
export function applies(g: ConvGeom): boolean {
  return g.strideH === 1 && g.strideW === 1 && g.kh * g.kw > 1 && g.c >= TAPS_MIN_CHANNELS &&
    g.k <= g.n * g.oh * g.ow;
}

/** Rounds a row stride up to 16 elements (64 bytes), as `./shifted.ts` does. */
function aligned(n: number): number {
  return Math.ceil(n / 16) * 16;
}

/** Row stride of the padded block for `rows` output rows. */
function blockLength(g: ConvGeom, rows: number): number {
  return aligned((rows + (g.kh - 1) * g.dilH) * wideWidth(g) + (g.kw - 1) * g.dilW);
}

/** Rows per band and the scratch regions: taps, padded block, wide output. */
interface Plan {
  rows: number;
  tapBuf: Float32Array;
  padBuf: Float32Array;
  wideBuf: Float32Array;
}

function plan(ctx: GemmContext, g: ConvGeom): Plan {
  const wp = wideWidth(g), taps = g.kh * g.kw;
  const perRow = (g.c + g.k) * wp;
  const fixed = g.c * ((g.kh - 1) * g.dilH * wp + (g.kw - 1) * g.dilW + 16) + g.k * 16 +
    taps * g.k * g.c;
  const rows = bandRows(g, ctx.scratch.budget, perRow, fixed);
  const [tapBuf, padBuf, wideBuf] = ctx.scratch.regions(
    taps * g.k * g.c,
    g.c * blockLength(g, rows),
    g.k * wideStride(g, rows),
  );
  return { rows, tapBuf, padBuf, wideBuf };
}

/** Element offset of tap t's view into the padded block. */
function shift(g: ConvGeom, t: number): number {
  const ki = Math.floor(t / g.kw), kj = t % g.kw;
  return ki * g.dilH * wideWidth(g) + kj * g.dilW;
}

/**
 * Packs w `[K, C, T]` as `wt [T, K, C]` (w seen as `[K*C, T]`, transposed), 3x3 unrolled
 * (512 -> 512 channels: 2 ms against 4 for the loop over taps).
 */
export function packTaps(w: Float32Array, g: ConvGeom, wt: Float32Array): void {
  const rows = g.k * g.c, t = g.kh * g.kw;
  if (t === 9) {
    for (let r = 0, s = 0; r < rows; r++, s += 9) {
      wt[r] = w[s];
      wt[rows + r] = w[s + 1];
      wt[2 * rows + r] = w[s + 2];
      wt[3 * rows + r] = w[s + 3];
      wt[4 * rows + r] = w[s + 4];
      wt[5 * rows + r] = w[s + 5];
      wt[6 * rows + r] = w[s + 6];
      wt[7 * rows + r] = w[s + 7];
      wt[8 * rows + r] = w[s + 8];
    }
    return;
  }
  for (let r = 0, s = 0; r < rows; r++, s += t) {
    for (let j = 0; j < t; j++) wt[j * rows + r] = w[s + j];
  }
}

/** Unpacks `wt [T, K, C]` into w `[K, C, T]`. */
export function unpackTaps(wt: Float32Array, g: ConvGeom, w: Float32Array): void {
  const rows = g.k * g.c, t = g.kh * g.kw;
  if (t === 9) {
    for (let r = 0, s = 0; r < rows; r++, s += 9) {
      w[s] = wt[r];
      w[s + 1] = wt[rows + r];
      w[s + 2] = wt[2 * rows + r];
      w[s + 3] = wt[3 * rows + r];
      w[s + 4] = wt[4 * rows + r];
      w[s + 5] = wt[5 * rows + r];
      w[s + 6] = wt[6 * rows + r];
      w[s + 7] = wt[7 * rows + r];
      w[s + 8] = wt[8 * rows + r];
    }
    return;
  }
  for (let r = 0, s = 0; r < rows; r++, s += t) {
    for (let j = 0; j < t; j++) w[s + j] = wt[j * rows + r];
  }
}

/** Fills the padded block of output rows `[r0, r1)` of the image at `x[xOff..]`. */
export function buildBlock(
  x: Float32Array,
  xOff: number,
  g: ConvGeom,
  r0: number,
  r1: number,
  pad: Float32Array,
): void {
  const wp = wideWidth(g), len = blockLength(g, r1 - r0), bh = r1 - r0 + (g.kh - 1) * g.dilH;
  const lo = Math.min(wp, g.padW), hi = Math.min(wp, g.padW + g.w);
  for (let c = 0; c < g.c; c++) {
    const row = c * len, plane = xOff + c * g.h * g.w;
    for (let i = 0; i < bh; i++) {
      const ih = r0 - g.padH + i, seg = row + i * wp;
      if (ih < 0 || ih >= g.h) {
        pad.fill(0, seg, seg + wp);
        continue;
      }
      const src = plane + ih * g.w;
      pad.fill(0, seg, seg + lo);
      pad.set(x.subarray(src, src + hi - lo), seg + lo);
      pad.fill(0, seg + hi, seg + wp);
    }
    pad.fill(0, row + bh * wp, row + len);
  }
}

/** Adds the interior of the padded gradient block of rows `[r0, r1)` into `dx[dxOff..]`. */
export function addBlock(
  dpad: Float32Array,
  g: ConvGeom,
  r0: number,
  r1: number,
  dx: Float32Array,
  dxOff: number,
): void {
  const wp = wideWidth(g), len = blockLength(g, r1 - r0), bh = r1 - r0 + (g.kh - 1) * g.dilH;
  const lo = Math.min(wp, g.padW), hi = Math.min(wp, g.padW + g.w);
  for (let c = 0; c < g.c; c++) {
    const row = c * len, plane = dxOff + c * g.h * g.w - lo;
    for (let i = 0; i < bh; i++) {
      const ih = r0 - g.padH + i;
      if (ih < 0 || ih >= g.h) continue;
      const src = row + i * wp, dst = plane + ih * g.w;
      for (let q = lo; q < hi; q++) dx[dst + q] += dpad[src + q];
    }
  }
}

/** One band: image n, output rows [r0, r1), block row stride `len`, `cols` wide columns, `ld`. */
interface Band {
  n: number;
  r0: number;
  r1: number;
  len: number;
  cols: number;
  ld: number;
}

function* bands(g: ConvGeom, rows: number): Generator<Band> {
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows);
      const len = blockLength(g, r1 - r0), ld = wideStride(g, r1 - r0);
      yield { n, r0, r1, len, cols: (r1 - r0) * wideWidth(g), ld };
    }
  }
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
  const { rows, tapBuf, padBuf, wideBuf } = plan(ctx, g), kc = g.k * g.c;
  packTaps(w, g, tapBuf);
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const yw = wideBuf.subarray(0, g.k * ld);
    fillBias(yw, 0, g.k, cols, ld, b);
    buildBlock(x, n * g.c * g.h * g.w, g, r0, r1, padBuf);
    for (let t = 0; t < g.kh * g.kw; t++) {
      const tap = tapBuf.subarray(t * kc), view = padBuf.subarray(shift(g, t));
      ctx.sgemm(false, false, g.k, cols, g.c, 1, tap, g.c, view, len, 1, yw, ld);
    }
    copyWide(y, n * g.k * g.oh * g.ow, g, r0, r1, yw, false);
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
  const { rows, tapBuf, padBuf, wideBuf } = plan(ctx, g), kc = g.k * g.c;
  packTaps(w, g, tapBuf);
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const dyw = wideBuf.subarray(0, g.k * ld);
    copyWide(dy, n * g.k * g.oh * g.ow, g, r0, r1, dyw, true);
    padBuf.fill(0, 0, g.c * len);
    for (let t = 0; t < g.kh * g.kw; t++) {
      const tap = tapBuf.subarray(t * kc), view = padBuf.subarray(shift(g, t));
      ctx.sgemm(true, false, g.c, cols, g.k, 1, tap, g.c, dyw, ld, 1, view, len);
    }
    addBlock(padBuf, g, r0, r1, dx, n * g.c * g.h * g.w);
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
  const { rows, tapBuf, padBuf, wideBuf } = plan(ctx, g), kc = g.k * g.c;
  let beta = 0;
  for (const { n, r0, r1, len, cols, ld } of bands(g, rows)) {
    const dyw = wideBuf.subarray(0, g.k * ld);
    copyWide(dy, n * g.k * g.oh * g.ow, g, r0, r1, dyw, true);
    buildBlock(x, n * g.c * g.h * g.w, g, r0, r1, padBuf);
    for (let t = 0; t < g.kh * g.kw; t++) {
      const tap = tapBuf.subarray(t * kc), view = padBuf.subarray(shift(g, t));
      ctx.sgemm(false, true, g.k, g.c, cols, 1, dyw, ld, view, len, beta, tap, g.c);
    }
    beta = 1;
  }
  const dw = allocate(ctx, kc * g.kh * g.kw);
  unpackTaps(tapBuf, g, dw);
  return dw;
}
