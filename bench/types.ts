/**
 * The records a benchmark run produces, written to `bench/results.json`.
 *
 * @module
 */

import type { RowLoad } from "./load.ts";

/**
 * Sections of the benchmark (`--only`): our kernels and models on each backend, the data loader,
 * `predict` on a folder (images/s, inline and with image workers), the peers (TensorFlow.js, PyTorch) on the same kernels and models, and the head-to-head
 * sections, each timed in interleaved rounds: `ort` (model forwards, ours against
 * onnxruntime-node and PyTorch), `train` (the FCN-8s training step at 480 px against PyTorch,
 * with peak RSS) and `cold` (process start to first mask with a 537 MB checkpoint).
 */
export type Section =
  | "kernels"
  | "models"
  | "loader"
  | "predict"
  | "peers"
  | "ort"
  | "train"
  | "cold";

/** Every section, in the order they run. */
export const SECTIONS: readonly Section[] = [
  "kernels",
  "models",
  "loader",
  "predict",
  "peers",
  "ort",
  "train",
  "cold",
];

/** The table a result belongs to. */
export type ResultSection =
  | "kernels"
  | "models"
  | "loader"
  | "predict"
  | "ort"
  | "train"
  | "cold";

/** One measured (or skipped) item of one implementation. */
export interface BenchResult {
  /** Which table it belongs to. */
  section: ResultSection;
  /** Case key shared by all implementations, e.g. `conv/64-64@224/fwd`. */
  id: string;
  /** For people. */
  label: string;
  /** Pass or mode shown in the table, e.g. `fwd`, `train`. */
  pass: string;
  /** Who ran it: `webgpu`, `blas`, `cpu` (ours) or `tfjs-webgpu`, `tfjs-wasm`, `torch`. */
  impl: string;
  /** True for the peers (not this library). */
  peer: boolean;
  /** Median wall time of one call or step, ms; absent when not measured. */
  ms?: number;
  /** Every timed run, ms. */
  samples?: number[];
  /** Half the range of the runs over the median, percent. */
  spreadPct?: number;
  /** The only sample is the warm-up run (too slow to repeat). */
  cold?: boolean;
  /** GFLOP/s, for compute-bound kernels. */
  gflops?: number;
  /** GB/s of compulsory traffic, for memory-bound kernels. */
  gbps?: number;
  /** Images per second (models, loader, predict). */
  imagesPerSec?: number;
  /** Peak bytes held on the device during a step (models). */
  peakBytes?: number;
  /** Peak resident set of the process that ran it (VmHWM), bytes (head-to-head sections). */
  rssBytes?: number;
  /** The machine's load while it was timed. */
  load?: RowLoad;
  /**
   * Timed in interleaved rounds with the other rows of the same id: `samples[i]` of each was
   * taken in round i, so per-round ratios pair them.
   */
  interleaved?: boolean;
  /** The median of each run when `--runs` repeated it (in run order). */
  runMs?: number[];
  /** Why it was not measured ("n/a: ...", "skipped: ...") or a caveat. */
  note?: string;
}

/** Describes the machine a run happened on. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  /** Percent of all cores busy (with other work) in the second before the run; null off Linux. */
  busyBefore: number | null;
  /** Load averages (1, 5, 15 minutes) at the start and end of the run. */
  loadStart: number[];
  loadEnd: number[];
  /** Our backends' descriptions (adapter, BLAS library), by backend. */
  backends: Record<string, string>;
  /** Peer versions and settings, by implementation. */
  peers: Record<string, string>;
  deno: string;
  v8: string;
  os: string;
  date: string;
}

/** The whole of `bench/results.json`. */
export interface BenchReport {
  machine: MachineInfo;
  /** The command line flags. */
  args: string[];
  /** How many times the sections ran (`--runs`); rows are merged over the runs. */
  runs?: number;
  /** Wall time of the whole run, seconds. */
  seconds: number;
  results: BenchResult[];
  /** The WebGPU kernel variants the autotune chose (its report). */
  autotune?: string;
}
