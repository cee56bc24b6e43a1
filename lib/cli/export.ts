/**
 * `export`: writes a model as an ONNX file (see lib/onnx/export.ts), its weights found as
 * predict finds them: a run folder, a .pth/.safetensors file (detected without config.json), a
 * URL or `torchvision:NAME`.
 *
 * @module
 */
import { requestDevice } from "../device/request.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { resolveWeights as fetchWeights } from "../io/weights.ts";
import { createModel } from "../models/create.ts";
import { skipInit } from "../nn/init.ts";
import { exportOnnx, ONNX_OPSET } from "../onnx/export.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "./flags.ts";
import {
  BUNDLED_MODEL,
  BUNDLED_MODEL_FILES,
  DETECT_FLAGS,
  detectOverrides,
  localPath,
  readWeights,
  resolveWeights,
} from "./common.ts";

/** The flags of `export`. */
export const EXPORT_FLAGS: FlagSpec[] = [
  {
    name: "weights",
    type: "string",
    help:
      "run folder, .pth/.safetensors (detected without config.json), URL or torchvision:NAME (default: the bundled model)",
  },
  { name: "out", type: "string", default: "model.onnx", help: "the ONNX file to write" },
  {
    name: "aux",
    type: "boolean",
    help: "also output the aux head's logits as `aux` (FCN-ResNet with an aux head)",
  },
  ...DETECT_FLAGS,
];

/** The `export` command. */
export async function main(args: string[]): Promise<number> {
  const p = parseFlags("export", args, EXPORT_FLAGS);
  if (p.help) {
    console.log(
      helpText(
        "export",
        "deno run -A mod.ts export [--weights W] [--out model.onnx]",
        EXPORT_FLAGS,
      ) +
        `\n\nThe file (ONNX opset ${ONNX_OPSET}) takes "input" [N, 3, H, W], RGB / 255 normalised ` +
        'with ImageNet\'s mean and std, any N, H, W, and returns "out" [N, K, H, W] logits.',
    );
    return 0;
  }
  if (p.positionals.length) {
    throw new UsageError(`export takes no positional arguments, got "${p.positionals[0]}"`);
  }
  const v = p.values as Record<string, string | number | boolean | undefined>;
  const out = v.out as string;
  if (!/\.onnx$/i.test(out)) throw new UsageError(`--out "${out}" should end in .onnx`);
  const resolved = await resolveWeights(
    (v.weights ? await fetchWeights(v.weights as string) : undefined) ??
      await localPath(BUNDLED_MODEL, BUNDLED_MODEL_FILES),
    detectOverrides(v),
  );
  const { config } = resolved;
  if (v.aux && !(config.name.startsWith("fcn_resnet") && config.aux)) {
    throw new UsageError(`--aux: ${config.name} in ${resolved.weightsPath} has no aux head`);
  }
  const device = await requestDevice({ backend: "cpu" });
  const model = skipInit(() => createModel(config.name, config, device));
  model.loadStateDict(await readWeights(resolved.weightsPath), { adopt: true });
  model.eval();
  const bytes = await exportOnnx(model, {
    aux: v.aux === true,
    classes: resolved.classes?.names,
  });
  await writeFileAtomic(out, bytes);
  device.destroy();
  console.log(
    `Wrote ${out} (${(bytes.length / 2 ** 20).toFixed(1)} MiB, ONNX opset ${ONNX_OPSET}): ` +
      `${config.name}, ${config.numClasses} classes, from ${resolved.weightsPath}`,
  );
  return 0;
}
