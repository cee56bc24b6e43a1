/**
 * Whole-model benchmarks on our backends: inference, and forward + backward + SGD step, with
 * images per second and the peak device memory of a step.
 *
 * @module
 */
import { autocast } from "../lib/autograd.ts";
import { GradScaler } from "../lib/optim/grad_scaler.ts";
import { noGrad } from "../lib/autograd.ts";
import type { BackendKind } from "../lib/device/backend.ts";
import { requestDevice } from "../lib/device/request.ts";
import { createModel } from "../lib/models/create.ts";
import { crossEntropy } from "../lib/ops/loss.ts";
import { SGD } from "../lib/optim/sgd.ts";
import { Device, tensor, tidy } from "../lib/tensor.ts";
import { MODEL_CONFIGS, type ModelCase, type ModelKind, type ModelSetup } from "./cases.ts";
import { estimateModelMs, skipNote } from "./estimate.ts";
import { trackPeak } from "./peak.ts";
import { randomF32, randomLabels } from "./random.ts";
import { measure, timingFields, type TimingOptions } from "./timing.ts";
import type { BenchResult } from "./types.ts";

/** Options of {@linkcode benchModels}. */
export interface ModelBenchOptions {
  /** Warm-up, repetitions and budget of each case. */
  timing: TimingOptions;
  /** Skip a case whose estimated time per step exceeds this many ms. */
  capMs: number;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
  /** The models built for each kind (default {@linkcode MODEL_CONFIGS}; tests use tiny ones). */
  configs?: Record<ModelKind, ModelSetup>;
  /** Returns why case `c` is not run on this backend, or null to run it. */
  skip?: (c: ModelCase) => string | null;
}

/** A result row for a model case. */
function row(c: ModelCase, impl: string, extra: Partial<BenchResult>): BenchResult {
  return {
    section: "models",
    id: c.id,
    label: c.label.replace(/ (forward|train) /, " "),
    pass: c.mode,
    impl,
    peer: false,
    ...extra,
  };
}

/**
 * Compiles the WebGPU pipelines of a model kind on a tiny model of the same structure (the
 * kernels' sources do not depend on sizes), so the first timed case does not pay for them.
 */
function prewarm(device: Device, cfg: ModelSetup): Promise<void> {
  const tiny = cfg.name === "fcn8s"
    ? { ...cfg.options, width: 1 / 16, headChannels: 16 }
    : { ...cfg.options, width: 1 / 16, layers: [1, 1, 1, 1] as [number, number, number, number] };
  const model = createModel(cfg.name, tiny, device);
  const x = tensor(randomF32(2 * 3 * 32 * 32, 1), [2, 3, 32, 32], device);
  const t = tensor(randomLabels(2 * 32 * 32, cfg.options.numClasses, 2), [2, 32, 32], device);
  const sgd = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
  model.eval();
  noGrad(() => tidy(() => model.forward(x).out)).dispose();
  model.train();
  trainStep(model, sgd, x, t).dispose();
  sgd.zeroGrad();
  sgd.loadStateDict(sgd.params.map(() => null));
  for (const d of [x, t, model]) d.dispose();
  return device.flush();
}

/** One training step as `deno task train` runs it; returns the loss. */
export function trainStep(
  model: ReturnType<typeof createModel>,
  sgd: SGD,
  x: import("../lib/tensor.ts").Tensor,
  t: import("../lib/tensor.ts").Tensor,
) {
  return tidy(() => {
    const loss = crossEntropy(model.forward(x).out, t);
    sgd.zeroGrad();
    loss.backward();
    sgd.step();
    return loss;
  });
}

/**
 * Runs the model cases on backend `kind`, each model on a fresh device whose backend is wrapped
 * by {@linkcode trackPeak}. Cases estimated (from the cheaper ones) to take longer than
 * `capMs` per step are reported as skipped.
 */
export async function benchModels(
  kind: BackendKind,
  cases: readonly ModelCase[],
  options: ModelBenchOptions,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const emit = (r: BenchResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  const done: { c: ModelCase; ms: number }[] = [];
  const kinds = [...new Set(cases.map((c) => c.model))];
  for (const mk of kinds) {
    const base = await requestDevice({ backend: kind });
    const tracker = trackPeak(base.backend);
    const device = new Device(tracker.backend);
    try {
      const cfg = (options.configs ?? MODEL_CONFIGS)[mk];
      if (kind === "webgpu") await prewarm(device, cfg);
      const model = createModel(cfg.name, cfg.options, device);
      for (const c of cases.filter((c) => c.model === mk)) {
        if (options.skip?.(c)) {
          emit(row(c, kind, { note: options.skip(c)! }));
          continue;
        }
        const est = estimateModelMs(c, done);
        if (est !== null && est > options.capMs) {
          emit(
            row(c, kind, {
              note: skipNote(est, options.capMs, c.mode === "train" ? "step" : "pass"),
            }),
          );
          continue;
        }
        emit(
          await benchCase(device, tracker, model, cfg.options.numClasses, c, kind, options.timing),
        );
        const last = results.at(-1)!;
        if (last.ms !== undefined) done.push({ c, ms: last.ms });
      }
      model.dispose();
    } finally {
      device.destroy();
    }
  }
  return results;
}

async function benchCase(
  device: Device,
  tracker: ReturnType<typeof trackPeak>,
  model: ReturnType<typeof createModel>,
  k: number,
  c: ModelCase,
  impl: string,
  timing: TimingOptions,
): Promise<BenchResult> {
  const { size, batch } = c;
  const x = tensor(randomF32(batch * 3 * size * size, 11), [batch, 3, size, size], device);
  const t = tensor(randomLabels(batch * size * size, k, 12), [batch, size, size], device);
  let peak = 0;
  let run: () => void | Promise<void>;
  let sgd: SGD | null = null;
  if (c.mode === "forward") {
    model.eval();
    run = () => noGrad(() => tidy(() => model.forward(x).out)).dispose();
  } else if (c.mode === "train-amp") {
    model.train();
    const opt = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
    sgd = opt;
    const scaler = new GradScaler();
    run = async () => {
      const scaled = tidy(() => {
        const loss = autocast(() => crossEntropy(model.forward(x).out, t));
        opt.zeroGrad();
        return scaler.scale(loss);
      });
      scaled.backward();
      scaled.dispose();
      await scaler.step(opt);
    };
  } else {
    model.train();
    const opt = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
    sgd = opt;
    run = () => trainStep(model, opt, x, t).dispose();
  }
  try {
    const timed = await measure(
      async () => {
        tracker.reset();
        await run();
        peak = Math.max(peak, tracker.peak());
      },
      () => device.flush(),
      timing,
    );
    return row(c, impl, {
      ...timingFields(timed),
      imagesPerSec: batch / (timed.median / 1000),
      peakBytes: peak,
    });
  } catch (e) {
    return row(c, impl, { note: `n/a: ${(e as Error).message.split("\n")[0]}` });
  } finally {
    if (sgd) {
      sgd.zeroGrad();
      sgd.loadStateDict(sgd.params.map(() => null));
    }
    x.dispose();
    t.dispose();
  }
}
