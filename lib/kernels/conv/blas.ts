/**
 * Convolution through GEMM (BLAS backend), per image, or per band of output rows where one
 * image's scratch would pass the budget (64 MB by default); one scratch buffer is reused.
 *
 * Pointwise convolutions (1x1, stride 1, no padding) are GEMMs on the tensors themselves
 * (`./gemm_direct.ts`). Stride 1 with 16 input channels or more (every other VGG/FCN layer but
 * fc6-like ones with more filters than output pixels) goes through `./gemm_taps.ts`: one
 * padded copy of the input and a GEMM per kernel tap on shifted views of it; other column
 * stride 1 layers through `./gemm_shifted.ts`: an im2col over kernel rows only and KW GEMMs
 * on shifted views of it. Everything else goes through the full im2col of
 * `./gemm_im2col.ts`.
 * The bias is the GEMM's initial C (beta 1); the ReLU is a branch-free pass over the output.
 * Outputs come from `ctx.alloc` (the backend's pool: any contents) and are fully written.
 *
 * Where the runtime has oneDNN, the passes `./blas/engine.ts` gives it run there instead
 * (`./blas/dnnl_passes.ts`: bias and ReLU fused into the forward primitive).
 *
 * @module
 */
import type { ConvGeom, Planes } from "../../device/backend.ts";
import { reluInPlace } from "../elementwise/blas.ts";
import { allocate, type GemmContext } from "./blas/gemm_context.ts";
import * as dnnl from "./blas/dnnl_passes.ts";
import { convEngine } from "./blas/engine.ts";
import type { ConvEngineChoice, ConvPass } from "../../device/blas_runtime.ts";
import * as direct from "./blas/gemm_direct.ts";
import * as im2col from "./blas/gemm_im2col.ts";
import * as shifted from "./blas/gemm_shifted.ts";
import * as taps from "./blas/gemm_taps.ts";
import type { KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { f32of } from "../../device/host.ts";
import { expectLength } from "../_check.ts";

export type { GemmContext } from "./blas/gemm_context.ts";

/** The GEMM layout of a geometry: pointwise, per tap, shifted or full im2col. */
function layout(g: ConvGeom): typeof direct | typeof taps | typeof shifted | typeof im2col {
  if (direct.applies(g)) return direct;
  if (taps.applies(g)) return taps;
  return shifted.applies(g) ? shifted : im2col;
}

/** The GEMM context, with oneDNN and its choice of passes where the runtime has them. */
export interface ConvContext
  extends GemmContext, Partial<Pick<dnnl.DnnlContext, "dnnl" | "derived">> {
  /** Overrides the per-shape choice of engine. */
  convEngine?: ConvEngineChoice | null;
}

/** Whether oneDNN runs pass `pass` of `g`. */
function onDnnl(ctx: ConvContext, g: ConvGeom, pass: ConvPass): ctx is dnnl.DnnlContext {
  return !!ctx.dnnl && ctx.derived !== undefined &&
    (ctx.convEngine ?? convEngine)(g, pass) === "dnnl";
}

/** The geometry, for error messages. */
const geomText = (g: ConvGeom): string => `for the geometry ${JSON.stringify(g)}`;

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(
  ctx: ConvContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  relu: boolean,
): Float32Array {
  expectLength("conv2d", "input x", x, g.n * g.c * g.h * g.w, geomText(g));
  expectLength("conv2d", "weight w", w, g.k * g.c * g.kh * g.kw, geomText(g));
  if (b) expectLength("conv2d", "bias b", b, g.k, geomText(g));
  const size = g.n * g.k * g.oh * g.ow;
  if (size === 0) return new Float32Array(0);
  const y = allocate(ctx, size);
  if (onDnnl(ctx, g, "forward")) {
    dnnl.forward(ctx, x, w, b, g, relu, y);
    return y;
  }
  layout(g).forward(ctx, x, w, b, g, y);
  if (relu) reluInPlace(y);
  return y;
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function conv2dGradInput(
  ctx: ConvContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
): Float32Array {
  expectLength("conv2dGradInput", "dy", dy, g.n * g.k * g.oh * g.ow, geomText(g));
  expectLength("conv2dGradInput", "weight w", w, g.k * g.c * g.kh * g.kw, geomText(g));
  const size = g.n * g.c * g.h * g.w;
  if (size === 0 || g.oh * g.ow === 0 || g.k === 0) return new Float32Array(size);
  const dx = allocate(ctx, size);
  if (onDnnl(ctx, g, "backwardData")) dnnl.backwardData(ctx, dy, w, g, dx);
  else if (direct.applies(g)) direct.backwardData(ctx, dy, w, g, dx);
  else layout(g).backwardData(ctx, dy, w, g, dx.fill(0));
  return dx;
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`, summed over the batch. */
export function conv2dGradWeight(
  ctx: ConvContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
): Float32Array {
  expectLength("conv2dGradWeight", "dy", dy, g.n * g.k * g.oh * g.ow, geomText(g));
  expectLength("conv2dGradWeight", "input x", x, g.n * g.c * g.h * g.w, geomText(g));
  const size = g.k * g.c * g.kh * g.kw;
  if (size === 0 || g.n * g.oh * g.ow === 0) return new Float32Array(size);
  if (onDnnl(ctx, g, "backwardWeight")) {
    const dw = allocate(ctx, size);
    dnnl.backwardWeight(ctx, dy, x, g, dw);
    return dw;
  }
  const path = layout(g);
  if (path === taps) return taps.backwardWeight(ctx, dy, x, g);
  if (path === shifted) return shifted.backwardWeight(ctx, dy, x, g);
  const dw = allocate(ctx, size);
  (path === direct ? direct : im2col).backwardWeight(ctx, dy, x, g, dw);
  return dw;
}

/** x `[N, C, H, W]` -> `[C]` channel sums in f64 (the bias gradient), the reference's order. */
export function channelSum(x: Float32Array, p: Planes, out?: Float32Array): Float32Array {
  const hw = p.h * p.w;
  if (x.length !== p.n * p.c * hw) {
    throw new RangeError(
      `channelSum: expected x of ${p.n * p.c * hw} elements [N, C, H, W] but got ${x.length}`,
    );
  }
  if (out && out.length !== p.c) {
    throw new RangeError(`channelSum: expected out of ${p.c} elements but got ${out.length}`);
  }
  const y = out ?? new Float32Array(p.c);
  for (let c = 0; c < p.c; c++) {
    let acc = 0;
    for (let n = 0; n < p.n; n++) {
      for (let i = (n * p.c + c) * hw, e = i + hw; i < e; i++) acc += x[i];
    }
    y[c] = acc;
  }
  return y;
}

/**
 * The convolution slice of the BLAS backend: forward and backward-data through GEMMs on
 * im2col-style columns, backward-weight `dy @ col^T` summed over the batch, f64 channel sums;
 * the runtime is the GEMM context (its `sgemm`, scratch and pool).
 */
export const convBlas: KernelSlice<BlasRuntime, "conv"> = {
  conv2d: (rt, { x, w, b, geom, relu }) =>
    rt.track(conv2d(rt, f32of(x), f32of(w), b ? f32of(b) : null, geom, relu)),
  conv2dGradInput: (rt, { dy, w, geom }) =>
    rt.track(conv2dGradInput(rt, f32of(dy), f32of(w), geom)),
  conv2dGradWeight: (rt, { dy, x, geom }) =>
    rt.track(conv2dGradWeight(rt, f32of(dy), f32of(x), geom)),
  channelSum: (rt, { x, planes }) => rt.track(channelSum(f32of(x), planes, rt.pool.f32(planes.c))),
};
