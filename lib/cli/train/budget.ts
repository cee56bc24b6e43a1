/**
 * How long a run trains: `--steps` optimizer steps rounded to whole epochs of the dataset (or
 * `--epochs` as given), and `--patience`, the early stop after epochs without a better val mIoU.
 *
 * @module
 */
import type { RunSettings, TrainSettings } from "./settings.ts";
import type { Log, RunPosition, TrainData } from "./types.ts";

/**
 * The epochs of a run: `epochs` when given, else `steps / itersPerEpoch` rounded to the nearest
 * whole epoch (at least 1), so that a small dataset trains more epochs than a large one for the
 * same number of updates.
 *
 * @example
 * ```ts
 * import { runEpochs } from "./budget.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * assertEquals(runEpochs({ steps: 750 }, 30), 25); // the bundled dataset: 120 images, batch 4
 * assertEquals(runEpochs({ steps: 750 }, 12), 63); // 48 images
 * assertEquals(runEpochs({ steps: 750, epochs: 3 }, 12), 3);
 * assertEquals(runEpochs({ steps: 10 }, 400), 1);
 * ```
 */
export function runEpochs(
  s: Pick<TrainSettings, "steps" | "epochs">,
  itersPerEpoch: number,
): number {
  if (s.epochs !== undefined) return s.epochs;
  return Math.max(1, Math.round(s.steps / itersPerEpoch));
}

/**
 * The settings of a run on `data`: its epochs ({@linkcode runEpochs}), base size and crop resolved,
 * with a line that says how long it trains and why.
 */
export function resolveRun(s: TrainSettings, data: TrainData, log: Log): RunSettings {
  const n = data.itersPerEpoch, epochs = runEpochs(s, n);
  const why = s.resume
    ? "as the run began"
    : s.epochs !== undefined
    ? (s.preset ? `--preset ${s.preset} or --epochs` : "--epochs")
    : `--steps ${s.steps} rounded to whole epochs`;
  log(`Length: ${epochs} epochs x ${n} steps = ${epochs * n} steps (${why})`);
  return { ...s, epochs, baseSize: data.baseSize, crop: data.crop };
}

/**
 * Whether `--patience` ends the run: that many epochs since the best val mIoU (counted from
 * the first validation when none has improved on it).
 *
 * @example
 * ```ts
 * import { patienceSpent } from "./budget.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * const best = { meanIoU: 0.8, epoch: 4 };
 * const pos = { epoch: 7, step: 70, batch: 0, epochLosses: [], best, history: [] };
 * assertEquals(patienceSpent({ patience: 3 }, pos), true);
 * assertEquals(patienceSpent({ patience: 4 }, pos), false);
 * assertEquals(patienceSpent({}, pos), false);
 * ```
 */
export function patienceSpent(s: Pick<TrainSettings, "patience">, pos: RunPosition): boolean {
  if (s.patience === undefined || pos.best.meanIoU < 0) return false;
  return pos.epoch - pos.best.epoch >= s.patience;
}

/** The line that says the run stopped early, and why. */
export function patienceLine(s: TrainSettings, pos: RunPosition, epochs: number): string {
  return `Early stop after epoch ${pos.epoch} of ${epochs}: no better val mIoU for ` +
    `${pos.epoch - pos.best.epoch} epochs (--patience ${s.patience}); best ` +
    `${(pos.best.meanIoU * 100).toFixed(2)}% at epoch ${pos.best.epoch}`;
}
