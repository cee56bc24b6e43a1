/**
 * Reference softmax kernels: plain loops over typed arrays, in f64 along the axis.
 *
 * x is seen as `[outer, len, inner]` and normalised along len (dim 1 of `[N, K, H, W]` is
 * outer N, len K, inner H*W): `softmax = exp(x - m) / s` and `log_softmax = x - m - log s`,
 * with `m` the max and `s = sum(exp(x - m))` along len, as PyTorch computes them.
 *
 * @module
 */

/** `softmax` (or, with `log`, `log_softmax`) of `[outer, len, inner]` along len. */
export function softmax(
  x: Float32Array,
  outer: number,
  len: number,
  inner: number,
  log: boolean,
): Float32Array {
  const y = new Float32Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let max = -Infinity;
      for (let l = 0; l < len; l++) max = Math.max(max, x[base + l * inner]);
      let sum = 0;
      for (let l = 0; l < len; l++) sum += Math.exp(x[base + l * inner] - max);
      const logSum = Math.log(sum);
      for (let l = 0; l < len; l++) {
        const e = base + l * inner;
        y[e] = log ? x[e] - max - logSum : Math.exp(x[e] - max) / sum;
      }
    }
  }
  return y;
}

/**
 * Backward from the output `y`: `dx = y * (dy - sum(dy * y))` for softmax, and
 * `dx = dy - exp(y) * sum(dy)` for `log_softmax`, the sums along len.
 */
export function softmaxGrad(
  y: Float32Array,
  dy: Float32Array,
  outer: number,
  len: number,
  inner: number,
  log: boolean,
): Float32Array {
  const dx = new Float32Array(outer * len * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let s = 0;
      for (let l = 0; l < len; l++) {
        const e = base + l * inner;
        s += log ? dy[e] : dy[e] * y[e];
      }
      for (let l = 0; l < len; l++) {
        const e = base + l * inner;
        dx[e] = log ? dy[e] - Math.exp(y[e]) * s : y[e] * (dy[e] - s);
      }
    }
  }
  return dx;
}
