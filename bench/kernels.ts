/**
 * Our kernels, called on the backend directly (no tensors, no autograd), one case at a time.
 *
 * @module
 */
import { autotune } from "../lib/device/tune.ts";
import type { Backend, Storage } from "../lib/device/backend.ts";
import type { Device } from "../lib/tensor.ts";
import { caseRate, type KernelCase } from "./cases.ts";
import { randomF32, randomLabels } from "./random.ts";
import { KernelEstimator, skipNote } from "./estimate.ts";
import { measure, timingFields, type TimingOptions } from "./timing.ts";
import type { BenchResult } from "./types.ts";

/** A prepared kernel case: `run` makes one call and frees its outputs. */
export interface PreparedKernel {
  /** One call of the kernel (work may still be in flight: sync with `backend.flush()`). */
  run(): void;
  /** Frees the inputs. */
  dispose(): void;
}

/**
 * Uploads the inputs of case `c` to backend `be` and returns the call to time.
 *
 * @example Time a matmul on the reference backend
 * ```ts
 * import { createCpuBackend } from "../lib/backends/cpu.ts";
 * import { prepareKernel } from "./kernels.ts";
 *
 * const be = createCpuBackend();
 * const k = prepareKernel(be, { kind: "matmul", id: "m", label: "m", pass: "fwd", m: 2, k: 2, n: 2, flops: 16, bytes: 48 });
 * k.run();
 * k.dispose();
 * ```
 */
export function prepareKernel(be: Backend, c: KernelCase): PreparedKernel {
  const held: Storage[] = [];
  const up = (n: number, seed: number, scale = 1) => {
    const s = be.upload(randomF32(n, seed, scale));
    held.push(s);
    return s;
  };
  const dispose = () => held.splice(0).forEach((s) => be.free(s));
  const frees = (...s: (Storage | null)[]) => s.forEach((x) => x && be.free(x));
  switch (c.kind) {
    case "conv":
    case "convT": {
      const g = c.g;
      const xLen = g.n * g.c * g.h * g.w, yLen = g.n * g.k * g.oh * g.ow;
      const w = up(g.k * g.c * g.kh * g.kw, 2, 0.05); // [K, C, KH, KW]
      if (c.kind === "conv") {
        const x = up(xLen, 1), dy = up(yLen, 3), b = up(g.k, 4);
        const run = {
          fwd: () => be.free(be.conv2d({ x, w, b, geom: g, relu: false })),
          bwd_data: () => be.free(be.conv2dGradInput({ dy, w, geom: g })),
          bwd_weight: () => be.free(be.conv2dGradWeight({ dy, x, geom: g })),
        }[c.pass];
        return { run, dispose };
      }
      // convT: its input lives in the conv's output space [N, K, OH, OW], its output in x's.
      const tx = up(yLen, 1), tdy = up(xLen, 3);
      const run = {
        fwd: () => be.free(be.conv2dGradInput({ dy: tx, w, geom: g })),
        bwd_data: () => be.free(be.conv2d({ x: tdy, w, b: null, geom: g, relu: false })),
        bwd_weight: () => be.free(be.conv2dGradWeight({ dy: tx, x: tdy, geom: g })),
      }[c.pass];
      return { run, dispose };
    }
    case "pool": {
      const g = c.g;
      const x = up(g.n * g.c * g.h * g.w, 1);
      if (c.pass === "fwd") {
        return {
          run: () => {
            const r = be.maxPool2d({ x, geom: g });
            frees(r.y, r.idx);
          },
          dispose,
        };
      }
      const { y, idx } = be.maxPool2d({ x, geom: g });
      if (!idx) throw new Error("maxPool2d: indices asked for but not returned");
      held.push(y, idx);
      const dy = up(y.length, 3);
      return { run: () => be.free(be.maxPool2dGrad({ dy, idx, geom: g })), dispose };
    }
    case "ce": {
      const logits = up(c.n * c.k * c.hw, 1, 3);
      const target = be.upload(randomLabels(c.n * c.hw, c.k, 5));
      held.push(target);
      const args = { logits, target, weight: null, n: c.n, k: c.k, hw: c.hw, ignoreIndex: 255 };
      if (c.pass === "fwd") {
        return {
          run: () => {
            const r = be.crossEntropy(args);
            frees(r.loss, r.weight);
          },
          dispose,
        };
      }
      const g = up(1, 6);
      return { run: () => be.free(be.crossEntropyGrad({ ...args, g })), dispose };
    }
    case "matmul": {
      const a = up(c.m * c.k, 1), b = up(c.k * c.n, 2);
      return {
        run: () =>
          be.free(be.matmul({ a, b, m: c.m, k: c.k, n: c.n, transA: false, transB: false })),
        dispose,
      };
    }
  }
}

/** Options of {@linkcode benchKernels}. */
export interface KernelBenchOptions {
  /** Warm-up, repetitions and budget of each case. */
  timing: TimingOptions;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
  /** Skip a case estimated (from the earlier ones) to take longer than this, ms (default none). */
  capMs?: number;
}

/**
 * Times every case on the backend of `device`, each run ended by `device.flush()`; GFLOP/s for
 * compute-bound cases, GB/s of compulsory traffic for the others.
 */
export async function benchKernels(
  device: Device,
  cases: readonly KernelCase[],
  options: KernelBenchOptions,
): Promise<BenchResult[]> {
  const be = device.backend;
  const results: BenchResult[] = [];
  const estimator = new KernelEstimator();
  const cap = options.capMs ?? Infinity;
  for (const c of cases) {
    const base = {
      section: "kernels" as const,
      id: c.id,
      label: c.label,
      pass: c.pass,
      impl: device.kind,
      peer: false,
    };
    let r: BenchResult;
    let k: PreparedKernel | null = null;
    const est = estimator.estimate(c);
    if (est !== null && est > cap) {
      r = { ...base, note: skipNote(est, cap, "call") };
      results.push(r);
      options.onResult?.(r);
      continue;
    }
    try {
      k = prepareKernel(be, c);
      if (device.kind === "webgpu") {
        // One untimed call registers the shape class, then the tuned variant is timed.
        k.run();
        await device.flush();
        await autotune(device);
      }
      const t = await measure(k.run, () => device.flush(), options.timing);
      estimator.record(c, t.median);
      r = { ...base, ...timingFields(t), ...caseRate(c, t.median) };
    } catch (e) {
      r = { ...base, note: `n/a: ${(e as Error).message.split("\n")[0]}` };
    } finally {
      k?.dispose();
    }
    results.push(r);
    options.onResult?.(r);
  }
  return results;
}
