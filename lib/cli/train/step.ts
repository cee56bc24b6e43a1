/**
 * One optimizer step: the loss of a batch, its gradients (scaled and under autocast with
 * `--amp`), the `afterBackward` hook, and the SGD update.
 *
 * @module
 */
import { add, scale } from "../../ops/elementwise.ts";
import { crossEntropy } from "../../ops/loss.ts";
import { autocast } from "../../autograd.ts";
import { type Tensor, tidy } from "../../tensor.ts";
import type { SegmentationOutput } from "../../models/types.ts";
import type { Batch } from "../../data/loader.ts";
import type { Trainer } from "./types.ts";
import { allFinite, globalLabelled, isParallel } from "./parallel.ts";

/** Options of {@linkcode batchLoss}. */
export interface BatchLossOptions {
  /** Weight of the aux head's loss (where the model has one). */
  auxWeight: number;
  /** Per-class weights `[K]` (`--class-weights`): PyTorch's weighted mean. */
  weight?: Tensor;
  /**
   * Divide the summed cross-entropy by this instead of the batch's own count (weighted count,
   * with `weight`) of labelled pixels: a data-parallel rank divides by the global batch's, so that the ranks'
   * losses (and gradients) add up to one process's mean over the global batch.
   */
  denominator?: number;
}

/**
 * The training loss of a batch: mean cross-entropy of the logits `[N, K, H, W]` against the
 * masks `[N, H, W]` (255 ignored), weighted per class by `weight` `[K]` when given, plus
 * `auxWeight` times the aux head's where there is one.
 */
export function batchLoss(
  o: SegmentationOutput,
  masks: Tensor,
  options: BatchLossOptions,
): Tensor {
  const { auxWeight, weight, denominator: d } = options;
  const ce = (logits: Tensor) =>
    d === undefined
      ? crossEntropy(logits, masks, { weight })
      : scale(crossEntropy(logits, masks, { weight, reduction: "sum" }), 1 / d);
  let l = ce(o.out);
  if (o.aux && auxWeight > 0) l = add(l, scale(ce(o.aux), auxWeight));
  return l;
}

/**
 * Takes global step `step` on `batch`: sets the lr from the schedule, computes the loss and the
 * gradients, runs `t.afterBackward`, and updates the parameters. With `--amp` the forward pass
 * runs under autocast, the loss is scaled, and the update is skipped (and the scale halved)
 * when a gradient overflowed (on every rank alike). In a data-parallel job the loss is this
 * rank's share of the global batch's mean. Returns the (unscaled) loss, not yet read.
 */
export async function trainStep(t: Trainer, batch: Batch, step: number): Promise<Tensor> {
  const { sgd, scaler } = t.opt;
  sgd.lr = t.settings.lr * t.opt.schedule.factor(step);
  const parallel = isParallel(t.comm);
  const weight = t.classWeights ?? undefined;
  const lossOptions: BatchLossOptions = { auxWeight: t.settings.auxWeight, weight };
  if (parallel) {
    lossOptions.denominator = globalLabelled(t.comm, batch.hostMasks, t.settings.classWeightValues);
  }
  const forward = () => batchLoss(t.model.forward(batch.images), batch.masks, lossOptions);
  let loss: Tensor;
  if (scaler) {
    const [l, scaled] = tidy(() => {
      const l = autocast(forward);
      sgd.zeroGrad();
      return [l.keep(), scaler.scale(l)];
    });
    scaled.backward();
    scaled.dispose();
    loss = l;
  } else {
    loss = tidy(() => {
      const l = forward();
      sgd.zeroGrad();
      l.backward();
      return l;
    });
  }
  if (t.afterBackward) await t.afterBackward();
  if (scaler) await scaler.step(sgd, parallel ? { agree: (f) => allFinite(t.comm, f) } : {});
  else sgd.step();
  return loss;
}
