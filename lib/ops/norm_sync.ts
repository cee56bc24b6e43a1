/**
 * Synchronised batch norm (PyTorch's `SyncBatchNorm`): in a data-parallel job each process holds
 * a slice of the global batch, and training-mode batch norm uses the statistics of the whole
 * global batch. The forward pass sums each process's per-channel counts, sums and squared
 * deviations across processes; the backward pass sums the two per-channel reductions the input
 * gradient needs (`sum(dy)` and `sum(dy * (x - mean))`). The parameter gradients (`dgamma`,
 * `dbeta`) stay this process's own: the gradient allreduce adds them up like any other.
 *
 * The sums are read to the host in the middle of a pass, so this needs a backend with
 * `readSync` (cpu, blas).
 *
 * @module
 */
import type { Backend, Planes, Storage } from "../device/backend.ts";

/**
 * Sums per-channel statistics across the processes of a job (a communicator does).
 *
 * @example Two processes holding the same slice: the statistics of the slice twice over
 * ```ts
 * import { batchNorm2d, requestDevice, type StatsReducer, tensor } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const twoAlike: StatsReducer = { allreduceSum: (a) => a.forEach((v, i) => a[i] = 2 * v) };
 * const x = tensor([1, 3], [2, 1, 1, 1], device); // this process's slice [N, C, H, W]
 * const mean = tensor([0], [1], device), variance = tensor([1], [1], device);
 * const one = tensor([1], [1], device), zero = tensor([0], [1], device);
 * batchNorm2d(x, mean, variance, one, zero, { training: true, sync: twoAlike });
 * // global batch [1, 3, 1, 3]: mean 2, unbiased variance 4/3; momentum 0.1
 * assertAlmostEquals((await variance.toArray())[0], 0.9 + 0.1 * 4 / 3, 1e-6);
 * ```
 */
export interface StatsReducer {
  /** Replaces `a` with the element-wise sum of every process's `a` (collective). */
  allreduceSum(a: Float64Array): void;
}

/** `b.readSync`, or an error saying that synchronised batch norm needs it. */
function readNow(b: Backend): (s: Storage) => Float32Array {
  const read = b.readSync?.bind(b);
  if (!read) {
    throw new Error(
      `batchNorm2d: synchronised batch norm needs a backend that reads at once (cpu, blas), ` +
        `not ${b.kind}`,
    );
  }
  return (s) => read(s) as Float32Array;
}

/** Global batch statistics: mean and biased variance `[C]` each, and the global count M. */
export interface GlobalStats {
  mean: Storage;
  var: Storage;
  /** Values per channel over every process (N*H*W summed). */
  count: number;
}

/**
 * The global batch's per-channel mean and biased variance from this process's x `[N, C, H, W]`:
 * local statistics, then two allreduces (counts and sums; squared deviations from the global
 * mean, by Chan's rule `m_r * (var_r + (mean_r - mean)^2)`), in f64.
 */
export function globalBatchStats(
  b: Backend,
  x: Storage,
  p: Planes,
  sync: StatsReducer,
): GlobalStats {
  const read = readNow(b);
  const local = b.batchNormStats({ x, planes: p });
  const mean = read(local.mean), variance = read(local.var);
  b.free(local.mean);
  b.free(local.var);
  const c = p.c, m = p.n * p.h * p.w;
  const sums = new Float64Array(c + 1);
  for (let i = 0; i < c; i++) sums[i] = m * mean[i];
  sums[c] = m;
  sync.allreduceSum(sums);
  const count = sums[c];
  const gMean = sums.subarray(0, c).map((s) => s / count);
  const sq = Float64Array.from(mean, (mu, i) => m * (variance[i] + (mu - gMean[i]) ** 2));
  sync.allreduceSum(sq);
  return {
    mean: b.upload(Float32Array.from(gMean)),
    var: b.upload(Float32Array.from(sq, (s) => s / count)),
    count,
  };
}

/** What the backward pass of a synchronised batch norm needs. */
export interface SyncGradArgs {
  dy: Storage;
  x: Storage;
  /** Global mean and variance `[C]`. */
  mean: Storage;
  variance: Storage;
  gamma: Storage;
  planes: Planes;
  eps: number;
  /** The global count M. */
  count: number;
  sync: StatsReducer;
}

/**
 * Backward of training-mode batch norm over a global batch: `dgamma`, `dbeta` of this process's
 * slice, and `dx = gamma * invstd * (dy - S1 / M - (x - mean) * invstd^2 * S2 / M)` with
 * `S1 = sum(dy)`, `S2 = sum(dy * (x - mean))` summed over every process. Built from the
 * kernels: the eval-mode gradient `dy * gamma * invstd` plus the correction, which is a batch
 * norm of x with per-channel scale `-gamma * invstd^2 * S2 / M` and shift `-gamma * invstd *
 * S1 / M`.
 */
export function syncBatchNormGrad(
  b: Backend,
  a: SyncGradArgs,
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  const { x, mean, planes, eps, count } = a;
  const read = readNow(b);
  const { dy, variance: v, gamma: g } = a;
  const r = b.batchNormGrad({ dy, x, mean, variance: v, gamma: g, planes, eps, training: false });
  const [dgamma, dbeta, variance, gamma] = [r.dgamma, r.dbeta, a.variance, a.gamma].map(read);
  const c = planes.c;
  const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  // [S1 (C), S2 (C)]: dbeta = S1 and dgamma = S2 * invstd locally.
  const sums = new Float64Array(2 * c);
  for (let i = 0; i < c; i++) [sums[i], sums[c + i]] = [dbeta[i], dgamma[i] / inv[i]];
  a.sync.allreduceSum(sums);
  const scale = new Float32Array(c), shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = -gamma[i] * inv[i] * inv[i] * sums[c + i] / count;
    shift[i] = -gamma[i] * inv[i] * sums[i] / count;
  }
  const [gs, bs] = [b.upload(scale), b.upload(shift)];
  const corr = b.batchNorm({ x, mean, variance: a.variance, gamma: gs, beta: bs, planes, eps });
  const dx = b.binary({ op: "add", a: r.dx, b: corr });
  for (const s of [gs, bs, corr, r.dx]) b.free(s);
  return { dx, dgamma: r.dgamma, dbeta: r.dbeta };
}
