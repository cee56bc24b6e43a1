/**
 * The head-to-head sections: the same model, batch 1, run by ours (BLAS backend), onnxruntime-node
 * (on the PyTorch export) and PyTorch, each in a step server of its own (`bench/step_client.ts`)
 * and timed in interleaved rounds. `ort`: FCN-8s/VGG16 @224 and FCN-ResNet50 @480 forward (eval).
 * `train`: the FCN-8s/VGG16 training step at 480 px (the crop VOC training uses), ours against
 * PyTorch, with each process's peak RSS.
 *
 * @module
 */
import { interleave } from "./interleave.ts";
import { blasThreads } from "./machine.ts";
import { StepProcess } from "./step_client.ts";
import type { StepSetup } from "./step_server.ts";
import { summarize } from "./stats.ts";
import { PYTHON, torchAvailable } from "./torch.ts";
import type { BenchResult } from "./types.ts";

/** Where `scripts/make_bench_onnx.py` writes the ONNX exports. */
export const ONNX_DIR = new URL("../.cache/bench/onnx/", import.meta.url).pathname;

/** The command that makes the ONNX exports. */
export const MAKE_ONNX = `${PYTHON} scripts/make_bench_onnx.py`;

/** What to install when PyTorch does not import. */
export const INSTALL_TORCH = "apt-get install -y python3-torch python3-torchvision";

/** One head-to-head row. */
export interface HeadCase {
  section: "ort" | "train";
  id: string;
  label: string;
  model: "fcn8s" | "fcn_resnet50";
  size: number;
  mode: "forward" | "train";
  /** The ONNX export onnxruntime-node runs (forward rows), a file name under {@linkcode ONNX_DIR}. */
  onnx?: string;
}

const LABELS = { fcn8s: "FCN-8s VGG16", fcn_resnet50: "FCN-ResNet50" };

function headCase(
  section: HeadCase["section"],
  model: HeadCase["model"],
  size: number,
  onnx?: string,
): HeadCase {
  const mode = section === "ort" ? "forward" : "train";
  return {
    section,
    id: `${section}/${model}/${size}/b1/${mode}`,
    label: `${LABELS[model]} ${size}px b1`,
    model,
    size,
    mode,
    ...(onnx ? { onnx } : {}),
  };
}

/**
 * The rows of the `ort` and `train` sections; `--quick` keeps FCN-8s forward at 224 and trains
 * at 224 instead of 480.
 *
 * @example
 * ```ts
 * import { headCases } from "./headtohead.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * assertEquals(headCases("ort", false).map((c) => c.id), ["ort/fcn8s/224/b1/forward", "ort/fcn_resnet50/480/b1/forward"]);
 * assertEquals(headCases("train", true).map((c) => c.id), ["train/fcn8s/224/b1/train"]);
 * ```
 */
export function headCases(section: "ort" | "train", quick: boolean): HeadCase[] {
  if (section === "train") return [headCase("train", "fcn8s", quick ? 224 : 480)];
  const all = [
    headCase("ort", "fcn8s", 224, "fcn8s_224.onnx"),
    headCase("ort", "fcn_resnet50", 480, "fcn_resnet50_480.onnx"),
  ];
  return quick ? all.slice(0, 1) : all;
}

/** Options of {@linkcode benchHeadToHead}. */
export interface HeadOptions {
  /** Untimed rounds first. */
  warmup: number;
  /** Timed rounds (samples per contender). */
  rounds: number;
  onResult?: (r: BenchResult) => void;
  /** Called with each contender's description (versions, threads) by implementation. */
  onDescription?: (impl: string, description: string) => void;
}

/** A contender of a head-to-head row: its implementation name, command and setup line. */
export interface Entry {
  impl: string;
  peer: boolean;
  cmd: string[];
  setup: StepSetup | Record<string, unknown>;
}

const SERVER = new URL("./step_server.ts", import.meta.url).pathname;
const TORCH_SERVER = new URL("../scripts/bench_step_torch.py", import.meta.url).pathname;

function row(c: HeadCase, impl: string, extra: Partial<BenchResult>): BenchResult {
  return {
    section: c.section,
    id: c.id,
    label: c.label,
    pass: c.mode,
    impl,
    peer: impl !== "blas",
    ...extra,
  };
}

/**
 * The peers of a case: onnxruntime-node (forward rows) and PyTorch, each as a step server to
 * start, or as a row whose note says how to make what is missing (the ONNX export under
 * `onnxDir`, PyTorch).
 *
 * @example
 * ```ts
 * import { headCases, peerEntries } from "./headtohead.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const [c] = headCases("ort", true);
 * const [ort, torch] = await peerEntries(c, 2, false, "/nonexistent/");
 * assertEquals("note" in ort && ort.note, "n/a: /nonexistent/fcn8s_224.onnx is missing: run /usr/bin/python3 scripts/make_bench_onnx.py");
 * assertEquals("note" in torch && torch.note?.startsWith("skipped: /usr/bin/python3 -c"), true);
 * ```
 */
export async function peerEntries(
  c: HeadCase,
  threads: number,
  torch: boolean,
  onnxDir: string = ONNX_DIR,
): Promise<(Entry | BenchResult)[]> {
  const out: (Entry | BenchResult)[] = [];
  if (c.onnx) {
    const file = `${onnxDir}${c.onnx}`;
    const exists = await Deno.stat(file).then(() => true, () => false);
    out.push(
      exists
        ? {
          impl: "ort",
          peer: true,
          cmd: [Deno.execPath(), "run", "-A", SERVER],
          setup: { engine: "ort", onnx: file, size: c.size, threads },
        }
        : row(c, "ort", { note: `n/a: ${file} is missing: run ${MAKE_ONNX}` }),
    );
  }
  out.push(
    torch
      ? {
        impl: "torch",
        peer: true,
        cmd: [PYTHON, TORCH_SERVER],
        setup: { model: c.model, size: c.size, mode: c.mode, threads },
      }
      : row(c, "torch", {
        note: `skipped: ${PYTHON} -c "import torch" failed: ${INSTALL_TORCH}`,
      }),
  );
  return out;
}

/** Starts the step servers one after the other (each holds a full model); failures become rows. */
async function startAll(
  c: HeadCase,
  entries: Entry[],
  emit: (r: BenchResult) => void,
): Promise<{ e: Entry; p: StepProcess }[]> {
  const started: { e: Entry; p: StepProcess }[] = [];
  for (const e of entries) {
    try {
      started.push({ e, p: await StepProcess.start(e.impl, e.cmd, e.setup) });
    } catch (err) {
      emit(row(c, e.impl, { note: `n/a: ${(err as Error).message.split("\n")[0]}` }));
    }
  }
  return started;
}

/** Times one case: ours first (its thread count is the peers'), then the peers, interleaved. */
async function benchCase(c: HeadCase, torch: boolean, o: HeadOptions): Promise<void> {
  const emit = (r: BenchResult) => o.onResult?.(r);
  const ours: Entry = {
    impl: "blas",
    peer: false,
    cmd: [Deno.execPath(), "run", "-A", SERVER],
    setup: { engine: "blas", model: c.model, size: c.size, mode: c.mode },
  };
  const started = await startAll(c, [ours], emit);
  if (started.length === 0) {
    for (const p of await peerEntries(c, blasThreads(), torch)) {
      emit("section" in p ? p : row(c, p.impl, { note: "skipped: ours could not start" }));
    }
    return;
  }
  const threads = Number(started[0].p.info.threads) || blasThreads();
  for (const p of await peerEntries(c, threads, torch)) {
    if ("section" in p) emit(p);
    else started.push(...await startAll(c, [p], emit));
  }
  try {
    for (const { e, p } of started) o.onDescription?.(e.impl, p.description);
    const rss: Record<string, number | undefined> = {};
    const r = await interleave(
      started.map(({ e, p }) => ({
        name: e.impl,
        once: async () => {
          const s = await p.step();
          rss[e.impl] = s.rssBytes;
          return s.ms;
        },
      })),
      {
        warmup: o.warmup,
        rounds: o.rounds,
        pids: started.map(({ p }) => p.pid),
        onRound: (i) => console.error(`  [${c.section}] ${c.label}: round ${i + 1} of ${o.rounds}`),
      },
    );
    for (const { e } of started) {
      const samples = r.samples[e.impl];
      const s = summarize(samples);
      emit(row(c, e.impl, {
        ms: s.median,
        samples,
        spreadPct: s.spreadPct,
        imagesPerSec: 1000 / s.median,
        interleaved: true,
        ...(rss[e.impl] !== undefined ? { rssBytes: rss[e.impl] } : {}),
        ...(r.load ? { load: r.load } : {}),
      }));
    }
  } catch (err) {
    const why = `n/a: ${(err as Error).message.split("\n")[0]}`;
    for (const { e } of started) emit(row(c, e.impl, { note: why }));
  } finally {
    for (const { p } of started) await p.close();
  }
}

/** Runs the head-to-head `cases`, each in interleaved rounds of its contenders. */
export async function benchHeadToHead(
  cases: readonly HeadCase[],
  options: HeadOptions,
): Promise<void> {
  const torch = await torchAvailable();
  for (const c of cases) await benchCase(c, torch, options);
}
