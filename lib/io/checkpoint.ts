/**
 * A run folder: `config.json`, `last.safetensors` + `optimizer.safetensors` + `state.json`
 * (written as one generation), `best.safetensors`, `history.jsonl`.
 *
 * Every file is written to a temporary name and renamed. A generation is saved by writing all its
 * files, moving the previous generation to `*.prev`, then renaming the new files into place, so
 * that killing the process at any moment leaves one complete generation (current or previous)
 * that {@linkcode loadLastState} finds: every file of a generation records the same `step`.
 *
 * @module
 */
import type { HostTensor, StateDict } from "./host_tensor.ts";
import type { GradScalerState } from "../optim/grad_scaler.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { writeFileAtomic } from "./atomic.ts";

/** The small, JSON part of a resumable training state. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken (global iteration). */
  step: number;
  /** Batches of epoch `epoch + 1` taken, for a state saved inside an epoch (absent: 0). */
  batch?: number;
  /** The losses of those batches, in order. */
  epochLosses?: number[];
  /** Best validation mIoU so far and its epoch. */
  bestMeanIoU: number;
  bestEpoch: number;
  /** Dropout seed counter of the model. */
  dropoutCounter: number;
  /** Loss-scale state of mixed precision (absent in f32). */
  scaler?: GradScalerState;
}

/** A complete saved generation. */
export interface LastState {
  state: TrainState;
  weights: StateDict;
  /** Momentum buffers keyed by parameter name (absent where none). */
  optimizer: StateDict;
}

const FILES = ["last.safetensors", "optimizer.safetensors", "state.json"] as const;

const join = (dir: string, f: string) => `${dir.replace(/\/+$/, "")}/${f}`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Saves weights, optimizer buffers and state as one generation. */
export async function saveLastState(dir: string, last: LastState): Promise<void> {
  const meta = { step: String(last.state.step) };
  const blobs: Record<(typeof FILES)[number], Uint8Array | string> = {
    "last.safetensors": writeSafetensors(last.weights, meta),
    "optimizer.safetensors": writeSafetensors(last.optimizer, meta),
    "state.json": JSON.stringify(last.state, null, 2) + "\n",
  };
  const tmp = `.tmp-${Deno.pid}`;
  for (const f of FILES) {
    const data = blobs[f];
    const path = join(dir, f + tmp);
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
  }
  for (const f of FILES) {
    if (await exists(join(dir, f))) await Deno.rename(join(dir, f), join(dir, f + ".prev"));
  }
  for (const f of FILES) await Deno.rename(join(dir, f + tmp), join(dir, f));
  for (const f of FILES) await Deno.remove(join(dir, f + ".prev")).catch(() => {});
}

/**
 * Loads the newest complete generation of a run folder (falling back to a previous one a crash
 * left behind); throws naming the folder when there is none.
 */
export async function loadLastState(dir: string): Promise<LastState> {
  const g = await findGeneration(dir);
  if (g) return g;
  throw new Error(
    `No resumable state in ${dir}: expected last.safetensors, optimizer.safetensors and state.json ` +
      "from the same step (is this a run folder made by `train`?)",
  );
}

/** Current files first, then `.prev` ones a crash between renames left behind. */
async function findGeneration(dir: string): Promise<LastState | null> {
  const pick = async (f: string): Promise<string[]> => {
    const out: string[] = [];
    for (const s of ["", ".prev"]) if (await exists(join(dir, f + s))) out.push(join(dir, f + s));
    return out;
  };
  for (const s of await pick("state.json")) {
    for (const w of await pick("last.safetensors")) {
      for (const o of await pick("optimizer.safetensors")) {
        try {
          const state = JSON.parse(await Deno.readTextFile(s));
          const wf = readSafetensors(await Deno.readFile(w));
          const of = readSafetensors(await Deno.readFile(o));
          const step = String(state.step);
          if (wf.metadata.step === step && of.metadata.step === step) {
            return { state, weights: wf.tensors, optimizer: of.tensors };
          }
        } catch {
          // try the next combination
        }
      }
    }
  }
  return null;
}

/** Writes weights atomically (e.g. `best.safetensors`). */
export async function saveWeights(
  path: string,
  weights: StateDict,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, writeSafetensors(weights, metadata));
}

/** Writes a JSON file atomically. */
export async function saveJson(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Converts optimizer buffers (parameter order) to a dict keyed by parameter name. */
export function namedBuffers(
  names: string[],
  buffers: (HostTensor | null)[],
): StateDict {
  const out: StateDict = {};
  names.forEach((n, i) => {
    const b = buffers[i];
    if (b) out[`momentum_buffer.${n}`] = b;
  });
  return out;
}

/** The inverse of {@linkcode namedBuffers}. */
export function unnamedBuffers(names: string[], dict: StateDict): (HostTensor | null)[] {
  return names.map((n) => dict[`momentum_buffer.${n}`] ?? null);
}
