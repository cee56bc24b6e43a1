/**
 * One training epoch: the shuffled, augmented batches of the epoch through {@linkcode trainStep},
 * the losses read a few steps behind (so the device stays busy), a progress bar, and the kernel
 * autotuning after the first step on WebGPU.
 *
 * @module
 */
import type { Device, Tensor } from "../../tensor.ts";
import { autotune } from "../../device/tune.ts";
import { pendingCount } from "../../kernels/autotune.ts";
import { Progress } from "../progress.ts";
import type { TrainSettings } from "./settings.ts";
import { trainStep } from "./step.ts";
import type { Log, RunPosition, Trainer } from "./types.ts";
import { sumAcrossRanks } from "./parallel.ts";

/** Options of {@linkcode trainEpoch}. */
export interface EpochOptions {
  /** Batches of the epoch already taken, skipped by the loader (default 0). */
  startBatch?: number;
}

/** Losses are read every this many steps (and at the end of the epoch). */
const READ_EVERY = 4;

/** Whether the run has taken its `--max-steps`. */
export function budgetSpent(s: TrainSettings, pos: RunPosition): boolean {
  return s.maxSteps !== undefined && pos.step >= s.maxSteps;
}

/**
 * Trains epoch `pos.epoch + 1`, advancing `pos.step` by one per batch and stopping early when
 * the step budget is spent. Returns the epoch's losses in step order; a non-finite loss is an
 * error.
 */
export async function trainEpoch(
  t: Trainer,
  pos: RunPosition,
  options: EpochOptions = {},
): Promise<number[]> {
  const { settings: s, data } = t;
  const epoch = pos.epoch + 1, startBatch = options.startBatch ?? 0;
  t.model.train();
  const { rank, size } = t.comm;
  const bar = new Progress({
    total: data.itersPerEpoch,
    label: `epoch ${epoch}/${s.epochs}`,
    ...(rank === 0 ? {} : { write: () => {} }),
  });
  const losses: number[] = [], pending: Tensor[] = [];
  let i = startBatch;
  for await (
    const batch of data.trainSet.batches({
      batchSize: s.batchSize,
      shuffle: true,
      dropLast: true,
      seed: s.seed,
      epoch,
      train: true,
      device: t.device,
      workers: s.workers,
      startBatch,
      rank,
      ranks: size,
    })
  ) {
    pending.push(await trainStep(t, batch, pos.step));
    batch.images.dispose();
    batch.masks.dispose();
    pos.step++;
    i++;
    if (pos.step === 1 && t.device.kind === "webgpu") await tuneKernels(t.device, t.log);
    if (pending.length >= READ_EVERY || i === data.itersPerEpoch) {
      const n = pending.length;
      losses.push(...await readLosses(pending, t, pos.step));
      bar.update(i, { loss: losses.at(-1)!, lr: t.opt.sgd.lr }, s.batchSize * size * n);
    }
    if (budgetSpent(s, pos)) break;
  }
  losses.push(...await readLosses(pending, t, pos.step));
  bar.done();
  return losses;
}

/**
 * Reads and frees the pending losses, in order (summed across ranks: each holds its share of
 * the global batch's); a non-finite one stops the run.
 */
async function readLosses(pending: Tensor[], t: Trainer, step: number): Promise<number[]> {
  const own: number[] = [];
  for (const l of pending.splice(0)) {
    own.push(await l.item());
    l.dispose();
  }
  const out = sumAcrossRanks(t.comm, own);
  for (const v of out) {
    if (!Number.isFinite(v)) {
      throw new Error(
        `The loss became ${v} at step ${step}: lower --lr (now ${t.settings.lr}) or ` +
          `check the data; ${t.runDir} keeps the last good files`,
      );
    }
  }
  return out;
}

/**
 * The kernels' shapes are known after the first step: picks each family's fastest variant
 * (cached per adapter).
 */
async function tuneKernels(device: Device, log: Log): Promise<void> {
  const classes = pendingCount();
  const t0 = performance.now();
  await autotune(device);
  log(
    `Autotune: ${classes} kernel shape classes tuned or read from the cache ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}
