/**
 * Loss kernels on WebGPU: per-pixel cross entropy over logits `[N, K, HW]` and its gradient.
 *
 * Both start with the softmax statistics of every pixel, the max `m` and `s = sum(exp(x - m))`
 * over the K classes (plus the target's logit), computed in one pass over the classes when a
 * whole image fits one binding, else in chunks of classes merged online
 * (`s' = s * exp(m - m') + ...`). The loss (`w * (m + log s - x[t])`) or the gradient
 * (`g * w * (exp(x - m) / s - onehot(t))`) follows from them.
 *
 * A pixel whose target is `ignoreIndex` gets loss, weight and gradient 0, and so does one outside
 * `[0, K)` (no read out of bounds), which `checkTargets` (`./webgpu_nll.ts`) reports.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import { i32, linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { chunks, fill } from "../elementwise/webgpu.ts";
import { boxes, classWindow, pixelWindow } from "../_boxes.ts";
import { nllWebGpu } from "./webgpu_nll.ts";
import type { KernelSlice } from "../../device/backend.ts";

const WG = 256;

const VALID = "let valid = t != u.ignore && t >= 0 && t < i32(u.k);";

/** WGSL of the class weight `w` of target `t` (1 without weights). */
function weightOf(hasWeight: boolean): string {
  return hasWeight ? "let w = cw[u32(clamp(t, 0, i32(u.k) - 1))];" : "let w = 1.0;";
}

const STATS = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<i32>;
@group(0) @binding(2) var<storage, read_write> sm: array<f32>;
@group(0) @binding(3) var<storage, read_write> ss: array<f32>;
@group(0) @binding(4) var<storage, read_write> sx: array<f32>;
struct U {
  count: u32, pc: u32, hw: u32, k: u32, c0: u32, cc: u32, first: u32,
  xBase: u32, tBase: u32, mBase: u32, sBase: u32, xtBase: u32,
}
@group(0) @binding(5) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let np = i / u.pc;
  let px = np * u.hw + i % u.pc;
  let xb = u.xBase + np * u.k * u.hw + i % u.pc; // class c0 of this pixel
  var cm = x[xb];
  for (var c = 1u; c < u.cc; c++) { cm = max(cm, x[xb + c * u.hw]); }
  var m = cm;
  var s = 0.0;
  var xt = 0.0;
  if (u.first == 0u) {
    let pm = sm[u.mBase + px];
    m = max(pm, cm);
    s = ss[u.sBase + px] * exp(pm - m);
    xt = sx[u.xtBase + px];
  }
  for (var c = 0u; c < u.cc; c++) { s += exp(x[xb + c * u.hw] - m); }
  let tc = tgt[u.tBase + px] - i32(u.c0);
  if (tc >= 0 && tc < i32(u.cc)) { xt = x[xb + u32(tc) * u.hw]; }
  sm[u.mBase + px] = m;
  ss[u.sBase + px] = s;
  sx[u.xtBase + px] = xt;
}`;

function lossSource(hasWeight: boolean): string {
  const cw = hasWeight ? "@group(0) @binding(6) var<storage, read> cw: array<f32>;" : "";
  return `
@group(0) @binding(0) var<storage, read> tgt: array<i32>;
@group(0) @binding(1) var<storage, read> sm: array<f32>;
@group(0) @binding(2) var<storage, read> ss: array<f32>;
@group(0) @binding(3) var<storage, read> sx: array<f32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> wOut: array<f32>;
${cw}
struct U {
  count: u32, k: u32, ignore: i32, tBase: u32, mBase: u32, sBase: u32, xtBase: u32,
  lBase: u32, wBase: u32,
}
@group(0) @binding(${hasWeight ? 7 : 6}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let t = tgt[u.tBase + i];
  ${VALID}
  ${weightOf(hasWeight)}
  let l = w * (sm[u.mBase + i] + log(ss[u.sBase + i]) - sx[u.xtBase + i]);
  loss[u.lBase + i] = select(0.0, l, valid);
  wOut[u.wBase + i] = select(0.0, w, valid);
}`;
}

function gradSource(hasWeight: boolean, scalarG: boolean): string {
  const cw = hasWeight ? "@group(0) @binding(6) var<storage, read> cw: array<f32>;" : "";
  return `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<i32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> sm: array<f32>;
@group(0) @binding(4) var<storage, read> ss: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
${cw}
struct U {
  count: u32, pc: u32, cc: u32, hw: u32, k: u32, c0: u32, ignore: i32,
  xBase: u32, tBase: u32, gBase: u32, mBase: u32, sBase: u32, dxBase: u32,
}
@group(0) @binding(${hasWeight ? 7 : 6}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let pp = i % u.pc;
  let q = i / u.pc;
  let c = q % u.cc;
  let np = q / u.cc;
  let px = np * u.hw + pp;
  let t = tgt[u.tBase + px];
  ${VALID}
  ${weightOf(hasWeight)}
  let gv = g[u.gBase${scalarG ? "" : " + px"}];
  let e = (np * u.k + c) * u.hw + pp;
  let soft = exp(x[u.xBase + e] - sm[u.mBase + px]) / ss[u.sBase + px];
  let onehot = select(0.0, 1.0, i32(u.c0 + c) == t);
  dx[u.dxBase + e] = select(0.0, gv * w * (soft - onehot), valid);
}`;
}

/** Softmax statistics `[N, HW]` each: max, sum of exponentials, and the target's logit. */
function softmaxStats(
  rt: WebGpuRuntime,
  logits: Storage,
  target: Storage,
  n: number,
  k: number,
  hw: number,
): { m: Storage; s: Storage; xt: Storage } {
  const m = rt.alloc(n * hw, "f32"), s = rt.alloc(n * hw, "f32"), xt = rt.alloc(n * hw, "f32");
  const kernel = rt.kernel("cross_entropy_stats", STATS);
  for (const b of boxes(rt.maxBindingElements, n, k, hw)) {
    const bx = rt.bind(logits, ...classWindow(b, k, hw));
    const [ps, pl] = pixelWindow(b, hw);
    const bs = [target, m, s, xt].map((x) => rt.bind(x, ps, pl));
    const count = b.nc * b.pc;
    const uni = [
      count,
      b.pc,
      hw,
      k,
      b.c0,
      b.cc,
      b.c0 === 0 ? 1 : 0,
      bx.base,
      ...bs.map((x) => x.base),
    ];
    rt.dispatch(kernel, [bx, ...bs], uni, Math.ceil(count / WG));
  }
  return { m, s, xt };
}

/** Per-pixel `-w[t] * log_softmax(x)[t]` and `w[t]`, 0 where ignored; logits `[N, K, HW]`. */
export function crossEntropy(
  rt: WebGpuRuntime,
  logits: Storage,
  target: Storage,
  weight: Storage | null,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): { loss: Storage; weight: Storage } {
  if (n * hw === 0 || k === 0) {
    return { loss: fill(rt, n * hw, "f32", 0), weight: fill(rt, n * hw, "f32", 0) };
  }
  const st = softmaxStats(rt, logits, target, n, k, hw);
  const loss = rt.alloc(n * hw, "f32"), wOut = rt.alloc(n * hw, "f32");
  const kernel = rt.kernel(
    weight ? "cross_entropy_weighted" : "cross_entropy",
    lossSource(weight !== null),
  );
  for (const [start, count] of chunks(rt, n * hw)) {
    const bs = [target, st.m, st.s, st.xt, loss, wOut].map((x) => rt.bind(x, start, count));
    const all = weight ? [...bs, rt.bind(weight)] : bs;
    const uni = [count, k, i32(ignoreIndex), ...bs.map((x) => x.base)];
    rt.dispatch(kernel, all, uni, Math.ceil(count / WG));
  }
  for (const x of [st.m, st.s, st.xt]) rt.free(x);
  return { loss, weight: wOut };
}

/** `g * w[t] * (softmax(x) - onehot(t))`, g `[N, HW]` or one element. */
export function crossEntropyGrad(
  rt: WebGpuRuntime,
  logits: Storage,
  target: Storage,
  weight: Storage | null,
  g: Storage,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): Storage {
  if (g.length !== 1 && g.length !== n * hw) {
    throw new RangeError(
      `crossEntropyGrad: expected g of 1 or ${n * hw} elements but got ${g.length}`,
    );
  }
  if (n * hw === 0 || k === 0) return rt.alloc(n * k * hw, "f32");
  const scalarG = g.length === 1 && n * hw !== 1;
  const st = softmaxStats(rt, logits, target, n, k, hw);
  const dx = rt.alloc(n * k * hw, "f32");
  const kernel = rt.kernel(
    `cross_entropy_grad${weight ? "_weighted" : ""}${scalarG ? "_scalar" : ""}`,
    gradSource(weight !== null, scalarG),
  );
  for (const b of boxes(rt.maxBindingElements, n, k, hw)) {
    const [xs, xl] = classWindow(b, k, hw);
    const [ps, pl] = pixelWindow(b, hw);
    const bx = rt.bind(logits, xs, xl), bdx = rt.bind(dx, xs, xl);
    const bt = rt.bind(target, ps, pl), bm = rt.bind(st.m, ps, pl), bs = rt.bind(st.s, ps, pl);
    const bg = scalarG ? rt.bind(g, 0, 1) : rt.bind(g, ps, pl);
    const binds = [bx, bt, bg, bm, bs, bdx];
    const count = b.nc * b.cc * b.pc;
    const uni = [count, b.pc, b.cc, hw, k, b.c0, i32(ignoreIndex), ...binds.map((x) => x.base)];
    rt.dispatch(kernel, weight ? [...binds, rt.bind(weight)] : binds, uni, Math.ceil(count / WG));
  }
  for (const x of [st.m, st.s, st.xt]) rt.free(x);
  return dx;
}

/** The loss slice of the WebGPU backend: cross entropy here, the rest in `./webgpu_nll.ts`. */
export const lossWebGpu: KernelSlice<WebGpuRuntime, "loss"> = {
  ...nllWebGpu,
  crossEntropy: (rt, { logits, target, weight, n, k, hw, ignoreIndex }) =>
    crossEntropy(rt, logits, target, weight, n, k, hw, ignoreIndex),
  crossEntropyGrad: (rt, { logits, target, weight, g, n, k, hw, ignoreIndex }) =>
    crossEntropyGrad(rt, logits, target, weight, g, n, k, hw, ignoreIndex),
};
