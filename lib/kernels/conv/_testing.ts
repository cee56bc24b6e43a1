/**
 * Helpers for the conv tests.
 *
 * @module
 */
import type { ConvGeom } from "../../device/backend.ts";

/** Options of {@linkcode geom}: the height's settings, and the width's where they differ. */
export interface GeomOptions {
  stride?: number;
  pad?: number;
  dil?: number;
  /** Kernel width (default: the kernel height). */
  kw?: number;
  /** Stride along the width (default `stride`). */
  sw?: number;
  /** Padding along the width (default `pad`). */
  pw?: number;
  /** Dilation along the width (default `dil`). */
  dw?: number;
}

/**
 * The geometry of a conv of x `[n, c, h, w]` by a `[k, c, ks, kw]` kernel, with PyTorch's
 * output size `floor((h + 2 * pad - dil * (ks - 1) - 1) / stride) + 1`.
 */
export function geom(
  n: number,
  c: number,
  h: number,
  w: number,
  k: number,
  ks: number,
  o: GeomOptions = {},
): ConvGeom {
  const { stride = 1, pad = 0, dil = 1, kw = ks } = o;
  const { sw = stride, pw = pad, dw = dil } = o;
  const oh = Math.floor((h + 2 * pad - dil * (ks - 1) - 1) / stride) + 1;
  const ow = Math.floor((w + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  return {
    n,
    c,
    h,
    w,
    k,
    kh: ks,
    kw,
    oh,
    ow,
    strideH: stride,
    strideW: sw,
    padH: pad,
    padW: pw,
    dilH: dil,
    dilW: dw,
  };
}
