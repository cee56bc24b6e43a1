/**
 * Shards for job arrays: shard `i` of `n` takes the items whose index (in sorted order) is `i`
 * mod `n`, so the `n` shards together take every item exactly once and need no collective.
 * `--shard auto` reads the index from Kubernetes Indexed Jobs (`JOB_COMPLETION_INDEX`, with the
 * count from `--shards`) or Slurm job arrays (`SLURM_ARRAY_TASK_ID/MIN/COUNT`).
 *
 * @module
 */
import type { EnvReader } from "./env.ts";

/** Shard `index` of `count` (0 <= index < count). */
export interface Shard {
  /** This shard, 0..count-1. */
  index: number;
  /** Number of shards. */
  count: number;
  /** Where it came from, for messages: "--shard 1/4", "JOB_COMPLETION_INDEX", "Slurm array". */
  source: string;
}

/** Raised for a shard spec or environment that cannot name a shard; the message says why. */
export class ShardError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "ShardError";
  }
}

/** Options of {@linkcode parseShard}. */
export interface ParseShardOptions {
  /** The shard count for `auto` under Kubernetes (the `--shards` flag). */
  shards?: number;
  /** The environment `auto` reads (default `Deno.env.get`). */
  env?: EnvReader;
}

function int(text: string | undefined, what: string): number {
  const n = Number(text?.trim());
  if (text === undefined || text.trim() === "" || !Number.isInteger(n) || n < 0) {
    throw new ShardError(`Expected ${what} to be an integer >= 0 but found "${text}"`);
  }
  return n;
}

function checked(index: number, count: number, source: string): Shard {
  if (count < 1) throw new ShardError(`${source}: expected at least 1 shard but found ${count}`);
  if (index >= count) {
    throw new ShardError(`${source}: shard index ${index} is not below the count ${count}`);
  }
  return { index, count, source };
}

/**
 * Parses `--shard i/n` or `--shard auto` (see the module doc).
 *
 * @example Explicit and automatic shards
 * ```ts
 * import { parseShard } from "./shard.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * assertEquals(parseShard("1/4"), { index: 1, count: 4, source: "--shard 1/4" });
 * const k8s = { JOB_COMPLETION_INDEX: "2" };
 * const env = (k: string) => k8s[k as keyof typeof k8s];
 * assertEquals(parseShard("auto", { shards: 3, env }).index, 2);
 * ```
 */
export function parseShard(spec: string, options: ParseShardOptions = {}): Shard {
  const text = spec.trim();
  if (text === "auto") return autoShard(options);
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) {
    throw new ShardError(
      `--shard "${spec}" is not a shard; expected i/n (e.g. 0/4, 0-based) or auto`,
    );
  }
  return checked(Number(m[1]), Number(m[2]), `--shard ${text}`);
}

function autoShard(options: ParseShardOptions): Shard {
  const env = options.env ?? ((k: string) => Deno.env.get(k));
  const k8s = env("JOB_COMPLETION_INDEX");
  if (k8s !== undefined) {
    if (options.shards === undefined) {
      throw new ShardError(
        "--shard auto found JOB_COMPLETION_INDEX (Kubernetes Indexed Job) but no --shards: " +
          "pass --shards with the Job's completions",
      );
    }
    return checked(int(k8s, "JOB_COMPLETION_INDEX"), options.shards, "JOB_COMPLETION_INDEX");
  }
  const id = env("SLURM_ARRAY_TASK_ID");
  if (id !== undefined) {
    const step = env("SLURM_ARRAY_TASK_STEP");
    if (step !== undefined && int(step, "SLURM_ARRAY_TASK_STEP") !== 1) {
      throw new ShardError(
        `--shard auto: SLURM_ARRAY_TASK_STEP is ${step}, but shards need consecutive task ids: ` +
          `submit with --array=0-${"N-1"} (step 1), or pass --shard i/n`,
      );
    }
    const min = int(env("SLURM_ARRAY_TASK_MIN"), "SLURM_ARRAY_TASK_MIN");
    const count = int(env("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT");
    const max = env("SLURM_ARRAY_TASK_MAX");
    if (max !== undefined && int(max, "SLURM_ARRAY_TASK_MAX") - min + 1 !== count) {
      throw new ShardError(
        `--shard auto: the Slurm array ${min}-${max} has ${count} tasks, not one per id: ` +
          `submit a range with step 1 (--array=0-${"N-1"}), or pass --shard i/n`,
      );
    }
    return checked(int(id, "SLURM_ARRAY_TASK_ID") - min, count, "Slurm array");
  }
  throw new ShardError(
    "--shard auto found neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor " +
      "SLURM_ARRAY_TASK_ID (Slurm array); pass --shard i/n",
  );
}

/**
 * The items of `shard`: sorted (by `options.key`, default the item itself as a string, in code
 * unit order), then every `count`-th from `index` on.
 *
 * @example Four paths in two shards
 * ```ts
 * import { shardOf } from "./shard.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const paths = ["d.png", "a.png", "c.png", "b.png"];
 * assertEquals(shardOf(paths, { index: 0, count: 2, source: "" }), ["a.png", "c.png"]);
 * assertEquals(shardOf(paths, { index: 1, count: 2, source: "" }), ["b.png", "d.png"]);
 * ```
 */
export function shardOf<T>(
  items: readonly T[],
  shard: Shard,
  options: { key?: (item: T) => string } = {},
): T[] {
  const key = options.key ?? String;
  const sorted = items.map((item) => ({ item, k: key(item) }))
    .sort((a, b) => a.k < b.k ? -1 : a.k > b.k ? 1 : 0);
  return sorted.filter((_, i) => i % shard.count === shard.index).map((e) => e.item);
}
