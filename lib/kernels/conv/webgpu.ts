/**
 * Convolution kernels on WebGPU: forward, backward-data and backward-weight, and the
 * per-channel sum of the bias gradient.
 *
 * Layers with a handful of output pixels (fc6/fc7 on small inputs) take the few-pixel path
 * (`gemv.ts`), parallel over the weights. Stride-1 layers with 1x1 and 3x3 kernels (all of
 * VGG16 and FCN's score layers) take the direct path (`direct.ts`, `direct_weight.ts`):
 * register tiles that share input rows between taps, weights (or dy) read from uniform windows
 * of a packed copy. Everything else (strided upsamplers, dilations, larger kernels) takes the
 * general implicit-GEMM kernels (`generic.ts`). The tiles of both are chosen per adapter and shape class by the autotuner
 * (`../autotune.ts`, families in `tuning.ts`).
 *
 * @module
 */
import type { ConvGeom, Planes, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";
import { choose } from "../autotune.ts";
import { directConv, directFits, forwardProblem, gradInputProblem } from "./webgpu/direct.ts";
import { directWeightFits } from "./webgpu/direct_weight.ts";
import { gemvApplies, gemvConv2d, gemvGradInput, gemvGradWeight } from "./webgpu/gemv.ts";
import * as generic from "./webgpu/generic.ts";
import {
  directClass,
  directFamily,
  genericFamily,
  geomClass,
  gradWeightWith,
  weightFamily,
} from "./webgpu/tuning.ts";
import type { KernelSlice } from "../../device/backend.ts";
import { expectLength } from "../_check.ts";

/** Throws unless storage `s` holds `want` elements. */

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(
  rt: WebGpuRuntime,
  x: Storage,
  w: Storage,
  b: Storage | null,
  g: ConvGeom,
  relu: boolean,
): Storage {
  const { n, c, k } = g;
  expectLength("conv2d", "input", x, n * c * g.h * g.w, "[N, C, H, W]");
  expectLength("conv2d", "weight", w, k * c * g.kh * g.kw, "[K, C, KH, KW]");
  if (b) expectLength("conv2d", "bias", b, k, "[K]");
  if (gemvApplies(rt, g)) return gemvConv2d(rt, x, w, b, g, relu);
  const d = forwardProblem(g);
  if (d) {
    const dc = { d, transposed: false };
    const fam = directFamily(g.kh, g.kw);
    const t = choose(rt, fam, directClass(dc), dc, (t) => directFits(rt, d, t));
    if (directFits(rt, d, t)) return directConv(rt, x, w, b, d, relu, false, t);
  }
  const t = choose(rt, genericFamily("forward"), geomClass(g), g);
  return generic.genericConv2d(rt, x, w, b, g, relu, t);
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function conv2dGradInput(rt: WebGpuRuntime, dy: Storage, w: Storage, g: ConvGeom): Storage {
  const { n, c, k } = g;
  expectLength("conv2dGradInput", "dy", dy, n * k * g.oh * g.ow, "[N, K, OH, OW]");
  expectLength("conv2dGradInput", "weight", w, k * c * g.kh * g.kw, "[K, C, KH, KW]");
  if (gemvApplies(rt, g)) return gemvGradInput(rt, dy, w, g);
  const d = gradInputProblem(g);
  if (d) {
    const dc = { d, transposed: true };
    const fam = directFamily(g.kh, g.kw);
    const t = choose(rt, fam, directClass(dc), dc, (t) => directFits(rt, d, t));
    if (directFits(rt, d, t)) return directConv(rt, dy, w, null, d, false, true, t);
  }
  const t = choose(rt, genericFamily("gradInput"), geomClass(g), g);
  return generic.genericGradInput(rt, dy, w, g, t);
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
export function conv2dGradWeight(rt: WebGpuRuntime, dy: Storage, x: Storage, g: ConvGeom): Storage {
  const { n, c, k } = g;
  expectLength("conv2dGradWeight", "dy", dy, n * k * g.oh * g.ow, "[N, K, OH, OW]");
  expectLength("conv2dGradWeight", "input", x, n * c * g.h * g.w, "[N, C, H, W]");
  if (gemvApplies(rt, g)) return gemvGradWeight(rt, dy, x, g);
  if (forwardProblem(g)) {
    const fits = (cfg: Parameters<typeof gradWeightWith>[4]) =>
      cfg.kind === "generic" || directWeightFits(rt, g, cfg);
    const cfg = choose(rt, weightFamily(g.kh, g.kw), geomClass(g), g, fits);
    if (fits(cfg)) return gradWeightWith(rt, dy, x, g, cfg);
  }
  const t = choose(rt, genericFamily("gradWeight"), geomClass(g), g);
  return generic.genericGradWeight(rt, dy, x, g, t);
}

/** x `[N, C, H, W]` -> `[C]` sums over N, H, W. */
export function channelSum(rt: WebGpuRuntime, x: Storage, p: Planes): Storage {
  expectLength("channelSum", "input", x, p.n * p.c * p.h * p.w, "[N, C, H, W]");
  return generic.channelSum(rt, x, p);
}

/** The convolution slice of the WebGPU backend. */
export const convWebGpu: KernelSlice<WebGpuRuntime, "conv"> = {
  conv2d: (rt, { x, w, b, geom, relu }) => conv2d(rt, x, w, b, geom, relu),
  conv2dGradInput: (rt, { dy, w, geom }) => conv2dGradInput(rt, dy, w, geom),
  conv2dGradWeight: (rt, { dy, x, geom }) => conv2dGradWeight(rt, dy, x, geom),
  channelSum: (rt, { x, planes }) => channelSum(rt, x, planes),
};
