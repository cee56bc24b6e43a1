/**
 * `deno task bench`: runs the selected sections on our backends and the peers, prints the tables
 * and writes `results.json` and `results.md`.
 *
 * @module
 */
import { autotuneReport } from "../lib/kernels/autotune.ts";
import { requestDevice } from "../lib/device/request.ts";
import type { WebGpuBackend } from "../lib/backends/webgpu.ts";
import type { BenchOptions } from "./args.ts";
import {
  type KernelCase,
  kernelCases,
  type ModelCase,
  modelCases,
  quickKernelCases,
} from "./cases.ts";
import { benchCold } from "./cold_start.ts";
import { benchHeadToHead, headCases } from "./headtohead.ts";
import { benchKernels } from "./kernels.ts";
import { benchLoaderSection } from "./loader.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { benchModels } from "./models.ts";
import { benchPredictSection } from "./predict.ts";
import { fmt, reportMarkdown, reportText } from "./report.ts";
import type { TimingOptions } from "./timing.ts";
import { benchTfjs, disposeTfjs } from "./tfjs.ts";
import { benchTorch } from "./torch.ts";
import { mergeRuns } from "./runs.ts";
import type { BenchReport, BenchResult, MachineInfo } from "./types.ts";

const START = performance.now();

/** One progress line on stderr per result, so a long run shows where it is. */
function progress(r: BenchResult): void {
  const figure = r.gflops !== undefined
    ? `${fmt(r.gflops)} GFLOP/s`
    : r.gbps !== undefined
    ? `${fmt(r.gbps)} GB/s`
    : r.imagesPerSec !== undefined
    ? `${fmt(r.imagesPerSec)} img/s`
    : "";
  const ms = r.ms !== undefined ? `${fmt(r.ms)} ms${r.cold ? " (1 run)" : ""}` : "";
  const peak = r.peakBytes !== undefined
    ? `, peak ${fmt(r.peakBytes / 2 ** 20)} MiB`
    : r.rssBytes !== undefined
    ? `, peak RSS ${fmt(r.rssBytes / 2 ** 20)} MiB`
    : "";
  const n = r.samples ? `, n=${r.samples.length}` : "";
  const load = r.load ? `, other work ${r.load.otherPct}%, load ${r.load.avg1}` : "";
  const what = [ms, figure].filter((s) => s).join(", ");
  const at = ((performance.now() - START) / 1000).toFixed(0).padStart(4);
  console.error(
    `${at}s [${r.impl}] ${r.label} ${r.pass}: ${what}${peak}${n}${load}${
      r.note ? ` (${r.note})` : ""
    }`,
  );
}

/**
 * The timing rules. A full run times every row {@linkcode BenchOptions.reps} (>= 5) times after a
 * warm-up, however slow (no time budget, no single-run rows); cheap kernels get more samples (up
 * to 5x reps) while under 300 ms. `--quick` is a smoke run: up to `reps` samples within a 1 s
 * budget, and a WebGPU run of 4 s or more kept as the only sample (marked with a star).
 */
export function timingFor(o: BenchOptions, gpu: boolean): TimingOptions {
  if (o.quick) {
    return {
      warmup: 1,
      reps: o.reps,
      maxReps: 5 * o.reps,
      budgetMs: 1000,
      singleRunMs: gpu ? 4000 : Infinity,
      warmupMs: 100,
      minTimeMs: 150,
    };
  }
  return {
    warmup: 1,
    reps: o.reps,
    maxReps: 5 * o.reps,
    budgetMs: Infinity,
    singleRunMs: Infinity,
    warmupMs: 200,
    minTimeMs: 300,
  };
}

/** Model cases of one backend: FCN-ResNet50 at 480 only on BLAS (the BLAS issue's target). */
function modelCasesFor(kind: string, all: ModelCase[]): ModelCase[] {
  return all.filter((c) => c.size !== 480 || kind === "blas");
}

/**
 * Formats written files with this Deno's `deno fmt`, so that the project's `deno fmt --check`
 * stays clean (best effort: a failure leaves them as written).
 */
async function denoFmt(paths: string[]): Promise<void> {
  try {
    await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", ...paths],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // not fatal: the results are written either way
  }
}

/** What one run's sections share: the options, the case lists, the machine and the sink. */
interface RunContext {
  o: BenchOptions;
  kernels: KernelCase[];
  models: ModelCase[];
  machine: MachineInfo;
  onResult: (r: BenchResult) => void;
}

/** Our kernels and models on each backend. */
async function oursSections({ o, kernels, models, machine, onResult }: RunContext): Promise<void> {
  if (!o.sections.has("kernels") && !o.sections.has("models")) return;
  for (const kind of o.backends) {
    const timing = timingFor(o, kind === "webgpu");
    let software = false;
    try {
      const device = await requestDevice({ backend: kind });
      machine.backends[kind] = device.description;
      try {
        if (o.sections.has("kernels")) {
          await benchKernels(device, kernels, { timing, onResult, capMs: o.capMs / 3 });
        }
        software = kind === "webgpu" && (device.backend as WebGpuBackend).rt.isSoftware;
      } finally {
        device.destroy();
      }
    } catch (e) {
      machine.backends[kind] = `n/a: ${(e as Error).message.split("\n")[0]}`;
      console.error(`[${kind}] ${machine.backends[kind]}`);
      continue;
    }
    if (o.sections.has("models")) {
      // A software adapter needs a minute for one full-width FCN-8s pass: not in a quick run.
      const skip = (c: ModelCase) =>
        o.quick && software && c.model !== "fcn8s_small"
          ? "skipped: --quick on a software adapter runs only the small model"
          : null;
      await benchModels(kind, modelCasesFor(kind, models), {
        timing,
        capMs: o.capMs,
        onResult,
        skip,
      });
    }
  }
}

/** TensorFlow.js and PyTorch on the same kernels and models. */
async function peerSection({ o, kernels, models, machine, onResult }: RunContext): Promise<void> {
  const peers = o.backends.includes("webgpu") ? ["webgpu", "wasm"] as const : ["wasm"] as const;
  for (const p of peers) {
    const t = await benchTfjs(p, kernels, {
      timing: timingFor(o, p === "webgpu"),
      onResult,
      capMs: o.capMs / 3,
    });
    machine.peers[`tfjs-${p}`] = t.description;
  }
  await disposeTfjs();
  console.error("[torch] running scripts/bench_torch.py ...");
  // PyTorch: batch 1 at the smallest and largest sizes (the brief's 224, and 64 for --quick).
  const sizes = [64, 224, 480];
  const torchModels = models.filter((c) => c.batch === 1 && sizes.includes(c.size));
  const torch = await benchTorch(kernels, torchModels, { timing: timingFor(o, false) });
  torch.results.forEach(onResult);
  machine.peers.torch = torch.description;
}

/** The interleaved head-to-head sections: ort, train and cold. */
async function headSections({ o, machine, onResult }: RunContext): Promise<void> {
  const rounds = { warmup: 1, rounds: o.reps };
  const onDescription = (impl: string, d: string) => {
    if (impl === "blas") machine.backends.blas ??= d;
    else machine.peers[impl] = d;
  };
  for (const section of ["ort", "train"] as const) {
    if (!o.sections.has(section)) continue;
    console.error(`[${section}] interleaved rounds: ours, then the peers, in step servers ...`);
    await benchHeadToHead(headCases(section, o.quick), { ...rounds, onResult, onDescription });
  }
  if (o.sections.has("cold")) {
    console.error("[cold] process start to first mask, interleaved ...");
    await benchCold({ ...rounds, onResult, onDescription });
  }
}

/** Runs the benchmark described by `o`; writes the results under `o.out` and returns them. */
export async function runBench(o: BenchOptions, args: string[]): Promise<BenchReport> {
  const t0 = performance.now();
  const machine = await describeMachine();
  const raw: BenchResult[] = [];
  const ctx: RunContext = {
    o,
    kernels: o.quick ? quickKernelCases() : kernelCases(),
    models: modelCases({ quick: o.quick, large: true }),
    machine,
    onResult: (r) => {
      raw.push(r);
      progress(r);
    },
  };
  for (let run = 1; run <= o.runs; run++) {
    if (o.runs > 1) console.error(`--- run ${run} of ${o.runs}`);
    await oursSections(ctx);
    if (o.sections.has("loader")) {
      await benchLoaderSection({ epochs: o.quick ? 1 : 3, reps: o.reps, onResult: ctx.onResult });
    }
    if (o.sections.has("predict")) {
      await benchPredictSection({ rounds: o.reps, quick: o.quick, onResult: ctx.onResult });
    }
    if (o.sections.has("peers")) await peerSection(ctx);
    await headSections(ctx);
  }

  machine.loadEnd = loadAverage();
  const report: BenchReport = {
    machine,
    args,
    runs: o.runs,
    seconds: (performance.now() - t0) / 1000,
    results: mergeRuns(raw),
    autotune: autotuneReport(),
  };
  await Deno.mkdir(o.out, { recursive: true });
  await Deno.writeTextFile(`${o.out}/results.json`, JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(`${o.out}/results.md`, reportMarkdown(report));
  await denoFmt([`${o.out}/results.json`, `${o.out}/results.md`]);
  console.log(reportText(report));
  console.log(`Wrote ${o.out}/results.json and ${o.out}/results.md`);
  return report;
}
