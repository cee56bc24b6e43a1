/**
 * One training epoch: the shuffled, augmented batches of the epoch through {@linkcode trainStep}
 * (from the batch a stopped run reached), each sample's dropout seeded by its index, the losses
 * read a few steps behind (so the device stays busy), checkpoints inside the epoch with
 * `--checkpoint-every`, a progress bar, and the kernel autotuning after the first step a
 * process takes on WebGPU.
 *
 * @module
 */
import type { Device, Tensor } from "../../tensor.ts";
import { autotune } from "../../device/tune.ts";
import { pendingCount } from "../../kernels/autotune.ts";
import { Progress } from "../progress.ts";
import type { Batch } from "../../data/loader.ts";
import { sampleSeed } from "../../random.ts";
import type { TrainSettings } from "./settings.ts";
import { trainStep } from "./step.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import type { Log, RunPosition, Trainer } from "./types.ts";
import { sumAcrossRanks } from "./parallel.ts";

/** Losses are read every this many steps (and at the end of the epoch). */
const READ_EVERY = 4;

/** A step's loss, not yet read, and where it was taken. */
interface PendingLoss {
  loss: Tensor;
  /** The global step (1-based) and the epoch it belongs to. */
  step: number;
  epoch: number;
}

/** Devices whose kernels this process has tuned. */
const tuned = new WeakSet<Device>();

/** Whether the run has taken its `--max-steps`. */
export function budgetSpent(s: TrainSettings, pos: RunPosition): boolean {
  return s.maxSteps !== undefined && pos.step >= s.maxSteps;
}

/** Whether `--checkpoint-every` asks for a checkpoint after the step just taken. */
function checkpointDue(s: TrainSettings, pos: RunPosition): boolean {
  return s.checkpointEvery !== undefined && pos.step % s.checkpointEvery === 0;
}

/**
 * Trains epoch `pos.epoch + 1` from its batch `pos.batch` on (the batches a stopped run took are
 * skipped), advancing `pos.step` and `pos.batch` by one per batch and adding the read losses to
 * `pos.epochLosses`; saves a checkpoint inside the epoch every `--checkpoint-every` steps and
 * stops early when the step budget is spent. Returns the losses of the steps it took, in order;
 * a non-finite loss is an error naming its step.
 */
export async function trainEpoch(t: Trainer, pos: RunPosition): Promise<number[]> {
  const { settings: s, data } = t;
  const epoch = pos.epoch + 1;
  t.model.train();
  const { rank, size } = t.comm;
  const bar = new Progress({
    total: data.itersPerEpoch,
    label: `epoch ${epoch}/${s.epochs}`,
    ...(rank === 0 ? {} : { write: () => {} }),
  });
  const losses: number[] = [], pending: PendingLoss[] = [];
  const drain = async () => {
    const read = await readLosses(pending, t);
    losses.push(...read);
    pos.epochLosses.push(...read);
  };
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
      startBatch: pos.batch,
      rank,
      ranks: size,
    })
  ) {
    const loss = await seededStep(t, batch, { epoch, step: pos.step });
    pending.push({ loss, step: ++pos.step, epoch });
    pos.batch++;
    if (t.device.kind === "webgpu" && !tuned.has(t.device)) await tuneKernels(t.device, t.log);
    const end = pos.batch === data.itersPerEpoch, stop = budgetSpent(s, pos);
    const save = checkpointDue(s, pos) && !end && !stop;
    if (pending.length >= READ_EVERY || end || save) {
      const n = pending.length;
      await drain();
      bar.update(pos.batch, { loss: losses.at(-1)!, lr: t.opt.sgd.lr }, s.batchSize * size * n);
    }
    if (save) await saveCheckpoint(t, pos);
    if (stop) break;
  }
  await drain();
  bar.done();
  return losses;
}

/**
 * {@linkcode trainStep} with each sample's dropout masks seeded by the run seed, the epoch and
 * the sample's index (`sampleSeed(seed, epoch, index, "dropout")`), as its augmentation is: a
 * sample draws the same in any batch, process or data-parallel rank. Frees the batch.
 */
export async function seededStep(
  t: Trainer,
  batch: Batch,
  at: { epoch: number; step: number },
): Promise<Tensor> {
  const seed = t.settings.seed;
  t.model.seeds.forSamples(batch.indices.map((i) => sampleSeed(seed, at.epoch, i, "dropout")));
  try {
    return await trainStep(t, batch, at.step);
  } finally {
    t.model.seeds.forSamples(null);
    batch.images.dispose();
    batch.masks.dispose();
  }
}

/**
 * Reads and frees the pending losses, in order (summed across ranks: each holds its share of
 * the global batch's); a non-finite one stops the run, naming its step.
 */
async function readLosses(pending: PendingLoss[], t: Trainer): Promise<number[]> {
  const all = pending.splice(0), own: number[] = [];
  for (const { loss } of all) {
    own.push(await loss.item());
    loss.dispose();
  }
  const out = sumAcrossRanks(t.comm, own);
  for (const [k, { step, epoch }] of all.entries()) {
    const v = out[k];
    if (!Number.isFinite(v)) {
      throw new Error(
        `The loss became ${v} at step ${step} (epoch ${epoch}): lower --lr (now ` +
          `${t.settings.lr}) or check the data; ${t.runDir} keeps the last good files`,
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
  tuned.add(device);
  const classes = pendingCount();
  const t0 = performance.now();
  await autotune(device);
  log(
    `Autotune: ${classes} kernel shape classes tuned or read from the cache ` +
      `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
}
