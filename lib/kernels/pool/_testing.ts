/**
 * Helpers for the pool tests.
 *
 * @module
 */
import type { PoolGeom } from "../../device/backend.ts";
import { poolOutSize } from "../../ops/pool.ts";

/**
 * The geometry of a max pool of x `[n, c, h, w]` with kernel `k`, stride `s` and padding `p`
 * (height, width), its output size PyTorch's (`ceil`: ceil_mode).
 */
export function geom(
  [n, c, h, w]: number[],
  k: [number, number],
  s: [number, number],
  p: [number, number] = [0, 0],
  ceil = false,
): PoolGeom {
  const oh = poolOutSize(h, k[0], s[0], p[0], ceil), ow = poolOutSize(w, k[1], s[1], p[1], ceil);
  return {
    n,
    c,
    h,
    w,
    kh: k[0],
    kw: k[1],
    oh,
    ow,
    strideH: s[0],
    strideW: s[1],
    padH: p[0],
    padW: p[1],
  };
}
