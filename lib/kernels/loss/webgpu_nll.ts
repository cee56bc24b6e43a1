/**
 * The negative log-likelihood on WebGPU, and the check of class targets.
 *
 * `nllLoss` gathers `-w[t] * x[t]` of each pixel from log-probabilities `[N, K, HW]`: the
 * outputs start at 0 (ignored pixels keep it) and each box of classes (`../_boxes.ts`, so that
 * every window fits one binding) writes the pixels whose target falls in it. `nllLossGrad`
 * writes every element of dx, `-g * w[t]` at class t and 0 elsewhere, box by box.
 *
 * `checkTargets` finds the first target outside `[0, K)` that is not the ignore index with an
 * `atomicMin` over chunks of the target, fetches its value in a second pass, and reads both
 * back at the next submission ({@linkcode WebGpuRuntime.checkLater}): the error is thrown by
 * the next `read()` or `flush()`, as a CUDA device assert surfaces at the next synchronisation.
 *
 * @module
 */
import type { KernelSlice, Storage } from "../../device/backend.ts";
import { i32, linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { chunks, fill } from "../elementwise/webgpu.ts";
import { boxes, classWindow, pixelWindow } from "../_boxes.ts";
import { badTargetError } from "./reference.ts";

const WG = 256;

const VALID = "let valid = t != u.ignore && t >= 0 && t < i32(u.k);";

/** WGSL of the class weight `w` of target `t` (1 without weights). */
function weightOf(hasWeight: boolean): string {
  return hasWeight ? "let w = cw[u32(clamp(t, 0, i32(u.k) - 1))];" : "let w = 1.0;";
}

function classWeights(hasWeight: boolean, binding: number): string {
  return hasWeight ? `@group(0) @binding(${binding}) var<storage, read> cw: array<f32>;` : "";
}

function nllSource(hasWeight: boolean): string {
  return `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<i32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> wOut: array<f32>;
${classWeights(hasWeight, 4)}
struct U {
  count: u32, pc: u32, hw: u32, k: u32, c0: u32, cc: u32, ignore: i32,
  xBase: u32, tBase: u32, lBase: u32, wBase: u32,
}
@group(0) @binding(${hasWeight ? 5 : 4}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let np = i / u.pc;
  let pp = i % u.pc;
  let px = np * u.hw + pp;
  let t = tgt[u.tBase + px];
  ${VALID}
  let tc = t - i32(u.c0);
  if (!valid || tc < 0 || tc >= i32(u.cc)) { return; }
  ${weightOf(hasWeight)}
  loss[u.lBase + px] = -w * x[u.xBase + (np * u.k + u32(tc)) * u.hw + pp];
  wOut[u.wBase + px] = w;
}`;
}

function nllGradSource(hasWeight: boolean, scalarG: boolean): string {
  return `
@group(0) @binding(0) var<storage, read> tgt: array<i32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
${classWeights(hasWeight, 3)}
struct U {
  count: u32, pc: u32, cc: u32, hw: u32, k: u32, c0: u32, ignore: i32,
  tBase: u32, gBase: u32, dxBase: u32,
}
@group(0) @binding(${hasWeight ? 4 : 3}) var<uniform> u: U;
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
  let hit = valid && i32(u.c0 + c) == t;
  dx[u.dxBase + (np * u.k + c) * u.hw + pp] = select(0.0, -gv * w, hit);
}`;
}

/** Per-pixel `-w[t] * x[t]` and `w[t]` of log-probabilities `[N, K, HW]`, 0 where ignored. */
export function nllLoss(
  rt: WebGpuRuntime,
  logProbs: Storage,
  target: Storage,
  weight: Storage | null,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): { loss: Storage; weight: Storage } {
  const loss = fill(rt, n * hw, "f32", 0), wOut = fill(rt, n * hw, "f32", 0);
  if (n * hw === 0 || k === 0) return { loss, weight: wOut };
  const kernel = rt.kernel(weight ? "nll_loss_weighted" : "nll_loss", nllSource(weight !== null));
  for (const b of boxes(rt.maxBindingElements, n, k, hw)) {
    const bx = rt.bind(logProbs, ...classWindow(b, k, hw));
    const [ps, pl] = pixelWindow(b, hw);
    const bs = [target, loss, wOut].map((s) => rt.bind(s, ps, pl));
    const count = b.nc * b.pc;
    const uni = [
      count,
      b.pc,
      hw,
      k,
      b.c0,
      b.cc,
      i32(ignoreIndex),
      bx.base,
      ...bs.map((s) => s.base),
    ];
    const all = weight ? [bx, ...bs, rt.bind(weight)] : [bx, ...bs];
    rt.dispatch(kernel, all, uni, Math.ceil(count / WG));
  }
  return { loss, weight: wOut };
}

/** dx `[N, K, HW]`: `-g * w[t]` at class t, 0 elsewhere; g `[N, HW]` or one element. */
export function nllLossGrad(
  rt: WebGpuRuntime,
  target: Storage,
  weight: Storage | null,
  g: Storage,
  n: number,
  k: number,
  hw: number,
  ignoreIndex: number,
): Storage {
  if (g.length !== 1 && g.length !== n * hw) {
    throw new RangeError(`nllLossGrad: expected g of 1 or ${n * hw} elements but got ${g.length}`);
  }
  if (n * hw === 0 || k === 0) return rt.alloc(n * k * hw, "f32");
  const scalarG = g.length === 1 && n * hw !== 1;
  const dx = rt.alloc(n * k * hw, "f32");
  const kernel = rt.kernel(
    `nll_loss_grad${weight ? "_weighted" : ""}${scalarG ? "_scalar" : ""}`,
    nllGradSource(weight !== null, scalarG),
  );
  for (const b of boxes(rt.maxBindingElements, n, k, hw)) {
    const [ps, pl] = pixelWindow(b, hw);
    const bt = rt.bind(target, ps, pl);
    const bg = scalarG ? rt.bind(g, 0, 1) : rt.bind(g, ps, pl);
    const bdx = rt.bind(dx, ...classWindow(b, k, hw));
    const count = b.nc * b.cc * b.pc;
    const uni = [count, b.pc, b.cc, hw, k, b.c0, i32(ignoreIndex), bt.base, bg.base, bdx.base];
    const binds = [bt, bg, bdx];
    rt.dispatch(kernel, weight ? [...binds, rt.bind(weight)] : binds, uni, Math.ceil(count / WG));
  }
  return dx;
}

/** First pass: `flag[0] = min(flag[0], start + i)` over the bad targets of a chunk. */
const FIND_BAD = `
@group(0) @binding(0) var<storage, read> tgt: array<i32>;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<i32>>;
struct U { count: u32, k: u32, ignore: i32, tBase: u32, start: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let t = tgt[u.tBase + i];
  if (t != u.ignore && (t < 0 || t >= i32(u.k))) { atomicMin(&flag[0], i32(u.start + i)); }
}`;

/** Second pass, one invocation per chunk: the chunk holding element `flag[0]` copies its value. */
const FETCH_BAD = `
@group(0) @binding(0) var<storage, read> tgt: array<i32>;
@group(0) @binding(1) var<storage, read_write> flag: array<atomic<i32>>;
struct U { count: u32, tBase: u32, start: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(1)
fn main() {
  let j = atomicLoad(&flag[0]) - i32(u.start);
  if (j >= 0 && j < i32(u.count)) { atomicStore(&flag[1], tgt[u.tBase + u32(j)]); }
}`;

const NONE = 0x7fffffff;

/** Queues the check of a target `[N, HW]`: thrown by the next read or flush when it fails. */
export function checkTargets(
  rt: WebGpuRuntime,
  target: Storage,
  k: number,
  ignoreIndex: number,
  op: string,
): void {
  if (target.length === 0) return;
  const flag = rt.upload(Int32Array.of(NONE, 0));
  const find = rt.kernel("check_targets", FIND_BAD), fetch = rt.kernel("fetch_bad", FETCH_BAD);
  const parts = chunks(rt, target.length);
  for (const [start, count] of parts) {
    const bt = rt.bind(target, start, count);
    const uni = [count, k, i32(ignoreIndex), bt.base, start];
    rt.dispatch(find, [bt, rt.bind(flag)], uni, Math.ceil(count / WG));
  }
  for (const [start, count] of parts) {
    const bt = rt.bind(target, start, count);
    rt.dispatch(fetch, [bt, rt.bind(flag)], [count, bt.base, start], 1);
  }
  rt.checkLater(
    flag,
    ([index, value]) => index === NONE ? null : badTargetError(op, value, index, k, ignoreIndex),
  );
  rt.free(flag);
}

/** The negative log-likelihood kernels and the target check of the WebGPU backend. */
export const nllWebGpu: Pick<
  KernelSlice<WebGpuRuntime, "loss">,
  "nllLoss" | "nllLossGrad" | "checkTargets"
> = {
  nllLoss: (rt, { logProbs, target, weight, n, k, hw, ignoreIndex }) =>
    nllLoss(rt, logProbs, target, weight, n, k, hw, ignoreIndex),
  nllLossGrad: (rt, { target, weight, g, n, k, hw, ignoreIndex }) =>
    nllLossGrad(rt, target, weight, g, n, k, hw, ignoreIndex),
  checkTargets: (rt, { target, k, ignoreIndex, op }) =>
    checkTargets(rt, target, k, ignoreIndex, op),
};
