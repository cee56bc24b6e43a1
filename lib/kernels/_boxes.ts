/**
 * Boxes of `[N, K, HW]` (more generally `[outer, len, inner]`, a reduction along K) whose window
 * of the tensor fits one WebGPU binding: how the per-pixel class kernels (cross entropy, the
 * negative log-likelihood, softmax) stay correct under any binding limit.
 *
 * {@linkcode overBoxes} runs a kernel over every box, binding each storage's window; its
 * kernels open with {@linkcode BOX_FIELDS} and, per element, {@linkcode BOX_ELEMENT}.
 *
 * @module
 */
import type { Storage } from "../device/backend.ts";
import type { GpuKernel, UniformValue, WebGpuRuntime } from "../device/webgpu.ts";

/**
 * A part of `[N, K, HW]` whose window fits one binding: images `[n0, n0 + nc)`, classes
 * `[c0, c0 + cc)`, pixels `[p0, p0 + pc)` (several images only with all classes and pixels).
 */
export interface Box {
  /** First image. */
  n0: number;
  /** Images. */
  nc: number;
  /** First class. */
  c0: number;
  /** Classes. */
  cc: number;
  /** First pixel. */
  p0: number;
  /** Pixels. */
  pc: number;
}

/**
 * Cuts `[N, K, HW]` into boxes whose windows fit `max` elements, classes ascending per pixel
 * (a pixel's boxes come in class order, so a kernel can merge them online).
 *
 * @example Whole images when they fit, else chunks of pixels and classes
 * ```ts
 * import { boxes } from "./_boxes.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * assertEquals(boxes(100, 3, 2, 10).length, 1); // all 60 elements in one window
 * assertEquals(boxes(12, 1, 3, 10).map((b) => [b.c0, b.cc]), [[0, 1], [1, 1], [2, 1]]);
 * ```
 */
export function boxes(max: number, n: number, k: number, hw: number): Box[] {
  const out: Box[] = [];
  if (k * hw <= max) {
    const per = Math.floor(max / (k * hw));
    for (let n0 = 0; n0 < n; n0 += per) {
      out.push({ n0, nc: Math.min(per, n - n0), c0: 0, cc: k, p0: 0, pc: hw });
    }
    return out;
  }
  const pc = Math.min(hw, max);
  const cc = Math.min(k, Math.floor((max - pc) / hw) + 1);
  for (let n0 = 0; n0 < n; n0++) {
    for (let p0 = 0; p0 < hw; p0 += pc) {
      for (let c0 = 0; c0 < k; c0 += cc) {
        out.push({ n0, nc: 1, c0, cc: Math.min(cc, k - c0), p0, pc: Math.min(pc, hw - p0) });
      }
    }
  }
  return out;
}

/** Start and length of a box's window of `[N, K, HW]`. */
export function classWindow(b: Box, k: number, hw: number): [number, number] {
  return [(b.n0 * k + b.c0) * hw + b.p0, ((b.nc - 1) * k + b.cc - 1) * hw + b.pc];
}

/** Start and length of a box's window of a per-pixel storage `[N, HW]`. */
export function pixelWindow(b: Box, hw: number): [number, number] {
  return [b.n0 * hw + b.p0, (b.nc - 1) * hw + b.pc];
}

/** Invocations per workgroup of the box kernels. */
export const BOX_WG = 256;

/**
 * Uniform fields every box kernel starts with, as {@linkcode overBoxes} writes them: the
 * invocations, the box's pixels and classes, the tensor's `HW` and `K`, and the box's first
 * class (`c0 == 0`: the first box of its pixels).
 */
export const BOX_FIELDS = "count: u32, pc: u32, cc: u32, hw: u32, k: u32, c0: u32";

/** WGSL: element `i` of a box as its pixel `pp`, class `c` (from `c0`) and image `np` in the box. */
export const BOX_ELEMENT = `let pp = i % u.pc;
  let q = i / u.pc;
  let c = q % u.cc;
  let np = q / u.cc;`;

/**
 * How a box binds a storage: its window of `[N, K, HW]` ("classes"), of a per-pixel `[N, HW]`
 * ("pixels"), its first element ("one", a scalar) or all of it ("all", not windowed).
 */
export type BoxWindow = "classes" | "pixels" | "one" | "all";

/** One kernel run over the boxes of `[N, K, HW]`. */
export interface BoxRun {
  /** Images N (or the size before the reduced axis). */
  n: number;
  /** Classes K (the reduced axis). */
  k: number;
  /** Pixels HW (or the size after the reduced axis). */
  hw: number;
  /** The storages in the kernel's binding order, each with its window; null binds nothing. */
  binds: readonly (readonly [Storage | null, BoxWindow])[];
  /** One invocation per element of a box; else one per pixel. */
  perElement: boolean;
  /** Uniforms after {@linkcode BOX_FIELDS}, before the bases. */
  extra?: UniformValue[];
}

/**
 * Dispatches `kernel` once per box of `run`, binding each storage's window. Its uniforms are
 * {@linkcode BOX_FIELDS}, then `run.extra`, then the base of every storage not bound "all".
 */
export function overBoxes(rt: WebGpuRuntime, kernel: GpuKernel, run: BoxRun): void {
  const { n, k, hw } = run;
  const present = run.binds.filter((e): e is [Storage, BoxWindow] => e[0] !== null);
  for (const b of boxes(rt.maxBindingElements, n, k, hw)) {
    const window = (s: Storage, win: BoxWindow): [number, number] =>
      win === "classes"
        ? classWindow(b, k, hw)
        : win === "pixels"
        ? pixelWindow(b, hw)
        : [0, win === "one" ? 1 : s.length];
    const bound = present.map(([s, win]) => rt.bind(s, ...window(s, win)));
    const bases = bound.filter((_, i) => present[i][1] !== "all").map((x) => x.base);
    const count = b.nc * b.pc * (run.perElement ? b.cc : 1);
    const uni = [count, b.pc, b.cc, hw, k, b.c0, ...(run.extra ?? []), ...bases];
    rt.dispatch(kernel, bound, uni, Math.ceil(count / BOX_WG));
  }
}
