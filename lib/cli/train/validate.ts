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
import type { TrainSettings } from "./settings.ts";
import type { Trainer } from "./types.ts";

/** Whether epoch `epoch` is validated: every `--eval-every` epochs, and the last one. */
export function validates(s: TrainSettings, epoch: number): boolean {
  return epoch % s.evalEvery === 0 || epoch === s.epochs;
}

/** Validates the model: fills `record`'s metrics, logs the per-class table, predicts samples. */
export async function validate(t: Trainer, record: EpochRecord): Promise<Validation> {
  const { settings: s, data } = t;
  const ev = await evaluate(t.model, data.valSet, {
    device: t.device,
    batchSize: s.batchSize,
    numClasses: data.numClasses,
    workers: s.workers,
  });
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
  t.log(formatMetrics(m, data.names));
  return { iou: m.iou, samples: await reportSamples(t, s.reportSamples) };
}
