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
import { devices, hasWebGpu, randn, webGpuTest } from "../../../tests/harness.ts";
import { checkLoss, compareKernels, targets } from "./_testing.ts";
import { assertAlmostEquals, assertClose } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

Deno.test("reference nllLoss gives hand-computed values", () => {
  // [N 1, K 3, HW 2]: pixel 0 (-1, -2, -3), pixel 1 (-4, -5, -6)
  const x = Float32Array.from([-1, -4, -2, -5, -3, -6]);
  const a = { n: 1, k: 3, hw: 2, ignoreIndex: 255 };
  const r = ref.nllLoss({ ...a, logProbs: x, target: Int32Array.from([2, 0]), weight: null });
  assertClose(r.loss, [3, 4]);
  assertClose(r.weight, [1, 1]);
  const w = Float32Array.from([0.5, 1, 2]);
  const rw = ref.nllLoss({ ...a, logProbs: x, target: Int32Array.from([2, 255]), weight: w });
  assertClose(rw.loss, [6, 0]);
  assertClose(rw.weight, [2, 0]);
  const dx = ref.nllLossGrad({
    ...a,
    target: Int32Array.from([1, 255]),
    weight: w,
    g: Float32Array.of(3),
  });
  assertClose(dx, [0, 0, -3, 0, 0, 0]);
});

Deno.test("nllLoss matches the reference on every backend, with finite differences", async () => {
  for (const reduction of ["mean", "sum", "none"] as const) {
    for (const weighted of [false, true]) {
      const o = { reduction, weighted };
      const name = `${reduction}${weighted ? " weighted" : ""}`;
      await checkLoss("nllLoss", name, { ...o, shape: [2, 3, 2, 4] });
      const ignore = { ...o, shape: [2, 4, 2, 3], ignoreIndex: -100, seed: 2 };
      await checkLoss("nllLoss", `${reduction} ignore -100`, ignore);
    }
  }
  await checkLoss("nllLoss", "21 classes", { shape: [2, 21, 9, 7], weighted: true, seed: 3 });
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

webGpuTest(
  "WebGPU nllLoss splits images and classes to fit a 1 KiB binding limit",
  { maxBindingBytes: 1024 },
  async (b) => {
    for (const [n, k, hw] of [[5, 3, 10], [2, 5, 60], [1, 3, 500], [1, 1, 4]]) {
      for (const weighted of [false, true]) {
        await compareKernels(b, "nllLoss", { n, k, hw, weighted });
      }
    }
  },
);
