/**
 * Validation after an epoch: the metrics of the validation split in the epoch's record, the
 * per-class table in the log, and the samples report.html shows.
 *
 * @module
 */
import { formatMetrics } from "../../metrics/confusion_matrix.ts";
import { evaluate } from "../evaluate.ts";
import type { EpochRecord } from "../report.ts";
import { reportSamples, type Validation } from "./report.ts";
import type { RunSettings } from "./settings.ts";
import type { Trainer } from "./types.ts";
import { shardDataset } from "../../dist/shard_cli.ts";
import { isParallel, sumEvaluations } from "./parallel.ts";

/** Whether epoch `epoch` is validated: every `--eval-every` epochs, and the last one. */
export function validates(s: RunSettings, epoch: number): boolean {
  return epoch % s.evalEvery === 0 || epoch === s.epochs;
}

/**
 * Validates the model: fills `record`'s metrics, formats the per-class table (logged at a new
 * best and at the end), keeps the confusion matrix and predicts the report's samples. In a
 * data-parallel job each rank scores its shard of the split (image index mod ranks) and the
 * confusion matrices are summed; only rank 0 predicts the report's samples.
 */
export async function validate(t: Trainer, record: EpochRecord): Promise<Validation> {
  const { settings: s, data, comm } = t;
  const split = isParallel(comm)
    ? shardDataset(data.valSet, { index: comm.rank, count: comm.size, source: "mpi rank" })
    : data.valSet;
  const ev = sumEvaluations(
    comm,
    await evaluate(t.model, split, {
      device: t.device,
      batchSize: s.batchSize,
      numClasses: data.numClasses,
      workers: s.workers,
    }),
  );
  const m = ev.matrix.compute();
  Object.assign(record, {
    valLoss: ev.loss,
    pixelAccuracy: m.pixelAccuracy,
    meanAccuracy: m.meanAccuracy,
    meanIoU: m.meanIoU,
    fwIoU: m.fwIoU,
    meanF1: m.meanF1,
    iou: m.iou,
  });
  return {
    iou: m.iou,
    confusion: ev.matrix.matrix,
    table: formatMetrics(m, data.names),
    samples: comm.rank === 0 ? await reportSamples(t, s.reportSamples) : [],
  };
}
