/**
 * The checkpoint of a run after each epoch — `best.safetensors` when the mIoU improved, the
 * resumable generation (`last.safetensors`, `optimizer.safetensors`, `state.json`) and
 * `history.jsonl` — and its restoration when a run resumes.
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
    ...(scaler ? { scaler: scaler.state() } : {}),
  };
}

/**
 * Saves the run after epoch `pos.epoch` (the last record of `pos.history`): `best.safetensors`
 * when its mIoU beats `pos.best` (which it updates on every rank), then the resumable state and
 * the history. Only rank 0 writes.
 */
export async function saveCheckpoint(t: Trainer, pos: RunPosition): Promise<void> {
  const record = pos.history.at(-1)!;
  const improved = Number.isFinite(record.meanIoU) && record.meanIoU > pos.best.meanIoU;
  if (improved) pos.best = { meanIoU: record.meanIoU, epoch: pos.epoch };
  if (t.comm.rank !== 0) return;
  const weights = await t.model.stateDict();
  if (improved) {
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
  await writeFileAtomic(
    `${t.runDir}/history.jsonl`,
    pos.history.map((h) => JSON.stringify(h)).join("\n") + "\n",
  );
}

/**
 * Puts a resumed run back where it stopped: weights, momentum buffers, dropout seed counter and
 * loss scale; returns its position, with the history up to its last saved epoch.
 */
export async function restoreCheckpoint(t: Trainer, last: LastState): Promise<RunPosition> {
  const { state } = last;
  t.model.loadStateDict(last.weights);
  t.opt.sgd.loadStateDict(unnamedBuffers(t.opt.paramNames, last.optimizer));
  t.model.seeds.counter = state.dropoutCounter;
  if (t.opt.scaler && state.scaler) t.opt.scaler.load(state.scaler);
  const text = await Deno.readTextFile(`${t.runDir}/history.jsonl`).catch(() => "");
  const history: EpochRecord[] = text.split("\n").filter((l) => l.trim())
    .map((l) => JSON.parse(l)).filter((h) => h.epoch <= state.epoch);
  return {
    epoch: state.epoch,
    step: state.step,
    best: { meanIoU: state.bestMeanIoU, epoch: state.bestEpoch },
    history,
  };
}
