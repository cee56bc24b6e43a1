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
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";
import { choose } from "../autotune.ts";
import {
  directConv,
  directFits,
  type DirectProblem,
  forwardProblem,
  gradInputProblem,
} from "./webgpu/direct.ts";
import type { DirectTile } from "./webgpu/direct_shaders.ts";
import { directWeightFits } from "./webgpu/direct_weight.ts";
import { gemvApplies, gemvConv2d, gemvGradInput, gemvGradWeight } from "./webgpu/gemv.ts";
import {
  channelSum as genericChannelSum,
  genericConv2d,
  genericGradInput,
  genericGradWeight,
} from "./webgpu/generic.ts";
import {
  directClass,
  directFamily,
  genericFamily,
  geomClass,
  gradWeightWith,
  type WeightChoice,
  weightFamily,
} from "./webgpu/tuning.ts";
import { expectLength } from "../_check.ts";
import { expectConvOperands } from "./reference.ts";

/**
 * The direct path's tile for problem `d` (backward-data when `transposed`), the autotuner's
 * choice, when the path applies and the tile fits; else null.
 */
function directTile(
  rt: WebGpuRuntime,
  d: DirectProblem | null,
  transposed: boolean,
): DirectTile | null {
  if (!d) return null;
  const dc = { d, transposed };
  const t = choose(rt, directFamily(d.kh, d.kw), directClass(dc), dc, (t) => directFits(rt, d, t));
  return directFits(rt, d, t) ? t : null;
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
function conv2d(rt: WebGpuRuntime, a: KernelArgs["conv2d"]): Storage {
  const { x, w, b, geom: g, relu } = a;
  expectConvOperands("conv2d", a);
  if (gemvApplies(rt, g)) return gemvConv2d(rt, a);
  const d = forwardProblem(g), t = directTile(rt, d, false);
  if (d && t) return directConv(rt, { x, w, b, d, relu, transposed: false }, t);
  return genericConv2d(rt, a, choose(rt, genericFamily("forward"), geomClass(g), g));
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
function conv2dGradInput(rt: WebGpuRuntime, a: KernelArgs["conv2dGradInput"]): Storage {
  const { dy, w, geom: g } = a;
  expectConvOperands("conv2dGradInput", a);
  if (gemvApplies(rt, g)) return gemvGradInput(rt, a);
  const d = gradInputProblem(g), t = directTile(rt, d, true);
  if (d && t) return directConv(rt, { x: dy, w, b: null, d, relu: false, transposed: true }, t);
  return genericGradInput(rt, a, choose(rt, genericFamily("gradInput"), geomClass(g), g));
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
function conv2dGradWeight(rt: WebGpuRuntime, a: KernelArgs["conv2dGradWeight"]): Storage {
  const g = a.geom;
  expectConvOperands("conv2dGradWeight", a);
  if (gemvApplies(rt, g)) return gemvGradWeight(rt, a);
  if (forwardProblem(g)) {
    const fits = (cfg: WeightChoice) => cfg.kind === "generic" || directWeightFits(rt, g, cfg);
    const cfg = choose(rt, weightFamily(g.kh, g.kw), geomClass(g), g, fits);
    if (fits(cfg)) return gradWeightWith(rt, a, cfg);
  }
  return genericGradWeight(rt, a, choose(rt, genericFamily("gradWeight"), geomClass(g), g));
}

/** x `[N, C, H, W]` -> `[C]` sums over N, H, W. */
function channelSum(rt: WebGpuRuntime, a: KernelArgs["channelSum"]): Storage {
  const p = a.planes;
  expectLength("channelSum", "input", a.x, p.n * p.c * p.h * p.w, "[N, C, H, W]");
  return genericChannelSum(rt, a);
}

/** The convolution slice of the WebGPU backend. */
export const convWebGpu: KernelSlice<WebGpuRuntime, "conv"> = {
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  channelSum,
};
