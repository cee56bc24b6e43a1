/**
 * The BLAS backend's conv passes on oneDNN: the cached {@linkcode DnnlConv2d} of the geometry,
 * reorder buffers lent from the runtime's scratch, outputs from its pool, and the forward
 * weights reordered once per weight array (kept in `ctx.derived` until the array is freed or
 * updated in place, when the runtime drops it).
 *
 * @module
 */
import type { ConvGeom, KernelArgs, Storage } from "../../../device/backend.ts";
import type { Blocked } from "../../../device/blas_runtime.ts";
import type { DnnlLibrary } from "../../../device/dnnl_ffi.ts";
import { f32of, type HostStorage } from "../../../device/host.ts";
import { type DnnlConv2d, dnnlConvOf } from "./dnnl.ts";
import { winogradPays } from "./engine.ts";
import { allocate, type GemmContext } from "./gemm_context.ts";

/** What the oneDNN passes need of the runtime beyond the GEMM context. */
export interface DnnlContext extends GemmContext {
  /** The loaded library (null: these passes are not used). */
  dnnl: DnnlLibrary | null;
  /** Arrays derived from an array, by key (see `BlasRuntime.derived`). */
  derived: WeakMap<Float32Array, Map<unknown, Float32Array>>;
  /** Whether 3x3 convs may run as Winograd ({@linkcode winogradPays}). */
  winograd: boolean;
}

/** What {@linkcode forwardKept} needs beyond the passes on plain arrays: blocked storages. */
export interface KeepContext extends DnnlContext {
  /** Storages held in a oneDNN layout. */
  blocked: WeakMap<Storage, Blocked>;
  /** A storage of `length` elements held in `blocked.layout` (see `BlasRuntime`). */
  trackBlocked(length: number, blocked: Blocked): HostStorage;
  /** Wraps a plain array as a storage. */
  track(data: Float32Array): HostStorage;
}

/**
 * The forward on storages, keeping oneDNN's layouts between convs: an input held in this conv's
 * source layout is read as it is, one in another oneDNN layout is reordered straight into it
 * (not through the plain one), and the output stays in the conv's output layout
 * (a blocked storage, made plain only when something else reads it). Bias and ReLU are fused;
 * a 3x3 conv runs as Winograd where that pays ({@linkcode winogradPays}), in every pass.
 */
export function forwardKept(ctx: KeepContext, a: KernelArgs["conv2d"]): Storage {
  const g = a.geom, w = f32of(a.w), b = a.b ? f32of(a.b) : null;
  const conv = dnnlConvOf(g, { relu: a.relu, bias: b !== null, winograd: wino(ctx, g) });
  const blocked = ctx.blocked.get(a.x);
  const held = blocked && conv.reads(blocked.layout) ? blocked : undefined;
  const x = held ? undefined : f32of(a.x); // a storage in a layout oneDNN did not make: plain
  const layout = conv.outputLayout, length = g.n * g.k * g.oh * g.ow;
  const common = { x, held, weight: w, bias: b, packed: packed(ctx, conv, w) };
  if (!layout) {
    const y = allocate(ctx, length);
    conv.forward({ ...common, out: y, scratch: ctx.scratch });
    return ctx.track(y);
  }
  const buffer = allocate(ctx, layout.floats);
  conv.forward({ ...common, blockedOut: buffer, scratch: ctx.scratch });
  return ctx.trackBlocked(length, { buffer, layout });
}

/** Whether the passes of `g` ask oneDNN for Winograd. */
function wino(ctx: DnnlContext, g: ConvGeom): boolean {
  return ctx.winograd && winogradPays(g);
}

/** `w` in `conv`'s forward layout, reordered on first use and kept while `w` lives. */
function packed(ctx: DnnlContext, conv: DnnlConv2d, w: Float32Array): Float32Array {
  let byConv = ctx.derived.get(w);
  if (!byConv) ctx.derived.set(w, byConv = new Map());
  let p = byConv.get(conv);
  if (!p) {
    const floats = conv.packedFloats;
    p = conv.packWeight(w, floats > 0 && ctx.alloc ? ctx.alloc(floats) : undefined);
    byConv.set(conv, p);
  }
  return p;
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> y `[N, K, OH, OW]`, ReLU fused. */
export function forward(
  ctx: DnnlContext,
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  relu: boolean,
  y: Float32Array,
): void {
  const conv = dnnlConvOf(g, { relu, bias: b !== null, winograd: wino(ctx, g) });
  conv.forward({
    x,
    weight: w,
    bias: b,
    out: y,
    packed: packed(ctx, conv, w),
    scratch: ctx.scratch,
  });
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]` (overwritten). */
export function backwardData(
  ctx: DnnlContext,
  dy: Float32Array,
  w: Float32Array,
  g: ConvGeom,
  dx: Float32Array,
): void {
  dnnlConvOf(g, { bias: false, winograd: wino(ctx, g) }).backwardData({
    dy,
    weight: w,
    out: dx,
    scratch: ctx.scratch,
  });
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]` (overwritten). */
export function backwardWeight(
  ctx: DnnlContext,
  dy: Float32Array,
  x: Float32Array,
  g: ConvGeom,
  dw: Float32Array,
): void {
  dnnlConvOf(g, { bias: false, winograd: wino(ctx, g) }).backwardWeights({
    x,
    dy,
    outWeight: dw,
    scratch: ctx.scratch,
  });
}
