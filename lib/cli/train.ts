/**
 * `train`: trains an FCN, validating every `--eval-every` epochs, keeping `best` and `last`
 * weights, an exact resumable state, `history.jsonl` and `report.html` in the run folder.
 *
 * The run is a sequence of named steps, one module each under `train/`: start or resume the
 * run (start.ts), build the data (data.ts), the model (model.ts) and the optimizer
 * (optimizer.ts), then per epoch train (epoch.ts, one step in step.ts), validate (validate.ts,
 * on ../evaluate.ts, which `eval` shares), save the checkpoint (checkpoint.ts) and the report
 * (report.ts). Under `mpirun` the run is data-parallel (parallel.ts): every rank runs these
 * steps on its share of each global batch, and only rank 0 writes the run folder and prints.
 *
 * @module
 */
import { helpText, parseFlags, UsageError } from "./flags.ts";
import { openDevice } from "./common.ts";
import type { EpochRecord } from "./report.ts";
import {
  type ResumeSettings,
  type RunSettings,
  settingsFromFlags,
  TRAIN_FLAGS,
  type TrainSettings,
} from "./train/settings.ts";
import { newRun, runFolder, startRun } from "./train/start.ts";
import { checkGivenFlags } from "./train/flag_checks.ts";
import { buildData } from "./train/data.ts";
import { buildModel } from "./train/model.ts";
import { buildOptimizer } from "./train/optimizer.ts";
import { budgetSpent, trainEpoch } from "./train/epoch.ts";
import { validate, validates } from "./train/validate.ts";
import { restoreCheckpoint, saveCheckpoint } from "./train/checkpoint.ts";
import { epochLine, epochRecord, type Validation, writeReport } from "./train/report.ts";
import type { Log, RunPosition, TrainData, Trainer } from "./train/types.ts";
import { openCommunicator } from "../dist/communicator.ts";
import { isParallel, joinRanks, rankZeroLog } from "./train/parallel.ts";
import { patienceLine, patienceSpent, resolveRun } from "./train/budget.ts";
import { applyPreset, scratchWarning } from "./train/preset.ts";
import { resolveClassWeights } from "./train/class_weights.ts";
import { type Device, type Tensor, tensor } from "../tensor.ts";

export { type ResumeSettings, TRAIN_FLAGS, type TrainSettings } from "./train/settings.ts";

/** What a finished (or stopped) run reports. */
export interface TrainResult {
  runDir: string;
  history: EpochRecord[];
  /** The loss of every step run by this call, in order. */
  losses: number[];
  /** The steps at which this call saved the resumable state, in order. */
  checkpoints: number[];
  best: { meanIoU: number; epoch: number };
}

/**
 * Trains as the flags say (a new run, or `{ resume: dir }` to continue one). Logs with `log`
 * (on rank 0 only under mpirun); returns the history and per-step losses (of the global batch).
 */
export async function train(
  flags: TrainSettings | ResumeSettings,
  log: Log = (s) => console.log(s),
): Promise<TrainResult> {
  const comm = openCommunicator();
  log = rankZeroLog(comm, log);
  const { settings: flagged, resumed } = await startRun(flags, log, comm.size);
  if (flagged.recipe) log(flagged.recipe);
  const device = await openDevice(flagged.backend, log);
  const data = await buildData(flagged, log, comm.size);
  const s = resolveRun(flagged, data, log);
  const warning = resumed ? null : scratchWarning(s, data.trainSet.length);
  if (warning) log(warning);
  if (s.dryRun) return dryRun(s, device, log);
  const model = await buildModel(s, { data, device, pretrained: !resumed, log });
  const opt = buildOptimizer(model, s, { device, itersPerEpoch: data.itersPerEpoch, log });
  const classWeights = await lossWeights(s, data, device, log);
  const checkpoints: number[] = [];
  const t: Trainer = {
    settings: s,
    device,
    data,
    model,
    opt,
    runDir: await runFolder(s, comm.rank === 0),
    log,
    comm,
    classWeights,
    onCheckpoint: (p) => checkpoints.push(p.step),
  };
  const commSeconds = joinRanks(t);
  const pos = resumed ? await restoreCheckpoint(t, resumed) : await newRun(t);
  log(`Run folder: ${t.runDir}`);
  const losses: number[] = [];
  const t0 = performance.now();
  let last: EpochResult | null = null;
  while (pos.epoch < s.epochs && !budgetSpent(s, pos)) {
    if (patienceSpent(s, pos)) {
      log(patienceLine(s, pos, s.epochs));
      break;
    }
    const r = await runEpoch(t, pos);
    losses.push(...r.losses);
    if (r.validation) last = r;
  }
  if (last && !last.tablePrinted) log(`Epoch ${last.epoch}:\n${last.validation!.table}`);
  if (isParallel(comm)) log(allreduceLine(commSeconds(), (performance.now() - t0) / 1000));
  log(
    `Best mIoU ${(pos.best.meanIoU * 100).toFixed(2)}% at epoch ${pos.best.epoch}; ` +
      `files in ${t.runDir}`,
  );
  model.dispose();
  opt.sgd.dispose();
  classWeights?.dispose();
  device.destroy();
  return { runDir: t.runDir, history: pos.history, losses, checkpoints, best: pos.best };
}

/** `--dry-run`: prints the resolved settings and trains nothing. */
function dryRun(s: RunSettings, device: Device, log: Log): TrainResult {
  log(`Settings: ${JSON.stringify(s)}`);
  log("Dry run: nothing trained");
  device.destroy();
  return { runDir: "", history: [], losses: [], checkpoints: [], best: { meanIoU: -1, epoch: 0 } };
}

/** `--class-weights` as a tensor `[K]` on the device (kept in the settings); null for none. */
async function lossWeights(
  s: RunSettings,
  data: TrainData,
  device: Device,
  log: Log,
): Promise<Tensor | null> {
  const w = await resolveClassWeights({
    flag: s.classWeights,
    saved: s.classWeightValues,
    trainSet: data.trainSet,
    numClasses: data.numClasses,
    names: data.names,
    log,
  });
  if (!w) return null;
  s.classWeightValues = w;
  return tensor(Float32Array.from(w), [w.length], device);
}

/** What an epoch gave: its losses and validation, and whether its per-class table was logged. */
interface EpochResult {
  epoch: number;
  losses: number[];
  validation: Validation | null;
  tablePrinted: boolean;
}

/**
 * How long rank 0 spent in the gradient allreduce (waiting for the other ranks included), of
 * the training loop's time (validations and checkpoints included).
 */
function allreduceLine(allreduce: number, total: number): string {
  return `Gradient allreduce: ${allreduce.toFixed(1)} s of ${total.toFixed(1)} s in the ` +
    `training loop (${(100 * allreduce / Math.max(total, 1e-9)).toFixed(1)}%, waiting for the ` +
    `other ranks included)`;
}

/**
 * One epoch of a run (or its rest, from the batch a stopped run reached): trains it; when
 * `--max-steps` stops it inside, saves the checkpoint there; else validates when due, logs its
 * line (and the per-class table at a new best), saves the checkpoint and (after a validation)
 * the report.
 */
async function runEpoch(t: Trainer, pos: RunPosition): Promise<EpochResult> {
  const t0 = performance.now();
  const losses = await trainEpoch(t, pos);
  if (pos.batch < t.data.itersPerEpoch) {
    await saveCheckpoint(t, pos);
    t.log(
      `Stopped at step ${pos.step} (--max-steps), batch ${pos.batch} of epoch ${pos.epoch + 1}`,
    );
    return { epoch: pos.epoch, losses, validation: null, tablePrinted: false };
  }
  pos.epoch++;
  const record = epochRecord(t, pos, pos.epochLosses);
  pos.batch = 0;
  pos.epochLosses = [];
  const validation = validates(t.settings, pos.epoch) ? await validate(t, record) : null;
  record.seconds = (performance.now() - t0) / 1000;
  const newBest = validation !== null && record.meanIoU > pos.best.meanIoU;
  t.log(epochLine(record) + (newBest ? " (new best)" : ""));
  if (newBest) t.log(validation.table);
  pos.history = [...pos.history.filter((h) => h.epoch !== record.epoch), record];
  await saveCheckpoint(t, pos);
  if (validation) await writeReport(t, pos.history, validation);
  return { epoch: pos.epoch, losses, validation, tablePrinted: newBest };
}

/** The `train` command: parses flags, trains, returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseFlags("train", args, TRAIN_FLAGS);
  if (parsed.help) {
    console.log(helpText("train", "deno task train [flags]", TRAIN_FLAGS));
    return 0;
  }
  if (parsed.positionals.length) {
    throw new UsageError(`train takes no positional arguments but got "${parsed.positionals[0]}"`);
  }
  checkGivenFlags(parsed);
  const flags = settingsFromFlags(parsed);
  await train("steps" in flags ? applyPreset(flags, parsed.given) : flags);
  return 0;
}
