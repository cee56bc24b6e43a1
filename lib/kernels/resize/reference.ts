/**
 * Reference resize kernels: plain loops over typed arrays, with PyTorch's coordinate rules
 * (`F.interpolate(mode="bilinear")`), computed in f32 like PyTorch's CPU kernel.
 *
 * @module
 */
import type { KernelArgs } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";

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

/** The geometry of a resize: planes `[N, C, H, W]` to `oh` x `ow`, and the corner rule. */
type Resize = Omit<KernelArgs["interpolate"], "x">;

/**
 * Visits every output row of a resize, plane by plane and top to bottom, with `o` the row's
 * first output index, `r` its row tap and `r0`, `r1` the offsets of its two source rows.
 */
function eachRow(
  { planes: p, oh, ow, alignCorners }: Resize,
  visit: (o: number, r: Tap, r0: number, r1: number) => void,
): void {
  const { h, w } = p;
  const ty = taps(h, oh, alignCorners);
  for (let pl = 0; pl < p.n * p.c; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const r = ty[oy];
      visit((pl * oh + oy) * ow, r, xo + r.i0 * w, xo + r.i1 * w);
    }
  }
}

/** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` (PyTorch's rules). */
export function interpolate(a: OnHost<KernelArgs["interpolate"]>): Float32Array {
  const { x, planes: p, oh, ow } = a;
  const tx = taps(p.w, ow, a.alignCorners);
  const y = new Float32Array(p.n * p.c * oh * ow);
  eachRow(a, (o, r, r0, r1) => {
    for (let ox = 0; ox < ow; ox++) {
      const c = tx[ox];
      y[o + ox] = r.l0 * (c.l0 * x[r0 + c.i0] + c.l1 * x[r0 + c.i1]) +
        r.l1 * (c.l0 * x[r1 + c.i0] + c.l1 * x[r1 + c.i1]);
    }
  });
  return y;
}

/** Backward of interpolate (its exact adjoint): dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
export function interpolateGrad(a: OnHost<KernelArgs["interpolateGrad"]>): Float32Array {
  const { dy, planes: p, ow } = a;
  const tx = taps(p.w, ow, a.alignCorners);
  const dx = new Float64Array(p.n * p.c * p.h * p.w);
  eachRow(a, (o, r, r0, r1) => {
    for (let ox = 0; ox < ow; ox++) {
      const c = tx[ox];
      const g = dy[o + ox];
      dx[r0 + c.i0] += r.l0 * c.l0 * g;
      dx[r0 + c.i1] += r.l0 * c.l1 * g;
      dx[r1 + c.i0] += r.l1 * c.l0 * g;
      dx[r1 + c.i1] += r.l1 * c.l1 * g;
    }
  });
  return Float32Array.from(dx);
}

/**
 * `x[:, :, top:top+oh, left:left+ow]` of x `[N, C, H, W]`, into `out` when given (any
 * contents: every element is written).
 */
export function crop(a: OnHost<KernelArgs["crop"]>, out?: Float32Array): Float32Array {
  const { x, planes: p, oh, ow, top, left } = a;
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
export function cropGrad(a: OnHost<KernelArgs["cropGrad"]>, out?: Float32Array): Float32Array {
  const { dy, planes: p, oh, ow, top, left } = a;
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
