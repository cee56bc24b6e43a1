import {
  crossEntropy,
  type Device,
  logSoftmax,
  mul,
  nllLoss,
  requestDevice,
  sum,
  type Tensor,
  tensor,
} from "../../../mod.ts";
import type { Backend } from "../../device/backend.ts";
import type { NllLossOptions } from "../../ops/loss.ts";
import { checkOp, devices, hasWebGpu, randn, rng } from "../../../tests/harness.ts";
import { assertAlmostEquals, assertClose } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

/** `count` class ids in `[0, k)`, about a fifth of them replaced by `ignore`. */
function targets(count: number, k: number, ignore: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: count }, () => r() < 0.2 ? ignore : Math.floor(r() * k));
}

Deno.test("reference nllLoss gives hand-computed values", () => {
  // [N 1, K 3, HW 2]: pixel 0 (-1, -2, -3), pixel 1 (-4, -5, -6)
  const x = Float32Array.from([-1, -4, -2, -5, -3, -6]);
  const r = ref.nllLoss(x, Int32Array.from([2, 0]), null, 1, 3, 2, 255);
  assertClose(r.loss, [3, 4]);
  assertClose(r.weight, [1, 1]);
  const w = Float32Array.from([0.5, 1, 2]);
  const rw = ref.nllLoss(x, Int32Array.from([2, 255]), w, 1, 3, 2, 255);
  assertClose(rw.loss, [6, 0]);
  assertClose(rw.weight, [2, 0]);
  const dx = ref.nllLossGrad(Int32Array.from([1, 255]), w, Float32Array.of(3), 1, 3, 2, 255);
  assertClose(dx, [0, 0, -3, 0, 0, 0]);
});

/** checkOp over nllLoss with log-probabilities, targets and weights given as data. */
function checkNll(
  name: string,
  [n, k, h, w]: number[],
  options: NllLossOptions & { weighted?: boolean },
  seed = 1,
): Promise<unknown> {
  const ignore = options.ignoreIndex ?? 255;
  const specs = [
    { shape: [n, k, h, w], data: randn(n * k * h * w, seed, -4, 0) },
    { shape: [n, h, w], data: targets(n * h * w, k, ignore, seed) },
  ];
  if (options.weighted) specs.push({ shape: [k], data: randn(k, seed + 1, 0.2, 2) });
  const fn = ([x, t, wt]: Tensor[]) =>
    nllLoss(x, t, { ...options, weight: options.weighted ? wt : undefined });
  return checkOp(name, specs, fn, { finiteDifferences: n * k * h * w <= 48 });
}

Deno.test("nllLoss matches the reference on every backend, with finite differences", async () => {
  for (const reduction of ["mean", "sum", "none"] as const) {
    for (const weighted of [false, true]) {
      const o = { reduction, weighted };
      await checkNll(`${reduction}${weighted ? " weighted" : ""}`, [2, 3, 2, 4], o);
      await checkNll(`${reduction} ignore -100`, [2, 4, 2, 3], { ...o, ignoreIndex: -100 }, 2);
    }
  }
  await checkNll("21 classes", [2, 21, 9, 7], { weighted: true }, 3);
});

Deno.test("crossEntropy(x, t) equals nllLoss(logSoftmax(x, 1), t): values and gradients, every backend", async () => {
  const devs: [string, Device][] = [...await devices()];
  if (hasWebGpu) {
    devs.push([
      "webgpu, 1 KiB bindings",
      await requestDevice({ backend: "webgpu", maxBindingBytes: 1024 }),
    ]);
  }
  const [n, k, h, w] = [2, 5, 6, 7];
  const x0 = randn(n * k * h * w, 11, -4, 4);
  const t0 = targets(n * h * w, k, 255, 12);
  const w0 = randn(k, 13, 0.2, 2);
  for (const [kind, device] of devs) {
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const weighted of [false, true]) {
        const where = `${reduction}${weighted ? " weighted" : ""} on ${kind}`;
        const t = tensor(t0, [n, h, w], device);
        const wt = weighted ? tensor(w0, [k], device) : undefined;
        const run = async (f: (x: Tensor) => Tensor) => {
          const x = tensor(x0, [n, k, h, w], device, { requiresGrad: true });
          const y = f(x);
          const value = await y.toArray();
          const cot = tensor(randn(y.size, 14), y.shape, device);
          sum(mul(y, cot)).backward();
          const grad = await x.grad!.toArray();
          for (const v of [x, x.grad!, cot]) v.dispose();
          return { value, grad };
        };
        const o = { reduction, weight: wt };
        const ce = await run((x) => crossEntropy(x, t, o));
        const nll = await run((x) => nllLoss(logSoftmax(x, 1), t, o));
        assertClose(nll.value, ce.value, { atol: 1e-5, rtol: 1e-5, name: `loss, ${where}` });
        assertClose(nll.grad, ce.grad, { atol: 1e-6, rtol: 1e-5, name: `gradient, ${where}` });
        t.dispose();
        wt?.dispose();
      }
    }
  }
});

Deno.test("nllLoss means divide by the weights of non-ignored pixels", async () => {
  const device = await requestDevice({ backend: "cpu" });
  // [N 1, K 2, HW 3]; targets 1, 255, 0
  const x = tensor(Float32Array.from([-1, -2, -3, -4, -5, -6]), [1, 2, 3], device);
  const t = tensor(Int32Array.from([1, 255, 0]), [1, 3], device);
  const wt = tensor(Float32Array.from([3, 1]), [2], device);
  assertAlmostEquals(await nllLoss(x, t).item(), (4 + 3) / 2, 1e-6);
  assertAlmostEquals(await nllLoss(x, t, { reduction: "sum" }).item(), 7, 1e-6);
  assertAlmostEquals(await nllLoss(x, t, { weight: wt }).item(), (4 + 3 * 3) / 4, 1e-6);
});

/** Forward and gradient kernels of `backend` against the reference on `[n, k, hw]`. */
async function compareKernels(b: Backend, n: number, k: number, hw: number, weighted: boolean) {
  const name = `[${n}, ${k}, ${hw}]${weighted ? " weighted" : ""}`;
  const x = randn(n * k * hw, n + k + hw, -5, 0);
  const t = targets(n * hw, k, 255, hw);
  const w = weighted ? randn(k, 3, 0.5, 2) : null;
  const g = randn(n * hw, 4);
  const [gx, gt, gw, gg, g1] = [x, t, w ?? new Float32Array(1), g, Float32Array.of(0.7)].map((a) =>
    b.upload(a)
  );
  const args = { target: gt, weight: weighted ? gw : null, n, k, hw, ignoreIndex: 255 };
  const got = b.nllLoss({ ...args, logProbs: gx });
  const want = ref.nllLoss(x, t, w, n, k, hw, 255);
  assertClose(await b.read(got.loss), want.loss, { name: `loss ${name}` });
  assertClose(await b.read(got.weight), want.weight, { name: `weight ${name}` });
  for (const [gs, gh] of [[gg, g], [g1, Float32Array.of(0.7)]] as const) {
    const dx = b.nllLossGrad({ ...args, g: gs });
    const dxRef = ref.nllLossGrad(t, w, gh, n, k, hw, 255);
    assertClose(await b.read(dx), dxRef, { name: `grad ${name}, g of ${gh.length}` });
    b.free(dx);
  }
  for (const s of [gx, gt, gw, gg, g1, got.loss, got.weight]) b.free(s);
}

Deno.test({
  name: "WebGPU nllLoss splits images and classes to fit a 1 KiB binding limit",
  ignore: !hasWebGpu,
  async fn() {
    const device = await requestDevice({ backend: "webgpu", maxBindingBytes: 1024 });
    for (const [n, k, hw] of [[5, 3, 10], [2, 5, 60], [1, 3, 500], [1, 1, 4]]) {
      for (const weighted of [false, true]) {
        await compareKernels(device.backend, n, k, hw, weighted);
      }
    }
    device.destroy();
  },
});
