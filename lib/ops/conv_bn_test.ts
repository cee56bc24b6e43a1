import { noGrad } from "../autograd.ts";
import { tensor, tidy } from "../tensor.ts";
import { assertClose, assertEquals, assertThrows } from "../../tests/assert.ts";
import { BatchNorm2d, Conv2d } from "../nn/layers.ts";
import { SGD } from "../optim/sgd.ts";
import { Rng } from "../random.ts";
import { devices, randn } from "../../tests/harness.ts";
import { conv2d } from "./conv.ts";
import { conv2dBatchNorm } from "./conv_bn.ts";
import { relu } from "./elementwise.ts";
import { batchNorm2d } from "./norm.ts";

/** A 3x3 conv (stride 2, with and without bias) and a pointwise one, each with and without ReLU. */
const CASES = [
  { c: 5, k: 7, kh: 3, stride: 2, padding: 1, bias: true },
  { c: 5, k: 7, kh: 3, stride: 1, padding: 2, bias: false },
  { c: 6, k: 4, kh: 1, stride: 1, padding: 0, bias: false },
];

Deno.test("conv2dBatchNorm equals conv2d, batchNorm2d and relu in sequence on every backend", async () => {
  for (const [kind, device] of await devices()) {
    for (const [i, t] of CASES.entries()) {
      for (const withRelu of [false, true]) {
        const x = tensor(randn(2 * t.c * 9 * 8, 10 + i), [2, t.c, 9, 8], device);
        const w = tensor(randn(t.k * t.c * t.kh * t.kh, 20 + i), [t.k, t.c, t.kh, t.kh], device);
        const b = t.bias ? tensor(randn(t.k, 30 + i), [t.k], device) : null;
        const bn = {
          runningMean: tensor(randn(t.k, 40 + i), [t.k], device),
          runningVar: tensor(randn(t.k, 50 + i, 0.2, 3), [t.k], device),
          weight: tensor(randn(t.k, 60 + i), [t.k], device),
          bias: tensor(randn(t.k, 70 + i), [t.k], device),
          eps: 1e-3,
        };
        const geo = { stride: t.stride, padding: t.padding };
        const folded = noGrad(() => conv2dBatchNorm(x, w, b, bn, { ...geo, relu: withRelu }));
        const plain = noGrad(() => {
          const y = batchNorm2d(
            conv2d(x, w, b, geo),
            bn.runningMean,
            bn.runningVar,
            bn.weight,
            bn.bias,
            { eps: 1e-3 },
          );
          return withRelu ? relu(y) : y;
        });
        assertClose(await folded.toArray(), await plain.toArray(), {
          atol: 1e-5,
          rtol: 1e-4,
          name: `${kind} case ${i}${withRelu ? " + relu" : ""}`,
        });
      }
    }
  }
});

Deno.test("conv2dBatchNorm refuses to run where a graph is recorded", async () => {
  const device = (await devices()).get("cpu")!;
  const one = tensor([1], [1], device);
  const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], device), w = tensor([1], [1, 1, 1, 1], device);
  const bn = { runningMean: one, runningVar: one, weight: one, bias: one };
  assertThrows(() => conv2dBatchNorm(x, w, null, bn), "call it under noGrad");
});

Deno.test("Conv2d.forwardNorm keeps its folded weights until a source changes (SGD, load)", async () => {
  for (const [kind, device] of await devices()) {
    const conv = new Conv2d(device, 3, 4, 3, new Rng(1), { padding: 1 });
    const bn = new BatchNorm2d(device, 4);
    const x = tensor(randn(2 * 3 * 5 * 5, 3), [2, 3, 5, 5], device);
    const check = async (what: string) => {
      const folded = tidy(() => noGrad(() => conv.forwardNorm(x, bn, true)));
      const plain = tidy(() => noGrad(() => relu(bn.forward(conv.forward(x)))));
      assertClose(await folded.toArray(), await plain.toArray(), {
        atol: 1e-5,
        rtol: 1e-4,
        name: `${kind}: ${what}`,
      });
      folded.dispose();
      plain.dispose();
    };
    bn.eval();
    const base = device.liveBytes();
    await check("first fold");
    const kept = device.liveBytes();
    await check("kept");
    // SGD writes the weight in place; loading writes the running variance.
    conv.weight.grad = tensor(randn(4 * 3 * 9, 4), [4, 3, 3, 3], device).keep();
    new SGD([conv.weight], { lr: 0.5 }).step();
    conv.weight.grad.dispose();
    await check("after an SGD step");
    bn.loadStateDict({
      running_var: { dtype: "f32", shape: [4], data: new Float32Array([0.5, 2, 3, 4]) },
    }, { strict: false });
    await check("after loading running_var");
    assertEquals(device.liveBytes(), kept, `${kind}: one folded copy at a time`);
    conv.train();
    assertEquals(device.liveBytes(), base, `${kind}: train() frees the folded copy`);
    conv.dispose();
    bn.dispose();
  }
});
