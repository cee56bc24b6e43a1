/**
 * Starting or resuming a run: the settings (a resumed run's own, plus what a session may
 * change), the state it continues from, and the run folder with its `config.json`.
 *
 * @module
 */
import { type LastState, loadLastState, saveJson } from "../../io/checkpoint.ts";
import { UsageError } from "../flags.ts";
import {
  copyDefined,
  RESUME_OVERRIDES,
  type ResumeSettings,
  type TrainSettings,
} from "./settings.ts";
import type { Log, RunPosition, Trainer } from "./types.ts";

/** A run's settings and, when it is resumed, the saved state it continues from. */
export interface RunStart {
  settings: TrainSettings;
  /** The newest complete generation of the run folder; null for a new run. */
  resumed: LastState | null;
}

const isResume = (f: TrainSettings | ResumeSettings): f is ResumeSettings => Boolean(f.resume);

/**
 * The settings of a new run (`flags` as given), or of a resumed one: its `config.json` settings
 * with the {@linkcode RESUME_OVERRIDES} given in `flags`, and its last saved state. A run resumes
 * with as many ranks as it was trained with (`ranks`, 1 without mpirun): its steps are global
 * batches of that many times `--batch-size` images.
 */
export async function startRun(
  flags: TrainSettings | ResumeSettings,
  log: Log,
  ranks = 1,
): Promise<RunStart> {
  if (!isResume(flags)) return { settings: flags, resumed: null };
  const dir = flags.resume;
  let json;
  try {
    json = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  } catch (e) {
    throw new UsageError(`Cannot resume from "${dir}": ${(e as Error).message}`);
  }
  const saved = json.parallel?.ranks ?? 1;
  if (saved !== ranks) {
    throw new UsageError(
      `Cannot resume "${dir}" with ${ranks} rank${ranks === 1 ? "" : "s"}: it was trained with ` +
        `${saved} (global batch ${saved} x ${json.settings?.batchSize}); resume it with ` +
        (saved === 1 ? "one process (no mpirun)" : `mpirun -np ${saved}`),
    );
  }
  // The run's own settings, except what may change between sessions.
  const settings: TrainSettings = {
    ...json.settings,
    resume: dir,
    out: dir,
    maxSteps: flags.maxSteps,
  };
  for (const k of RESUME_OVERRIDES) copyDefined(settings, flags, k);
  const resumed = await loadLastState(dir);
  const { epoch, step, batch = 0 } = resumed.state;
  log(
    batch > 0
      ? `Resuming ${dir} in epoch ${epoch + 1} at batch ${batch + 1} (step ${step})`
      : `Resuming ${dir} after epoch ${epoch} (step ${step})`,
  );
  return { settings, resumed };
}

/** Makes a run folder name from the model and the time. */
function defaultOut(model: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `runs/${model}-${t}`;
}

/**
 * The run folder (`--out`, else `runs/<model>-<time>`), created if missing when `create` (rank 0
 * of a data-parallel job; the other ranks write nothing).
 */
export async function runFolder(s: TrainSettings, create = true): Promise<string> {
  const dir = s.out ?? defaultOut(s.model);
  if (create) await Deno.mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Begins a new run in its folder: `config.json` (model config, classes, settings, seed, device,
 * and under mpirun the ranks and the global batch) and an empty `history.jsonl` — written by
 * rank 0 only; returns the position of a run that has taken no step.
 */
export async function newRun(t: Trainer): Promise<RunPosition> {
  const { settings: s, data, device, comm } = t;
  const start: RunPosition = {
    epoch: 0,
    step: 0,
    batch: 0,
    epochLosses: [],
    best: { meanIoU: -1, epoch: 0 },
    history: [],
  };
  if (comm.rank !== 0) return start;
  await saveJson(`${t.runDir}/config.json`, {
    model: t.model.config,
    classes: { names: data.names, colors: data.trainSet.colors.slice(0, data.numClasses) },
    settings: s,
    seed: s.seed,
    device: { kind: device.kind, description: device.description },
    ...(comm.size > 1
      ? { parallel: { ranks: comm.size, globalBatch: comm.size * s.batchSize, mpi: comm.kind } }
      : {}),
  });
  await Deno.writeTextFile(`${t.runDir}/history.jsonl`, "");
  return start;
}
