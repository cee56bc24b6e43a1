/**
 * Golden parity with PyTorch (fixtures from scripts/make_model_goldens.py, computed in float64):
 * the same weights and input give the same logits in eval mode, and in train mode (dropout off)
 * the same losses, first gradients, and parameter updates `p[s+1] - p[s]` of two SGD steps (each
 * case exercises a different branch of SGD: Nesterov, dampening, plain momentum; weight decay
 * 1e-2 so that where it enters the rule shows), and BatchNorm statistics after them, on every
 * available backend.
 *
 * Each tensor is held to `max|ours - ref| <= K * max(err, 2^-24 * max|ref|)`, where `err` is the
 * measured max error of PyTorch's own float32 run of the same computation against the float64 one
 * (stored beside each reference as `err.<name>`). So a tolerance is never looser than the float
 * noise of that very tensor warrants, and a gradient is judged against its own scale.
 */
import {
  add,
  createModel,
  crossEntropy,
  type Device,
  type ModelName,
  type ModelOptions,
  noGrad,
  readTorchCheckpoint,
  scale,
  SGD,
  type StateDict,
  tensor,
} from "../mod.ts";
import { extractStateDict } from "../lib/io/torch_pth.ts";
import { devices } from "./harness.ts";
import { assert, assertClose } from "./assert.ts";
import { assertNearGolden, goldenReader } from "./_golden.ts";

/**
 * How many times PyTorch's own float32 error a backend may be off by. Our kernels sum in other
 * orders than PyTorch's (chunked implicit GEMM, tree reductions), so their float32 error differs
 * from PyTorch's by a small factor; the largest ratio measured over every tensor and backend here
 * was 5.5, on WebGPU (`FCN_GOLDEN_RATIOS=1` prints them).
 */
const K = 12;

const dir = new URL("../fixtures/golden/", import.meta.url);
const read = goldenReader(dir);

const cases: { file: string; name: ModelName; options: ModelOptions; input?: string }[] = [
  { file: "fcn8s", name: "fcn8s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  { file: "fcn16s", name: "fcn16s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  { file: "fcn32s", name: "fcn32s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  {
    file: "fcn8s_vgg11_bn",
    name: "fcn8s",
    options: { numClasses: 3, width: 1 / 16, headChannels: 8, backbone: "vgg11_bn" },
    input: "64",
  },
  {
    file: "fcn_resnet_small",
    name: "fcn_resnet50",
    options: { numClasses: 3, width: 1 / 16, layers: [1, 1, 1, 1], aux: true },
  },
];

/** Asserts `got` is within K times PyTorch's float32 error of the float64 reference `key`. */
function matches(got: ArrayLike<number>, golden: StateDict, key: string, where: string) {
  assertNearGolden(got, golden, key, { k: K, name: `${where}: ${key} (K = ${K})` });
}

async function parity(device: Device, c: (typeof cases)[number], weights: StateDict) {
  const io = await read("input.safetensors");
  const golden = await read(`${c.file}_golden.safetensors`);
  const input = io[`input${c.input ?? ""}`], labels = io[`target${c.input ?? ""}`];
  const x = tensor(input.data, input.shape, device);
  const target = tensor(Int32Array.from(labels.data), labels.shape, device);
  const where = `${c.file} on ${device.kind}`;

  const model = createModel(c.name, { ...c.options, dropout: 0 }, device);
  model.loadStateDict(weights);
  model.eval();
  const ev = model.forward(x);
  matches(await ev.out.toArray(), golden, "out_eval", where);
  if (golden.aux_eval) {
    assert(ev.aux, `${where}: expected an aux output`);
    matches(await ev.aux.toArray(), golden, "aux_eval", where);
  }
  ev.out.dispose();
  ev.aux?.dispose();
  // Inference (no graph): batch norms folded into their convolutions, the same logits.
  const inf = noGrad(() => model.forward(x));
  matches(await inf.out.toArray(), golden, "out_eval", `${where}, under noGrad`);
  inf.out.dispose();
  inf.aux?.dispose();

  model.train();
  const [lr, momentum, dampening, weightDecay, nesterov] = golden.sgd.data;
  const sgd = new SGD(model.parameters(), {
    lr,
    momentum,
    dampening,
    weightDecay,
    nesterov: nesterov === 1,
  });
  for (let step = 0; `loss${step}` in golden; step++) {
    sgd.zeroGrad();
    const o = model.forward(x);
    let loss = crossEntropy(o.out, target);
    if (o.aux) loss = add(loss, scale(crossEntropy(o.aux, target), 0.5));
    matches([await loss.item()], golden, `loss${step}`, where);
    loss.backward();
    const before = new Map<string, Float32Array>();
    for (const [k, p] of model.namedParameters()) {
      const value = await p.toArray() as Float32Array;
      before.set(k, value);
      if (step === 0) matches(await p.grad!.toArray(), golden, `grad.${k}`, where);
    }
    sgd.step();
    for (const [k, p] of model.namedParameters()) {
      const after = await p.toArray() as Float32Array, was = before.get(k)!;
      matches(after.map((v, i) => v - was[i]), golden, `update${step}.${k}`, where);
    }
    loss.dispose();
    o.out.dispose();
    o.aux?.dispose();
  }
  const params = new Set(model.namedParameters().map(([k]) => k));
  for (const [k, v] of Object.entries(await model.stateDict())) {
    if (!params.has(k) && v.dtype === "f32") matches(v.data, golden, `after.${k}`, where);
  }
  model.dispose();
  sgd.dispose();
  x.dispose();
  target.dispose();
}

for (const c of cases) {
  Deno.test(`PyTorch parity: ${c.file} (safetensors weights)`, async () => {
    const weights = await read(`${c.file}.safetensors`);
    for (const device of (await devices()).values()) await parity(device, c, weights);
  });
}

for (const file of ["fcn8s", "fcn_resnet_small"]) {
  Deno.test(`PyTorch parity: ${file}.pth loads the same weights as the safetensors`, async () => {
    const pth = extractStateDict(
      await readTorchCheckpoint(await Deno.readFile(new URL(`${file}.pth`, dir))),
    );
    const st = await read(`${file}.safetensors`);
    assert(Object.keys(pth).join() === Object.keys(st).join(), "same keys in the same order");
    for (const k of Object.keys(st)) assertClose(pth[k].data, st[k].data, { atol: 0, rtol: 0 });
  });
}
