/**
 * Matrix product through `sgemm` (BLAS backend).
 *
 * @module
 */
import type { Sgemm } from "../../device/blas_ffi.ts";
import type { KernelArgs, KernelSlice } from "../../device/backend.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { type OnHost, onHost } from "../../device/host.ts";

/**
 * `a [M, K] @ b [K, N] -> [M, N]`; a stored `[K, M]` if transA, b `[N, K]` if transB. The
 * result goes into `out` (any contents: it is overwritten) when given, else a new array.
 */
export function matmul(
  sgemm: Sgemm,
  { a, b, m, k, n, transA, transB }: OnHost<KernelArgs["matmul"]>,
  out?: Float32Array,
): Float32Array {
  // BLAS reads past a short array instead of failing: check before the call.
  if (a.length !== m * k || b.length !== k * n) {
    throw new RangeError(
      `matmul: expected a of ${m * k} and b of ${k * n} elements for [${m}, ${k}] @ [${k}, ${n}] ` +
        `but found ${a.length} and ${b.length}`,
    );
  }
  if (out && out.length !== m * n) {
    throw new RangeError(`matmul: expected out of ${m * n} elements but got ${out.length}`);
  }
  const y = out ?? new Float32Array(m * n);
  if (m === 0 || n === 0 || k === 0) return y.fill(0);
  sgemm(transA, transB, m, n, k, 1, a, transA ? m : k, b, transB ? k : n, 0, y, n);
  return y;
}

/** The matrix product slice of the BLAS backend: one `sgemm` into a pooled array. */
export const matmulBlas: KernelSlice<BlasRuntime, "matmul"> = {
  matmul: (rt, a) => rt.track(matmul(rt.sgemm, onHost(a), rt.pool.f32(a.m * a.n))),
};
