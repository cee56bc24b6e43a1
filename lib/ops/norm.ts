/**
 * Batch normalisation with `torch.nn.functional.batch_norm` semantics.
 *
 * @module
 */
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectRank } from "./_util.ts";
import { globalBatchStats, type StatsReducer } from "./norm_sync.ts";

export type { StatsReducer } from "./norm_sync.ts";

/** Options of {@linkcode batchNorm2d}. */
export interface BatchNormOptions {
  /** Use batch statistics and update the running ones (default false). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * In training, take the statistics of a global batch split across processes: their counts,
   * sums and the input gradient's reductions are summed with `sync` (PyTorch's
   * `SyncBatchNorm`). Needs a backend that reads at once (cpu, blas). Default: this batch only.
   */
  sync?: StatsReducer | null;
}

/**
 * Batch norm over `[N, C, H, W]` with per-channel `weight`/`bias` `[C]`. In training the running
 * mean and (unbiased) variance are updated in place:
 * `running = (1 - momentum) * running + momentum * batch`.
 *
 * @example
 * ```ts
 * import { batchNorm2d, requestDevice, tensor } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, 3], [2, 1, 1, 1], device);
 * const mean = tensor([0], [1], device), variance = tensor([1], [1], device);
 * const y = batchNorm2d(x, mean, variance, tensor([1], [1], device), tensor([0], [1], device), { training: true });
 * assertAlmostEquals((await y.toArray())[1], 1, 1e-3);
 * assertAlmostEquals((await mean.toArray())[0], 0.2, 1e-6);
 * ```
 */
export function batchNorm2d(
  x: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  weight: Tensor,
  bias: Tensor,
  options: BatchNormOptions = {},
): Tensor {
  const op = "batchNorm2d";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  const [n, c, h, w] = x.shape;
  for (
    const [name, t] of [["runningMean", runningMean], ["runningVar", runningVar], [
      "weight",
      weight,
    ], ["bias", bias]] as const
  ) {
    if (t.size !== c) {
      throw new RangeError(`${op}: expected ${name} of shape [${c}] but got [${t.shape}]`);
    }
  }
  const b = x.device.backend;
  const p = { n, c, h, w };
  const eps = options.eps ?? 1e-5;
  const training = options.training ?? false;
  let mean, variance, count = n * h * w;
  const sync = training ? options.sync ?? null : null;
  if (training) {
    const tooFew = (m: number) =>
      new RangeError(
        `${op}: training needs more than one value per channel, got [${x.shape}]` +
          (sync ? ` (${m} over every process)` : ""),
      );
    if (!sync && count < 2) throw tooFew(count);
    if (sync) ({ mean, var: variance, count } = globalBatchStats(b, x.storage, p, sync));
    else ({ mean, var: variance } = b.batchNormStats({ x: x.storage, planes: p }));
    if (count < 2) {
      b.free(mean);
      b.free(variance);
      throw tooFew(count);
    }
    const mom = options.momentum ?? 0.1;
    const rm = b.axpby({ a: runningMean.storage, b: mean, alpha: 1 - mom, beta: mom });
    const rv = b.axpby({
      a: runningVar.storage,
      b: variance,
      alpha: 1 - mom,
      beta: mom * count / (count - 1),
    });
    runningMean.assign(rm);
    runningVar.assign(rv);
  } else {
    mean = b.affine({ x: runningMean.storage, alpha: 1, beta: 0 });
    variance = b.affine({ x: runningVar.storage, alpha: 1, beta: 0 });
  }
  const s = b.batchNorm({
    x: x.storage,
    mean,
    variance,
    gamma: weight.storage,
    beta: bias.storage,
    planes: p,
    eps,
  });
  return record(new Tensor(s, x.shape, x.device), op, [x, weight, bias], {
    p,
    mean,
    var: variance,
    eps,
    training,
    sync,
    count,
  }, [mean, variance]);
}
