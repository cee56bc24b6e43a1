/**
 * Reference resize kernels: plain loops over typed arrays, with PyTorch's coordinate rules
 * (`F.interpolate(mode="bilinear")`), computed in f32 like PyTorch's CPU kernel.
 *
 * @module
 */
import type { Planes } from "../../device/backend.ts";

const f = Math.fround;

/** One output coordinate's two source indices and their weights. */
export interface Tap {
  /** The lower source index. */
  i0: number;
  /** The upper source index, `min(i0 + 1, size - 1)`. */
  i1: number;
  /** Weight of `i0`, `1 - l1`. */
  l0: number;
  /** Weight of `i1`, the fractional part of the source coordinate. */
  l1: number;
}

/**
 * Source taps of output index `dst` along an axis resized from `size` to `out`:
 * `src = (dst + 0.5) * size / out - 0.5` clamped at 0, or `dst * (size - 1) / (out - 1)` with
 * aligned corners (0 when `out == 1`).
 */
export function tap(dst: number, size: number, out: number, alignCorners: boolean): Tap {
  let src: number;
  if (alignCorners) {
    const scale = out > 1 ? f((size - 1) / (out - 1)) : 0;
    src = f(scale * dst);
  } else {
    const scale = f(size / out);
    src = Math.max(f(f(scale * f(dst + 0.5)) - 0.5), 0);
  }
  const i0 = Math.min(Math.floor(src), size - 1);
  const i1 = Math.min(i0 + 1, size - 1);
  const l1 = Math.min(Math.max(f(src - i0), 0), 1);
  return { i0, i1, l0: f(1 - l1), l1 };
}

function taps(size: number, out: number, alignCorners: boolean): Tap[] {
  return Array.from({ length: out }, (_, d) => tap(d, size, out, alignCorners));
}

/** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` (PyTorch's rules). */
export function interpolate(
  x: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Float32Array {
  const { h, w } = p;
  const ty = taps(h, oh, alignCorners), tx = taps(w, ow, alignCorners);
  const planes = p.n * p.c;
  const y = new Float32Array(planes * oh * ow);
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const r = ty[oy];
      const r0 = xo + r.i0 * w, r1 = xo + r.i1 * w;
      for (let ox = 0; ox < ow; ox++) {
        const c = tx[ox];
        y[(pl * oh + oy) * ow + ox] = r.l0 * (c.l0 * x[r0 + c.i0] + c.l1 * x[r0 + c.i1]) +
          r.l1 * (c.l0 * x[r1 + c.i0] + c.l1 * x[r1 + c.i1]);
      }
    }
  }
  return y;
}

/** Backward of interpolate (its exact adjoint): dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
export function interpolateGrad(
  dy: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  alignCorners: boolean,
): Float32Array {
  const { h, w } = p;
  const ty = taps(h, oh, alignCorners), tx = taps(w, ow, alignCorners);
  const planes = p.n * p.c;
  const dx = new Float64Array(planes * h * w);
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const r = ty[oy];
      const r0 = xo + r.i0 * w, r1 = xo + r.i1 * w;
      for (let ox = 0; ox < ow; ox++) {
        const c = tx[ox];
        const g = dy[(pl * oh + oy) * ow + ox];
        dx[r0 + c.i0] += r.l0 * c.l0 * g;
        dx[r0 + c.i1] += r.l0 * c.l1 * g;
        dx[r1 + c.i0] += r.l1 * c.l0 * g;
        dx[r1 + c.i1] += r.l1 * c.l1 * g;
      }
    }
  }
  return Float32Array.from(dx);
}

/** `x[:, :, top:top+oh, left:left+ow]` of x `[N, C, H, W]`. */
export function crop(
  x: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
  out?: Float32Array,
): Float32Array {
  const planes = p.n * p.c;
  const y = out ?? new Float32Array(planes * oh * ow);
  if (y.length !== planes * oh * ow) {
    throw new RangeError(`crop: expected out of ${planes * oh * ow} elements but got ${y.length}`);
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      const src = (pl * p.h + top + oy) * p.w + left;
      y.set(x.subarray(src, src + ow), (pl * oh + oy) * ow);
    }
  }
  return y;
}

/** Backward of crop: dy `[N, C, oh, ow]` placed into zeros `[N, C, H, W]` (`out`: any contents). */
export function cropGrad(
  dy: Float32Array,
  p: Planes,
  oh: number,
  ow: number,
  top: number,
  left: number,
  out?: Float32Array,
): Float32Array {
  const planes = p.n * p.c;
  const dx = out ? out.fill(0) : new Float32Array(planes * p.h * p.w);
  if (dx.length !== planes * p.h * p.w) {
    throw new RangeError(
      `cropGrad: expected out of ${planes * p.h * p.w} elements but got ${dx.length}`,
    );
  }
  for (let pl = 0; pl < planes; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      const src = (pl * oh + oy) * ow;
      dx.set(dy.subarray(src, src + ow), (pl * p.h + top + oy) * p.w + left);
    }
  }
  return dx;
}
