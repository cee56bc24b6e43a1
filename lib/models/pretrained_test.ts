import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { requestDevice } from "../device/request.ts";
import { createModel } from "./create.ts";
import { loadPretrained, loadPretrainedBackbone } from "./pretrained.ts";

const small = { width: 1 / 16, headChannels: 32 };

Deno.test("loadPretrained: another class count re-initialises the class layers and says so", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const voc = createModel("fcn8s", { ...small, numClasses: 21, seed: 1 }, device);
  const mine = createModel("fcn8s", { ...small, numClasses: 5, seed: 2 }, device);
  const before = await mine.stateDict();
  const r = loadPretrained(mine, await voc.stateDict(), "voc.safetensors");
  const after = await mine.stateDict(), src = await voc.stateDict();
  assert(r.summary.includes("class layers re-initialised (21 -> 5 classes"), r.summary);
  assert(r.reinitialised.length > 0);
  for (const k of r.reinitialised) assertEquals(after[k].data, before[k].data, k);
  assertEquals(after["stage1.0.weight"].data, src["stage1.0.weight"].data);
  assertEquals(r.loaded.length + r.reinitialised.length, Object.keys(src).length);
});

Deno.test("loadPretrained: the same class count loads everything", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const a = createModel("fcn32s", { ...small, numClasses: 3, seed: 1 }, device);
  const b = createModel("fcn32s", { ...small, numClasses: 3, seed: 2 }, device);
  const r = loadPretrained(b, await a.stateDict(), "a.pth");
  assertEquals(r.reinitialised, []);
  assertEquals(r.summary, `Pretrained: ${r.loaded.length} tensors loaded from a.pth`);
});

Deno.test("loadPretrainedBackbone and loadPretrained refuse files that would load 0 tensors", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const model = createModel("fcn8s", { ...small, numClasses: 3 }, device);
  const t = (...shape: number[]) => ({
    dtype: "f32" as const,
    shape,
    data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  });
  const e1 = assertThrows(
    () => loadPretrainedBackbone(model, { "features.0.weight": t(64, 3, 3, 3) }, "vgg16.pth"),
    "--pretrained-backbone would load 0 tensors",
  );
  assert(e1.message.includes("the model has [4,3,3,3], the file [64,3,3,3]"), e1.message);
  const e2 = assertThrows(
    () => loadPretrainedBackbone(model, { "conv1.weight": t(64, 3, 7, 7) }, "resnet.pth"),
    "no tensor name of the file is one of the model's",
  );
  assert(e2.message.startsWith("resnet.pth:"), e2.message);
  assertThrows(() => loadPretrained(model, { "foo.weight": t(2) }, "x.pth"), "0 tensors");
});
