/**
 * Reference pool kernels: plain loops over typed arrays, with PyTorch's semantics.
 *
 * @module
 */
import type { KernelArgs } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";

/**
 * x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its
 * plane. Windows are clipped to the input (padding is -infinity); the first max wins and a NaN
 * propagates, as in PyTorch.
 */
export function maxPool2d(
  { x, geom: g }: OnHost<KernelArgs["maxPool2d"]>,
): { y: Float32Array; idx: Int32Array } {
  const { h, w, oh, ow } = g;
  const planes = g.n * g.c;
  const y = new Float32Array(planes * oh * ow);
  const idx = new Int32Array(planes * oh * ow);
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const h0 = oy * g.strideH - g.padH;
      const hs = Math.max(h0, 0), he = Math.min(h0 + g.kh, h);
      for (let ox = 0; ox < ow; ox++) {
        const w0 = ox * g.strideW - g.padW;
        const ws = Math.max(w0, 0), we = Math.min(w0 + g.kw, w);
        let best = -Infinity, at = hs * w + ws;
        for (let iy = hs; iy < he; iy++) {
          for (let ix = ws; ix < we; ix++) {
            const v = x[xo + iy * w + ix];
            if (v > best || Number.isNaN(v)) {
              best = v;
              at = iy * w + ix;
            }
          }
        }
        const o = (pl * oh + oy) * ow + ox;
        y[o] = best;
        idx[o] = at;
      }
    }
  }
  return { y, idx };
}

/**
 * dy `[N, C, OH, OW]` -> dx `[N, C, H, W]` into `out` (any contents) or a new array: zeros,
 * then each gradient added at its max, in output order.
 */
export function maxPool2dGrad(
  { dy, idx, geom: g }: OnHost<KernelArgs["maxPool2dGrad"]>,
  out?: Float32Array,
): Float32Array {
  const hw = g.h * g.w, ohw = g.oh * g.ow, planes = g.n * g.c;
  if (dy.length !== planes * ohw || idx.length !== planes * ohw) {
    throw new RangeError(
      `maxPool2dGrad: expected dy and idx of ${planes * ohw} elements but got ${dy.length} ` +
        `and ${idx.length}`,
    );
  }
  if (out && out.length !== planes * hw) {
    throw new RangeError(
      `maxPool2dGrad: expected out of ${planes * hw} elements but got ${out.length}`,
    );
  }
  const dx = out ? out.fill(0) : new Float32Array(planes * hw);
  for (let pl = 0; pl < planes; pl++) {
    for (let o = pl * ohw; o < (pl + 1) * ohw; o++) dx[pl * hw + idx[o]] += dy[o];
  }
  return dx;
}
