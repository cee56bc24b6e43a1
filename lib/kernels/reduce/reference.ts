/**
 * Reference reduce kernels: plain loops over typed arrays.
 *
 * @module
 */

/** `[outer, len, inner]` -> `[outer, inner]` index of the first max along len. */
export function argmax(x: Float32Array, outer: number, len: number, inner: number): Int32Array {
  throw new Error("reduce.argmax: not implemented");
}

/** `[outer, len, inner]` -> `[outer, inner]` sums along len. */
export function sum(x: Float32Array, outer: number, len: number, inner: number): Float32Array {
  throw new Error("reduce.sum: not implemented");
}

/** `[outer, inner]` -> `[outer, len, inner]`. */
export function broadcast(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
): Float32Array {
  throw new Error("reduce.broadcast: not implemented");
}
