/**
 * TensorFlow.js 4.22 as a peer: tfjs-core with tfjs-backend-webgpu (on the same adapter as our
 * WebGPU backend) or tfjs-backend-wasm, on the same kernel cases. tfjs works in NHWC with HWIO
 * filters, so inputs are laid out that way; the backward passes are tfjs's own kernels
 * (`Conv2DBackpropInput`, `Conv2DBackpropFilter`, `MaxPoolGrad`) run through
 * `tf.engine().runKernel`, and the cross-entropy gradient through `tf.grad` (which includes
 * the forward: tfjs has no separate kernel for it).
 *
 * The packages are imported dynamically here only; the library itself does not depend on them.
 *
 * @module
 */
import { caseRate, type KernelCase } from "./cases.ts";
import { randomF32, randomLabels } from "./random.ts";
import { KernelEstimator, skipNote } from "./estimate.ts";
import { measure, timingFields, type TimingOptions } from "./timing.ts";
import type { BenchResult } from "./types.ts";

type Tf = typeof import("@tensorflow/tfjs-core");
type TfTensor = import("@tensorflow/tfjs-core").Tensor;

/** The tfjs backends compared. */
export type TfjsBackend = "webgpu" | "wasm";

/** Options of {@linkcode benchTfjs}. */
export interface TfjsBenchOptions {
  /** Warm-up, repetitions and budget of each case. */
  timing: TimingOptions;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
  /** Skip a case estimated (from the earlier ones) to take longer than this, ms (default none). */
  capMs?: number;
}

/** What {@linkcode benchTfjs} found: the rows and a description of the peer. */
export interface TfjsBench {
  results: BenchResult[];
  /** Version and settings, e.g. "tfjs-core 4.22.0, wasm (SIMD, 1 thread)", or why it failed. */
  description: string;
}

/** Imports tfjs-core and the backend package and activates the backend; throws why not. */
export async function loadTf(backend: TfjsBackend): Promise<{ tf: Tf; description: string }> {
  const tf = await import("@tensorflow/tfjs-core");
  if (backend === "webgpu") {
    if (!("gpu" in navigator) || !(await navigator.gpu.requestAdapter())) {
      throw new Error("no WebGPU adapter (navigator.gpu.requestAdapter() gave none)");
    }
    await import("@tensorflow/tfjs-backend-webgpu");
  } else {
    await import("@tensorflow/tfjs-backend-wasm");
  }
  // setBackend resolves false (and logs) when the backend fails to initialise.
  if (!(await tf.setBackend(backend))) {
    throw new Error(`tf.setBackend("${backend}") failed to initialise the backend in Deno`);
  }
  await tf.ready();
  let settings = "";
  if (backend === "wasm") {
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    settings = ` (${simd ? "SIMD" : "no SIMD"}, ${threads ? "multi-threaded" : "1 thread"})`;
  }
  return { tf, description: `tfjs-core ${tf.version_core}, ${backend}${settings}` };
}

/** Largest tensor, in bytes, a case allocates (filters and activations). */
function largestBytes(c: KernelCase): number {
  switch (c.kind) {
    case "conv":
    case "convT": {
      const g = c.g;
      return 4 * Math.max(g.n * g.c * g.h * g.w, g.n * g.k * g.oh * g.ow, g.k * g.c * g.kh * g.kw);
    }
    case "pool":
      return 4 * c.g.n * c.g.c * c.g.h * c.g.w;
    case "ce":
      return 4 * c.n * c.k * c.hw;
    case "matmul":
      return 4 * Math.max(c.m * c.k, c.k * c.n, c.m * c.n);
  }
}

/**
 * Builds the inputs of case `c` (NHWC, from the same generator and seeds as our NCHW inputs)
 * and returns the call to time; every call returns its output, which the caller reads one
 * element of (the sync) and disposes.
 */
export function prepareTfjs(tf: Tf, c: KernelCase): { run: () => TfTensor; inputs: TfTensor[] } {
  const inputs: TfTensor[] = [];
  const t = (shape: number[], seed: number, scale = 1) => {
    const v = tf.tensor(randomF32(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
    inputs.push(v);
    return v;
  };
  const kernel = (name: string, ins: Record<string, TfTensor>, attrs: Record<string, unknown>) =>
    // deno-lint-ignore no-explicit-any
    tf.engine().runKernel(name, ins as any, attrs as any) as TfTensor;
  switch (c.kind) {
    case "conv":
    case "convT": {
      const g = c.g;
      const strides: [number, number] = [g.strideH, g.strideW];
      const pad = g.padH === g.padW
        ? g.padH
        : [[0, 0], [g.padH, g.padH], [g.padW, g.padW], [0, 0]] as [
          [number, number],
          [number, number],
          [number, number],
          [number, number],
        ];
      const common = { strides, pad, dataFormat: "NHWC", dimRoundingMode: undefined };
      const xShape = [g.n, g.h, g.w, g.c], yShape = [g.n, g.oh, g.ow, g.k];
      const fShape = [g.kh, g.kw, g.c, g.k]; // HWIO
      const filter = t(fShape, 2, 0.05) as import("@tensorflow/tfjs-core").Tensor4D;
      // A conv's x space and y space; for convT, its input is in y space and output in x space.
      const x = t(xShape, 1) as import("@tensorflow/tfjs-core").Tensor4D;
      const y = t(yShape, 3) as import("@tensorflow/tfjs-core").Tensor4D;
      const conv = () => tf.conv2d(x, filter, strides, pad);
      const backpropInput = () =>
        kernel(tf.Conv2DBackpropInput, { dy: y, filter }, { ...common, inputShape: xShape });
      const backpropFilter = () =>
        kernel(tf.Conv2DBackpropFilter, { x, dy: y }, { ...common, filterShape: fShape });
      if (c.kind === "conv") {
        const bias = t([g.k], 4) as import("@tensorflow/tfjs-core").Tensor1D;
        const fwd = () => tf.fused.conv2d({ x, filter, strides, pad, bias });
        return {
          run: { fwd, bwd_data: backpropInput, bwd_weight: backpropFilter }[c.pass],
          inputs,
        };
      }
      // convT forward = backprop-input of the conv; its backward-data = the conv itself; its
      // backward-weight = backprop-filter with x = the convT's output gradient, dy = its input.
      return {
        run: { fwd: backpropInput, bwd_data: conv, bwd_weight: backpropFilter }[c.pass],
        inputs,
      };
    }
    case "pool": {
      const g = c.g;
      const x = t([g.n, g.h, g.w, g.c], 1) as import("@tensorflow/tfjs-core").Tensor4D;
      const size: [number, number] = [g.kh, g.kw],
        strides: [number, number] = [g.strideH, g.strideW];
      const fwd = () => tf.maxPool(x, size, strides, g.padH);
      if (c.pass === "fwd") return { run: fwd, inputs };
      const y = fwd();
      inputs.push(y);
      const dy = t(y.shape, 3);
      const attrs = { filterSize: size, strides, pad: g.padH, dimRoundingMode: undefined };
      return { run: () => kernel(tf.MaxPoolGrad, { dy, input: x, output: y }, attrs), inputs };
    }
    case "ce": {
      const logits = t([c.n * c.hw, c.k], 1, 3);
      const onehot = tf.oneHot(tf.tensor1d(randomLabels(c.n * c.hw, c.k, 5), "int32"), c.k);
      inputs.push(onehot);
      const loss = (l: TfTensor) =>
        tf.losses.softmaxCrossEntropy(onehot, l, undefined, 0, tf.Reduction.NONE);
      if (c.pass === "fwd") return { run: () => loss(logits), inputs };
      // The gradient of sum(dy * loss) through tfjs's own custom gradient of the loss.
      const dy = t([c.n * c.hw], 6);
      const grad = tf.grad(loss);
      return { run: () => grad(logits, dy), inputs };
    }
    case "matmul": {
      const a = t([c.m, c.k], 1) as import("@tensorflow/tfjs-core").Tensor2D;
      const b = t([c.k, c.n], 2) as import("@tensorflow/tfjs-core").Tensor2D;
      return { run: () => tf.matMul(a, b), inputs };
    }
  }
}

function row(c: KernelCase, impl: string, extra: Partial<BenchResult>): BenchResult {
  return { section: "kernels", id: c.id, label: c.label, pass: c.pass, impl, peer: true, ...extra };
}

/**
 * Runs the kernel cases on tfjs with `backend`. When the backend cannot initialise in Deno,
 * every row is "n/a" with the reason; cases whose tensors exceed the adapter's
 * `maxStorageBufferBindingSize` are "n/a" on tfjs-webgpu (it does not split buffers and its
 * results would be zeros).
 */
export async function benchTfjs(
  backend: TfjsBackend,
  cases: readonly KernelCase[],
  options: TfjsBenchOptions,
): Promise<TfjsBench> {
  const impl = `tfjs-${backend}`;
  const results: BenchResult[] = [];
  const emit = (r: BenchResult) => {
    results.push(r);
    options.onResult?.(r);
  };
  let tf: Tf, description: string;
  try {
    ({ tf, description } = await loadTf(backend));
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    for (const c of cases) emit(row(c, impl, { note: `n/a: ${why}` }));
    return { results, description: `${impl}: n/a (${why})` };
  }
  let bindLimit = Infinity;
  if (backend === "webgpu") {
    const adapter = await navigator.gpu.requestAdapter();
    bindLimit = adapter?.limits.maxStorageBufferBindingSize ?? Infinity;
  }
  const estimator = new KernelEstimator();
  const cap = options.capMs ?? Infinity;
  for (const c of cases) {
    const est = estimator.estimate(c);
    if (est !== null && est > cap) {
      emit(row(c, impl, { note: skipNote(est, cap, "call") }));
      continue;
    }
    const big = largestBytes(c);
    if (big > bindLimit) {
      emit(row(c, impl, {
        note: `n/a: a ${(big / 2 ** 20).toFixed(0)} MiB tensor exceeds the adapter's ${
          (bindLimit / 2 ** 20).toFixed(0)
        } MiB binding limit (tfjs-webgpu does not split it)`,
      }));
      continue;
    }
    let prepared: ReturnType<typeof prepareTfjs> | null = null;
    try {
      prepared = prepareTfjs(tf, c);
      const p = prepared;
      let out: TfTensor | null = null;
      let first = NaN;
      const timed = await measure(() => {
        out = p.run();
      }, async () => {
        const o = out!;
        const one = tf.tidy(() => tf.slice(tf.reshape(o, [-1]), 0, 1));
        first = (await one.data())[0];
        tf.dispose([one, o]);
      }, options.timing);
      estimator.record(c, timed.median);
      const suspect = (c.kind === "conv" || c.kind === "convT" || c.kind === "matmul") &&
        !(Number.isFinite(first) && first !== 0);
      emit(row(c, impl, {
        ...timingFields(timed),
        ...caseRate(c, timed.median),
        ...(suspect ? { note: `suspect: first output element is ${first}` } : {}),
        ...(c.kind === "ce" && c.pass === "bwd_data"
          ? { note: "tf.grad: includes the forward" }
          : {}),
      }));
    } catch (e) {
      emit(row(c, impl, { note: `n/a: ${(e as Error).message.split("\n")[0]}` }));
    } finally {
      if (prepared) tf.dispose(prepared.inputs);
    }
  }
  return { results, description };
}

/** Releases tfjs's backends (their GPU device and wasm memory). */
export async function disposeTfjs(): Promise<void> {
  const tf = await import("@tensorflow/tfjs-core");
  for (const name of ["webgpu", "wasm"]) {
    if (tf.findBackend(name)) tf.removeBackend(name);
  }
}
