/**
 * Boxes of `[N, K, HW]` (more generally `[outer, len, inner]`, a reduction along K) whose window
 * of the tensor fits one WebGPU binding: how the per-pixel class kernels (cross entropy, the
 * negative log-likelihood, softmax) stay correct under any binding limit.
 *
 * @module
 */

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
