/**
 * Batch norm kernels on WebGPU. Per-channel reductions run in two stages: one workgroup per
 * plane `(n, c)` reduces it in workgroup memory (a tree of partial sums), then one invocation per
 * channel adds its N plane sums. Statistics take two passes (mean, then centred squares) for
 * accuracy. Plane reductions are split over planes and element-wise passes over flat ranges, so
 * storages larger than one binding work.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, Planes, Storage } from "../../device/backend.ts";
import {
  f32,
  type GpuKernel,
  linearId,
  MAIN_ARGS,
  type UniformValue,
  type WebGpuRuntime,
} from "../../device/webgpu.ts";
import { chunks } from "../elementwise/webgpu.ts";
import { planeChunks } from "../pool/plane_chunks.ts";
import { bindings, perElement } from "../_wgsl.ts";

const WG = 256;

/** What one plane reduction sums: `v` is x, `g` is dy, `m` the channel's mean. */
const PLANE_TERMS = {
  sum: { dy: false, mean: false, terms: ["v"] },
  centredSquares: { dy: false, mean: true, terms: ["(v - m) * (v - m)"] },
  grad: { dy: true, mean: true, terms: ["g", "g * (v - m)"] },
} as const;

type PlaneVariant = keyof typeof PLANE_TERMS;

function planeWgsl(variant: PlaneVariant): string {
  const { dy, mean, terms } = PLANE_TERMS[variant];
  const t = terms.map((_, k) => k);
  return `
${
    bindings(
      ["x", dy && "dy", mean && "mean", "mut out"],
      "planes: u32, hw: u32, c: u32, first: u32, nc: u32, xBase: u32, dyBase: u32",
    )
  }
${t.map((k) => `var<workgroup> s${k}: array<f32, ${WG}>;`).join("\n")}
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let pl = wid.x + wid.y * nwg.x;
  if (pl >= u.planes) { return; }
  let c = (u.first + pl) % u.c;
  ${mean ? "let m = mean[c];" : ""}
  ${t.map((k) => `var a${k} = 0.0;`).join(" ")}
  let o = pl * u.hw;
  for (var j = lid.x; j < u.hw; j += ${WG}u) {
    let v = x[u.xBase + o + j];
    ${dy ? "let g = dy[u.dyBase + o + j];" : ""}
    ${terms.map((e, k) => `a${k} += ${e};`).join(" ")}
  }
  ${t.map((k) => `s${k}[lid.x] = a${k};`).join(" ")}
  workgroupBarrier();
  for (var half = ${WG / 2}u; half > 0u; half >>= 1u) {
    if (lid.x < half) {
      ${t.map((k) => `s${k}[lid.x] += s${k}[lid.x + half];`).join(" ")}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    ${t.map((k) => `out[${k}u * u.nc + u.first + pl] = s${k}[0];`).join(" ")}
  }
}`;
}

/** Per-plane sums of a variant's terms -> `[terms, N * C]` (plane `(n, c)` at `n * C + c`). */
function planeSums(
  rt: WebGpuRuntime,
  variant: PlaneVariant,
  x: Storage,
  dy: Storage | null,
  mean: Storage | null,
  p: Planes,
): Storage {
  const hw = p.h * p.w, nc = p.n * p.c;
  const out = rt.alloc(PLANE_TERMS[variant].terms.length * nc, "f32");
  const k = rt.kernel(`batch_norm_planes_${variant}`, planeWgsl(variant));
  for (const [first, count] of planeChunks(rt, nc, hw, "batchNorm")) {
    const bx = rt.bind(x, first * hw, count * hw);
    const bdy = dy ? rt.bind(dy, first * hw, count * hw) : null;
    const bindings = [bx, ...(bdy ? [bdy] : []), ...(mean ? [rt.bind(mean)] : []), rt.bind(out)];
    rt.dispatch(k, bindings, [count, hw, p.c, first, nc, bx.base, bdy?.base ?? 0], count);
  }
  return out;
}

function channelWgsl(invStd: boolean): string {
  return `
${bindings(["part", invStd && "variance", "mut y"], "c: u32, n: u32, off: u32, div: f32, eps: f32")}
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${linearId(64)}
  if (i >= u.c) { return; }
  var s = 0.0;
  for (var n = 0u; n < u.n; n++) {
    s += part[u.off + n * u.c + i];
  }
  y[i] = s / u.div${invStd ? " / sqrt(variance[i] + u.eps)" : ""};
}`;
}

/**
 * Per-channel totals of plane sums `part[off + n * C + c]` over n, divided by `div` (and by
 * `sqrt(variance + eps)` when `variance` is given) -> `[C]`.
 */
function channelTotals(
  rt: WebGpuRuntime,
  part: Storage,
  off: number,
  p: Planes,
  div: number,
  variance: Storage | null = null,
  eps = 0,
): Storage {
  const y = rt.alloc(p.c, "f32");
  const k = rt.kernel(`batch_norm_channels${variance ? "_invstd" : ""}`, channelWgsl(!!variance));
  const bindings = [rt.bind(part), ...(variance ? [rt.bind(variance)] : []), rt.bind(y)];
  rt.dispatch(k, bindings, [p.c, p.n, off, f32(div), f32(eps)], Math.ceil(p.c / 64));
  return y;
}

/** Per-channel mean and biased variance of x `[N, C, H, W]`. */
function batchNormStats(
  rt: WebGpuRuntime,
  { x, planes: p }: KernelArgs["batchNormStats"],
): { mean: Storage; var: Storage } {
  const m = p.n * p.h * p.w;
  const sums = planeSums(rt, "sum", x, null, null, p);
  const mean = channelTotals(rt, sums, 0, p, m);
  rt.free(sums);
  const squares = planeSums(rt, "centredSquares", x, null, mean, p);
  const variance = channelTotals(rt, squares, 0, p, m);
  rt.free(squares);
  return { mean, var: variance };
}

/** Uniform fields of the element-wise passes after the count and the bases. */
const ELEMENT_FIELDS = "start: u32, hw: u32, c: u32";

const normWgsl = `
${
  bindings(
    ["x", "mean", "variance", "gamma", "beta", "mut y"],
    `count: u32, xBase: u32, yBase: u32, ${ELEMENT_FIELDS}, eps: f32`,
  )
}
${perElement(WG)}
  let c = ((u.start + i) / u.hw) % u.c;
  let inv = 1.0 / sqrt(variance[c] + u.eps);
  y[u.yBase + i] = (x[u.xBase + i] - mean[c]) * inv * gamma[c] + beta[c];
}`;

/** dx of batch norm; in training (dgamma, dbeta) carry the batch statistics' gradient. */
const gradWgsl = `
${
  bindings(
    ["dy", "x", "mean", "variance", "gamma", "dgamma", "dbeta", "mut dx"],
    `count: u32, dyBase: u32, xBase: u32, dxBase: u32, ${ELEMENT_FIELDS}, m: f32, eps: f32, ` +
      "training: u32",
  )
}
${perElement(WG)}
  let c = ((u.start + i) / u.hw) % u.c;
  let inv = 1.0 / sqrt(variance[c] + u.eps);
  var g = dy[u.dyBase + i];
  if (u.training != 0u) {
    // dgamma = sum(dy * (x - mean)) * inv, dbeta = sum(dy)
    let k = dgamma[c] * inv / u.m;
    g = g - dbeta[c] / u.m - (x[u.xBase + i] - mean[c]) * k;
  }
  dx[u.dxBase + i] = g * inv * gamma[c];
}`;

/**
 * Runs an element-wise pass over x `[N, C, H, W]` in flat chunks: `flat` storages bound chunk
 * by chunk (their bases follow the count), `channel` storages (`[C]`) whole, in that order
 * except the output, bound last; then the chunk's start, H*W, C and `extra` uniforms.
 */
function elementwise(
  rt: WebGpuRuntime,
  kernel: GpuKernel,
  run: { flat: Storage[]; channel: Storage[]; out: Storage; p: Planes; extra: UniformValue[] },
): void {
  const channel = run.channel.map((s) => rt.bind(s));
  for (const [start, count] of chunks(rt, run.out.length)) {
    const flat = [...run.flat, run.out].map((s) => rt.bind(s, start, count));
    const uni = [count, ...flat.map((b) => b.base), start, run.p.h * run.p.w, run.p.c];
    const binds = [...flat.slice(0, -1), ...channel, flat[flat.length - 1]];
    rt.dispatch(kernel, binds, [...uni, ...run.extra], Math.ceil(count / WG));
  }
}

/** `(x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]`. */
function batchNorm(
  rt: WebGpuRuntime,
  { x, mean, variance, gamma, beta, planes, eps }: KernelArgs["batchNorm"],
): Storage {
  const y = rt.alloc(x.length, "f32");
  elementwise(rt, rt.kernel("batch_norm", normWgsl), {
    flat: [x],
    channel: [mean, variance, gamma, beta],
    out: y,
    p: planes,
    extra: [f32(eps)],
  });
  return y;
}

/** Backward of batchNorm (with the batch statistics' gradient when training). */
function batchNormGrad(
  rt: WebGpuRuntime,
  { dy, x, mean, variance, gamma, planes: p, eps, training }: KernelArgs["batchNormGrad"],
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  const nc = p.n * p.c;
  const sums = planeSums(rt, "grad", x, dy, mean, p);
  const dbeta = channelTotals(rt, sums, 0, p, 1);
  const dgamma = channelTotals(rt, sums, nc, p, 1, variance, eps);
  rt.free(sums);
  const dx = rt.alloc(x.length, "f32");
  elementwise(rt, rt.kernel("batch_norm_grad", gradWgsl), {
    flat: [dy, x],
    channel: [mean, variance, gamma, dgamma, dbeta],
    out: dx,
    p,
    extra: [f32(p.n * p.h * p.w), f32(eps), training ? 1 : 0],
  });
  return { dx, dgamma, dbeta };
}

/** The batch norm slice of the WebGPU backend. */
export const normWebGpu: KernelSlice<WebGpuRuntime, "norm"> = {
  batchNormStats,
  batchNorm,
  batchNormGrad,
};
