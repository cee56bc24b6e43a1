/**
 * The negative log-likelihood on WebGPU.
 *
 * `nllLoss` gathers `-w[t] * x[t]` of each pixel from log-probabilities `[N, K, HW]`: the
 * outputs start at 0 (ignored pixels keep it) and each box of classes (`../_boxes.ts`, so that
 * every window fits one binding) writes the pixels whose target falls in it. `nllLossGrad`
 * writes every element of dx, `-g * w[t]` at class t and 0 elsewhere, box by box.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import { i32, type WebGpuRuntime } from "../../device/webgpu.ts";
import { zeros } from "../elementwise/webgpu.ts";
import { BOX_FIELDS, BOX_WG, type BoxRun, overBoxes } from "../_boxes.ts";
import { bindings, perElement } from "../_wgsl.ts";
import { expectG } from "./reference.ts";
import { checkTargets, gradElement, gradKernel, targetOf, weightOf } from "./webgpu_targets.ts";

function nllSource(hasWeight: boolean): string {
  return `
${
    bindings(
      ["x", "tgt: i32", "mut loss", "mut wOut", hasWeight && "cw"],
      `${BOX_FIELDS}, ignore: i32, xBase: u32, tBase: u32, lBase: u32, wBase: u32`,
    )
  }
${perElement(BOX_WG)}
  let np = i / u.pc;
  let pp = i % u.pc;
  let px = np * u.hw + pp;
  ${targetOf("px")}
  let tc = t - i32(u.c0);
  if (!valid || tc < 0 || tc >= i32(u.cc)) { return; }
  ${weightOf(hasWeight)}
  loss[u.lBase + px] = -w * x[u.xBase + (np * u.k + u32(tc)) * u.hw + pp];
  wOut[u.wBase + px] = w;
}`;
}

function nllGradSource(hasWeight: boolean, scalarG: boolean): string {
  return `
${
    bindings(
      ["tgt: i32", "g", "mut dx", hasWeight && "cw"],
      `${BOX_FIELDS}, ignore: i32, tBase: u32, gBase: u32, dxBase: u32`,
    )
  }
${perElement(BOX_WG)}
  ${gradElement(hasWeight, scalarG)}
  let hit = valid && i32(u.c0 + c) == t;
  dx[u.dxBase + (np * u.k + c) * u.hw + pp] = select(0.0, -gv * w, hit);
}`;
}

/** Per-pixel `-w[t] * x[t]` and `w[t]` of log-probabilities `[N, K, HW]`, 0 where ignored. */
function nllLoss(rt: WebGpuRuntime, a: KernelArgs["nllLoss"]): { loss: Storage; weight: Storage } {
  const { logProbs, target, weight, n, k, hw } = a;
  const loss = zeros(rt, n * hw), wOut = zeros(rt, n * hw);
  if (n * hw === 0 || k === 0) return { loss, weight: wOut };
  const kernel = rt.kernel(weight ? "nll_loss_weighted" : "nll_loss", nllSource(weight !== null));
  const binds: BoxRun["binds"] = [
    [logProbs, "classes"],
    [target, "pixels"],
    [loss, "pixels"],
    [wOut, "pixels"],
    [weight, "all"],
  ];
  overBoxes(rt, kernel, { ...a, binds, perElement: false, extra: [i32(a.ignoreIndex)] });
  return { loss, weight: wOut };
}

/** dx `[N, K, HW]`: `-g * w[t]` at class t, 0 elsewhere; g `[N, HW]` or one element. */
function nllLossGrad(rt: WebGpuRuntime, a: KernelArgs["nllLossGrad"]): Storage {
  const { target, weight, g, n, k, hw } = a;
  expectG("nllLossGrad", g, n * hw);
  if (n * hw === 0 || k === 0) return rt.alloc(n * k * hw, "f32");
  const { kernel, scalarG } = gradKernel(rt, a, { name: "nll_loss_grad", source: nllGradSource });
  const dx = rt.alloc(n * k * hw, "f32");
  const binds: BoxRun["binds"] = [
    [target, "pixels"],
    [g, scalarG ? "one" : "pixels"],
    [dx, "classes"],
    [weight, "all"],
  ];
  overBoxes(rt, kernel, { ...a, binds, perElement: true, extra: [i32(a.ignoreIndex)] });
  return dx;
}

/** The negative log-likelihood kernels and the target check of the WebGPU backend. */
export const nllWebGpu: Pick<
  KernelSlice<WebGpuRuntime, "loss">,
  "nllLoss" | "nllLossGrad" | "checkTargets"
> = { nllLoss, nllLossGrad, checkTargets };
