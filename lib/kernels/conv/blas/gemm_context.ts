/**
 * What the GEMM convolutions share: the backend's `sgemm`, one reusable scratch buffer, and
 * the planning of bands of output rows that keep the scratch within its budget.
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import type { Sgemm } from "../../../device/blas_ffi.ts";
import type { Scratch } from "../../../device/blas_scratch.ts";

/** What the conv kernels need from the backend. */
export interface GemmContext {
  /** The library's row-major GEMM. */
  sgemm: Sgemm;
  /** The reused buffer for column matrices and wide outputs. */
  scratch: Scratch;
  /**
   * Where outputs come from: an array of `length` elements whose contents may be anything (the
   * backend's pool of freed arrays); the kernels write every element. Default: a new array.
   */
  alloc?: (length: number) => Float32Array;
}

/** An output array of `length` elements from the context (contents undefined). */
export function allocate(ctx: GemmContext, length: number): Float32Array {
  return ctx.alloc ? ctx.alloc(length) : new Float32Array(length);
}

/** Output rows per band so that `fixed + perRow * rows` elements fit the budget (>= 1). */
export function bandRows(g: ConvGeom, budget: number, perRow: number, fixed = 0): number {
  return Math.max(1, Math.min(g.oh, Math.floor((budget - fixed) / Math.max(1, perRow))));
}

/** Sets `rows` rows of `cols` elements (row stride `ld`) from `off` to `b[k]`, or 0. */
export function fillBias(
  y: Float32Array,
  off: number,
  rows: number,
  cols: number,
  ld: number,
  b: Float32Array | null,
): void {
  for (let k = 0; k < rows; k++) y.fill(b ? b[k] : 0, off + k * ld, off + k * ld + cols);
}
