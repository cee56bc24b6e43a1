/**
 * Evaluation of a model on a dataset, shared by `eval` and the validation of `train`: the mean
 * cross-entropy over labelled pixels and the confusion matrix.
 *
 * @module
 */
import { crossEntropy } from "../ops/loss.ts";
import { argmax } from "../ops/reduce.ts";
import { noGrad } from "../autograd.ts";
import { type Device, tidy } from "../tensor.ts";
import type { FcnModel } from "../models/types.ts";
import { ConfusionMatrix } from "../metrics/confusion_matrix.ts";
import type { SegmentationDataset } from "../data/dataset.ts";

/** Validation result of one pass. */
export interface Evaluation {
  /** Cross-entropy summed over labelled pixels, divided by their count (NaN when none). */
  loss: number;
  matrix: ConfusionMatrix;
}

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** Where the model runs (the batches are made there). */
  device: Device;
  batchSize: number;
  numClasses: number;
  /** Decoding workers (default: the loader's). */
  workers?: number;
  /** Called after each batch (progress bars). */
  onBatch?: () => void;
}

/** Runs the model over a dataset in eval mode: summed CE over pixels and the confusion matrix. */
export async function evaluate(
  model: FcnModel,
  data: SegmentationDataset,
  options: EvaluateOptions,
): Promise<Evaluation> {
  model.eval();
  const matrix = new ConfusionMatrix(options.numClasses);
  let lossSum = 0, count = 0;
  for await (
    const batch of data.batches({
      batchSize: options.batchSize,
      shuffle: false,
      train: false,
      device: options.device,
      workers: options.workers,
    })
  ) {
    // logits [N, K, H, W] -> loss [] (sum over pixels), pred [N, H, W]
    const { loss, pred } = noGrad(() =>
      tidy(() => {
        const { out } = model.forward(batch.images);
        return { loss: crossEntropy(out, batch.masks, { reduction: "sum" }), pred: argmax(out, 1) };
      })
    );
    lossSum += await loss.item();
    const target = await batch.masks.toArray();
    matrix.update(await pred.toArray() as Int32Array, target as Int32Array);
    for (const v of target) if (v !== 255) count++;
    for (const t of [loss, pred, batch.images, batch.masks]) t.dispose();
    options.onBatch?.();
  }
  return { loss: count > 0 ? lossSum / count : NaN, matrix };
}
