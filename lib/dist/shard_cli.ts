/**
 * The `--shard` flags of `predict` and `eval`, and `eval --merge`: shard `i` of `n` writes its
 * share (predictions, or a partial confusion matrix with the metrics of its share); merging the
 * `n` partial files gives the metrics.json an unsharded eval writes.
 *
 * @module
 */
import {
  ConfusionMatrix,
  formatMetrics,
  type SegmentationMetrics,
} from "../metrics/confusion_matrix.ts";
import { SegmentationDataset } from "../data/dataset.ts";
import { saveJson } from "../io/checkpoint.ts";
import { type FlagSpec, UsageError } from "../cli/flags.ts";
import { parseShard, type Shard, ShardError, shardOf } from "./shard.ts";

/** `--shard` and `--shards`, for the flag tables of `predict` and `eval`. */
export const SHARD_FLAGS: FlagSpec[] = [
  {
    name: "shard",
    type: "string",
    help: "do only shard i/n (0-based; items sorted, index mod n), or auto from " +
      "JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_*",
  },
  { name: "shards", type: "int", min: 1, help: "shard count for --shard auto under Kubernetes" },
];

/** The shard the flags name, or null without `--shard`; bad values are usage errors. */
export function shardFromFlags(values: Record<string, unknown>): Shard | null {
  if (values.shard === undefined) {
    if (values.shards !== undefined) throw new UsageError("--shards needs --shard auto");
    return null;
  }
  try {
    return parseShard(values.shard as string, { shards: values.shards as number | undefined });
  } catch (e) {
    if (e instanceof ShardError) throw new UsageError(e.message);
    throw e;
  }
}

/** `eval --merge`: names the partial files (the flag's value, then the positionals). */
export const MERGE_FLAG: FlagSpec = {
  name: "merge",
  type: "string",
  help: "sum the partial files of eval --shard (--merge a.json b.json ...) into --out",
};

/**
 * The samples of `data` in `shard` (sorted by image path, index mod n), as a dataset with the
 * same classes and transform.
 */
export function shardDataset(data: SegmentationDataset, shard: Shard): SegmentationDataset {
  return new SegmentationDataset({
    samples: shardOf(data.samples, shard, { key: (s) => s.image }),
    classes: data.classes.map((name, i) => ({ name, color: data.colors[i] })),
    transform: data.spec.transform,
    train: data.trainByDefault,
    seed: data.seed,
  });
}

/** What an unsharded eval writes to metrics.json, less the metrics. */
export interface EvalHeader {
  /** The weights file. */
  weights: string;
  /** The dataset root. */
  data: string;
  /** The split. */
  split: string;
  /** Class names. */
  classes: readonly string[];
}

/** The metrics.json of an eval: header, mean loss per counted pixel, metrics. */
export function metricsJson(
  header: EvalHeader,
  result: { loss: number; metrics: SegmentationMetrics },
): Record<string, unknown> {
  return {
    weights: header.weights,
    data: header.data,
    split: header.split,
    loss: result.loss,
    classes: header.classes,
    ...result.metrics,
  };
}

/** Marks a partial eval file. */
const PARTIAL = "fcn-eval-shard/1";

/**
 * The file `eval --shard` writes: the metrics of its share (as metrics.json has them), plus its
 * shard, its confusion matrix `[K, K]` (row = target) and the sum of its pixels' losses.
 */
export function partialJson(
  header: EvalHeader,
  result: { loss: number; matrix: ConfusionMatrix; shard: Shard; images: number },
): Record<string, unknown> {
  const m = result.matrix;
  const pixels = m.matrix.reduce((a, b) => a + b, 0);
  return {
    ...metricsJson(header, { loss: result.loss, metrics: m.compute() }),
    format: PARTIAL,
    shard: { index: result.shard.index, count: result.shard.count },
    images: result.images,
    pixels,
    lossSum: pixels > 0 ? result.loss * pixels : 0,
    ignoreIndex: m.ignoreIndex,
    matrix: Array.from(m.matrix),
  };
}

interface Partial {
  path: string;
  json: Record<string, unknown>;
}

function field<T>(p: Partial, name: string, ok: (v: unknown) => boolean, want: string): T {
  const v = p.json[name];
  if (!ok(v)) {
    throw new UsageError(
      `${p.path}: expected "${name}" to be ${want} but found ${JSON.stringify(v)}`,
    );
  }
  return v as T;
}

/**
 * Sums the partial files of `eval --shard` into the metrics.json an unsharded eval writes.
 * Every shard 0..n-1 must be there exactly once, from the same weights, data, split and classes.
 */
export function mergePartials(
  files: readonly { path: string; text: string }[],
): { json: Record<string, unknown>; metrics: SegmentationMetrics; classes: string[] } {
  if (files.length === 0) throw new UsageError("eval --merge needs the partial files to merge");
  const parts: Partial[] = files.map(({ path, text }) => {
    let json;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${path} is not JSON (${(e as Error).message})`);
    }
    if (json?.format !== PARTIAL) {
      throw new UsageError(
        `${path} is not a partial eval file (no "format": "${PARTIAL}"); write them with ` +
          `eval --shard i/n --out FILE`,
      );
    }
    return { path, json };
  });
  const first = parts[0];
  const classes = field<string[]>(first, "classes", Array.isArray, "a list of class names");
  const k = classes.length;
  const count = (first.json.shard as { count: number }).count;
  const seen = new Map<number, string>();
  const total = new ConfusionMatrix(k, { ignoreIndex: first.json.ignoreIndex as number });
  let lossSum = 0, pixels = 0;
  for (const p of parts) {
    for (const key of ["weights", "data", "split", "classes"]) {
      if (JSON.stringify(p.json[key]) !== JSON.stringify(first.json[key])) {
        throw new UsageError(
          `${p.path} has ${key} ${JSON.stringify(p.json[key])} but ${first.path} has ` +
            `${JSON.stringify(first.json[key])}: merge the shards of one eval`,
        );
      }
    }
    const shard = p.json.shard as { index: number; count: number };
    if (shard.count !== count) {
      throw new UsageError(`${p.path} is a shard of ${shard.count} but ${first.path} of ${count}`);
    }
    if (seen.has(shard.index)) {
      throw new UsageError(`${p.path} and ${seen.get(shard.index)} are both shard ${shard.index}`);
    }
    seen.set(shard.index, p.path);
    const matrix = field<number[]>(
      p,
      "matrix",
      (v) => Array.isArray(v) && v.length === k * k,
      `${k * k} counts`,
    );
    const part = new ConfusionMatrix(k, { ignoreIndex: total.ignoreIndex });
    part.matrix.set(matrix);
    total.merge(part);
    lossSum += field<number>(p, "lossSum", Number.isFinite, "a number");
    pixels += field<number>(p, "pixels", Number.isFinite, "a number");
  }
  const missing = [...Array(count).keys()].filter((i) => !seen.has(i));
  if (missing.length) {
    throw new UsageError(
      `eval --merge: shard(s) ${
        missing.join(", ")
      } of ${count} are missing; pass all ${count} files`,
    );
  }
  const metrics = total.compute();
  const text = (name: string) => field<string>(first, name, (v) => typeof v === "string", "text");
  const header: EvalHeader = {
    weights: text("weights"),
    data: text("data"),
    split: text("split"),
    classes,
  };
  const loss = pixels > 0 ? lossSum / pixels : NaN;
  return { json: metricsJson(header, { loss, metrics }), metrics, classes };
}

/** `eval --merge FILE... [--out FILE]`: merges, prints the table and writes metrics.json. */
export async function mergeCommand(paths: readonly string[], out?: string): Promise<number> {
  const files = [];
  for (const path of paths) {
    try {
      files.push({ path, text: await Deno.readTextFile(path) });
    } catch (e) {
      throw new UsageError(`Cannot read ${path} (${(e as Error).message})`);
    }
  }
  const { json, metrics, classes } = mergePartials(files);
  console.log(`Merged ${paths.length} shard(s) of ${json.weights} on ${json.data} [${json.split}]`);
  console.log(formatMetrics(metrics, classes));
  const outPath = out ?? "metrics.json";
  await saveJson(outPath, json);
  console.log(`Wrote ${outPath}`);
  return 0;
}
