/**
 * `eval`: scores weights on a dataset split and writes `metrics.json`.
 *
 * @module
 */
import { createModel } from "../models/create.ts";
import { skipInit } from "../nn/init.ts";
import { formatMetrics } from "../metrics/confusion_matrix.ts";
import { saveJson } from "../io/checkpoint.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "./flags.ts";
import {
  BUNDLED_MODEL,
  BUNDLED_MODEL_FILES,
  bundledData,
  DETECT_FLAGS,
  detectOverrides,
  localPath,
  openDataset,
  openDevice,
  readWeights,
  type ResolvedWeights,
  resolveWeights,
} from "./common.ts";
import { evaluate, type EvaluateOptions, type Evaluation } from "./evaluate.ts";
import type { SegmentationDataset } from "../data/dataset.ts";
import type { FcnModel } from "../models/types.ts";
import type { Shard } from "../dist/shard.ts";
import { Progress } from "./progress.ts";
import {
  MERGE_FLAG,
  mergeCommand,
  metricsJson,
  partialJson,
  SHARD_FLAGS,
  shardDataset,
  shardFromFlags,
} from "../dist/shard_cli.ts";
import { resolveWeights as fetchWeights } from "../io/weights.ts";

/** The flags of `eval`. */
export const EVAL_FLAGS: FlagSpec[] = [
  {
    name: "weights",
    type: "string",
    help:
      "run folder, .pth/.safetensors (detected without config.json), URL or torchvision:NAME (default: the bundled model)",
  },
  { name: "data", type: "string", help: "dataset root (default: the bundled synthetic dataset)" },
  {
    name: "dataset",
    type: "string",
    default: "voc",
    choices: ["voc", "folder"],
    help: "dataset layout",
  },
  { name: "split", type: "string", default: "val", help: "split name or txt file" },
  { name: "base-size", type: "int", min: 1, help: "shorter side for eval (default: the run's)" },
  { name: "original-size", type: "boolean", help: "score at the original resolution instead" },
  { name: "batch-size", type: "int", default: 4, min: 1, help: "images per forward pass" },
  {
    name: "backend",
    type: "string",
    choices: ["webgpu", "blas", "cpu"],
    help: "compute backend (default: automatic)",
  },
  { name: "workers", type: "int", default: 2, min: 0, help: "data loading workers" },
  {
    name: "out",
    type: "string",
    help: "where to write metrics.json (default: beside the weights)",
  },
  ...SHARD_FLAGS,
  ...DETECT_FLAGS,
  MERGE_FLAG,
];

/** The `eval` command. */
export async function main(args: string[]): Promise<number> {
  const p = parseFlags("eval", args, EVAL_FLAGS);
  if (p.help) {
    console.log(helpText("eval", "deno task eval [--weights run-or-file] [flags]", EVAL_FLAGS));
    return 0;
  }
  const v = p.values as EvalValues;
  if (v.merge !== undefined) {
    return await mergeCommand([v.merge as string, ...p.positionals], v.out as string | undefined);
  }
  if (p.positionals.length) throw new UsageError(`eval takes no positional arguments`);
  const shard = shardFromFlags(v);
  const source = (v.weights ? await fetchWeights(v.weights as string) : undefined) ??
    await localPath(BUNDLED_MODEL, BUNDLED_MODEL_FILES);
  const resolved = await resolveWeights(source, detectOverrides(v));
  const device = await openDevice(v.backend as string | undefined, console.log);
  const { root, all, data, names } = await evalData(v, resolved, shard);
  const model = skipInit(() => createModel(resolved.config.name, resolved.config, device));
  model.loadStateDict(await readWeights(resolved.weightsPath), { adopt: true });
  console.log(
    `Weights: ${resolved.weightsPath} (${resolved.config.name}); data: ${root} [${v.split}], ${data.length} images` +
      (shard
        ? ` (shard ${shard.index}/${shard.count} of ${all.length}, from ${shard.source})`
        : ""),
  );
  const ev = await evaluateWithProgress(model, data, {
    device,
    batchSize: v.batchSize as number,
    numClasses: resolved.config.numClasses,
    workers: v.workers as number,
  });
  const m = ev.matrix.compute();
  console.log(formatMetrics(m, names));
  console.log(`val loss ${ev.loss.toFixed(4)}, ${ev.seconds.toFixed(1)} s`);
  const header = {
    weights: resolved.weightsPath,
    data: root,
    split: v.split as string,
    classes: names,
  };
  await writeMetrics(
    (v.out as string | undefined) ?? defaultMetricsPath(resolved.weightsPath, shard),
    shard
      ? partialJson(header, { loss: ev.loss, matrix: ev.matrix, shard, images: data.length })
      : metricsJson(header, { loss: ev.loss, metrics: m }),
  );
  device.destroy();
  return 0;
}

/** Parsed `eval` flags. */
type EvalValues = Record<string, string | number | boolean | undefined>;

/** The data `eval` scores. */
interface EvalData {
  /** The dataset root. */
  root: string;
  /** The whole split. */
  all: SegmentationDataset;
  /** What this process scores: the split, or its shard. */
  data: SegmentationDataset;
  /** Class names (the model's, else the dataset's). */
  names: readonly string[];
}

/**
 * The split to score (this shard of it with `--shard`) at the run's base size, and the class
 * names, which must match the model's class count.
 */
async function evalData(
  v: EvalValues,
  resolved: ResolvedWeights,
  shard: Shard | null,
): Promise<EvalData> {
  const settings = (resolved.settings?.settings ?? {}) as Record<string, number>;
  const baseSize = (v.baseSize as number | undefined) ?? settings.baseSize ?? 520;
  const root = (v.data as string | undefined) ?? await bundledData();
  const all = await openDataset(v.dataset as string, root, v.split as string, {
    baseSize,
    keepResolution: v.originalSize === true,
    ignoreIndex: settings.ignoreIndex, // the run's --ignore-index
  });
  const data = shard ? shardDataset(all, shard) : all;
  const k = resolved.config.numClasses;
  // A run trained with --num-classes K on a dataset of another class count is scored on it too.
  const trainedWithK = settings.numClasses === k;
  if (all.classes.length !== k && !trainedWithK) {
    throw new UsageError(
      `The model has ${k} classes but the dataset ${root} [${v.split}] has ` +
        `${all.classes.length} (${all.classes.slice(0, 4).join(", ")}` +
        `${all.classes.length > 4 ? ", ..." : ""}): pass --data with the model's ${k} classes ` +
        `(its classes.json listing them), or --weights trained on this dataset`,
    );
  }
  const names = resolved.classes?.names.length === k ? resolved.classes.names : all.classes;
  return { root, all, data, names: names.length === k ? names : classNames(k) };
}

/** `class 0`, `class 1`, ... */
const classNames = (k: number) => Array.from({ length: k }, (_, i) => `class ${i}`);

/** {@linkcode evaluate} with a progress bar; also returns the seconds it took. */
async function evaluateWithProgress(
  model: FcnModel,
  data: SegmentationDataset,
  options: EvaluateOptions,
): Promise<Evaluation & { seconds: number }> {
  const bar = new Progress({ total: Math.ceil(data.length / options.batchSize), label: "eval" });
  let i = 0;
  const t0 = performance.now();
  const ev = await evaluate(model, data, {
    ...options,
    onBatch: () => bar.update(++i, {}, options.batchSize),
  });
  bar.done();
  return { ...ev, seconds: (performance.now() - t0) / 1000 };
}

/** metrics.json beside the weights (one file per shard). */
function defaultMetricsPath(weightsPath: string, shard: Shard | null): string {
  return `${weightsPath.replace(/\/[^/]*$/, "")}/metrics${
    shard ? `.shard-${shard.index}-of-${shard.count}` : ""
  }.json`;
}

/** Writes the metrics to `outPath`, or to ./metrics.json when that is not writable. */
async function writeMetrics(outPath: string, json: Record<string, unknown>): Promise<void> {
  try {
    await saveJson(outPath, json);
    console.log(`Wrote ${outPath}`);
  } catch {
    await saveJson("metrics.json", json);
    console.log(`Wrote metrics.json (${outPath} is not writable)`);
  }
}
