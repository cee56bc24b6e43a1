/**
 * Reference matmul kernel: plain loops over typed arrays, the oracle of the other backends.
 *
 * @module
 */
import type { KernelArgs } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";

/**
 * `a [M, K] @ b [K, N] -> [M, N]`, with `a` stored `[K, M]` when `transA` and `b` stored
 * `[N, K]` when `transB` (the product then uses their transposes).
 *
 * @example
 * ```ts
 * import { matmul } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
 * const b = new Float32Array([1, 0, 0, 1, 1, 1]); // [3, 2]
 * const size = { m: 2, k: 3, n: 2, transB: false };
 * assertEquals(matmul({ a, b, ...size, transA: false }), new Float32Array([4, 5, 10, 11]));
 * // The same product from a stored [3, 2] (transA).
 * const at = new Float32Array([1, 4, 2, 5, 3, 6]);
 * assertEquals(matmul({ a: at, b, ...size, transA: true }), new Float32Array([4, 5, 10, 11]));
 * ```
 */
export function matmul(
  { a, b, m, k, n, transA, transB }: OnHost<KernelArgs["matmul"]>,
): Float32Array {
  if (a.length !== m * k) {
    throw new RangeError(
      `matmul: expected a of ${m * k} elements ${transA ? `[${k}, ${m}]` : `[${m}, ${k}]`} ` +
        `but got ${a.length}`,
    );
  }
  if (b.length !== k * n) {
    throw new RangeError(
      `matmul: expected b of ${k * n} elements ${transB ? `[${n}, ${k}]` : `[${k}, ${n}]`} ` +
        `but got ${b.length}`,
    );
  }
  // a[i, p] = a[i * sAm + p * sAk]; b[p, j] = b[p * sBk + j * sBn]
  const [sAm, sAk] = transA ? [1, m] : [k, 1];
  const [sBk, sBn] = transB ? [1, k] : [n, 1];
  const y = new Float32Array(m * n); // [M, N]
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = a[i * sAm + p * sAk];
      const bRow = p * sBk;
      for (let j = 0; j < n; j++) row[j] += av * b[bRow + j * sBn];
    }
    y.set(row, i * n);
  }
  return y;
}
