/**
 * Max pooling on WebGPU. The forward pass runs one invocation per output; the backward pass
 * gathers (no atomics): each input element loops over the windows that can contain it and sums
 * the gradients whose recorded max is itself, in output order like the reference. Work is split
 * over planes so that every binding fits.
 *
 * @module
 */
import type {
  KernelArgs,
  KernelResult,
  KernelSlice,
  PoolGeom,
  Storage,
} from "../../device/backend.ts";
import type { GpuKernel, WebGpuRuntime } from "../../device/webgpu.ts";
import { bindings, dispatchWindows, perElement } from "../_wgsl.ts";
import { planeChunks } from "./plane_chunks.ts";

const WG = 256;

/** Geometry uniforms shared by both kernels (all non-negative, read as i32). */
const GEOM =
  "h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32";

function geom(g: PoolGeom): number[] {
  return [g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW];
}

const forwardWgsl = `
${
  bindings(
    ["x", "mut y", "mut idx: i32"],
    `count: u32, ${GEOM}, xBase: u32, yBase: u32, iBase: u32`,
  )
}
${perElement(WG)}
  let ohw = u32(u.oh * u.ow);
  let pl = i / ohw;
  let r = i32(i % ohw);
  let h0 = (r / u.ow) * u.sh - u.ph;
  let w0 = (r % u.ow) * u.sw - u.pw;
  let hs = max(h0, 0);
  let he = min(h0 + u.kh, u.h);
  let ws = max(w0, 0);
  let we = min(w0 + u.kw, u.w);
  let xo = u.xBase + pl * u32(u.h * u.w);
  var best = bitcast<f32>(0xff800000u); // -infinity
  var at = hs * u.w + ws;
  for (var iy = hs; iy < he; iy++) {
    for (var ix = ws; ix < we; ix++) {
      let v = x[xo + u32(iy * u.w + ix)];
      // NaN wins as in PyTorch; tested on the bits since v != v may be folded away
      if (v > best || (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) {
        best = v;
        at = iy * u.w + ix;
      }
    }
  }
  y[u.yBase + i] = best;
  idx[u.iBase + i] = at;
}`;

const backwardWgsl = `
${
  bindings(
    ["dy", "idx: i32", "mut dx"],
    `count: u32, ${GEOM}, dyBase: u32, iBase: u32, dxBase: u32`,
  )
}

// Outputs o along an axis whose window [o * s - p, o * s - p + k) contains input index t.
fn span(t: i32, k: i32, s: i32, p: i32, n: i32) -> vec2i {
  let a = t + p - k + 1; // o * s >= a
  let lo = select(0, (a + s - 1) / s, a > 0);
  return vec2i(lo, min((t + p) / s, n - 1));
}

${perElement(WG)}
  let hw = u32(u.h * u.w);
  let pl = i / hw;
  let me = i32(i % hw);
  let ry = span(me / u.w, u.kh, u.sh, u.ph, u.oh);
  let rx = span(me % u.w, u.kw, u.sw, u.pw, u.ow);
  let o0 = pl * u32(u.oh * u.ow);
  var acc = 0.0;
  for (var oy = ry.x; oy <= ry.y; oy++) {
    for (var ox = rx.x; ox <= rx.y; ox++) {
      let o = o0 + u32(oy * u.ow + ox);
      if (idx[u.iBase + o] == me) {
        acc += dy[u.dyBase + o];
      }
    }
  }
  dx[u.dxBase + i] = acc;
}`;

/**
 * Runs `kernel` plane by plane over `[N, C, ...]`: each storage (in binding order, with its
 * elements per plane) bound over the chunk's planes, one invocation per element of the
 * chunk's output planes (`outPlane` elements each).
 */
function planewise(
  rt: WebGpuRuntime,
  kernel: GpuKernel,
  run: { g: PoolGeom; storages: [Storage, number][]; outPlane: number; op: string },
): void {
  const { g, storages } = run;
  const perPlane = Math.max(g.h * g.w, g.oh * g.ow);
  for (const [first, count] of planeChunks(rt, g.n * g.c, perPlane, run.op)) {
    const n = count * run.outPlane;
    dispatchWindows(rt, kernel, {
      windows: storages.map(([s, plane]) => [s, first * plane, count * plane]),
      uniforms: [n, ...geom(g)],
      groups: Math.ceil(n / WG),
    });
  }
}

/** x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its plane. */
function maxPool2d(
  rt: WebGpuRuntime,
  { x, geom: g }: KernelArgs["maxPool2d"],
): KernelResult["maxPool2d"] {
  const hw = g.h * g.w, ohw = g.oh * g.ow, planes = g.n * g.c;
  const y = rt.alloc(planes * ohw, "f32");
  const idx = rt.alloc(planes * ohw, "i32");
  const storages: [Storage, number][] = [[x, hw], [y, ohw], [idx, ohw]];
  const run = { g, storages, outPlane: ohw, op: "maxPool2d" };
  planewise(rt, rt.kernel("max_pool2d", forwardWgsl), run);
  return { y, idx };
}

/** dy `[N, C, OH, OW]` -> dx `[N, C, H, W]`, routing each gradient to its max. */
function maxPool2dGrad(
  rt: WebGpuRuntime,
  { dy, idx, geom: g }: KernelArgs["maxPool2dGrad"],
): Storage {
  const hw = g.h * g.w, ohw = g.oh * g.ow;
  const dx = rt.alloc(g.n * g.c * hw, "f32");
  const storages: [Storage, number][] = [[dy, ohw], [idx, ohw], [dx, hw]];
  const run = { g, storages, outPlane: hw, op: "maxPool2dGrad" };
  planewise(rt, rt.kernel("max_pool2d_grad", backwardWgsl), run);
  return dx;
}

/** The max pool slice of the WebGPU backend. */
export const poolWebGpu: KernelSlice<WebGpuRuntime, "pool"> = { maxPool2d, maxPool2dGrad };
