/**
 * The checkpoint of a run — after each epoch, and inside an epoch every `--checkpoint-every`
 * steps or when `--max-steps` stops it there — and its restoration when a run resumes.
 *
 * At an epoch's end: `history.jsonl` with the epoch's record, `best.safetensors` when the mIoU
 * improved, then the resumable generation (`last.safetensors`, `optimizer.safetensors`,
 * `state.json`, written as one: lib/io/checkpoint.ts). Inside an epoch: the generation only, its
 * state holding the batches of the epoch taken and their losses. The generation is written last,
 * so a run killed at any moment resumes from a generation whose epochs the history holds (a
 * record newer than the generation is dropped and made again).
 *
 * @module
 */
import {
  type LastState,
  namedBuffers,
  saveLastState,
  saveWeights,
  type TrainState,
  unnamedBuffers,
} from "../../io/checkpoint.ts";
import { writeFileAtomic } from "../../io/atomic.ts";
import type { EpochRecord } from "../report.ts";
import type { RunPosition, Trainer } from "./types.ts";

/** The JSON part of the resumable state at `pos`. */
function trainState(t: Trainer, pos: RunPosition): TrainState {
  const { scaler } = t.opt;
  return {
    epoch: pos.epoch,
    step: pos.step,
    bestMeanIoU: pos.best.meanIoU,
    bestEpoch: pos.best.epoch,
    dropoutCounter: t.model.seeds.counter,
    ...(pos.batch > 0 ? { batch: pos.batch, epochLosses: pos.epochLosses } : {}),
    ...(scaler ? { scaler: scaler.state() } : {}),
  };
}

/**
 * Saves the run at `pos`. At an epoch's boundary (`pos.batch` 0; the last record of
 * `pos.history` is epoch `pos.epoch`): the history, and `best.safetensors` when the epoch's mIoU
 * beats `pos.best` (which it updates, on every rank); then, always, the resumable state. Only
 * rank 0 writes.
 */
export async function saveCheckpoint(t: Trainer, pos: RunPosition): Promise<void> {
  const record = pos.history.at(-1);
  const boundary = pos.batch === 0 && record !== undefined && record.epoch === pos.epoch;
  const improved = boundary && Number.isFinite(record.meanIoU) &&
    record.meanIoU > pos.best.meanIoU;
  if (improved) pos.best = { meanIoU: record.meanIoU, epoch: pos.epoch };
  if (t.comm.rank === 0) await writeCheckpoint(t, pos, { boundary, improved });
  t.onCheckpoint?.(pos);
}

/** Rank 0's files of {@linkcode saveCheckpoint}. */
async function writeCheckpoint(
  t: Trainer,
  pos: RunPosition,
  at: { boundary: boolean; improved: boolean },
): Promise<void> {
  const weights = await t.model.stateDict();
  if (at.boundary) {
    await writeFileAtomic(
      `${t.runDir}/history.jsonl`,
      pos.history.map((h) => JSON.stringify(h)).join("\n") + "\n",
    );
  }
  if (at.improved) {
    const record = pos.history.at(-1)!;
    await saveWeights(`${t.runDir}/best.safetensors`, weights, {
      epoch: String(pos.epoch),
      meanIoU: String(record.meanIoU),
    });
  }
  await saveLastState(t.runDir, {
    state: trainState(t, pos),
    weights,
    optimizer: namedBuffers(t.opt.paramNames, await t.opt.sgd.stateDict()),
  });
}

/**
 * Puts a resumed run back where it stopped: weights, momentum buffers, dropout seed counter and
 * loss scale; returns its position (inside an epoch: the batches taken and their losses), with
 * the history up to its last saved epoch, one record per epoch.
 */
export async function restoreCheckpoint(t: Trainer, last: LastState): Promise<RunPosition> {
  const { state } = last;
  t.model.loadStateDict(last.weights);
  t.opt.sgd.loadStateDict(unnamedBuffers(t.opt.paramNames, last.optimizer));
  t.model.seeds.counter = state.dropoutCounter;
  if (t.opt.scaler && state.scaler) t.opt.scaler.load(state.scaler);
  const text = await Deno.readTextFile(`${t.runDir}/history.jsonl`).catch(() => "");
  const byEpoch = new Map<number, EpochRecord>();
  for (const line of text.split("\n").filter((l) => l.trim())) {
    const h: EpochRecord = JSON.parse(line);
    if (h.epoch <= state.epoch) byEpoch.set(h.epoch, h);
  }
  return {
    epoch: state.epoch,
    step: state.step,
    batch: state.batch ?? 0,
    epochLosses: state.epochLosses ?? [],
    best: { meanIoU: state.bestMeanIoU, epoch: state.bestEpoch },
    history: [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch),
  };
}
