/**
 * Max pooling on WebGPU. The forward pass runs one invocation per output; the backward pass
 * gathers (no atomics): each input element loops over the windows that can contain it and sums
 * the gradients whose recorded max is itself, in output order like the reference. Work is split
 * over planes so that every binding fits.
 *
 * @module
 */
import type { PoolGeom, Storage } from "../../device/backend.ts";
import { linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { planeChunks } from "./plane_chunks.ts";
import type { KernelSlice } from "../../device/backend.ts";

const WG = 256;

/** Geometry uniforms shared by both kernels (all non-negative, read as i32). */
const GEOM =
  "h: i32, w: i32, oh: i32, ow: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32";

function geom(g: PoolGeom): number[] {
  return [g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.strideH, g.strideW, g.padH, g.padW];
}

const forwardWgsl = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> idx: array<i32>;
struct U { count: u32, xBase: u32, yBase: u32, iBase: u32, ${GEOM} }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
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
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
struct U { count: u32, dyBase: u32, iBase: u32, dxBase: u32, ${GEOM} }
@group(0) @binding(3) var<uniform> u: U;

// Outputs o along an axis whose window [o * s - p, o * s - p + k) contains input index t.
fn span(t: i32, k: i32, s: i32, p: i32, n: i32) -> vec2i {
  let a = t + p - k + 1; // o * s >= a
  let lo = select(0, (a + s - 1) / s, a > 0);
  return vec2i(lo, min((t + p) / s, n - 1));
}

@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
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

/** x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * W + w` index of each max within its plane. */
export function maxPool2d(
  rt: WebGpuRuntime,
  x: Storage,
  g: PoolGeom,
): { y: Storage; idx: Storage } {
  const hw = g.h * g.w, ohw = g.oh * g.ow, planes = g.n * g.c;
  const y = rt.alloc(planes * ohw, "f32");
  const idx = rt.alloc(planes * ohw, "i32");
  const k = rt.kernel("max_pool2d", forwardWgsl);
  for (const [first, count] of planeChunks(rt, planes, Math.max(hw, ohw), "maxPool2d")) {
    const bx = rt.bind(x, first * hw, count * hw);
    const by = rt.bind(y, first * ohw, count * ohw);
    const bi = rt.bind(idx, first * ohw, count * ohw);
    const n = count * ohw;
    rt.dispatch(k, [bx, by, bi], [n, bx.base, by.base, bi.base, ...geom(g)], Math.ceil(n / WG));
  }
  return { y, idx };
}

/** dy `[N, C, OH, OW]` -> dx `[N, C, H, W]`, routing each gradient to its max. */
export function maxPool2dGrad(rt: WebGpuRuntime, dy: Storage, idx: Storage, g: PoolGeom): Storage {
  const hw = g.h * g.w, ohw = g.oh * g.ow, planes = g.n * g.c;
  const dx = rt.alloc(planes * hw, "f32");
  const k = rt.kernel("max_pool2d_grad", backwardWgsl);
  for (const [first, count] of planeChunks(rt, planes, Math.max(hw, ohw), "maxPool2dGrad")) {
    const bdy = rt.bind(dy, first * ohw, count * ohw);
    const bi = rt.bind(idx, first * ohw, count * ohw);
    const bdx = rt.bind(dx, first * hw, count * hw);
    const n = count * hw;
    rt.dispatch(
      k,
      [bdy, bi, bdx],
      [n, bdy.base, bi.base, bdx.base, ...geom(g)],
      Math.ceil(n / WG),
    );
  }
  return dx;
}

/** The max pool slice of the WebGPU backend. */
export const poolWebGpu: KernelSlice<WebGpuRuntime, "pool"> = {
  maxPool2d: (rt, { x, geom }) => maxPool2d(rt, x, geom),
  maxPool2dGrad: (rt, { dy, idx, geom }) => maxPool2dGrad(rt, dy, idx, geom),
};
