/**
 * Reference norm kernels: plain loops over typed arrays (sums in f64), with PyTorch's formulas.
 *
 * @module
 */
import type { KernelArgs, Planes } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";

/** Per-channel sums of `term(i, c)` over N, H, W (f64). */
function channelSums(p: Planes, term: (i: number, c: number) => number): Float64Array {
  const hw = p.h * p.w;
  const out = new Float64Array(p.c);
  for (let n = 0; n < p.n; n++) {
    for (let c = 0; c < p.c; c++) {
      const o = (n * p.c + c) * hw;
      let s = 0;
      for (let i = o; i < o + hw; i++) s += term(i, c);
      out[c] += s;
    }
  }
  return out;
}

/** `1 / sqrt(var + eps)` per channel. */
function invStd(variance: Float32Array, eps: number): Float64Array {
  return Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
}

/**
 * Per-channel mean and biased variance of x `[N, C, H, W]` -> `[C]` each, two passes in f64.
 */
export function batchNormStats(
  { x, planes: p }: OnHost<KernelArgs["batchNormStats"]>,
): { mean: Float32Array; var: Float32Array } {
  const m = p.n * p.h * p.w;
  const mean = channelSums(p, (i) => x[i]).map((s) => s / m);
  const sq = channelSums(p, (i, c) => (x[i] - mean[c]) ** 2);
  return { mean: Float32Array.from(mean), var: Float32Array.from(sq, (s) => s / m) };
}

/** `y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]` of x `[N, C, H, W]`. */
export function batchNorm(a: OnHost<KernelArgs["batchNorm"]>): Float32Array {
  const { x, mean, gamma, beta, planes: p } = a;
  const hw = p.h * p.w;
  const inv = invStd(a.variance, a.eps);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / hw) % p.c;
    y[i] = (x[i] - mean[c]) * inv[c] * gamma[c] + beta[c];
  }
  return y;
}

/**
 * Backward of batchNorm. dgamma = sum(dy * xhat), dbeta = sum(dy) per channel; in training
 * `dx = gamma * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)` (M = N*H*W: the batch
 * statistics' gradient included), otherwise `dx = dy * gamma * invstd`.
 */
export function batchNormGrad(
  a: OnHost<KernelArgs["batchNormGrad"]>,
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const { dy, x, mean, gamma, planes: p, training } = a;
  const hw = p.h * p.w, m = p.n * hw;
  const inv = invStd(a.variance, a.eps);
  const sdy = channelSums(p, (i) => dy[i]);
  const dot = channelSums(p, (i, c) => dy[i] * (x[i] - mean[c])); // sum(dy * (x - mean))
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / hw) % p.c;
    const scale = gamma[c] * inv[c];
    dx[i] = training
      ? (dy[i] - sdy[c] / m - (x[i] - mean[c]) * dot[c] * inv[c] * inv[c] / m) * scale
      : dy[i] * scale;
  }
  return {
    dx,
    dgamma: Float32Array.from(dot, (d, c) => d * inv[c]),
    dbeta: Float32Array.from(sdy),
  };
}
