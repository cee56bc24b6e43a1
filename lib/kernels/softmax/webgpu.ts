/**
 * Softmax on WebGPU, along len of `[outer, len, inner]`, in two passes each way.
 *
 * Forward: the statistics of every column (max `m` and `s = sum(exp(x - m))` along len), in one
 * pass when a whole `[len, inner]` block fits one binding, else in chunks of len merged online
 * (`s' = s * exp(m - m') + ...`); then every element, `x - m - log s` or `exp(x - m) / s`.
 * Backward from the output `y`: the column sums `S` of `dy` (log) or `dy * y` (softmax),
 * accumulated chunk by chunk, then `dx = dy - exp(y) * S` or `y * (dy - S)`. Chunks are the
 * boxes of `../_boxes.ts` (outer as N, len as K, inner as HW), so every window fits a binding.
 *
 * @module
 */
import type { KernelSlice, Storage } from "../../device/backend.ts";
import { type GpuKernel, linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { boxes, classWindow, pixelWindow } from "../_boxes.ts";

const WG = 256;

/** Uniform fields every pass starts with: the box and the tensor's geometry. */
const BOX_FIELDS = "count: u32, pc: u32, cc: u32, inner: u32, len: u32, first: u32";

/** Per column of a box: the running max and sum of exponentials, merged with earlier boxes. */
const STATS = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> sm: array<f32>;
@group(0) @binding(2) var<storage, read_write> ss: array<f32>;
struct U { ${BOX_FIELDS}, xBase: u32, mBase: u32, sBase: u32 }
@group(0) @binding(3) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let np = i / u.pc;
  let col = np * u.inner + i % u.pc;
  let xb = u.xBase + np * u.len * u.inner + i % u.pc;
  var m = x[xb];
  for (var c = 1u; c < u.cc; c++) { m = max(m, x[xb + c * u.inner]); }
  var s = 0.0;
  if (u.first == 0u) {
    let pm = sm[u.mBase + col];
    let merged = max(pm, m);
    s = ss[u.sBase + col] * exp(pm - merged);
    m = merged;
  }
  for (var c = 0u; c < u.cc; c++) { s += exp(x[xb + c * u.inner] - m); }
  sm[u.mBase + col] = m;
  ss[u.sBase + col] = s;
}`;

/** Every element of a box from its column's statistics. */
function outSource(log: boolean): string {
  const y = log
    ? "v - sm[u.mBase + col] - log(ss[u.sBase + col])"
    : "exp(v - sm[u.mBase + col]) / ss[u.sBase + col]";
  return `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> sm: array<f32>;
@group(0) @binding(2) var<storage, read> ss: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
struct U { ${BOX_FIELDS}, xBase: u32, mBase: u32, sBase: u32, yBase: u32 }
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let pp = i % u.pc;
  let q = i / u.pc;
  let np = q / u.cc;
  let col = np * u.inner + pp;
  let e = (np * u.len + q % u.cc) * u.inner + pp;
  let v = x[u.xBase + e];
  y[u.yBase + e] = ${y};
}`;
}

/**
 * Per column of a box: the sum of `dy` (log) or `dy * y`, added to earlier boxes'. The log
 * kernel binds no `y` (a binding the shader does not use would not be in its layout).
 */
function sumSource(log: boolean): string {
  const y = log ? "" : "@group(0) @binding(0) var<storage, read> y: array<f32>;";
  const o = log ? 0 : 1;
  return `
${y}
@group(0) @binding(${o}) var<storage, read> dy: array<f32>;
@group(0) @binding(${o + 1}) var<storage, read_write> s: array<f32>;
struct U { ${BOX_FIELDS}, ${log ? "" : "yBase: u32, "}dyBase: u32, sBase: u32 }
@group(0) @binding(${o + 2}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let np = i / u.pc;
  let col = np * u.inner + i % u.pc;
  let b = np * u.len * u.inner + i % u.pc;
  var acc = select(s[u.sBase + col], 0.0, u.first == 1u);
  for (var c = 0u; c < u.cc; c++) {
    let e = b + c * u.inner;
    acc += ${log ? "dy[u.dyBase + e]" : "dy[u.dyBase + e] * y[u.yBase + e]"};
  }
  s[u.sBase + col] = acc;
}`;
}

/** Every element of dx of a box from its column's sum. */
function gradSource(log: boolean): string {
  const dx = log ? "g - exp(v) * sc" : "v * (g - sc)";
  return `
@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
struct U { ${BOX_FIELDS}, yBase: u32, dyBase: u32, sBase: u32, dxBase: u32 }
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let pp = i % u.pc;
  let q = i / u.pc;
  let np = q / u.cc;
  let e = (np * u.len + q % u.cc) * u.inner + pp;
  let v = y[u.yBase + e];
  let g = dy[u.dyBase + e];
  let sc = s[u.sBase + np * u.inner + pp];
  dx[u.dxBase + e] = ${dx};
}`;
}

/** Geometry of `[outer, len, inner]` with one axis being reduced. */
interface Axis {
  outer: number;
  len: number;
  inner: number;
}

/** A storage and how a box binds it: its window of `[outer, len, inner]` or of the columns. */
type Bound = [Storage, "wide" | "col"];

/**
 * Runs `kernel` over every box of `a` with `binds` in the kernel's binding order:
 * `perElement` dispatches one invocation per element of the box, else one per column.
 */
function overBoxes(
  rt: WebGpuRuntime,
  kernel: GpuKernel,
  a: Axis,
  binds: Bound[],
  perElement: boolean,
): void {
  for (const b of boxes(rt.maxBindingElements, a.outer, a.len, a.inner)) {
    const bs = binds.map(([s, kind]) =>
      rt.bind(s, ...(kind === "wide" ? classWindow(b, a.len, a.inner) : pixelWindow(b, a.inner)))
    );
    const count = b.nc * b.pc * (perElement ? b.cc : 1);
    const uni = [count, b.pc, b.cc, a.inner, a.len, b.c0 === 0 ? 1 : 0, ...bs.map((x) => x.base)];
    rt.dispatch(kernel, bs, uni, Math.ceil(count / WG));
  }
}

/** `softmax` (or `log_softmax`) of `[outer, len, inner]` along len. */
export function softmax(rt: WebGpuRuntime, x: Storage, a: Axis, log: boolean): Storage {
  const y = rt.alloc(a.outer * a.len * a.inner, "f32");
  if (y.length === 0) return y;
  const m = rt.alloc(a.outer * a.inner, "f32"), s = rt.alloc(a.outer * a.inner, "f32");
  const stats = rt.kernel("softmax_stats", STATS);
  overBoxes(rt, stats, a, [[x, "wide"], [m, "col"], [s, "col"]], false);
  const out = rt.kernel(log ? "log_softmax" : "softmax", outSource(log));
  overBoxes(rt, out, a, [[x, "wide"], [m, "col"], [s, "col"], [y, "wide"]], true);
  rt.free(m);
  rt.free(s);
  return y;
}

/** Backward of {@linkcode softmax} from its output `y`. */
export function softmaxGrad(
  rt: WebGpuRuntime,
  y: Storage,
  dy: Storage,
  a: Axis,
  log: boolean,
): Storage {
  const dx = rt.alloc(a.outer * a.len * a.inner, "f32");
  if (dx.length === 0) return dx;
  const s = rt.alloc(a.outer * a.inner, "f32");
  const sum = rt.kernel(log ? "log_softmax_grad_sum" : "softmax_grad_sum", sumSource(log));
  const sumOf: Bound[] = log ? [[dy, "wide"]] : [[y, "wide"], [dy, "wide"]];
  overBoxes(rt, sum, a, [...sumOf, [s, "col"]], false);
  const grad = rt.kernel(log ? "log_softmax_grad" : "softmax_grad", gradSource(log));
  overBoxes(rt, grad, a, [[y, "wide"], [dy, "wide"], [s, "col"], [dx, "wide"]], true);
  rt.free(s);
  return dx;
}

/** The softmax slice of the WebGPU backend. */
export const softmaxWebGpu: KernelSlice<WebGpuRuntime, "softmax"> = {
  softmax: (rt, { x, outer, len, inner, log }) => softmax(rt, x, { outer, len, inner }, log),
  softmaxGrad: (rt, { y, dy, outer, len, inner, log }) =>
    softmaxGrad(rt, y, dy, { outer, len, inner }, log),
};
