/**
 * The command line of `deno task bench`.
 *
 * @module
 */
import type { BackendKind } from "../lib/device/backend.ts";
import { BACKENDS } from "../lib/device/request.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "../lib/cli/flags.ts";
import { type Section, SECTIONS } from "./types.ts";

/** Flags of `deno task bench`. */
export const BENCH_FLAGS: FlagSpec[] = [
  {
    name: "quick",
    type: "boolean",
    default: false,
    help:
      "a smoke run: fewer kernels, 64 px models, 3 samples a row (the full run takes at least 5)",
  },
  {
    name: "backend",
    type: "string",
    default: "webgpu,blas",
    help: "our backends to measure (webgpu, blas, cpu), comma-separated",
  },
  {
    name: "only",
    type: "string",
    default: SECTIONS.join(","),
    help:
      "sections to run, comma-separated: kernels, models, loader, predict (images/s on a folder, inline vs image workers), peers (tfjs and PyTorch on the kernels and models), ort (forward vs onnxruntime-node and PyTorch), train (FCN-8s step at 480 px vs PyTorch), cold (process start to mask)",
  },
  {
    name: "cap",
    type: "number",
    min: 1,
    help:
      "skip model cases estimated to take longer than this many seconds a step, kernels a third of it (default 30, quick 15)",
  },
  {
    name: "reps",
    type: "int",
    min: 1,
    help: "timed samples per row (default 5, at least 5 without --quick; quick 3)",
  },
  {
    name: "runs",
    type: "int",
    min: 1,
    default: 1,
    help:
      "repeat the selected sections this many times; rows merge and ratios show the range of the per-run ratios",
  },
  { name: "out", type: "string", default: "bench", help: "folder of results.json and results.md" },
];

/** What to run, from the command line. */
export interface BenchOptions {
  quick: boolean;
  backends: BackendKind[];
  sections: Set<Section>;
  /** Model cases estimated above this many ms per step are skipped (kernels: a third). */
  capMs: number;
  /** Timed samples per row (at least {@linkcode MIN_REPS} unless quick). */
  reps: number;
  /** Times the selected sections are repeated. */
  runs: number;
  out: string;
}

/** The fewest timed samples a row of a full (not `--quick`) run has. */
export const MIN_REPS = 5;

/** Splits a comma-separated list and checks every item against `allowed`. */
function list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s);
  for (const i of items) {
    if (!allowed.includes(i as T)) {
      throw new UsageError(`--${flag}: unknown "${i}"; expected some of ${allowed.join(", ")}`);
    }
  }
  if (items.length === 0) {
    throw new UsageError(`--${flag}: expected at least one of ${allowed.join(", ")}`);
  }
  return [...new Set(items)] as T[];
}

/**
 * Parses the flags; null when `--help` was asked (the help is printed).
 *
 * @example
 * ```ts
 * import { parseBenchArgs } from "./args.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const o = parseBenchArgs(["--quick", "--backend", "blas", "--only", "kernels,peers"])!;
 * assertEquals([o.quick, o.backends, [...o.sections], o.reps, o.runs], [true, ["blas"], ["kernels", "peers"], 3, 1]);
 * ```
 */
export function parseBenchArgs(args: string[]): BenchOptions | null {
  const p = parseFlags("bench", args, BENCH_FLAGS);
  if (p.help) {
    console.log(helpText("bench", "deno task bench [flags]", BENCH_FLAGS));
    return null;
  }
  if (p.positionals.length) {
    throw new UsageError(`bench takes no positional arguments but got ${p.positionals.join(" ")}`);
  }
  const v = p.values;
  const quick = v.quick as boolean;
  const reps = (v.reps as number | undefined) ?? (quick ? 3 : MIN_REPS);
  if (!quick && reps < MIN_REPS) {
    throw new UsageError(
      `--reps: a full run takes at least ${MIN_REPS} samples a row but got ${reps}; add --quick for fewer`,
    );
  }
  return {
    quick,
    backends: list("backend", v.backend as string, BACKENDS),
    sections: new Set(list("only", v.only as string, SECTIONS)),
    capMs: ((v.cap as number | undefined) ?? (quick ? 15 : 30)) * 1000,
    reps,
    runs: v.runs as number,
    out: v.out as string,
  };
}
