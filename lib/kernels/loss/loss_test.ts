import { crossEntropy, requestDevice, tensor } from "../../../mod.ts";
import { devices, randn, webGpuTest } from "../../../tests/harness.ts";
import { checkLoss, compareKernels } from "./_testing.ts";
import { assert, assertAlmostEquals, assertClose } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

Deno.test("reference cross entropy gives hand-computed values", () => {
  // [N 1, K 3, HW 2]: pixel 0 logits (1, 2, 3), pixel 1 logits (0, 0, 0)
  const x = Float32Array.from([1, 0, 2, 0, 3, 0]);
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const a = { logits: x, n: 1, k: 3, hw: 2, ignoreIndex: 255 };
  const r = ref.crossEntropy({ ...a, target: Int32Array.from([0, 2]), weight: null });
  assertClose(r.loss, [lse - 1, Math.log(3)], { atol: 1e-6 });
  assertClose(r.weight, [1, 1]);
  const w = Float32Array.from([0.5, 1, 2]);
  const rw = ref.crossEntropy({ ...a, target: Int32Array.from([0, 255]), weight: w });
  assertClose(rw.loss, [0.5 * (lse - 1), 0], { atol: 1e-6 });
  assertClose(rw.weight, [0.5, 0]);
  // gradient: g * w[t] * (softmax - onehot)
  const dx = ref.crossEntropyGrad({
    ...a,
    target: Int32Array.from([1, 255]),
    weight: w,
    g: Float32Array.of(2),
  });
  const sm = [1, 2, 3].map((v) => Math.exp(v) / Math.exp(lse));
  assertClose(dx, [2 * sm[0], 0, 2 * (sm[1] - 1), 0, 2 * sm[2], 0], { atol: 1e-6 });
});

Deno.test("reference cross entropy is stable for huge logits; below the op's check a bad target gets 0", () => {
  const x = Float32Array.from([1000, -1000, 1000.5, 0]); // [1, 2, 2]
  const target = Int32Array.from([0, 7]);
  const r = ref.crossEntropy({
    logits: x,
    target,
    weight: null,
    n: 1,
    k: 2,
    hw: 2,
    ignoreIndex: 255,
  });
  assertClose(r.loss, [Math.log(1 + Math.exp(0.5)), 0], { atol: 1e-5 });
  assertClose(r.weight, [1, 0]);
});

Deno.test("crossEntropy matches the reference on every backend, with finite differences", async () => {
  for (const reduction of ["mean", "sum", "none"] as const) {
    for (const weighted of [false, true]) {
      const o = { reduction, weighted };
      const name = `${reduction}${weighted ? " weighted" : ""}`;
      await checkLoss("crossEntropy", name, { ...o, shape: [2, 3, 2, 4] });
      const ignore = { ...o, shape: [2, 4, 2, 3], ignoreIndex: -100, seed: 2 };
      await checkLoss("crossEntropy", `${reduction} custom ignore`, ignore);
    }
  }
  await checkLoss("crossEntropy", "21 classes", { shape: [2, 21, 9, 7], weighted: true, seed: 3 });
});

Deno.test("crossEntropy means divide by the weights of non-ignored pixels", async () => {
  const device = await requestDevice({ backend: "cpu" });
  // [N 1, K 2, HW 3]; targets 1, 255, 0
  const x = tensor(Float32Array.from([0, 1, 2, 0, 0, 0]), [1, 2, 3], device);
  const t = tensor(Int32Array.from([1, 255, 0]), [1, 3], device);
  const wt = tensor(Float32Array.from([3, 1]), [2], device);
  const l0 = Math.log(2), l2 = Math.log(1 + Math.exp(-2));
  assertAlmostEquals(await crossEntropy(x, t).item(), (l0 + l2) / 2, 1e-6);
  assertAlmostEquals(await crossEntropy(x, t, { reduction: "sum" }).item(), l0 + l2, 1e-6);
  const weighted = await crossEntropy(x, t, { weight: wt }).item();
  assertAlmostEquals(weighted, (1 * l0 + 3 * l2) / 4, 1e-6);
});

Deno.test("crossEntropy of all-ignored pixels: mean NaN (as PyTorch), sum 0, zero gradient", async () => {
  for (const [kind, device] of await devices()) {
    const x = tensor(randn(2 * 3 * 4, 1), [2, 3, 4], device, { requiresGrad: true });
    const t = tensor(new Int32Array(8).fill(255), [2, 4], device);
    const mean = crossEntropy(x, t);
    assert(Number.isNaN(await mean.item()), `mean of nothing on ${kind} is NaN`);
    mean.backward();
    assertClose(await x.grad!.toArray(), new Float32Array(24), { name: `grad on ${kind}` });
    assertAlmostEquals(await crossEntropy(x, t, { reduction: "sum" }).item(), 0, 0, kind);
  }
});

webGpuTest(
  "WebGPU cross entropy splits images and classes to fit a 4 KiB binding limit",
  { maxBindingBytes: 4096 },
  async (b) => {
    const shapes = [
      [5, 3, 50], // several images per binding
      [2, 5, 300], // classes in chunks, merged online
      [1, 3, 1500], // pixels in chunks, one class at a time
      [1, 1, 4], // a single class
    ];
    for (const [n, k, hw] of shapes) {
      for (const weighted of [false, true]) {
        await compareKernels(b, "crossEntropy", { n, k, hw, weighted });
      }
    }
  },
);
