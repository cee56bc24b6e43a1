/**
 * Synchronised batch norm (PyTorch's `SyncBatchNorm`): in a data-parallel job each process holds
 * a slice of the global batch, and training-mode batch norm uses the statistics of the whole
 * global batch. The forward pass sums each process's per-channel counts, sums and squared
 * deviations across processes; the backward pass sums the two per-channel reductions the input
 * gradient needs (`sum(dy)` and `sum(dy * (x - mean))`). The parameter gradients (`dgamma`,
 * `dbeta`) stay this process's own: the gradient allreduce adds them up like any other.
 *
 * The sums are taken to the host in the middle of a pass with `Backend.hostCall`: at once on
 * cpu and blas; on WebGPU the device holds the work recorded after them until the host has summed
 * them, so the pass is recorded without a wait, as any other, on every backend.
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

/**
 * The global batch of a synchronised batch norm: the reducer, and the global count once the
 * statistics have been summed (on cpu and blas at once; on WebGPU when the device gets there,
 * which is before the backward pass's sums need it).
 */
export interface GlobalBatch {
  /** Sums across processes. */
  readonly sync: StatsReducer;
  /** Values per channel over every process (N*H*W summed); NaN until summed. */
  count: number;
}

/** Global batch statistics, `[C]` each, as storages. */
export interface GlobalStats {
  mean: Storage;
  /** Biased variance (what the batch is normalised with). */
  var: Storage;
  /** Unbiased variance (what the running variance takes). */
  unbiased: Storage;
  batch: GlobalBatch;
}

/**
 * The global batch's per-channel mean and variances from this process's x `[N, C, H, W]`:
 * local statistics, then two allreduces on the host (counts and sums; squared deviations from
 * the global mean, by Chan's rule `m_r * (var_r + (mean_r - mean)^2)`), in f64. A global batch
 * of fewer than two values per channel is a RangeError (see `Backend.hostCall` for when it is
 * thrown).
 */
export function globalBatchStats(
  b: Backend,
  x: Storage,
  p: Planes,
  sync: StatsReducer,
): GlobalStats {
  const local = b.batchNormStats({ x, planes: p });
  const c = p.c, m = p.n * p.h * p.w;
  const batch: GlobalBatch = { sync, count: NaN };
  const [mean, variance, unbiased] = b.hostCall([local.mean, local.var], [c, c, c], (d) => {
    const [mean, variance] = d as Float32Array[];
    const sums = new Float64Array(c + 1);
    for (let i = 0; i < c; i++) sums[i] = m * mean[i];
    sums[c] = m;
    sync.allreduceSum(sums);
    const count = sums[c];
    const gMean = sums.subarray(0, c).map((s) => s / count);
    const sq = Float64Array.from(mean, (mu, i) => m * (variance[i] + (mu - gMean[i]) ** 2));
    sync.allreduceSum(sq);
    if (count < 2) {
      throw new RangeError(
        `batchNorm2d: training needs more than one value per channel, got ` +
          `[${[p.n, p.c, p.h, p.w]}] (${count} over every process)`,
      );
    }
    batch.count = count;
    return [
      Float32Array.from(gMean),
      Float32Array.from(sq, (s) => s / count),
      Float32Array.from(sq, (s) => s / (count - 1)),
    ];
  });
  b.free(local.mean);
  b.free(local.var);
  return { mean, var: variance, unbiased, batch };
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
  /** The global batch the forward pass summed. */
  batch: GlobalBatch;
}

/**
 * Backward of training-mode batch norm over a global batch: `dgamma`, `dbeta` of this process's
 * slice, and `dx = gamma * invstd * (dy - S1 / M - (x - mean) * invstd^2 * S2 / M)` with
 * `S1 = sum(dy)`, `S2 = sum(dy * (x - mean))` summed over every process. Built from the
 * kernels: the eval-mode gradient `dy * gamma * invstd` plus the correction, which is a batch
 * norm of x with per-channel scale `-gamma * invstd^2 * S2 / M` and shift `-gamma * invstd *
 * S1 / M` (computed on the host).
 */
export function syncBatchNormGrad(
  b: Backend,
  a: SyncGradArgs,
): { dx: Storage; dgamma: Storage; dbeta: Storage } {
  const { x, mean, planes, eps, batch } = a;
  const { dy, variance: v, gamma: g } = a;
  const r = b.batchNormGrad({ dy, x, mean, variance: v, gamma: g, planes, eps, training: false });
  const c = planes.c;
  const [gs, bs] = b.hostCall([r.dgamma, r.dbeta, v, g], [c, c], (d) => {
    const [dgamma, dbeta, variance, gamma] = d as Float32Array[];
    const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
    // [S1 (C), S2 (C)]: dbeta = S1 and dgamma = S2 * invstd locally.
    const sums = new Float64Array(2 * c);
    for (let i = 0; i < c; i++) [sums[i], sums[c + i]] = [dbeta[i], dgamma[i] / inv[i]];
    batch.sync.allreduceSum(sums);
    const scale = new Float32Array(c), shift = new Float32Array(c);
    for (let i = 0; i < c; i++) {
      scale[i] = -gamma[i] * inv[i] * inv[i] * sums[c + i] / batch.count;
      shift[i] = -gamma[i] * inv[i] * sums[i] / batch.count;
    }
    return [scale, shift];
  });
  const corr = b.batchNorm({ x, mean, variance: v, gamma: gs, beta: bs, planes, eps });
  const dx = b.binary({ op: "add", a: r.dx, b: corr });
  for (const s of [gs, bs, corr, r.dx]) b.free(s);
  return { dx, dgamma: r.dgamma, dbeta: r.dbeta };
}
