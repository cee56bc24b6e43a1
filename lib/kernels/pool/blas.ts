/**
 * Max pooling for the BLAS backend: the 2x2 stride-2 unpadded pool of VGG, with its four
 * compares unrolled (on [64, 224, 224]: 12.5 ms against 21.8 for the reference);
 * other geometries use the reference's loop. Outputs may be passed in (`out`): every element is
 * written, so they may hold anything; the backward pass zeroes its output, then scatters.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, PoolGeom } from "../../device/backend.ts";
import * as ref from "./reference.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { f32of, type OnHost, onHost } from "../../device/host.ts";
import { expectLength } from "../_check.ts";

/** The reference's rule for one window clipped to the input: first max wins, a NaN wins. */
function clippedWindow(
  x: Float32Array,
  xo: number,
  g: PoolGeom,
  oy: number,
  ox: number,
): [number, number] {
  const hs = oy * 2, he = Math.min(hs + 2, g.h), ws = ox * 2, we = Math.min(ws + 2, g.w);
  let best = -Infinity, at = hs * g.w + ws;
  for (let iy = hs; iy < he; iy++) {
    for (let ix = ws; ix < we; ix++) {
      const v = x[xo + iy * g.w + ix];
      if (v > best || v !== v) {
        best = v;
        at = iy * g.w + ix;
      }
    }
  }
  return [best, at];
}

/**
 * Any other window: the reference's loop and rule (windows clipped to the input, the first max
 * wins, a later NaN wins again), written into `out` (so into a pooled array) with the clipped
 * bounds of every column worked out once. About as fast as the reference: mispredicted
 * compares dominate.
 */
function generalPool(
  x: Float32Array,
  g: PoolGeom,
  out?: { y: Float32Array; idx: Int32Array },
): { y: Float32Array; idx: Int32Array } {
  const { h, w, oh, ow } = g, planes = g.n * g.c, size = planes * oh * ow;
  if (x.length !== planes * h * w) return ref.maxPool2d({ x, geom: g }); // the reference says what is wrong
  const y = out?.y ?? new Float32Array(size), idx = out?.idx ?? new Int32Array(size);
  const ws = new Int32Array(ow), we = new Int32Array(ow);
  for (let ox = 0; ox < ow; ox++) {
    const w0 = ox * g.strideW - g.padW;
    ws[ox] = Math.max(w0, 0);
    we[ox] = Math.min(w0 + g.kw, w);
  }
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const h0 = oy * g.strideH - g.padH;
      const hs = Math.max(h0, 0), he = Math.min(h0 + g.kh, h);
      for (let ox = 0; ox < ow; ox++, o++) {
        const a = ws[ox], b = we[ox];
        let best = -Infinity, at = hs * w + a;
        for (let iy = hs; iy < he; iy++) {
          const row = iy * w;
          for (let ix = a; ix < b; ix++) {
            const v = x[xo + row + ix];
            if (v > best || v !== v) {
              best = v;
              at = row + ix;
            }
          }
        }
        y[o] = best;
        idx[o] = at;
      }
    }
  }
  return { y, idx };
}

/**
 * x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its
 * plane, exactly as the reference (windows clipped at the border in ceil mode).
 */
export function maxPool2d(
  { x, geom: g }: OnHost<KernelArgs["maxPool2d"]>,
  out?: { y: Float32Array; idx: Int32Array },
): { y: Float32Array; idx: Int32Array } {
  const twoByTwo = g.kh === 2 && g.kw === 2 && g.strideH === 2 && g.strideW === 2 &&
    g.padH === 0 && g.padW === 0;
  if (!twoByTwo) return generalPool(x, g, out);
  const { h, w, oh, ow } = g, planes = g.n * g.c;
  if (x.length !== planes * h * w) {
    throw new RangeError(
      `maxPool2d: expected x of ${planes * h * w} elements [N, C, H, W] but got ${x.length}`,
    );
  }
  const size = planes * oh * ow;
  if (out && (out.y.length !== size || out.idx.length !== size)) {
    throw new RangeError(
      `maxPool2d: expected outputs of ${size} elements but got ${out.y.length} and ` +
        `${out.idx.length}`,
    );
  }
  const y = out?.y ?? new Float32Array(size), idx = out?.idx ?? new Int32Array(size);
  const fullRows = Math.min(oh, h >> 1), fullCols = Math.min(ow, w >> 1);
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const cols = oy < fullRows ? fullCols : 0;
      for (let ox = 0; ox < cols; ox++, o++) {
        // The window's four taps in row-major order, the reference's order.
        const a = oy * 2 * w + ox * 2, c = a + w;
        let at = a, best = x[xo + a];
        let v = x[xo + a + 1];
        if (v > best || v !== v) {
          best = v;
          at = a + 1;
        }
        v = x[xo + c];
        if (v > best || v !== v) {
          best = v;
          at = c;
        }
        v = x[xo + c + 1];
        if (v > best || v !== v) {
          best = v;
          at = c + 1;
        }
        y[o] = best;
        idx[o] = at;
      }
      for (let ox = cols; ox < ow; ox++, o++) [y[o], idx[o]] = clippedWindow(x, xo, g, oy, ox);
    }
  }
  return { y, idx };
}

/**
 * The maxima alone (inference: no index to keep), with the reference's rule (windows clipped to
 * the input, a NaN wins): each output row as the running maximum of its window's input rows.
 * FCN-ResNet50's 3x3 stride-2 pool on [64, 240, 240]: 13.5 ms against 37 with indices. VGG's
 * 2x2 stride-2 pool of even sizes has its own loop: FCN-8s's five pools at 224 px take 6.1 ms
 * against 14.3 in the general loop (oneDNN's pooling on NCHW arrays: 9.1).
 */
export function maxPool2dValues(x: Float32Array, g: PoolGeom, out?: Float32Array): Float32Array {
  const { h, w, oh, ow } = g, planes = g.n * g.c;
  expectLength("maxPool2d", "x", x, planes * h * w);
  const y = out ?? new Float32Array(planes * oh * ow);
  expectLength("maxPool2d", "out", y, planes * oh * ow);
  const halves = g.kh === 2 && g.kw === 2 && g.strideH === 2 && g.strideW === 2 &&
    g.padH === 0 && g.padW === 0 && oh * 2 === h && ow * 2 === w;
  if (halves) return halves2x2(x, planes, h, w, y);
  const ws = new Int32Array(ow), we = new Int32Array(ow), row = new Float32Array(ow);
  for (let ox = 0; ox < ow; ox++) {
    const w0 = ox * g.strideW - g.padW;
    ws[ox] = Math.max(w0, 0);
    we[ox] = Math.min(w0 + g.kw, w);
  }
  for (let pl = 0, o = 0; pl < planes; pl++) {
    const xo = pl * h * w;
    for (let oy = 0; oy < oh; oy++, o += ow) {
      const h0 = oy * g.strideH - g.padH, hs = Math.max(h0, 0), he = Math.min(h0 + g.kh, h);
      row.fill(-Infinity);
      for (let iy = hs; iy < he; iy++) {
        const r = xo + iy * w;
        for (let ox = 0; ox < ow; ox++) {
          let best = row[ox];
          for (let i = r + ws[ox], e = r + we[ox]; i < e; i++) {
            const v = x[i];
            best = v > best || v !== v ? v : best;
          }
          row[ox] = best;
        }
      }
      y.set(row, o);
    }
  }
  return y;
}

/** 2x2 stride-2 maxima of `planes` planes of even `h` x `w` (a NaN wins). */
function halves2x2(x: Float32Array, planes: number, h: number, w: number, y: Float32Array) {
  const oh = h >> 1, ow = w >> 1;
  for (let pl = 0; pl < planes; pl++) {
    for (let oy = 0; oy < oh; oy++) {
      const r0 = pl * h * w + 2 * oy * w, r1 = r0 + w, o = (pl * oh + oy) * ow;
      for (let ox = 0; ox < ow; ox++) {
        const i = 2 * ox;
        const a = x[r0 + i], b = x[r0 + i + 1], c = x[r1 + i], d = x[r1 + i + 1];
        const top = a > b || a !== a ? a : b, bottom = c > d || c !== c ? c : d;
        y[o + ox] = top > bottom || top !== top ? top : bottom;
      }
    }
  }
  return y;
}

/**
 * The max pool slice of the BLAS backend: the 2x2 stride-2 case unrolled, and the reference's
 * backward pass, into pooled outputs.
 */
export const poolBlas: KernelSlice<BlasRuntime, "pool"> = {
  maxPool2d: (rt, a) => {
    const size = a.geom.n * a.geom.c * a.geom.oh * a.geom.ow;
    if (a.indices === false) {
      // A conv output still in oneDNN's layout: pool it there, the output held too.
      const held = rt.blocked.get(a.x);
      const op = held?.layout.maxPool(a.geom);
      if (held && op) {
        const y = rt.pool.f32(op.layout.floats);
        op.run(held.buffer, y);
        return { y: rt.trackBlocked(size, { buffer: y, layout: op.layout }), idx: null };
      }
      return { y: rt.track(maxPool2dValues(f32of(a.x), a.geom, rt.pool.f32(size))), idx: null };
    }
    const r = maxPool2d(onHost(a), { y: rt.pool.f32(size), idx: rt.pool.i32(size) });
    return { y: rt.track(r.y), idx: rt.track(r.idx) };
  },
  maxPool2dGrad: (rt, a) => {
    const out = rt.pool.f32(a.geom.n * a.geom.c * a.geom.h * a.geom.w);
    return rt.track(ref.maxPool2dGrad(onHost(a), out));
  },
};
