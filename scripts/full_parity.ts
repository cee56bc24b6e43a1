/**
 * Dev-only: full-size parity with PyTorch. First write the data with
 * `/usr/bin/python3 scripts/make_model_goldens.py --full` (to /tmp/fcn_full), then
 * `deno run -A scripts/full_parity.ts [webgpu|blas|cpu]`. Prints, per model, the largest
 * logit difference relative to the largest logit.
 */
import {
  createModel,
  extractStateDict,
  readSafetensors,
  readTorchCheckpoint,
  requestDevice,
  tensor,
  tidy,
} from "../mod.ts";

const dir = "/tmp/fcn_full";
const backend = (Deno.args[0] ?? "blas") as "webgpu" | "blas" | "cpu";
const device = await requestDevice({ backend });
const golden = readSafetensors(await Deno.readFile(`${dir}/logits.safetensors`)).tensors;
const x = tensor(golden.input.data, golden.input.shape, device);

function relMax(got: ArrayLike<number>, ref: ArrayLike<number>): string {
  let diff = 0, max = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - ref[i]));
    max = Math.max(max, Math.abs(ref[i]));
  }
  return `max |diff| ${diff.toExponential(2)} = ${
    (diff / max).toExponential(2)
  } of the largest logit (${max.toFixed(3)})`;
}

for (
  const [name, file, outs] of [
    ["fcn8s", "fcn8s_vgg16.pth", ["fcn8s_out"]],
    ["fcn_resnet50", "fcn_resnet50.pth", ["resnet50_out", "resnet50_aux"]],
  ] as const
) {
  const t0 = performance.now();
  const dict = extractStateDict(await readTorchCheckpoint(await Deno.readFile(`${dir}/${file}`)));
  const model = createModel(name, {}, device);
  model.loadStateDict(dict);
  model.eval();
  const o = tidy(() => model.forward(x));
  const got = [await o.out.toArray(), ...(o.aux ? [await o.aux.toArray()] : [])];
  outs.forEach((k, i) =>
    console.log(`${name} ${k} on ${device.kind}: ${relMax(got[i], golden[k].data)}`)
  );
  console.log(
    `  ${model.parameterCount()} parameters, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  model.dispose();
}
