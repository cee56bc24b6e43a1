/**
 * Resize kernels on WebGPU: bilinear interpolation (PyTorch's coordinate rules, f32 like its CPU
 * kernel) and crop, with their backward passes as gathers (no atomics): each input element loops
 * over the outputs that can read it. Work is split over planes so that every binding fits.
 *
 * @module
 */
import type { KernelArgs, Planes, Storage } from "../../device/backend.ts";
import { f32, type UniformValue, type WebGpuRuntime } from "../../device/webgpu.ts";
import { bindings, perElement } from "../_wgsl.ts";
import { planeChunks } from "../pool/plane_chunks.ts";
import type { KernelSlice } from "../../device/backend.ts";

const WG = 256;

/** Uniform fields describing one resize: sizes and per-axis scales. */
const RESIZE_FIELDS = "h: u32, w: u32, oh: u32, ow: u32, scaleH: f32, scaleW: f32, align: u32";

/** WGSL for one output coordinate's two source taps, mirroring `tap` in reference.ts. */
const tapWgsl = `
struct Tap { i0: u32, i1: u32, l0: f32, l1: f32 }
fn tap(dst: u32, size: u32, scale: f32) -> Tap {
  var src = scale * f32(dst);
  if (u.align == 0u) {
    src = max(scale * (f32(dst) + 0.5) - 0.5, 0.0);
  }
  let i0 = min(u32(floor(src)), size - 1u);
  let l1 = clamp(src - f32(i0), 0.0, 1.0);
  return Tap(i0, min(i0 + 1u, size - 1u), 1.0 - l1, l1);
}`;

/** The scale PyTorch uses along one axis, as an f32 uniform. */
function scale(size: number, out: number, alignCorners: boolean) {
  return f32(alignCorners ? (out > 1 ? (size - 1) / (out - 1) : 0) : size / out);
}

/** Uniforms of the interpolation kernels after the count and the two bases. */
function resizeUniforms(
  { planes: p, oh, ow, alignCorners }: Omit<KernelArgs["interpolate"], "x">,
): UniformValue[] {
  const [sh, sw] = [scale(p.h, oh, alignCorners), scale(p.w, ow, alignCorners)];
  return [p.h, p.w, oh, ow, sh, sw, alignCorners ? 1 : 0];
}

/** Uniforms of the crop kernels after the count and the two bases. */
function cropUniforms(
  { planes: p, oh, ow, top, left }: Omit<KernelArgs["crop"], "x">,
): UniformValue[] {
  return [p.h, p.w, oh, ow, top, left];
}

const interpolateWgsl = `
${bindings(["x", "mut y"], `count: u32, xBase: u32, yBase: u32, ${RESIZE_FIELDS}`)}
${tapWgsl}
${perElement(WG)}
  let pl = i / (u.oh * u.ow);
  let r = i % (u.oh * u.ow);
  let ty = tap(r / u.ow, u.h, u.scaleH);
  let tx = tap(r % u.ow, u.w, u.scaleW);
  let r0 = u.xBase + (pl * u.h + ty.i0) * u.w;
  let r1 = u.xBase + (pl * u.h + ty.i1) * u.w;
  y[u.yBase + i] = ty.l0 * (tx.l0 * x[r0 + tx.i0] + tx.l1 * x[r0 + tx.i1]) +
    ty.l1 * (tx.l0 * x[r1 + tx.i0] + tx.l1 * x[r1 + tx.i1]);
}`;

const interpolateGradWgsl = `
${bindings(["dy", "mut dx"], `count: u32, dyBase: u32, dxBase: u32, ${RESIZE_FIELDS}`)}
${tapWgsl}

// A range of outputs [lo, hi] along an axis that contains every output reading input t.
fn span(t: u32, size: u32, out: u32, scale: f32) -> vec2i {
  if (scale == 0.0) { return vec2i(0, i32(out) - 1); }
  let ft = f32(t);
  var a = (ft - 1.0) / scale;
  var b = (ft + 1.0) / scale;
  if (u.align == 0u) {
    a = (ft - 0.5) / scale - 0.5;
    b = (ft + 1.5) / scale - 0.5;
  }
  return vec2i(max(i32(floor(a)) - 1, 0), min(i32(ceil(b)) + 1, i32(out) - 1));
}

// The weight with which tap t reads input index me.
fn weight(t: Tap, me: u32) -> f32 {
  return select(0.0, t.l0, t.i0 == me) + select(0.0, t.l1, t.i1 == me);
}

${perElement(WG)}
  let pl = i / (u.h * u.w);
  let r = i % (u.h * u.w);
  let iy = r / u.w;
  let ix = r % u.w;
  let sy = span(iy, u.h, u.oh, u.scaleH);
  let sx = span(ix, u.w, u.ow, u.scaleW);
  let o0 = u.dyBase + pl * u.oh * u.ow;
  var acc = 0.0;
  for (var oy = sy.x; oy <= sy.y; oy++) {
    let ty = tap(u32(oy), u.h, u.scaleH);
    if (ty.i0 != iy && ty.i1 != iy) { continue; }
    let wy = weight(ty, iy);
    for (var ox = sx.x; ox <= sx.y; ox++) {
      let tx = tap(u32(ox), u.w, u.scaleW);
      if (tx.i0 != ix && tx.i1 != ix) { continue; }
      acc += wy * weight(tx, ix) * dy[o0 + u32(oy) * u.ow + u32(ox)];
    }
  }
  dx[u.dxBase + i] = acc;
}`;

/** Uniform fields of the crop kernels after the count and the two bases. */
const CROP_FIELDS = "h: u32, w: u32, oh: u32, ow: u32, top: u32, left: u32";

const cropWgsl = `
${bindings(["x", "mut y"], `count: u32, xBase: u32, yBase: u32, ${CROP_FIELDS}`)}
${perElement(WG)}
  let pl = i / (u.oh * u.ow);
  let r = i % (u.oh * u.ow);
  y[u.yBase + i] = x[u.xBase + (pl * u.h + u.top + r / u.ow) * u.w + u.left + r % u.ow];
}`;

const cropGradWgsl = `
${bindings(["dy", "mut dx"], `count: u32, dyBase: u32, dxBase: u32, ${CROP_FIELDS}`)}
${perElement(WG)}
  let pl = i / (u.h * u.w);
  let r = i % (u.h * u.w);
  // wrap-around makes rows/columns before the window large, so one comparison each suffices
  let oy = r / u.w - u.top;
  let ox = r % u.w - u.left;
  var v = 0.0;
  if (oy < u.oh && ox < u.ow) {
    v = dy[u.dyBase + (pl * u.oh + oy) * u.ow + ox];
  }
  dx[u.dxBase + i] = v;
}`;

/** The kernels: WGSL, and whether it maps outputs back onto inputs (a backward pass). */
const KERNELS = {
  interpolate: { source: interpolateWgsl, backward: false },
  interpolate_grad: { source: interpolateGradWgsl, backward: true },
  crop: { source: cropWgsl, backward: false },
  crop_grad: { source: cropGradWgsl, backward: true },
};

/** One plane-wise run: the source storage, the geometry, and the kernel's further uniforms. */
interface PlanewiseRun {
  /** Input `[N, C, H, W]` (forward) or `[N, C, oh, ow]` (backward). */
  src: Storage;
  /** Planes of the larger-side tensor `[N, C, H, W]`. */
  planes: Planes;
  /** Output height of the forward pass. */
  oh: number;
  /** Output width of the forward pass. */
  ow: number;
  /** Uniforms after the count and the two bases. */
  extra: UniformValue[];
}

/**
 * Runs kernel `name` plane by plane: planes of H*W elements -> planes of oh*ow (forward) or
 * back (backward), one invocation per destination element, into a new storage.
 */
function planewise(rt: WebGpuRuntime, name: keyof typeof KERNELS, run: PlanewiseRun): Storage {
  const { planes: p, oh, ow } = run;
  const { source, backward } = KERNELS[name];
  const [srcPlane, dstPlane] = backward ? [oh * ow, p.h * p.w] : [p.h * p.w, oh * ow];
  const planes = p.n * p.c;
  const dst = rt.alloc(planes * dstPlane, "f32");
  const k = rt.kernel(name, source);
  for (const [first, count] of planeChunks(rt, planes, Math.max(srcPlane, dstPlane), name)) {
    const bs = rt.bind(run.src, first * srcPlane, count * srcPlane);
    const bd = rt.bind(dst, first * dstPlane, count * dstPlane);
    const n = count * dstPlane;
    rt.dispatch(k, [bs, bd], [n, bs.base, bd.base, ...run.extra], Math.ceil(n / WG));
  }
  return dst;
}

/** The resize and crop slice of the WebGPU backend. */
export const resizeWebGpu: KernelSlice<WebGpuRuntime, "resize"> = {
  interpolate: (rt, { x, ...a }) =>
    planewise(rt, "interpolate", { src: x, ...a, extra: resizeUniforms(a) }),
  interpolateGrad: (rt, { dy, ...a }) =>
    planewise(rt, "interpolate_grad", { src: dy, ...a, extra: resizeUniforms(a) }),
  crop: (rt, { x, ...a }) => planewise(rt, "crop", { src: x, ...a, extra: cropUniforms(a) }),
  cropGrad: (rt, { dy, ...a }) =>
    planewise(rt, "crop_grad", { src: dy, ...a, extra: cropUniforms(a) }),
};
