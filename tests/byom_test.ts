/**
 * Bring your own model (issue 13): checkpoints in the formats users have (torchvision's plain
 * state dict, WZMIAOMIAO's and fouen6's training dicts, DataParallel's `module.`, safetensors)
 * load without a config.json, and the two tutorial families match PyTorch (fixtures from
 * scripts/make_byom_goldens.py): eval logits, train-mode loss, every gradient, one SGD step.
 */
import {
  add,
  createModel,
  crossEntropy,
  detectModel,
  type Device,
  loadModel,
  readSafetensors,
  readStateDict,
  scale,
  SGD,
  type StateDict,
  tensor,
} from "../mod.ts";
import { devices } from "./harness.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

const byom = (f: string) => new URL(`../fixtures/byom/${f}`, import.meta.url).pathname;
const golden = (f: string) => new URL(`../fixtures/golden/${f}`, import.meta.url).pathname;
const read = async (path: string): Promise<StateDict> =>
  readSafetensors(await Deno.readFile(path)).tensors;

const detections: [string, string][] = [
  [
    byom("fcn8s_bnhead.pth"),
    "fcn8s_bnhead (FCN-8s with a batch-norm head: backbone.layerN, head.fc6/fc7, transpose_convN) on vgg16, 3 classes, head 4, width 1/32",
  ],
  [
    byom("fcn8s_bnhead_dp.pth"),
    "fcn8s_bnhead (FCN-8s with a batch-norm head: backbone.layerN, head.fc6/fc7, transpose_convN) on vgg16, 3 classes, head 4, width 1/32",
  ],
  [
    byom("fcn_fusion_fouen6.pth"),
    "fcn_fusion (feature-level fusion FCN: stage1..5, upsample_2x_N, conv_transN, upsample_8x) on vgg16_bn, 3 classes, width 1/32",
  ],
  [
    byom("fcn_fusion_bias.safetensors"),
    "fcn_fusion (feature-level fusion FCN: stage1..5, upsample_2x_N, conv_transN, upsample_8x) on vgg16_bn, 3 classes, biased upsamplers, width 1/32",
  ],
  [
    byom("fcn_resnet_wz.pth"),
    "fcn_resnet50 (torchvision layout), 3 classes, aux head, layers [1,1,1,1], width 1/32",
  ],
  [golden("fcn8s.pth"), "fcn8s (this project's layout) on vgg16, 3 classes, head 8, width 1/16"],
  [
    golden("fcn16s.safetensors"),
    "fcn16s (this project's layout) on vgg16, 3 classes, head 8, width 1/16",
  ],
  [
    golden("fcn32s.safetensors"),
    "fcn32s (this project's layout) on vgg16, 3 classes, head 8, width 1/16",
  ],
  [
    golden("fcn8s_vgg11_bn.safetensors"),
    "fcn8s (this project's layout) on vgg11_bn, 3 classes, head 8, width 1/16",
  ],
  [
    golden("fcn_resnet_small.pth"),
    "fcn_resnet50 (torchvision layout), 3 classes, aux head, layers [1,1,1,1], width 1/16",
  ],
];

Deno.test("byom: every format and family is detected from the state dict alone", async () => {
  const [device] = (await devices()).values();
  for (const [path, summary] of detections) {
    const loaded = await loadModel(path, device);
    assertEquals(loaded.summary, summary, path);
    assertEquals(loaded.classes, ["class_0", "class_1", "class_2"]);
    loaded.model.dispose();
  }
});

Deno.test("byom: a torchvision-sized ResNet-101 dict is named fcn_resnet101", () => {
  const t = (...shape: number[]) => ({ dtype: "f32" as const, shape, data: new Float32Array(0) });
  const d: StateDict = {
    "backbone.conv1.weight": t(64, 3, 7, 7),
    "backbone.bn1.weight": t(64),
    "classifier.0.weight": t(512, 2048, 3, 3),
    "classifier.1.weight": t(512),
    "classifier.4.weight": t(21, 512, 1, 1),
    "aux_classifier.0.weight": t(256, 1024, 3, 3),
  };
  [3, 4, 23, 3].forEach((n, i) => {
    for (let b = 0; b < n; b++) d[`backbone.layer${i + 1}.${b}.conv1.weight`] = t(1, 1, 1, 1);
  });
  d["backbone.layer4.0.conv3.weight"] = t(2048, 512, 1, 1);
  assertEquals(
    detectModel(d, "r101.pth").summary,
    "fcn_resnet101 (torchvision layout), 21 classes, aux head",
  );
});

Deno.test("byom: an unknown layout names the closest family and its key differences", async () => {
  const dict = await readStateDict(byom("fcn8s_bnhead.pth"));
  const renamed: StateDict = {};
  for (const [k, v] of Object.entries(dict)) renamed[k.replace("head.fc6.", "head.conv6.")] = v;
  let message = "";
  try {
    detectModel(renamed, "mine.pth");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.startsWith("mine.pth: the"), message);
  assert(message.includes("Closest: fcn8s_bnhead"), message);
  assert(message.includes("missing keys: 2 (head.fc6.0.weight, head.fc6.1.running_mean)"), message);
  assert(message.includes("unexpected keys: 7 (head.conv6.0.weight"), message);
});

Deno.test("byom: overrides, classes.json and re-initialised class layers", async () => {
  const [device] = (await devices()).values();
  const dir = await Deno.makeTempDir();
  const classes = `${dir}/classes.json`;
  await Deno.writeTextFile(
    classes,
    JSON.stringify({ classes: ["bg", "cat"].map((name, i) => ({ name, color: [i, i, i] })) }),
  );
  const l = await loadModel(byom("fcn8s_bnhead.pth"), device, { numClasses: 2, classes });
  assertEquals(l.config.numClasses, 2);
  assertEquals(l.classes, ["bg", "cat"]);
  assertEquals(l.colors, [[0, 0, 0], [1, 1, 1]]);
  assert(l.summary.endsWith("; class layers re-initialised for 2 classes (the file has 3)"));
  assertEquals(l.reinitialised.filter((k) => k.endsWith(".weight")), [
    "layer3_conv.weight",
    "layer4_conv.weight",
    "layer5_conv.weight",
    "transpose_conv1.0.weight",
    "transpose_conv1.1.weight",
    "transpose_conv2.0.weight",
    "transpose_conv2.1.weight",
    "transpose_conv3.0.weight",
    "transpose_conv3.1.weight",
  ]);
  // The backbone still holds the file's weights.
  const file = await readStateDict(byom("fcn8s_bnhead.pth"));
  const now = await l.model.stateDict();
  assertClose(now["backbone.layer1.0.weight"].data, file["backbone.layer1.0.weight"].data, {
    atol: 0,
  });
  l.model.dispose();
  const voc = await loadModel(byom("fcn_resnet_wz.pth"), device, { numClasses: 21 });
  assertEquals(voc.classes[15], "person");
  voc.model.dispose();
  await Deno.remove(dir, { recursive: true });
});

const maxAbs = (a: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]));
  return max;
};

/**
 * `|got - ref| <= tol * max|ref| + tol * |ref| + floor`. `floor` covers tensors whose exact
 * value is 0 (the bias of a conv followed by train-mode BatchNorm has zero gradient, so
 * PyTorch's is rounding noise): a small fraction of the largest gradient of the model.
 */
function closeRelMax(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: number,
  name: string,
  floor = 1e-7,
) {
  assertClose(got, ref, { atol: tol * maxAbs(ref) + floor, rtol: tol, name });
}

async function parity(device: Device, path: string, goldenFile: string) {
  const io = await read(golden("input.safetensors"));
  const g = await read(byom(goldenFile));
  const x = tensor(io.input.data, io.input.shape, device);
  const target = tensor(Int32Array.from(io.target.data), io.target.shape, device);
  const where = `${goldenFile} on ${device.kind}`;
  const { model } = await loadModel(path, device, { dropout: 0 });
  model.eval();
  const ev = model.forward(x);
  closeRelMax(await ev.out.toArray(), g.out_eval.data, 1e-4, `${where}: out (eval)`);
  if (g.aux_eval) closeRelMax(await ev.aux!.toArray(), g.aux_eval.data, 1e-4, `${where}: aux`);
  ev.out.dispose();
  ev.aux?.dispose();

  model.train();
  const sgd = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const o = model.forward(x);
  let loss = crossEntropy(o.out, target);
  if (o.aux) loss = add(loss, scale(crossEntropy(o.aux, target), 0.5));
  closeRelMax([await loss.item()], g.loss.data, 1e-4, `${where}: loss`);
  loss.backward();
  const floor = 1e-5 *
    Math.max(...Object.keys(g).filter((k) => k.startsWith("grad.")).map((k) => maxAbs(g[k].data)));
  for (const [k, p] of model.namedParameters()) {
    const ref = g[`grad.${k}`];
    if (!ref) continue; // unused in the forward pass (fcn_fusion's scores1..3): no gradient
    closeRelMax(await p.grad!.toArray(), ref.data, 1e-3, `${where}: grad.${k}`, floor);
  }
  sgd.step();
  const after = await model.stateDict();
  // The update p1 - p0 (and the BN statistics' change), relative to its own largest value.
  const p0 = await readStateDict(path);
  for (const [k, v] of Object.entries(after)) {
    const ref = g[`after.${k}`];
    assert(ref, `${where}: golden lacks after.${k}`);
    const start = p0[k]?.data ?? p0[`module.${k}`]?.data;
    assert(start, `${where}: the file lacks ${k}`);
    const delta = (a: ArrayLike<number>) => Float64Array.from(a, (x, i) => x - start[i]);
    closeRelMax(delta(v.data), delta(ref.data), 1e-3, `${where}: update of ${k}`, floor * 0.01);
  }
  model.dispose();
  sgd.dispose();
  x.dispose();
  target.dispose();
  loss.dispose();
}

const parityCases: [string, string][] = [
  ["fcn8s_bnhead_dp.pth", "fcn8s_bnhead_golden.safetensors"],
  ["fcn_fusion_fouen6.pth", "fcn_fusion_golden.safetensors"],
  ["fcn_fusion_bias.safetensors", "fcn_fusion_bias_golden.safetensors"],
  ["fcn_resnet_wz.pth", "fcn_resnet_wz_golden.safetensors"],
];
for (const [file, g] of parityCases) {
  Deno.test(`byom: PyTorch parity of ${file} (logits, loss, gradients, one SGD step)`, async () => {
    for (const device of (await devices()).values()) await parity(device, byom(file), g);
  });
}

Deno.test("byom: predict takes a checkpoint without config.json", async () => {
  const { run } = await import("../lib/cli/main.ts");
  const out = await Deno.makeTempDir();
  const image = new URL(
    "../fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages/",
    import.meta.url,
  ).pathname;
  const first = [...Deno.readDirSync(image)].map((e) => e.name).sort()[0];
  const code = await run([
    "predict",
    "--backend",
    "cpu",
    "--weights",
    byom("fcn_fusion_fouen6.pth"),
    "--out",
    out,
    `${image}${first}`,
  ]);
  assertEquals(code, 0);
  const files = [...Deno.readDirSync(out)].map((e) => e.name).sort();
  assertEquals(files.length, 2, `${files}`);
  await Deno.remove(out, { recursive: true });
});

Deno.test("byom: --weights takes a bare file name in the working directory", async () => {
  const { resolveWeights } = await import("../lib/cli/common.ts");
  const here = Deno.cwd();
  Deno.chdir(byom("."));
  try {
    // The folder of "fcn_fusion_fouen6.pth" is ".": no config.json there, so it is detected.
    const r = await resolveWeights("fcn_fusion_fouen6.pth");
    assertEquals([r.weightsPath, r.config.name], ["fcn_fusion_fouen6.pth", "fcn_fusion"]);
  } finally {
    Deno.chdir(here);
  }
});

Deno.test("byom: sides that are not multiples of 32 are padded and cropped back", async () => {
  const [device] = (await devices()).values();
  for (const f of ["fcn8s_bnhead.pth", "fcn_fusion_fouen6.pth"]) {
    const { model } = await loadModel(byom(f), device);
    model.eval();
    const x = tensor(new Float32Array(3 * 33 * 45), [1, 3, 33, 45], device);
    const { out } = model.forward(x);
    assertEquals(out.shape, [1, 3, 33, 45], f);
    for (const t of [x, out]) t.dispose();
    model.dispose();
  }
});

Deno.test("byom: fcn_fusion stages re-indexed from 0 load as torchvision's indices", async () => {
  const [device] = (await devices()).values();
  const dict = await readStateDict(byom("fcn_fusion_fouen6.pth"));
  const first: Record<string, number> = {};
  for (const k of Object.keys(dict)) {
    const m = /^stage(\d)\.(\d+)\./.exec(k);
    if (m) first[m[1]] = Math.min(first[m[1]] ?? Infinity, Number(m[2]));
  }
  assertEquals(first, { 1: 0, 2: 7, 3: 14, 4: 24, 5: 34 });
  const reindexed: StateDict = {};
  for (const [k, v] of Object.entries(dict)) {
    const m = /^stage(\d)\.(\d+)\.(.+)$/.exec(k);
    reindexed[m ? `stage${m[1]}.${Number(m[2]) - first[m[1]]}.${m[3]}` : k] = v;
  }
  const { config } = detectModel(reindexed, "reindexed.pth");
  const a = (await loadModel(byom("fcn_fusion_fouen6.pth"), device)).model;
  const b = createModel(config.name, config, device);
  b.loadStateDict(reindexed);
  const sa = await a.stateDict(), sb = await b.stateDict();
  for (const k of Object.keys(sa)) assertClose(sb[k].data, sa[k].data, { atol: 0, name: k });
  a.dispose();
  b.dispose();
});

Deno.test("byom: a foreign layout (a U-Net) is refused with its keys named", () => {
  const t = (...shape: number[]) => ({ dtype: "f32" as const, shape, data: new Float32Array(0) });
  const unet: StateDict = {
    "inc.double_conv.0.weight": t(64, 3, 3, 3),
    "down1.maxpool_conv.1.double_conv.0.weight": t(128, 64, 3, 3),
    "outc.conv.weight": t(2, 64, 1, 1),
  };
  let message = "";
  try {
    detectModel(unet, "unet.pth");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.startsWith("unet.pth: the 3 tensors match no known model. Closest: "), message);
  assert(
    message.includes("unexpected keys: 3 (inc.double_conv.0.weight, down1.maxpool_conv"),
    message,
  );
  assert(message.includes("Pass --model"), message);
});

Deno.test("byom: torchvision's real fcn_resnet50/101 key lists are detected", async () => {
  const lists = JSON.parse(await Deno.readTextFile(golden("torchvision_keys.json"))) as Record<
    string,
    [string, number[]][]
  >;
  for (const name of ["fcn_resnet50", "fcn_resnet101"]) {
    const d: StateDict = {};
    for (const [k, shape] of lists[name]) d[k] = { dtype: "f32", shape, data: new Float32Array(0) };
    const { config, summary } = detectModel(d, `${name}_coco.pth`);
    assertEquals(summary, `${name} (torchvision layout), 21 classes, aux head`);
    assertEquals(config.name, name);
  }
  // And torchvision's ImageNet VGG16 is a backbone, not a segmentation model.
  const vgg: StateDict = {};
  for (const [k, shape] of lists.vgg16) vgg[k] = { dtype: "f32", shape, data: new Float32Array(0) };
  let message = "";
  try {
    detectModel(vgg, "vgg16.pth");
  } catch (e) {
    message = (e as Error).message;
  }
  assert(
    message.includes("ImageNet classifier") && message.includes("--pretrained-backbone"),
    message,
  );
});

Deno.test("byom: predict's --model, --backbone, --num-classes and --classes reach the detection", async () => {
  const { run } = await import("../lib/cli/main.ts");
  const out = await Deno.makeTempDir();
  const image = new URL("../fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages/", import.meta.url)
    .pathname;
  const first = [...Deno.readDirSync(image)].map((e) => e.name).sort()[0];
  const classes = `${out}/classes.json`;
  const colors = [[0, 0, 0], [250, 10, 10], [10, 250, 10]];
  await Deno.writeTextFile(
    classes,
    JSON.stringify({ classes: colors.map((color, i) => ({ name: `c${i}`, color })) }),
  );
  const args = ["predict", "--backend", "cpu", "--weights", byom("fcn_fusion_fouen6.pth")];
  const lines: string[] = [];
  const log = console.log, error = console.error;
  console.log = (l: string) => lines.push(String(l));
  console.error = (l: string) => lines.push(String(l));
  let ok, wrong;
  try {
    ok = await run([
      ...args,
      ...["--model", "fcn_fusion", "--backbone", "vgg16_bn", "--classes", classes],
      ...["--out", `${out}/a`, `${image}${first}`],
    ]);
    wrong = await run([...args, "--num-classes", "4", "--out", `${out}/b`, `${image}${first}`]);
  } finally {
    console.log = log;
    console.error = error;
  }
  assertEquals(ok, 0, lines.join("\n"));
  assert(lines.some((l) => l.startsWith("Detected fcn_fusion")), lines.join("\n"));
  assert(wrong !== 0, "a class count the file does not have must not load silently");
  assert(lines.some((l) => l.includes("4 classes")), lines.join("\n"));
  await Deno.remove(out, { recursive: true });
});
