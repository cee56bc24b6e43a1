/**
 * im2col and col2im over a band of output rows: the bridge between a convolution and one GEMM.
 *
 * For output rows `[r0, r1)` of one image, the column matrix is `[C*KH*KW, (r1-r0)*OW]`: row
 * `(c*KH + ki)*KW + kj`, column `(oh-r0)*OW + ow` holds the input pixel that kernel tap
 * `(ki, kj)` of channel `c` sees at output `(oh, ow)`, or 0 in the padding.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";

/** The output columns `[lo, hi)` whose input column `ow*stride + shift` lies inside `[0, w)`. */
function validRange(shift: number, stride: number, w: number, ow: number): [number, number] {
  const lo = Math.min(ow, Math.max(0, Math.ceil(-shift / stride)));
  const hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 - shift) / stride) + 1));
  return [lo, hi];
}

/**
 * Writes the column matrix of output rows `[r0, r1)` of the image at `x[xOff..]` into `col`
 * (`[C*KH*KW, (r1-r0)*OW]`), padding as zeros.
 */
export function im2col(
  x: Float32Array,
  xOff: number,
  g: ConvGeom,
  r0: number,
  r1: number,
  col: Float32Array,
): void {
  const { c, h, w, kh, kw, ow, strideH, strideW, padH, padW, dilH, dilW } = g;
  let dst = 0;
  for (let ch = 0; ch < c; ch++) {
    const plane = xOff + ch * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const shift = kj * dilW - padW;
        const [lo, hi] = validRange(shift, strideW, w, ow);
        for (let oh = r0; oh < r1; oh++, dst += ow) {
          const ih = oh * strideH - padH + ki * dilH;
          if (ih < 0 || ih >= h || lo === hi) {
            col.fill(0, dst, dst + ow);
            continue;
          }
          if (lo > 0) col.fill(0, dst, dst + lo);
          const src = plane + ih * w + shift;
          if (strideW === 1) {
            for (let j = lo; j < hi; j++) col[dst + j] = x[src + j];
          } else {
            for (let j = lo; j < hi; j++) col[dst + j] = x[src + j * strideW];
          }
          if (hi < ow) col.fill(0, dst + hi, dst + ow);
        }
      }
    }
  }
}

/**
 * Adds the column gradient `dcol` of output rows `[r0, r1)` into the input gradient of the image
 * at `dx[dxOff..]`: the transpose of {@linkcode im2col}. `dcol` is `[C*KH*KW, (r1-r0)*OW]`
 * (row-major), or its transpose `[(r1-r0)*OW, C*KH*KW]` when `transposed`.
 */
export function col2im(
  dcol: Float32Array,
  g: ConvGeom,
  r0: number,
  r1: number,
  dx: Float32Array,
  dxOff: number,
  transposed = false,
): void {
  const { c, h, w, kh, kw, ow, strideH, strideW, padH, padW, dilH, dilW } = g;
  // Element (row, q) of the column matrix lies at row * rs + q * cs.
  const rs = transposed ? 1 : (r1 - r0) * ow, cs = transposed ? c * kh * kw : 1;
  let row = 0;
  for (let ch = 0; ch < c; ch++) {
    const plane = dxOff + ch * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, row++) {
        const shift = kj * dilW - padW;
        const [lo, hi] = validRange(shift, strideW, w, ow);
        for (let oh = r0; oh < r1; oh++) {
          const ih = oh * strideH - padH + ki * dilH;
          if (ih < 0 || ih >= h) continue;
          const dst = plane + ih * w + shift, src = row * rs + (oh - r0) * ow * cs;
          if (strideW === 1 && cs === 1) {
            for (let j = lo; j < hi; j++) dx[dst + j] += dcol[src + j];
          } else {
            for (let j = lo; j < hi; j++) dx[dst + j * strideW] += dcol[src + j * cs];
          }
        }
      }
    }
  }
}
