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

/**
 * The training loss of a batch: mean cross-entropy of the logits `[N, K, H, W]` against the
 * masks `[N, H, W]` (255 ignored), weighted per class by `weight` `[K]` when given, plus
 * `auxWeight` times the aux head's where there is one.
 */
export function batchLoss(
  o: SegmentationOutput,
  masks: Tensor,
  options: { auxWeight: number; weight?: Tensor },
): Tensor {
  const { auxWeight, weight } = options;
  let l = crossEntropy(o.out, masks, { weight });
  if (o.aux && auxWeight > 0) l = add(l, scale(crossEntropy(o.aux, masks, { weight }), auxWeight));
  return l;
}

/**
 * Takes global step `step` on `batch`: sets the lr from the schedule, computes the loss and the
 * gradients, runs `t.afterBackward`, and updates the parameters. With `--amp` the forward pass
 * runs under autocast, the loss is scaled, and the update is skipped (and the scale halved)
 * when a gradient overflowed. Returns the (unscaled) loss, not yet read.
 */
export async function trainStep(t: Trainer, batch: Batch, step: number): Promise<Tensor> {
  const { sgd, scaler } = t.opt;
  sgd.lr = t.settings.lr * t.opt.schedule.factor(step);
  const lossOptions = { auxWeight: t.settings.auxWeight, weight: t.classWeights ?? undefined };
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
  if (scaler) await scaler.step(sgd);
  else sgd.step();
  return loss;
}
