/**
 * The few-pixel convolution path (see `gemv_shaders.ts`): forward, backward-data and
 * backward-weight of layers whose output has at most {@linkcode GEMV_MAX_PIXELS} pixels in all
 * images together, any kernel size, stride, padding and dilation. Weight rows larger than one
 * binding are taken in chunks of output channels; the columns of the few pixels in windows of
 * the reduction.
 *
 * @module
 */
import type { ConvGeom, KernelArgs, Storage } from "../../../device/backend.ts";
import type { WebGpuRuntime } from "../../../device/webgpu.ts";
import { chunkFlags, pack, ranges } from "../../matmul/blocks.ts";
import {
  col2imSource,
  COL_FIELDS,
  colSource,
  DY_FIELDS,
  dyPackSource,
  GEMV_FIELDS,
  gemvSource,
  GEMVT_FIELDS,
  gemvTSource,
  outerSource,
} from "./gemv_shaders.ts";
import { geomUniforms } from "./generic_shaders.ts";
import { uniformScratch, uniformWindow, windowRoom } from "./scratch.ts";

/** Most output pixels (images x OH x OW) the path takes. */
export const GEMV_MAX_PIXELS = 4;
/** Invocations per workgroup. */
const WG = 64;

/** Pixel slots of the pipeline for `np` pixels. */
function slots(np: number): number {
  return np <= 1 ? 1 : np <= 2 ? 2 : 4;
}

/** Whether the few-pixel path applies to `g` on `rt`. */
export function gemvApplies(rt: WebGpuRuntime, g: ConvGeom): boolean {
  const np = g.n * g.oh * g.ow, rr = g.c * g.kh * g.kw;
  const maxE = rt.maxBindingElements;
  return np >= 1 && np <= GEMV_MAX_PIXELS && g.k > 0 && rr > 0 && rr % 4 === 0 &&
    rr <= maxE && g.n * g.c * g.h * g.w <= maxE && np * rr <= maxE &&
    np * g.k <= windowRoom(rt) - 4;
}

/** The column geometry uniforms. */
function colUniforms(g: ConvGeom, rw: number, xBase: number) {
  const [rr, np, p] = [g.c * g.kh * g.kw, g.n * g.oh * g.ow, g.oh * g.ow];
  return pack(COL_FIELDS, { rr, np, rw, p, ...geomUniforms(g), xBase });
}

/** Packs the columns of x into the "col" scratch buffer; returns it and the window length. */
function packColumns(rt: WebGpuRuntime, x: Storage, g: ConvGeom): [GPUBuffer, number] {
  const np = g.n * g.oh * g.ow, rr = g.c * g.kh * g.kw;
  const rw = Math.floor((windowRoom(rt) - 4) / np / 4) * 4; // reduction indices per window
  const buf = uniformScratch(rt, "col", np * rr);
  const bx = rt.bind(x, 0, x.length);
  rt.dispatch(
    rt.kernel("conv_gemv_col", colSource()),
    [bx, { buffer: buf, offset: 0, size: np * rr * 4 }],
    colUniforms(g, rw, bx.base),
    [Math.ceil(rr / 64), np, 1],
  );
  return [buf, rw];
}

/** Packs dy `[N, K, P]` pixel-major into the "dyT" scratch buffer. */
function packDy(rt: WebGpuRuntime, dy: Storage, g: ConvGeom): GPUBuffer {
  const np = g.n * g.oh * g.ow, total = np * g.k;
  const buf = uniformScratch(rt, "dyT", total);
  const bdy = rt.bind(dy, 0, dy.length);
  rt.dispatch(
    rt.kernel("conv_gemv_dy", dyPackSource()),
    [bdy, { buffer: buf, offset: 0, size: total * 4 }],
    pack(DY_FIELDS, { total, k: g.k, p: g.oh * g.ow, dyBase: bdy.base }),
    [Math.ceil(total / 64), 1, 1],
  );
  return buf;
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function gemvConv2d(
  rt: WebGpuRuntime,
  { x, w, b, geom: g, relu }: KernelArgs["conv2d"],
): Storage {
  const np = g.n * g.oh * g.ow, rr = g.c * g.kh * g.kw, p = g.oh * g.ow;
  const [col, rw] = packColumns(rt, x, g);
  const y = rt.alloc(g.n * g.k * p, "f32"); // [N, K, OH, OW]
  const by = rt.bind(y, 0, y.length);
  const bb = b ? rt.bind(b, 0, b.length) : rt.bind(x, 0, x.length); // any read-only buffer
  const kernel = rt.kernel(`conv_gemv_${slots(np)}`, gemvSource(slots(np), WG));
  const windows = ranges(rr, rw);
  for (const [k0, kb] of ranges(g.k, Math.floor(rt.maxBindingElements / rr))) {
    const bw = rt.bind(w, k0 * rr, kb * rr);
    windows.forEach(([r0, n], i) => {
      const win = uniformWindow(rt, col, r0 * np);
      const groups = Math.ceil(kb / WG);
      const u = pack(GEMV_FIELDS, {
        groups,
        kb,
        k0,
        k: g.k,
        rr,
        r0,
        rw: n,
        np,
        p,
        wBase: bw.base / 4,
        cBase: win.base,
        bBase: bb.base,
        yBase: by.base,
        ...chunkFlags(i, windows.length),
        relu: relu ? 1 : 0,
        hasBias: b ? 1 : 0,
      });
      rt.dispatch(kernel, [bw, win.binding, bb, by], u, groups);
    });
  }
  return y;
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function gemvGradInput(
  rt: WebGpuRuntime,
  { dy, w, geom: g }: KernelArgs["conv2dGradInput"],
): Storage {
  const np = g.n * g.oh * g.ow, rr = g.c * g.kh * g.kw;
  const dyu = packDy(rt, dy, g);
  const win = uniformWindow(rt, dyu, 0);
  const dcol = rt.alloc(np * rr, "f32"); // [np, C * KH * KW]
  const bc = rt.bind(dcol, 0, dcol.length);
  const kernel = rt.kernel(`conv_gemv_t_${slots(np)}`, gemvTSource(slots(np), WG));
  const groups = Math.ceil(rr / 4 / WG);
  ranges(g.k, Math.floor(rt.maxBindingElements / rr)).forEach(([k0, kb], i) => {
    const bw = rt.bind(w, k0 * rr, kb * rr);
    const u = pack(GEMVT_FIELDS, {
      groups,
      kb,
      k0,
      k: g.k,
      rr,
      np,
      wBase: bw.base / 4,
      dBase: win.base,
      cBase: 0,
      r0: 0,
      rw: 0,
      oBase: bc.base,
      first: i === 0 ? 1 : 0,
    });
    rt.dispatch(kernel, [bw, win.binding, bc], u, groups);
  });
  const dx = rt.alloc(g.n * g.c * g.h * g.w, "f32"); // [N, C, H, W]
  const bdx = rt.bind(dx, 0, dx.length);
  const total = dx.length;
  rt.dispatch(
    rt.kernel("conv_gemv_col2im", col2imSource()),
    [bc, bdx],
    colUniforms(g, 0, bdx.base),
    Math.ceil(total / 64),
  );
  rt.free(dcol);
  return dx;
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
export function gemvGradWeight(
  rt: WebGpuRuntime,
  { dy, x, geom: g }: KernelArgs["conv2dGradWeight"],
): Storage {
  const np = g.n * g.oh * g.ow, rr = g.c * g.kh * g.kw;
  const [col, rw] = packColumns(rt, x, g);
  const dyu = uniformWindow(rt, packDy(rt, dy, g), 0);
  const dw = rt.alloc(g.k * rr, "f32"); // [K, C, KH, KW]
  const kernel = rt.kernel(`conv_gemv_outer_${slots(np)}`, outerSource(slots(np), WG));
  for (const [k0, kb] of ranges(g.k, Math.floor(rt.maxBindingElements / rr))) {
    const bdw = rt.bind(dw, k0 * rr, kb * rr);
    for (const [r0, n] of ranges(rr, rw)) {
      const win = uniformWindow(rt, col, r0 * np);
      const groups = Math.ceil(n / 4 / WG);
      const u = pack(GEMVT_FIELDS, {
        groups,
        kb,
        k0,
        k: g.k,
        rr,
        np,
        wBase: 0,
        dBase: dyu.base,
        cBase: win.base,
        r0,
        rw: n,
        oBase: bdw.base,
        first: 1,
      });
      rt.dispatch(kernel, [dyu.binding, win.binding, bdw], u, groups);
    }
  }
  return dw;
}
