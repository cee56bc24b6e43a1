/**
 * Model structure: PyTorch's exact keys at full size, ImageNet backbone mapping, strict and
 * non-strict loading, and a full-size FCN-8s (134M parameters, fc6 alone 411 MB: larger than
 * llvmpipe's 128 MiB binding limit) loading a full-size checkpoint and running forward.
 */
import {
  createModel,
  type Device,
  mapPretrainedBackbone,
  readSafetensors,
  requestDevice,
  resolveConfig,
  type StateDict,
  tensor,
  tidy,
  writeSafetensors,
} from "../mod.ts";
import { devices, hasWebGpu, randn } from "./harness.ts";
import { assert, assertClose, assertEquals, assertThrows } from "./assert.ts";

type Keys = Record<string, [string, number[]][]>;
const torchvision: Keys = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/golden/torchvision_keys.json", import.meta.url)),
);

/** Keys and shapes of a model, in PyTorch's state_dict order. */
async function keysOf(name: "fcn_resnet50" | "fcn_resnet101", device: Device) {
  const model = createModel(name, {}, device);
  const dict = await model.stateDict();
  model.dispose();
  return Object.entries(dict).map(([k, v]) => [k, v.shape]);
}

for (const name of ["fcn_resnet50", "fcn_resnet101"] as const) {
  Deno.test(`${name} has exactly torchvision's state_dict keys and shapes`, async () => {
    const device = await requestDevice({ backend: "cpu" });
    assertEquals(await keysOf(name, device), torchvision[name]);
  });
}

/** A fake checkpoint with torchvision's keys and shapes and small seeded values. */
function fakeCheckpoint(keys: [string, number[]][]): StateDict {
  const out: StateDict = {};
  keys.forEach(([k, shape], i) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let j = 0; j < Math.min(size, 64); j++) data[j] = ((i * 31 + j) % 17) / 17 - 0.5;
    out[k] = { dtype: "f32", shape, data };
  });
  return out;
}

Deno.test("ImageNet ResNet-50 maps onto fcn_resnet50's backbone, fc dropped", () => {
  const mapped = mapPretrainedBackbone(
    fakeCheckpoint(torchvision.resnet50),
    resolveConfig("fcn_resnet50"),
  );
  const backbone = torchvision.fcn_resnet50.filter(([k]) => k.startsWith("backbone."));
  assertEquals(Object.entries(mapped).map(([k, v]) => [k, v.shape]), backbone);
});

Deno.test("ImageNet VGG-16(-BN) map features.N to stageK.M and fc6/fc7 into fcn_head", async () => {
  const device = await requestDevice({ backend: "cpu" });
  for (const backbone of ["vgg11", "vgg16_bn"] as const) {
    const config = resolveConfig("fcn8s", { backbone, width: 1 / 16, headChannels: 8 });
    // The torchvision layout at width 1/16: same keys, shapes shrunk as our model's.
    const model = createModel("fcn8s", config, device);
    const ours = await model.stateDict();
    model.dispose();
    const tvKeys = torchvision[backbone === "vgg11" ? "vgg11" : "vgg16_bn"];
    const mapped = mapPretrainedBackbone(
      fakeCheckpoint(tvKeys),
      resolveConfig("fcn8s", { backbone }),
    );
    const expected = Object.keys(ours).filter((k) =>
      k.startsWith("stage") || k.startsWith("fcn_head.0.") || k.startsWith("fcn_head.3.")
    );
    assertEquals(Object.keys(mapped).sort(), expected.sort(), backbone);
    if (backbone === "vgg11") {
      assertEquals(mapped["fcn_head.0.weight"].shape, [4096, 512, 7, 7]);
      assertEquals(mapped["fcn_head.3.weight"].shape, [4096, 4096, 1, 1]);
    }
  }
});

Deno.test("loadStateDict: strict lists every problem; non-strict loads what fits", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const small = { width: 1 / 16, headChannels: 8 };
  const voc = createModel("fcn8s", { ...small, numClasses: 21 }, device);
  const dict = await voc.stateDict();
  voc.dispose();
  const model = createModel("fcn8s", { ...small, numClasses: 5 }, device);
  dict["extra.weight"] = { dtype: "f32", shape: [1], data: new Float32Array(1) };
  delete dict["stage1.0.bias"];
  const err = assertThrows(() => model.loadStateDict(dict));
  for (
    const part of [
      "missing (1): stage1.0.bias",
      "unexpected (1): extra.weight",
      "fcn_head.6.weight model [5,8,1,1] file [21,8,1,1]",
    ]
  ) {
    assert(err.message.includes(part), `expected "${part}" in:\n${err.message}`);
  }
  const r = model.loadStateDict(dict, { strict: false });
  assertEquals(r.missing, ["stage1.0.bias"]);
  assertEquals(r.unexpected, ["extra.weight"]);
  assertEquals(
    r.mismatched.map((m) => m.key).sort(),
    [
      "fcn_head.6.bias",
      "fcn_head.6.weight",
      "pool3_score.bias",
      "pool3_score.weight",
      "pool4_score.bias",
      "pool4_score.weight",
      "upsample2_1.weight",
      "upsample2_2.weight",
      "upsample8.weight",
    ],
  );
  const loaded = await model.stateDict();
  assertClose(loaded["stage2.0.weight"].data, dict["stage2.0.weight"].data, { atol: 0, rtol: 0 });
  model.dispose();
});

Deno.test("createModel rejects unknown names and options with what is allowed", async () => {
  const device = await requestDevice({ backend: "cpu" });
  assertThrows(() => createModel("fcn9s" as never, {}, device), "expected one of fcn32s");
  assertThrows(() => createModel("fcn8s", { backbone: "vgg12" as never }, device), "vgg16_bn");
  assertThrows(() => createModel("fcn8s", { numClasses: 0 }, device), "numClasses");
});

Deno.test("Every VGG depth with and without BN builds and keeps the input size", async () => {
  const device = (await devices()).get("cpu")!;
  for (const backbone of ["vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg19_bn"] as const) {
    for (const name of ["fcn32s", "fcn16s", "fcn8s"] as const) {
      const m = createModel(
        name,
        { backbone, width: 1 / 32, headChannels: 4, numClasses: 3 },
        device,
      );
      m.eval();
      const x = tensor(randn(3 * 40 * 50, 3), [1, 3, 40, 50], device);
      const { out } = tidy(() => m.forward(x));
      assertEquals(out.shape, [1, 3, 40, 50], `${name} ${backbone}`);
      out.dispose();
      x.dispose();
      m.dispose();
    }
  }
});

Deno.test({
  name: "full-size FCN-8s/VGG16 loads a full-size checkpoint and runs forward at 64x64",
  ignore: !hasWebGpu,
  fn: async () => {
    const device = await requestDevice({ backend: "webgpu" });
    const model = createModel("fcn8s", {}, device);
    assertEquals(model.parameterCount(), 134_489_759);
    const mapped = mapPretrainedBackbone(
      fakeCheckpoint(torchvision.vgg16),
      resolveConfig("fcn8s"),
    );
    const r = model.loadStateDict(mapped, { strict: false });
    assertEquals(r.loaded.length, 30);
    model.eval();
    const x = tensor(randn(3 * 64 * 64, 5), [1, 3, 64, 64], device);
    const { out } = tidy(() => model.forward(x));
    assertEquals(out.shape, [1, 21, 64, 64]);
    const before = await out.toArray();
    assert(before.every(Number.isFinite), "finite logits");
    // A full-size checkpoint round trip: save, read back, strict load into a fresh model.
    const bytes = writeSafetensors(await model.stateDict());
    model.dispose();
    const reloaded = createModel("fcn8s", { seed: 9 }, device);
    reloaded.loadStateDict(readSafetensors(bytes).tensors);
    const fc6 = (await reloaded.stateDict())["fcn_head.0.weight"];
    assertEquals(fc6.shape, [4096, 512, 7, 7]);
    assertClose(fc6.data.subarray(0, 64), mapped["fcn_head.0.weight"].data.subarray(0, 64), {
      atol: 0,
      rtol: 0,
    });
    for (const t of [out, x]) t.dispose();
    reloaded.dispose();
    device.destroy();
  },
});

Deno.test("inference frees each intermediate once the next layer has used it", async () => {
  const { Sequential, ReLU } = await import("../lib/nn/layers.ts");
  const { noGrad } = await import("../mod.ts");
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(randn(1000, 1), [1, 10, 10, 10], device);
  const before = device.liveBytes();
  const seq = new Sequential([new ReLU(), new ReLU(), new ReLU()]);
  const y = noGrad(() => seq.forward(x));
  assertEquals(device.liveBytes() - before, 4000, "only the output is left");
  assert(!x.disposed, "the input is never freed");
  // With a graph, intermediates stay for backward.
  const w = tensor(randn(1000, 2), [1, 10, 10, 10], device, { requiresGrad: true });
  const mid = device.liveBytes();
  const z = seq.forward(w);
  assertEquals(device.liveBytes() - mid, 3 * 4000);
  for (const t of [x, y, w, z]) t.dispose();
});
