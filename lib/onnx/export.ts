/**
 * `exportOnnx`: a built FCN as a standard ONNX file (opset 17), no Python involved. The graph
 * is the evaluation-mode forward: input `input` `[N, 3, H, W]` (normalised with ImageNet's mean
 * and std), output `out` `[N, K, H, W]` logits, N, H and W dynamic; dropout is left out and batch
 * norm uses the running statistics.
 *
 * @module
 */
import type { FcnModel } from "../models/types.ts";
import type { Tensor } from "../tensor.ts";
import { VERSION } from "../version.ts";
import { OnnxGraph } from "./graph.ts";
import { emitForward } from "./models.ts";
import { encodeModel, type OnnxValueInfo } from "./onnx_proto.ts";

/** The operator set the graphs use. */
export const ONNX_OPSET = 17;
/** The IR version that goes with {@linkcode ONNX_OPSET}. */
const IR_VERSION = 8;

/** Options of {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /** Add the aux head's logits as a second output `aux` (FCN-ResNet with an aux head; default false). */
  aux?: boolean;
  /** Class names, stored in the file's metadata as `classes` (a JSON array). */
  classes?: readonly string[];
}

/**
 * Encodes `model` (its current weights) as an ONNX file. Initializers keep the state-dict keys
 * as names; the metadata holds the model's config (`fcn_config`, JSON) and the class names when
 * given. The input and output have symbolic dimensions `N`, `H`, `W`.
 *
 * @example A small FCN-8s to ONNX bytes
 * ```ts
 * import { createModel, exportOnnx, requestDevice } from "@x/fcn";
 * import { assert } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const model = createModel("fcn8s", { numClasses: 3, width: 1 / 16, headChannels: 16 }, device);
 * const bytes = await exportOnnx(model, { classes: ["background", "cat", "dog"] });
 * assert(bytes.length > model.parameterCount() * 4); // float32 weights plus the graph
 * // await Deno.writeFile("model.onnx", bytes);
 * ```
 */
export async function exportOnnx(
  model: FcnModel,
  options: ExportOnnxOptions = {},
): Promise<Uint8Array> {
  const k = model.config.numClasses;
  if (options.classes && options.classes.length !== k) {
    throw new RangeError(
      `exportOnnx: ${options.classes.length} class names for a model of ${k} classes`,
    );
  }
  const names = new Map<Tensor, string>(
    [...model.namedParameters(), ...model.namedBuffers()].map(([key, t]) => [t, key]),
  );
  const g = new OnnxGraph(names);
  const y = emitForward(g, model, "input");
  if (options.aux && !y.aux) {
    throw new RangeError(`exportOnnx: aux requested but ${model.config.name} has no aux head`);
  }
  const dims = (c: number) => ["N", c, "H", "W"];
  const outputs: (OnnxValueInfo & { value: string })[] = [
    { value: y.out, name: "out", dims: dims(k) },
  ];
  if (options.aux && y.aux) outputs.push({ value: y.aux, name: "aux", dims: dims(k) });
  const graph = await g.finish(model.config.name, [{ name: "input", dims: dims(3) }], outputs);
  const metadata: Record<string, string> = { fcn_config: JSON.stringify(model.config) };
  if (options.classes) metadata.classes = JSON.stringify(options.classes);
  return encodeModel({
    irVersion: IR_VERSION,
    opset: ONNX_OPSET,
    producerName: "@x/fcn",
    producerVersion: VERSION,
    docString: `${model.config.name}: input [N, 3, H, W] RGB in [0, 1] normalised with ` +
      "ImageNet's mean and std; output out [N, K, H, W] logits",
    graph,
    metadata,
  });
}
