/**
 * The shared op test harness: every backend is compared with the reference backend on seeded
 * random inputs, forward and every gradient, and the reference's gradients are checked by
 * finite differences.
 *
 * @module
 */
import type { Backend, BackendKind, HostArray, Storage } from "../lib/device/backend.ts";
import { requestDevice } from "../lib/device/request.ts";
import type { WebGpuOptions } from "../lib/device/webgpu.ts";
import type { WebGpuBackend } from "../lib/backends/webgpu.ts";
import { type Device, type Tensor, tensor } from "../lib/tensor.ts";
import { mul, sum } from "../mod.ts";
import { Rng } from "../lib/random.ts";
import { assertClose } from "./assert.ts";
import { hasBlas, hasWebGpu, missingBackendError, strict } from "./backends.ts";

export { hasBlas, hasWebGpu };

/** A seeded generator of floats in [0, 1): the project's {@linkcode Rng} as a function. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** `n` uniform values in [lo, hi). */
export function randn(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

let cached: Promise<Map<BackendKind, Device>> | null = null;

/**
 * The devices that exist on this host, the reference ("cpu") always first. Under `CI=true` a
 * backend that cannot be created rejects, naming it and the cause; elsewhere it is left out.
 */
export function devices(): Promise<Map<BackendKind, Device>> {
  cached ??= (async () => {
    const m = new Map<BackendKind, Device>();
    m.set("cpu", await requestDevice({ backend: "cpu" }));
    for (const kind of ["webgpu", "blas"] as const) {
      try {
        m.set(kind, await requestDevice({ backend: kind }));
      } catch (e) {
        if (strict) throw missingBackendError(kind, e instanceof Error ? e.message : String(e));
        // not available here: its tests are skipped (tests/backends_test.ts says so once)
      }
    }
    return m;
  })();
  return cached;
}

/** `A` with every typed array field as a storage: a backend kernel's arguments. */
export type Uploaded<A> = {
  [K in keyof A]: A[K] extends HostArray ? Storage : A[K] extends HostArray | null ? Storage | null
  : A[K];
};

/**
 * A reference kernel's arguments with every typed array uploaded to `b`: the same call for the
 * backend's kernel (`b.crossEntropy(uploaded(b, a))` against `ref.crossEntropy(a)`).
 */
export function uploaded<A extends object>(b: Backend, args: A): Uploaded<A> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = v instanceof Float32Array || v instanceof Int32Array ? b.upload(v) : v;
  }
  return out as Uploaded<A>;
}

/**
 * Registers a test on a WebGPU device of its own (`options` as `requestDevice` takes them, e.g.
 * a small `maxBindingBytes` to make every storage span several bindings), skipped where no
 * adapter exists; the device is destroyed when `fn` settles.
 */
export function webGpuTest(
  name: string,
  options: WebGpuOptions,
  fn: (b: WebGpuBackend, device: Device) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !hasWebGpu,
    async fn() {
      const device = await requestDevice({ ...options, backend: "webgpu" });
      try {
        await fn(device.backend as WebGpuBackend, device);
      } finally {
        device.destroy();
      }
    },
  });
}

/** One input of an op under test. */
export interface InputSpec {
  shape: number[];
  /** Host data; random in [-1, 1) when omitted. */
  data?: HostArray;
  /** Whether the gradient of this input is checked (f32 only; default true for f32). */
  grad?: boolean;
}

/** Options of {@linkcode checkOp}. */
export interface CheckOptions {
  seed?: number;
  atol?: number;
  rtol?: number;
  /** Skip backward checks (non-differentiable ops). */
  noGrad?: boolean;
  /** Also check the reference's gradients by central finite differences (tiny shapes only). */
  finiteDifferences?: boolean;
}

function makeInputs(device: Device, specs: InputSpec[], seed: number): Tensor[] {
  return specs.map((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const data = s.data ?? randn(size, seed * 31 + i);
    const wantGrad = data instanceof Float32Array && (s.grad ?? true);
    return tensor(data, s.shape, device, { requiresGrad: wantGrad });
  });
}

/** Runs `fn` on `inputs` and backpropagates `sum(out * cotangent)`; returns out and grads. */
async function evaluate(
  device: Device,
  specs: InputSpec[],
  fn: (xs: Tensor[]) => Tensor,
  seed: number,
  withGrad: boolean,
): Promise<{ out: HostArray; grads: (HostArray | null)[] }> {
  const xs = makeInputs(device, specs, seed);
  const out = fn(xs);
  const outHost = await out.toArray();
  const grads: (HostArray | null)[] = [];
  if (withGrad && out.requiresGrad) {
    const cot = tensor(randn(out.size, seed + 999), out.shape, device);
    const loss = sum(mul(out, cot));
    loss.backward();
    for (const x of xs) grads.push(x.grad ? await x.grad.toArray() : null);
    loss.dispose();
    cot.dispose();
  }
  for (const x of xs) {
    x.grad?.dispose();
    x.dispose();
  }
  out.dispose();
  return { out: outHost, grads };
}

/**
 * Compares `fn` on every available backend with the reference backend, forward and backward,
 * with `|got - ref| <= atol + rtol * |ref|`. Returns the backends that were compared.
 */
export async function checkOp(
  name: string,
  specs: InputSpec[],
  fn: (xs: Tensor[]) => Tensor,
  options: CheckOptions = {},
): Promise<BackendKind[]> {
  const seed = options.seed ?? 1;
  const tol = { atol: options.atol ?? 1e-4, rtol: options.rtol ?? 1e-4 };
  const devs = await devices();
  const ref = await evaluate(devs.get("cpu")!, specs, fn, seed, !options.noGrad);
  if (options.finiteDifferences) await finiteDifferences(name, devs.get("cpu")!, specs, fn, seed);
  const compared: BackendKind[] = [];
  for (const [kind, device] of devs) {
    if (kind === "cpu") continue;
    const got = await evaluate(device, specs, fn, seed, !options.noGrad);
    assertClose(got.out, ref.out, { ...tol, name: `${name} forward on ${kind}` });
    ref.grads.forEach((g, i) => {
      if (g) {
        assertClose(got.grads[i]!, g, { ...tol, name: `${name} grad of input ${i} on ${kind}` });
      }
    });
    compared.push(kind);
  }
  return compared;
}

/**
 * Checks the reference backend's gradients against central differences of
 * `sum(fn(x) * cotangent)`, in f32 with step 1e-2 and tolerance 2e-2 relative.
 */
export async function finiteDifferences(
  name: string,
  device: Device,
  specs: InputSpec[],
  fn: (xs: Tensor[]) => Tensor,
  seed: number,
): Promise<void> {
  const { grads } = await evaluate(device, specs, fn, seed, true);
  const base = specs.map((s, i) =>
    s.data ?? randn(s.shape.reduce((a, b) => a * b, 1), seed * 31 + i)
  );
  const lossAt = async (data: HostArray[]): Promise<number> => {
    const xs = data.map((d, i) => tensor(d, specs[i].shape, device));
    const out = fn(xs);
    const cot = tensor(randn(out.size, seed + 999), out.shape, device);
    const l = sum(mul(out, cot));
    const v = await l.item();
    for (const t of [...xs, out, cot, l]) t.dispose();
    return v;
  };
  const h = 1e-2;
  for (let i = 0; i < specs.length; i++) {
    const g = grads[i];
    if (!g) continue;
    const numeric = new Float32Array(g.length);
    for (let j = 0; j < g.length; j++) {
      const plus = base.map((d) => d.slice()), minus = base.map((d) => d.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      numeric[j] = (await lossAt(plus) - await lossAt(minus)) / (2 * h);
    }
    // Absolute tolerance scaled to the gradient's size, so small gradients are still checked.
    const maxAbs = numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(g, numeric, {
      atol: Math.min(2e-2, 2e-2 * maxAbs + 2e-3),
      rtol: 2e-2,
      name: `${name} finite differences of input ${i}`,
    });
  }
}
