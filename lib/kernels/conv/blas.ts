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
import type { KernelArgs, KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { f32of, type OnHost, onHost } from "../../device/host.ts";
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

/** Whether a conv has no outputs. */
const g0 = (g: ConvGeom): boolean => g.n * g.k * g.oh * g.ow === 0;

/** The geometry, for error messages. */
const geomText = (g: ConvGeom): string => `for the geometry ${JSON.stringify(g)}`;

/**
 * Throws unless each operand given holds the elements `g` says: BLAS would read past a short
 * array instead of failing.
 */
function expectOperands(
  op: string,
  { dy, x, w, b }: Partial<Record<"dy" | "x" | "w" | "b", { readonly length: number } | null>>,
  g: ConvGeom,
): void {
  if (dy) expectLength(op, "dy", dy, g.n * g.k * g.oh * g.ow, geomText(g));
  if (x) expectLength(op, "input x", x, g.n * g.c * g.h * g.w, geomText(g));
  if (w) expectLength(op, "weight w", w, g.k * g.c * g.kh * g.kw, geomText(g));
  if (b) expectLength(op, "bias b", b, g.k, geomText(g));
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function conv2d(ctx: ConvContext, a: OnHost<KernelArgs["conv2d"]>): Float32Array {
  const { x, w, b, geom: g, relu } = a;
  expectOperands("conv2d", { x, w, b }, g);
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
  { dy, w, geom: g }: OnHost<KernelArgs["conv2dGradInput"]>,
): Float32Array {
  expectOperands("conv2dGradInput", { dy, w }, g);
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
  { dy, x, geom: g }: OnHost<KernelArgs["conv2dGradWeight"]>,
): Float32Array {
  expectOperands("conv2dGradWeight", { dy, x }, g);
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
  conv2d: (rt, a) => {
    const held = rt.blocked.has(a.x);
    if (!rt.dnnl || (rt.convEngine ?? convEngine)(a.geom, "forward", held) !== "dnnl") {
      return rt.track(conv2d(rt, onHost(a)));
    }
    expectOperands("conv2d", a, a.geom); // storages: their lengths, before oneDNN reads them
    return g0(a.geom) ? rt.track(new Float32Array(0)) : dnnl.forwardKept(rt, a);
  },
  conv2dGradInput: (rt, a) => rt.track(conv2dGradInput(rt, onHost(a))),
  conv2dGradWeight: (rt, a) => rt.track(conv2dGradWeight(rt, onHost(a))),
  channelSum: (rt, { x, planes }) => rt.track(channelSum(f32of(x), planes, rt.pool.f32(planes.c))),
};
