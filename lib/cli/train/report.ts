/**
 * What a run reports: each epoch's record and log line, and `report.html` (curves, per-class
 * IoU, validation samples with their predictions).
 *
 * @module
 */
import { argmax } from "../../ops/reduce.ts";
import { noGrad } from "../../autograd.ts";
import { tidy } from "../../tensor.ts";
import { encodeRgbPng, overlay } from "../../data/image.ts";
import { resizeBilinear, resizeNearest } from "../../data/transforms.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import { type EpochRecord, renderReport, type ReportSample } from "../report.ts";
import type { RunPosition, Trainer } from "./types.ts";

/**
 * What report.html shows of a validation beyond the history (per-class IoU, the confusion
 * matrix, samples), and its per-class table for the log.
 */
export interface Validation {
  /** Per-class IoU (NaN where a class is absent). */
  iou: number[];
  /** Pixel counts `[K, K]`, row-major: `confusion[truth * K + prediction]`. */
  confusion: Float64Array;
  /** The per-class table (formatMetrics). */
  table: string;
  samples: ReportSample[];
}

/**
 * The record of the epoch just trained (`pos.epoch`), from its losses; the validation metrics
 * are NaN until {@linkcode validate} fills them.
 */
export function epochRecord(t: Trainer, pos: RunPosition, losses: number[]): EpochRecord {
  return {
    epoch: pos.epoch,
    trainLoss: losses.reduce((a, v) => a + v, 0) / Math.max(losses.length, 1),
    valLoss: NaN,
    pixelAccuracy: NaN,
    meanIoU: NaN,
    seconds: 0,
    lr: t.opt.sgd.lr,
    steps: pos.step,
  };
}

/** The log line of an epoch. */
export function epochLine(r: EpochRecord): string {
  return `epoch ${r.epoch}: train loss ${r.trainLoss.toFixed(4)}, val loss ${
    r.valLoss.toFixed(4)
  }, ` +
    `mIoU ${(r.meanIoU * 100).toFixed(2)}%, pixel acc ${(r.pixelAccuracy * 100).toFixed(2)}%, ` +
    `${r.seconds.toFixed(1)} s`;
}

/** Writes `report.html` from the history and the last validation (rank 0 only). */
export async function writeReport(
  t: Trainer,
  history: EpochRecord[],
  v: Validation,
): Promise<void> {
  if (t.comm.rank !== 0) return;
  const s = t.settings;
  await writeFileAtomic(
    `${t.runDir}/report.html`,
    renderReport({
      title: `${s.model} on ${s.data ?? "the bundled dataset"}`,
      history,
      classNames: t.data.names,
      iou: v.iou,
      confusion: v.confusion,
      samples: v.samples,
      settings: { model: s.model, width: s.width, lr: s.lr, batch: s.batchSize, seed: s.seed },
    }),
  );
}

/** Predicts the first `count` validation images for the report. */
export async function reportSamples(t: Trainer, count: number): Promise<ReportSample[]> {
  const { model, device, data: { valSet, palette } } = t;
  const out: ReportSample[] = [];
  model.eval();
  let i = 0;
  for await (
    const b of valSet.batches({ batchSize: 1, shuffle: false, train: false, device, workers: 0 })
  ) {
    if (i++ >= count) {
      b.images.dispose();
      b.masks.dispose();
      break;
    }
    const raw = await valSet.read(i - 1);
    // logits [1, K, H, W] -> labels [1, H, W]
    const pred = noGrad(() => tidy(() => argmax(model.forward(b.images).out, 1)));
    const p = Uint8Array.from(await pred.toArray() as Int32Array);
    const [h, w] = [b.images.shape[2], b.images.shape[3]];
    pred.dispose();
    b.images.dispose();
    b.masks.dispose();
    // Overlays on the resized image the model saw.
    const img = resizeBilinear(raw.image, w, h);
    const gt = resizeNearest(raw.mask, w, h);
    out.push({
      id: raw.id,
      image: await encodeRgbPng(img),
      truth: await encodeRgbPng(overlay(img, gt, palette)),
      prediction: await encodeRgbPng(overlay(img, { width: w, height: h, data: p }, palette)),
    });
  }
  return out;
}
