import { crossEntropy, requestDevice, type Tensor, tensor } from "../../../mod.ts";
import type { Backend } from "../../device/backend.ts";
import type { CrossEntropyOptions } from "../../ops/loss.ts";
import { checkOp, devices, hasWebGpu, randn, rng } from "../../../tests/harness.ts";
import { assert, assertAlmostEquals, assertClose } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

/** `count` class ids in `[0, k)`, about a fifth of them replaced by `ignore`. */
function targets(count: number, k: number, ignore: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: count }, () => r() < 0.2 ? ignore : Math.floor(r() * k));
}

Deno.test("reference cross entropy gives hand-computed values", () => {
  // [N 1, K 3, HW 2]: pixel 0 logits (1, 2, 3), pixel 1 logits (0, 0, 0)
  const x = Float32Array.from([1, 0, 2, 0, 3, 0]);
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const r = ref.crossEntropy(x, Int32Array.from([0, 2]), null, 1, 3, 2, 255);
  assertClose(r.loss, [lse - 1, Math.log(3)], { atol: 1e-6 });
  assertClose(r.weight, [1, 1]);
  const w = Float32Array.from([0.5, 1, 2]);
  const rw = ref.crossEntropy(x, Int32Array.from([0, 255]), w, 1, 3, 2, 255);
  assertClose(rw.loss, [0.5 * (lse - 1), 0], { atol: 1e-6 });
  assertClose(rw.weight, [0.5, 0]);
  // gradient: g * w[t] * (softmax - onehot)
  const dx = ref.crossEntropyGrad(
    x,
    Int32Array.from([1, 255]),
    w,
    Float32Array.of(2),
    1,
    3,
    2,
    255,
  );
  const sm = [1, 2, 3].map((v) => Math.exp(v) / Math.exp(lse));
  assertClose(dx, [2 * sm[0], 0, 2 * (sm[1] - 1), 0, 2 * sm[2], 0], { atol: 1e-6 });
});

Deno.test("reference cross entropy is stable for huge logits; below the op's check a bad target gets 0", () => {
  const x = Float32Array.from([1000, -1000, 1000.5, 0]); // [1, 2, 2]
  const r = ref.crossEntropy(x, Int32Array.from([0, 7]), null, 1, 2, 2, 255);
  assertClose(r.loss, [Math.log(1 + Math.exp(0.5)), 0], { atol: 1e-5 });
  assertClose(r.weight, [1, 0]);
});

/** checkOp over crossEntropy with targets and weights given as data. */
function checkCe(
  name: string,
  [n, k, h, w]: number[],
  options: CrossEntropyOptions & { weighted?: boolean },
  seed = 1,
): Promise<unknown> {
  const ignore = options.ignoreIndex ?? 255;
  const specs = [
    { shape: [n, k, h, w], data: randn(n * k * h * w, seed, -3, 3) },
    { shape: [n, h, w], data: targets(n * h * w, k, ignore, seed) },
  ];
  if (options.weighted) specs.push({ shape: [k], data: randn(k, seed + 1, 0.2, 2) });
  const fn = ([x, t, wt]: Tensor[]) =>
    crossEntropy(x, t, { ...options, weight: options.weighted ? wt : undefined });
  return checkOp(name, specs, fn, { finiteDifferences: n * k * h * w <= 48 });
}

Deno.test("crossEntropy matches the reference on every backend, with finite differences", async () => {
  for (const reduction of ["mean", "sum", "none"] as const) {
    for (const weighted of [false, true]) {
      const o = { reduction, weighted };
      await checkCe(`${reduction}${weighted ? " weighted" : ""}`, [2, 3, 2, 4], o);
      await checkCe(`${reduction} custom ignore`, [2, 4, 2, 3], { ...o, ignoreIndex: -100 }, 2);
    }
  }
  await checkCe("21 classes", [2, 21, 9, 7], { weighted: true }, 3);
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

/** Forward and gradient kernels of `backend` against the reference on `[n, k, hw]`. */
async function compareKernels(b: Backend, n: number, k: number, hw: number, weighted: boolean) {
  const name = `[${n}, ${k}, ${hw}]${weighted ? " weighted" : ""}`;
  const x = randn(n * k * hw, n + k + hw, -40, 40); // wide logits: needs the max subtracted
  const t = targets(n * hw, k, 255, hw);
  const w = weighted ? randn(k, 3, 0.5, 2) : null;
  const g = randn(n * hw, 4);
  const [gx, gt, gw, gg, g1] = [x, t, w ?? new Float32Array(1), g, Float32Array.of(0.7)].map((a) =>
    b.upload(a)
  );
  const got = b.crossEntropy({
    logits: gx,
    target: gt,
    weight: weighted ? gw : null,
    n,
    k,
    hw,
    ignoreIndex: 255,
  });
  const want = ref.crossEntropy(x, t, w, n, k, hw, 255);
  const tol = { atol: 1e-4, rtol: 1e-5 };
  assertClose(await b.read(got.loss), want.loss, { ...tol, name: `loss ${name}` });
  assertClose(await b.read(got.weight), want.weight, { ...tol, name: `weight ${name}` });
  for (const [gs, gh] of [[gg, g], [g1, Float32Array.of(0.7)]] as const) {
    const dx = b.crossEntropyGrad({
      logits: gx,
      target: gt,
      weight: weighted ? gw : null,
      g: gs,
      n,
      k,
      hw,
      ignoreIndex: 255,
    });
    const dxRef = ref.crossEntropyGrad(x, t, w, gh, n, k, hw, 255);
    assertClose(await b.read(dx), dxRef, { ...tol, name: `grad ${name}, g of ${gh.length}` });
    b.free(dx);
  }
  for (const s of [gx, gt, gw, gg, g1, got.loss, got.weight]) b.free(s);
}

Deno.test({
  name: "WebGPU cross entropy splits images and classes to fit a 4 KiB binding limit",
  ignore: !hasWebGpu,
  async fn() {
    const device = await requestDevice({ backend: "webgpu", maxBindingBytes: 4096 });
    const shapes = [
      [5, 3, 50], // several images per binding
      [2, 5, 300], // classes in chunks, merged online
      [1, 3, 1500], // pixels in chunks, one class at a time
      [1, 1, 4], // a single class
    ];
    for (const [n, k, hw] of shapes) {
      for (const weighted of [false, true]) {
        await compareKernels(device.backend, n, k, hw, weighted);
      }
    }
    device.destroy();
  },
});
