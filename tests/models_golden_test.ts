/**
 * Golden parity with PyTorch (fixtures from scripts/make_model_goldens.py): the same weights and
 * input give the same logits in eval mode, and in train mode (dropout off) the same loss,
 * gradients and parameters after one SGD step, on every available backend.
 */
import {
  add,
  createModel,
  crossEntropy,
  type Device,
  type ModelName,
  type ModelOptions,
  readSafetensors,
  readTorchCheckpoint,
  scale,
  SGD,
  type StateDict,
  tensor,
} from "../mod.ts";
import { extractStateDict } from "../lib/io/torch_pth.ts";
import { devices } from "./harness.ts";
import { assert, assertClose } from "./assert.ts";

const dir = new URL("../fixtures/golden/", import.meta.url);
const read = async (name: string): Promise<StateDict> =>
  readSafetensors(await Deno.readFile(new URL(name, dir))).tensors;

const cases: { file: string; name: ModelName; options: ModelOptions }[] = [
  { file: "fcn8s", name: "fcn8s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  { file: "fcn16s", name: "fcn16s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  { file: "fcn32s", name: "fcn32s", options: { numClasses: 3, width: 1 / 16, headChannels: 8 } },
  {
    file: "fcn8s_vgg11_bn",
    name: "fcn8s",
    options: { numClasses: 3, width: 1 / 16, headChannels: 8, backbone: "vgg11_bn" },
  },
  {
    file: "fcn_resnet_small",
    name: "fcn_resnet50",
    options: { numClasses: 3, width: 1 / 16, layers: [1, 1, 1, 1], aux: true },
  },
];

/** `|got - ref| <= tol * max|ref| + tol * |ref|`. */
function closeRelMax(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, name: string) {
  let max = 0;
  for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i]));
  assertClose(got, ref, { atol: tol * max + 1e-7, rtol: tol, name });
}

async function parity(device: Device, c: (typeof cases)[number], weights: StateDict) {
  const io = await read("input.safetensors");
  const golden = await read(`${c.file}_golden.safetensors`);
  const x = tensor(io.input.data, io.input.shape, device);
  const target = tensor(Int32Array.from(io.target.data), io.target.shape, device);
  const where = `${c.file} on ${device.kind}`;

  // Eval mode: logits within 1e-4 of the largest logit.
  const model = createModel(c.name, { ...c.options, dropout: 0 }, device);
  model.loadStateDict(weights);
  model.eval();
  const ev = model.forward(x);
  closeRelMax(await ev.out.toArray(), golden.out_eval.data, 1e-4, `${where}: out (eval)`);
  if (golden.aux_eval) {
    assert(ev.aux, `${where}: expected an aux output`);
    closeRelMax(await ev.aux.toArray(), golden.aux_eval.data, 1e-4, `${where}: aux (eval)`);
  }
  ev.out.dispose();
  ev.aux?.dispose();

  // Train mode, dropout off: loss, gradients, one SGD step.
  model.train();
  const sgd = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const o = model.forward(x);
  let loss = crossEntropy(o.out, target);
  if (o.aux) loss = add(loss, scale(crossEntropy(o.aux, target), 0.5));
  closeRelMax([await loss.item()], golden.loss.data, 1e-4, `${where}: loss`);
  loss.backward();
  for (const [k, p] of model.namedParameters()) {
    closeRelMax(await p.grad!.toArray(), golden[`grad.${k}`].data, 1e-3, `${where}: grad.${k}`);
  }
  sgd.step();
  const after = await model.stateDict();
  for (const [k, v] of Object.entries(after)) {
    const ref = golden[`after.${k}`];
    assert(ref, `${where}: golden lacks after.${k}`);
    closeRelMax(v.data, ref.data, 1e-3, `${where}: after.${k}`);
  }
  model.dispose();
  sgd.dispose();
  x.dispose();
  target.dispose();
  loss.dispose();
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
