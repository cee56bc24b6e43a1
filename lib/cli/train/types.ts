/**
 * What the steps of a training run share: the assembled trainer (settings, device, data, model,
 * optimizer) and the run's position, which a checkpoint saves and a resume restores.
 *
 * @module
 */
import type { Device, Tensor } from "../../tensor.ts";
import type { FcnModel } from "../../models/types.ts";
import type { SGD } from "../../optim/sgd.ts";
import type { GradScaler } from "../../optim/grad_scaler.ts";
import type { Schedule } from "../../optim/schedules.ts";
import type { SegDataset } from "../common.ts";
import type { EpochRecord } from "../report.ts";
import type { RunSettings } from "./settings.ts";
import type { Communicator } from "../../dist/communicator.ts";

/** Where progress lines go (console.log by default; tests collect or drop them). */
export type Log = (line: string) => void;

/** The datasets of a run and what follows from them. */
export interface TrainData {
  /** The dataset root (the bundled one when `--data` is not given). */
  root: string;
  /** The shorter side images are resized to (`--base-size` or the default measured). */
  baseSize: number;
  /** The training crop (`--crop` or {@linkcode defaultCrop} of the base size). */
  crop: number;
  trainSet: SegDataset;
  valSet: SegDataset;
  /** Classes the model predicts. */
  numClasses: number;
  /** One name per class: the dataset's, or `class i` when the count differs. */
  names: readonly string[];
  /** The dataset's colours, for the report's overlays. */
  palette: Uint8Array;
  /** Optimizer steps per epoch (full batches; at least 1). */
  itersPerEpoch: number;
}

/** The optimizer of a run and what drives it. */
export interface Optimization {
  /** SGD over the main parameters and, with its own lr multiplier, the aux head's. */
  sgd: SGD;
  /** The parameter names in SGD's order (checkpoints key momentum buffers by them). */
  paramNames: string[];
  /** Dynamic loss scaling with `--amp` on a device with f16; else null. */
  scaler: GradScaler | null;
  /** lr factor per global step. */
  schedule: Schedule;
}

/** A run assembled from its steps (see lib/cli/train.ts). */
export interface Trainer {
  settings: RunSettings;
  device: Device;
  data: TrainData;
  model: FcnModel;
  opt: Optimization;
  /** The run folder. */
  runDir: string;
  /** Progress lines (a no-op on ranks other than 0). */
  log: Log;
  /** The ranks of the job: one (a single process) without mpirun. */
  comm: Communicator;
  /** Per-class loss weights `[K]` (`--class-weights`); null for none. */
  classWeights: Tensor | null;
  /**
   * Runs after `backward()` and before the optimizer step of every step, with the gradients in
   * `opt.sgd.params[i].grad` (e.g. a gradient allreduce across ranks). None by default.
   */
  afterBackward?: () => Promise<void>;
  /** Called after each resumable state is saved, with the position it saved. None by default. */
  onCheckpoint?: (pos: Readonly<RunPosition>) => void;
}

/** Where a run stands: what a checkpoint saves and a resume restores. */
export interface RunPosition {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken (the global step the schedule reads). */
  step: number;
  /** Batches of epoch `epoch + 1` taken (0 at an epoch's boundary). */
  batch: number;
  /** The losses of those batches, in order (the epoch's record averages all of its losses). */
  epochLosses: number[];
  /** Best validation mIoU so far and its epoch (-1 and 0 before any validation). */
  best: { meanIoU: number; epoch: number };
  /** One record per completed epoch (`history.jsonl`). */
  history: EpochRecord[];
}
