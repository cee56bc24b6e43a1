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
 * `[0, K)` (no read out of bounds), which `checkTargets` (`./webgpu_targets.ts`) reports.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import { i32, type WebGpuRuntime } from "../../device/webgpu.ts";
import { chunks, zeros } from "../elementwise/webgpu.ts";
import { BOX_FIELDS, BOX_WG, type BoxRun, overBoxes } from "../_boxes.ts";
import { bindings, perElement } from "../_wgsl.ts";
import { expectG } from "./reference.ts";
import { nllWebGpu } from "./webgpu_nll.ts";
import { gradElement, gradKernel, targetOf, weightOf } from "./webgpu_targets.ts";

const STATS = `
${
  bindings(
    ["x", "tgt: i32", "mut sm", "mut ss", "mut sx"],
    `${BOX_FIELDS}, xBase: u32, tBase: u32, mBase: u32, sBase: u32, xtBase: u32`,
  )
}
${perElement(BOX_WG)}
  let np = i / u.pc;
  let px = np * u.hw + i % u.pc;
  let xb = u.xBase + np * u.k * u.hw + i % u.pc; // class c0 of this pixel
  var cm = x[xb];
  for (var c = 1u; c < u.cc; c++) { cm = max(cm, x[xb + c * u.hw]); }
  var m = cm;
  var s = 0.0;
  var xt = 0.0;
  if (u.c0 != 0u) {
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
  return `
${
    bindings(
      ["tgt: i32", "sm", "ss", "sx", "mut loss", "mut wOut", hasWeight && "cw"],
      "count: u32, k: u32, ignore: i32, tBase: u32, mBase: u32, sBase: u32, xtBase: u32, " +
        "lBase: u32, wBase: u32",
    )
  }
${perElement(BOX_WG)}
  ${targetOf("i")}
  ${weightOf(hasWeight)}
  let l = w * (sm[u.mBase + i] + log(ss[u.sBase + i]) - sx[u.xtBase + i]);
  loss[u.lBase + i] = select(0.0, l, valid);
  wOut[u.wBase + i] = select(0.0, w, valid);
}`;
}

function gradSource(hasWeight: boolean, scalarG: boolean): string {
  return `
${
    bindings(
      ["x", "tgt: i32", "g", "sm", "ss", "mut dx", hasWeight && "cw"],
      `${BOX_FIELDS}, ignore: i32, xBase: u32, tBase: u32, gBase: u32, mBase: u32, sBase: u32, dxBase: u32`,
    )
  }
${perElement(BOX_WG)}
  ${gradElement(hasWeight, scalarG)}
  let e = (np * u.k + c) * u.hw + pp;
  let soft = exp(x[u.xBase + e] - sm[u.mBase + px]) / ss[u.sBase + px];
  let onehot = select(0.0, 1.0, i32(u.c0 + c) == t);
  dx[u.dxBase + e] = select(0.0, gv * w * (soft - onehot), valid);
}`;
}

/** Softmax statistics `[N, HW]` each: max, sum of exponentials, and the target's logit. */
function softmaxStats(
  rt: WebGpuRuntime,
  a: KernelArgs["crossEntropy"],
): { m: Storage; s: Storage; xt: Storage } {
  const size = a.n * a.hw;
  const m = rt.alloc(size, "f32"), s = rt.alloc(size, "f32"), xt = rt.alloc(size, "f32");
  const binds: BoxRun["binds"] = [
    [a.logits, "classes"],
    [a.target, "pixels"],
    [m, "pixels"],
    [s, "pixels"],
    [xt, "pixels"],
  ];
  overBoxes(rt, rt.kernel("cross_entropy_stats", STATS), { ...a, binds, perElement: false });
  return { m, s, xt };
}

/** Per-pixel `-w[t] * log_softmax(x)[t]` and `w[t]`, 0 where ignored; logits `[N, K, HW]`. */
function crossEntropy(
  rt: WebGpuRuntime,
  a: KernelArgs["crossEntropy"],
): { loss: Storage; weight: Storage } {
  const { target, weight, n, k, hw } = a;
  if (n * hw === 0 || k === 0) {
    return { loss: zeros(rt, n * hw), weight: zeros(rt, n * hw) };
  }
  const st = softmaxStats(rt, a);
  const loss = rt.alloc(n * hw, "f32"), wOut = rt.alloc(n * hw, "f32");
  const kernel = rt.kernel(
    weight ? "cross_entropy_weighted" : "cross_entropy",
    lossSource(weight !== null),
  );
  for (const [start, count] of chunks(rt, n * hw)) {
    const bs = [target, st.m, st.s, st.xt, loss, wOut].map((x) => rt.bind(x, start, count));
    const all = weight ? [...bs, rt.bind(weight)] : bs;
    const uni = [count, k, i32(a.ignoreIndex), ...bs.map((x) => x.base)];
    rt.dispatch(kernel, all, uni, Math.ceil(count / BOX_WG));
  }
  for (const x of [st.m, st.s, st.xt]) rt.free(x);
  return { loss, weight: wOut };
}

/** `g * w[t] * (softmax(x) - onehot(t))`, g `[N, HW]` or one element. */
function crossEntropyGrad(rt: WebGpuRuntime, a: KernelArgs["crossEntropyGrad"]): Storage {
  const { logits, target, weight, g, n, k, hw } = a;
  expectG("crossEntropyGrad", g, n * hw);
  if (n * hw === 0 || k === 0) return rt.alloc(n * k * hw, "f32");
  const { kernel, scalarG } = gradKernel(rt, a, { name: "cross_entropy_grad", source: gradSource });
  const st = softmaxStats(rt, a);
  const dx = rt.alloc(n * k * hw, "f32");
  const binds: BoxRun["binds"] = [
    [logits, "classes"],
    [target, "pixels"],
    [g, scalarG ? "one" : "pixels"],
    [st.m, "pixels"],
    [st.s, "pixels"],
    [dx, "classes"],
    [weight, "all"],
  ];
  overBoxes(rt, kernel, { ...a, binds, perElement: true, extra: [i32(a.ignoreIndex)] });
  for (const x of [st.m, st.s, st.xt]) rt.free(x);
  return dx;
}

/** The loss slice of the WebGPU backend: cross entropy here, the rest in `./webgpu_nll.ts`. */
export const lossWebGpu: KernelSlice<WebGpuRuntime, "loss"> = {
  ...nllWebGpu,
  crossEntropy,
  crossEntropyGrad,
};
