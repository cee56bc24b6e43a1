/**
 * Reference matmul kernels: plain loops over typed arrays.
 *
 * @module
 */

/** `a [M, K] @ b [K, N]`; a stored `[K, M]` if transA, b `[N, K]` if transB. */
export function matmul(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Float32Array {
  throw new Error("matmul.matmul: not implemented");
}
