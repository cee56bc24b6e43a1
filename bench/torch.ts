/**
 * PyTorch as a peer: runs `scripts/bench_torch.py` with the system Python when
 * `/usr/bin/python3 -c "import torch"` works, handing it the cases as JSON on stdin and reading
 * its JSON answer from stdout.
 *
 * @module
 */
import { caseRate, type KernelCase, type ModelCase } from "./cases.ts";
import type { RowLoad } from "./load.ts";
import { blasThreads } from "./machine.ts";
import type { TimingOptions } from "./timing.ts";
import type { BenchResult } from "./types.ts";

/** The interpreter the peer runs with (Debian's python3-torch lives there). */
export const PYTHON = "/usr/bin/python3";

/** Options of {@linkcode benchTorch}. */
export interface TorchBenchOptions {
  /** Warm-up, repetitions and budget of each case (the script follows the same rules). */
  timing: TimingOptions;
  /** `torch.set_num_threads` (default: our BLAS backend's thread count, {@linkcode blasThreads}). */
  threads?: number;
  /** The script (default `scripts/bench_torch.py` beside this repository's root). */
  script?: string;
}

/** What {@linkcode benchTorch} found. */
export interface TorchBench {
  results: BenchResult[];
  /** e.g. "PyTorch 1.13.0, 2 threads, oneDNN", or why it was skipped. */
  description: string;
}

/** One row of the script's answer. */
interface TorchRow {
  id: string;
  ms?: number;
  samples?: number[];
  cold?: boolean;
  load?: RowLoad | null;
  note?: string;
}

/** Whether `import torch` works with {@linkcode PYTHON}. */
export async function torchAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import torch"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Turns the script's rows into results, in the order of the cases; missing ones are n/a. */
export function torchResults(
  rows: readonly TorchRow[],
  kernels: readonly KernelCase[],
  models: readonly ModelCase[],
): BenchResult[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const fill = (
    r: TorchRow | undefined,
    base: Omit<BenchResult, "impl" | "peer">,
    rate: (ms: number) => Partial<BenchResult>,
  ): BenchResult => {
    const out: BenchResult = { ...base, impl: "torch", peer: true };
    if (!r) return { ...out, note: "n/a: no answer from bench_torch.py" };
    if (r.ms === undefined) return { ...out, note: r.note ?? "n/a" };
    const s = r.samples ?? [r.ms];
    const spread = (Math.max(...s) - Math.min(...s)) / 2 / r.ms * 100;
    return {
      ...out,
      ms: r.ms,
      samples: s,
      spreadPct: spread,
      cold: r.cold ?? false,
      ...(r.load ? { load: r.load } : {}),
      ...rate(r.ms),
    };
  };
  return [
    ...kernels.map((c) =>
      fill(
        byId.get(c.id),
        { section: "kernels", id: c.id, label: c.label, pass: c.pass },
        (ms) => caseRate(c, ms),
      )
    ),
    ...models.map((c) =>
      fill(
        byId.get(c.id),
        {
          section: "models",
          id: c.id,
          label: c.label.replace(/ (forward|train) /, " "),
          pass: c.mode,
        },
        (ms) => ({ imagesPerSec: c.batch / (ms / 1000) }),
      )
    ),
  ];
}

/**
 * Runs the PyTorch peer on `kernels` and `models`; when torch does not import, every row is
 * "skipped" with the reason.
 */
export async function benchTorch(
  kernels: readonly KernelCase[],
  models: readonly ModelCase[],
  options: TorchBenchOptions,
): Promise<TorchBench> {
  const skipped = (why: string): TorchBench => ({
    results: torchResults([], kernels, models).map((r) => ({ ...r, note: `skipped: ${why}` })),
    description: `PyTorch: skipped (${why})`,
  });
  if (!(await torchAvailable())) return skipped(`${PYTHON} -c "import torch" failed`);
  const script = options.script ??
    new URL("../scripts/bench_torch.py", import.meta.url).pathname;
  const t = options.timing;
  const finite = (v: number | undefined, fallback: number) =>
    v === undefined ? fallback : Number.isFinite(v) ? v : 1e12;
  const spec = {
    threads: options.threads ?? blasThreads(),
    timing: {
      warmup: t.warmup ?? 1,
      warmup_ms: t.warmupMs ?? 0,
      reps: t.reps ?? 5,
      budget_ms: finite(t.budgetMs, 3000),
      min_time_ms: t.minTimeMs ?? 0,
      max_reps: t.maxReps ?? t.reps ?? 5,
      single_run_ms: finite(t.singleRunMs, 1e12),
    },
    kernels,
    models,
  };
  const child = new Deno.Command(PYTHON, {
    args: [script],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(spec)));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "";
    return skipped(`bench_torch.py exited with ${out.code}: ${err}`);
  }
  let answer: {
    torch: string;
    threads: number;
    default_threads?: number;
    mkldnn: boolean;
    results: TorchRow[];
  };
  try {
    answer = JSON.parse(text.trim().split("\n").at(-1) ?? "");
  } catch {
    return skipped(`bench_torch.py printed no JSON: ${text.slice(0, 200)}`);
  }
  return {
    results: torchResults(answer.results, kernels, models),
    description:
      `PyTorch ${answer.torch}, ${answer.threads} threads (set to match ours; its default here: ${
        answer.default_threads ?? "?"
      })${answer.mkldnn ? ", oneDNN" : ""}, other settings default`,
  };
}
