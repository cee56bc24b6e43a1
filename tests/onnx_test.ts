/**
 * ONNX export (issue 16, point 3): every model family, exported by `exportOnnx`, runs in
 * onnxruntime-node and gives our eval logits (cpu backend) within 1e-4 of the largest |logit| at
 * two input sizes that are not multiples of 32 (batch 2 at 50x70, batch 1 at 97x61), with batch
 * norm statistics and biases randomised so that every layer counts; the `export` command writes
 * a file that does the same for the bundled run folder and a detected .pth.
 */
// onnxruntime-node is a test and bench dependency only, never imported by lib/: kept inline.
// deno-lint-ignore no-import-prefix
import * as ort from "npm:onnxruntime-node@1.30.0";
import { run } from "../lib/cli/main.ts";
import {
  createModel,
  type Device,
  exportOnnx,
  type FcnModel,
  loadModel,
  type ModelName,
  type ModelOptions,
  noGrad,
  readSafetensors,
  requestDevice,
  type StateDict,
  tensor,
} from "../mod.ts";
import { OnnxGraph } from "../lib/onnx/graph.ts";
import { emitForward } from "../lib/onnx/models.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertEquals } from "./assert.ts";

const SIZES: [number, number, number][] = [[2, 50, 70], [1, 97, 61]]; // [N, H, W]

const small = { numClasses: 3, width: 1 / 16, headChannels: 8 };
const FAMILIES: [string, ModelName, ModelOptions][] = [
  ["fcn32s vgg16", "fcn32s", small],
  ["fcn16s vgg13", "fcn16s", { ...small, backbone: "vgg13" }],
  ["fcn8s vgg16", "fcn8s", small],
  ["fcn8s vgg11_bn", "fcn8s", { ...small, backbone: "vgg11_bn" }],
  ["fcn16s vgg19_bn", "fcn16s", { ...small, backbone: "vgg19_bn" }],
  ["fcn_resnet50 with aux", "fcn_resnet50", { ...small, layers: [1, 2, 1, 1] }],
  ["fcn_resnet101 without aux", "fcn_resnet101", { ...small, layers: [1, 1, 3, 1], aux: false }],
  ["fcn8s_bnhead", "fcn8s_bnhead", small],
  ["fcn_fusion", "fcn_fusion", { ...small, upsampleBias: true }],
];

/** Batch-norm scales, shifts and statistics and every bias drawn at random (seeded). */
function randomised(model: FcnModel, seed: number): StateDict {
  const rng = new Rng(seed);
  const dict: StateDict = {};
  for (const [key, t] of [...model.namedParameters(), ...model.namedBuffers()]) {
    if (t.shape.length !== 1) continue; // conv weights keep their seeded init
    const positive = key.endsWith("running_var") || key.endsWith(".weight");
    const data = Float32Array.from(
      { length: t.size },
      () => positive ? rng.uniform(0.5, 1.5) : rng.uniform(-0.2, 0.2),
    );
    dict[key] = { dtype: "f32", shape: [...t.shape], data };
  }
  return dict;
}

function input(n: number, h: number, w: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * 3 * h * w }, () => rng.uniform(-2, 2));
}

/** max |ours - onnx| and max |ours| of one output. */
function compare(ours: ArrayLike<number>, theirs: ArrayLike<number>): [number, number] {
  assertEquals(ours.length, theirs.length);
  let diff = 0, top = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
    top = Math.max(top, Math.abs(ours[i]));
  }
  return [diff, top];
}

/** Runs `bytes` in onnxruntime-node and `model` on our device at every size; returns max diffs. */
async function check(model: FcnModel, bytes: Uint8Array, device: Device, aux = false) {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const k = model.config.numClasses;
  const worst: number[] = [];
  for (const [n, h, w] of SIZES) {
    const x = input(n, h, w, h * w);
    const ours = noGrad(() => model.forward(tensor(x, [n, 3, h, w], device)));
    const result = await session.run({ input: new ort.Tensor("float32", x, [n, 3, h, w]) });
    const names: ("out" | "aux")[] = aux ? ["out", "aux"] : ["out"];
    for (const name of names) {
      assertEquals(result[name].dims, [n, k, h, w], `${name} at ${n}x3x${h}x${w}`);
      const [diff, top] = compare(
        await ours[name]!.toArray(),
        result[name].data as Float32Array,
      );
      assert(top > 1e-3, `${name} logits are all ~0 (${top})`);
      assert(diff <= 1e-4 * top, `${name} at ${h}x${w}: max |diff| ${diff} > 1e-4 * ${top}`);
      worst.push(diff / top);
    }
  }
  await session.release();
  return Math.max(...worst);
}

const device = await requestDevice({ backend: "cpu" });

for (const [label, name, options] of FAMILIES) {
  Deno.test(`ONNX export of ${label} matches our logits in onnxruntime at 50x70 and 97x61`, async () => {
    const model = createModel(name, { ...options, seed: 7 }, device);
    model.loadStateDict(randomised(model, 11), { strict: false });
    model.eval();
    const aux = name === "fcn_resnet50";
    const worst = await check(model, await exportOnnx(model, { aux }), device, aux);
    console.log(`${label}: max |diff| / max |logit| = ${worst.toExponential(2)}`);
    model.dispose();
  });
}

Deno.test("ONNX graphs use the standard ops, no dropout, and name weights by state-dict key", async () => {
  const ops = async (name: ModelName, options: ModelOptions) => {
    const model = createModel(name, options, device);
    const names = new Map(
      [...model.namedParameters(), ...model.namedBuffers()].map(([k, t]) => [t, k]),
    );
    const g = new OnnxGraph(names);
    const { out } = emitForward(g, model, "input");
    const proto = await g.finish(name, [{ name: "input", dims: ["N", 3, "H", "W"] }], [
      { value: out, name: "out", dims: ["N", 3, "H", "W"] },
    ]);
    return { ops: new Set(proto.nodes.map((n) => n.op)), proto };
  };
  const vgg = await ops("fcn8s", { ...small, backbone: "vgg16_bn" });
  for (const op of ["Conv", "ConvTranspose", "BatchNormalization", "Relu", "MaxPool", "Add"]) {
    assert(vgg.ops.has(op), `fcn8s lacks ${op}`);
  }
  for (const op of ["Pad", "Slice", "Shape", "Concat"]) assert(vgg.ops.has(op), `no ${op}`);
  assert(!vgg.ops.has("Dropout"));
  assert(vgg.proto.initializers.some((t) => t.name === "stage1.1.running_var"));
  const resnet = await ops("fcn_resnet50", { ...small, layers: [1, 1, 1, 1] });
  assert(resnet.ops.has("Resize") && !resnet.ops.has("Pad"));
  const resize = resnet.proto.nodes.find((n) => n.op === "Resize")!;
  assertEquals(resize.attrs?.coordinate_transformation_mode, "half_pixel");
});

Deno.test("exportOnnx rejects an aux output the model lacks and mismatched class names", async () => {
  const model = createModel("fcn32s", small, device);
  let message = "";
  await exportOnnx(model, { aux: true }).catch((e) => message = e.message);
  assert(message.includes("has no aux head"), message);
  await exportOnnx(model, { classes: ["a"] }).catch((e) => message = e.message);
  assert(message.includes("1 class names for a model of 3 classes"), message);
});

Deno.test("export command: the bundled run folder and a detected .pth to ONNX files that match", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_onnx_" });
  const folder = new URL("../fixtures/model/", import.meta.url).pathname;
  const pth = new URL("../fixtures/byom/fcn8s_bnhead.pth", import.meta.url).pathname;
  // The run folder: config.json + best.safetensors.
  assertEquals(await run(["export", "--weights", folder, "--out", `${dir}/bundled.onnx`]), 0);
  const bundled = createModel(
    "fcn8s",
    JSON.parse(await Deno.readTextFile(`${folder}config.json`)).model,
    device,
  );
  bundled.loadStateDict(readSafetensors(await Deno.readFile(`${folder}best.safetensors`)).tensors);
  bundled.eval();
  await check(bundled, await Deno.readFile(`${dir}/bundled.onnx`), device);
  // A .pth without config.json: detected, as predict does.
  assertEquals(await run(["export", "--weights", pth, "--out", `${dir}/byom.onnx`]), 0);
  const { model } = await loadModel(pth, device);
  model.eval();
  await check(model, await Deno.readFile(`${dir}/byom.onnx`), device);
  // Usage errors exit with 2 and write nothing.
  assertEquals(await run(["export", "--weights", folder, "--aux", "--out", `${dir}/x.onnx`]), 2);
  assertEquals(await run(["export", "--weights", folder, "--out", `${dir}/x.txt`]), 2);
  assertEquals(await run(["export", "--weights", `${dir}/missing`, "--out", `${dir}/x.onnx`]), 2);
  assert(!await Deno.stat(`${dir}/x.onnx`).then(() => true, () => false));
  await Deno.remove(dir, { recursive: true });
});
