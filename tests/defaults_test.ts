/**
 * Every public op's defaults, pinned: a call that leaves an option out gives exactly (bit for
 * bit) what the call passing `torch.nn.functional`'s default explicitly gives. The models pass
 * every option, so without these a changed default would go unnoticed.
 *
 * Where ours differ from PyTorch on purpose, the test says so and pins our value:
 * - `crossEntropy`'s and `nllLoss`'s `ignoreIndex` default to 255 (VOC's border label), not
 *   PyTorch's -100;
 * - `logSoftmax` and `softmax` default to dim 1, the classes of `[N, K, ...]`, where PyTorch
 *   requires `dim` (its deprecated implicit choice is 1 for 2-D and 4-D inputs, but 0 for 3-D);
 * - `interpolate` has only "bilinear" (PyTorch's default mode is "nearest"), so `mode` defaults
 *   to "bilinear" and any other mode is refused.
 * `SGD` has no default `lr`, as `torch.optim.SGD` (a required argument).
 */
import {
  batchNorm2d,
  conv2d,
  convTranspose2d,
  crossEntropy,
  type Device,
  dropout,
  dropout2d,
  GradScaler,
  interpolate,
  logSoftmax,
  maxPool2d,
  mean,
  nllLoss,
  requestDevice,
  SGD,
  softmax,
  sum,
  type Tensor,
  tensor,
} from "../mod.ts";
import { randn } from "./harness.ts";
import { assertEquals, assertThrows } from "./assert.ts";

const device: Device = await requestDevice({ backend: "cpu" });
const t = (shape: number[], seed: number, lo = -1, hi = 1): Tensor =>
  tensor(randn(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape, device);

/** Asserts both calls give the same shape and the same values, bit for bit. */
async function same(name: string, byDefault: Tensor, explicit: Tensor): Promise<void> {
  assertEquals(byDefault.shape, explicit.shape, `${name}: shape`);
  assertEquals(
    Array.from(await byDefault.toArray()),
    Array.from(await explicit.toArray()),
    `${name}: values with the default vs with PyTorch's default passed explicitly`,
  );
}

Deno.test("conv2d defaults: stride 1, padding 0, dilation 1, no fused ReLU (F.conv2d)", async () => {
  const x = t([2, 3, 9, 8], 1), w = t([4, 3, 3, 3], 2), b = t([4], 3);
  const y = conv2d(x, w, b);
  assertEquals(y.shape, [2, 4, 7, 6]);
  await same("conv2d", y, conv2d(x, w, b, { stride: 1, padding: 0, dilation: 1, relu: false }));
  await same("conv2d bias", conv2d(x, w), conv2d(x, w, null));
});

Deno.test(
  "convTranspose2d defaults: stride 1, padding 0, outputPadding 0, dilation 1",
  async () => {
    const x = t([2, 4, 5, 6], 4), w = t([4, 3, 3, 3], 5);
    const y = convTranspose2d(x, w);
    assertEquals(y.shape, [2, 3, 7, 8]);
    await same(
      "convTranspose2d",
      y,
      convTranspose2d(x, w, null, { stride: 1, padding: 0, outputPadding: 0, dilation: 1 }),
    );
  },
);

Deno.test("maxPool2d defaults: stride = kernelSize, padding 0, ceilMode false", async () => {
  const x = t([2, 3, 9, 9], 6);
  const y = maxPool2d(x, { kernelSize: 2 });
  assertEquals(y.shape, [2, 3, 4, 4]); // floor((9 - 2) / 2) + 1, not ceil's 5
  await same(
    "maxPool2d",
    y,
    maxPool2d(x, { kernelSize: 2, stride: 2, padding: 0, ceilMode: false }),
  );
  await same(
    "maxPool2d [kh, kw]",
    maxPool2d(x, { kernelSize: [3, 2] }),
    maxPool2d(x, { kernelSize: [3, 2], stride: [3, 2] }),
  );
});

Deno.test("interpolate defaults: alignCorners false; bilinear is the only mode (ours)", async () => {
  const x = t([1, 2, 5, 7], 7);
  await same(
    "interpolate",
    interpolate(x, { size: [11, 9] }),
    interpolate(x, { size: [11, 9], mode: "bilinear", alignCorners: false }),
  );
  // PyTorch's default mode is "nearest"; ours refuses any mode but bilinear rather than guess.
  assertThrows(
    // deno-lint-ignore no-explicit-any
    () => interpolate(x, { size: [11, 9], mode: "nearest" as any }),
    "bilinear",
  );
});

Deno.test(
  "crossEntropy defaults: reduction mean, no class weights; ignoreIndex 255 (ours, VOC's)",
  async () => {
    const logits = t([2, 3, 4, 4], 8, -3, 3);
    const ids = Int32Array.from({ length: 32 }, (_, i) => [0, 1, 2, 255, 1, 0, 2][i % 7]);
    const target = tensor(ids, [2, 4, 4], device);
    await same(
      "crossEntropy",
      crossEntropy(logits, target),
      crossEntropy(logits, target, { reduction: "mean", ignoreIndex: 255 }),
    );
    // PyTorch's ignore_index is -100: ours is 255 on purpose, the label VOC puts on borders.
    const all255 = tensor(new Int32Array(32).fill(255), [2, 4, 4], device);
    assertEquals(await crossEntropy(logits, all255, { reduction: "sum" }).item(), 0);
  },
);

Deno.test(
  "nllLoss defaults: reduction mean, no class weights; ignoreIndex 255 (ours, as crossEntropy)",
  async () => {
    const logProbs = logSoftmax(t([2, 3, 4, 4], 16, -3, 3));
    const ids = Int32Array.from({ length: 32 }, (_, i) => [0, 1, 2, 255, 1, 0, 2][i % 7]);
    const target = tensor(ids, [2, 4, 4], device);
    await same(
      "nllLoss",
      nllLoss(logProbs, target),
      nllLoss(logProbs, target, { reduction: "mean", ignoreIndex: 255 }),
    );
    // PyTorch's ignore_index is -100: ours is 255 on purpose, the label VOC puts on borders.
    const all255 = tensor(new Int32Array(32).fill(255), [2, 4, 4], device);
    assertEquals(await nllLoss(logProbs, all255, { reduction: "sum" }).item(), 0);
  },
);

Deno.test("logSoftmax and softmax default to dim 1, the classes (ours: PyTorch requires dim)", async () => {
  for (const shape of [[2, 3, 4, 5], [3, 4, 5], [4, 6]]) {
    const x = t(shape, 17);
    await same(`logSoftmax [${shape}]`, logSoftmax(x), logSoftmax(x, 1));
    await same(`softmax [${shape}]`, softmax(x), softmax(x, 1));
  }
});

Deno.test("batchNorm2d defaults: evaluation mode, momentum 0.1, eps 1e-5 (F.batch_norm)", async () => {
  const x = t([2, 3, 4, 5], 9);
  const fresh = () => ({ rm: t([3], 10, -0.5, 0.5), rv: t([3], 11, 0.5, 1.5) });
  const gamma = t([3], 12), beta = t([3], 13);
  const a = fresh(), b = fresh();
  await same(
    "batchNorm2d (eval)",
    batchNorm2d(x, a.rm, a.rv, gamma, beta),
    batchNorm2d(x, b.rm, b.rv, gamma, beta, { training: false, eps: 1e-5 }),
  );
  const c = fresh(), d = fresh();
  await same(
    "batchNorm2d (train)",
    batchNorm2d(x, c.rm, c.rv, gamma, beta, { training: true }),
    batchNorm2d(x, d.rm, d.rv, gamma, beta, { training: true, momentum: 0.1, eps: 1e-5 }),
  );
  await same("batchNorm2d running mean", c.rm, d.rm);
  await same("batchNorm2d running var", c.rv, d.rv);
});

Deno.test("dropout and dropout2d defaults: p 0.5, training true (F.dropout)", async () => {
  const x = t([2, 4, 6, 6], 14);
  await same("dropout", dropout(x), dropout(x, { p: 0.5, training: true, seed: 0 }));
  await same("dropout2d", dropout2d(x), dropout2d(x, { p: 0.5, training: true, seed: 0 }));
  // Not the identity: training is on by default, as in F.dropout.
  const kept = Array.from(await dropout(x).toArray()).filter((v) => v !== 0).length;
  assertEquals(kept > 0 && kept < x.size, true, `dropout kept ${kept} of ${x.size}`);
});

Deno.test("sum and mean default to every element", async () => {
  const x = t([2, 3, 4], 15);
  assertEquals(sum(x).shape, []);
  assertEquals(mean(x).shape, []);
  const all = Array.from(await x.toArray());
  const total = all.reduce((a, b) => a + b, 0);
  assertEquals(Math.abs(await sum(x).item() - total) < 1e-5, true, "sum of every element");
  assertEquals(Math.abs(await mean(x).item() - total / 24) < 1e-6, true, "mean of every element");
});

Deno.test(
  "SGD defaults: momentum 0, dampening 0, weightDecay 0, nesterov false (torch.optim.SGD)",
  async () => {
    const step = (options: ConstructorParameters<typeof SGD>[1]) => {
      const p = tensor(randn(16, 16), [16], device, { requiresGrad: true });
      const sgd = new SGD([p], options);
      for (let s = 0; s < 2; s++) {
        p.grad?.dispose();
        p.grad = tensor(randn(16, 17 + s), [16], device);
        sgd.step();
      }
      return p;
    };
    await same(
      "SGD",
      step({ lr: 0.1 }),
      step({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }),
    );
    const withMomentum = step({ lr: 0.1, momentum: 0.9 });
    await same(
      "SGD with momentum",
      withMomentum,
      step({ lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false }),
    );
    const sgd = new SGD([tensor([1], [1], device, { requiresGrad: true })], { lr: 0.1 });
    assertEquals([sgd.momentum, sgd.dampening, sgd.weightDecay, sgd.nesterov], [0, 0, 0, false]);
  },
);

Deno.test("GradScaler defaults: initial scale 65536 (torch.cuda.amp.GradScaler)", () => {
  assertEquals(new GradScaler().scaleValue, 65536);
});
