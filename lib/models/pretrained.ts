/**
 * Starting a training run from someone else's weights: a whole FCN checkpoint (`train
 * --pretrained`, fine-tuning, with the class layers re-initialised when the class count
 * differs) or an ImageNet classifier mapped onto the backbone (`train --pretrained-backbone`).
 * Either way a file that would load nothing is an error that says why, not a silent no-op.
 *
 * @module
 */
import type { StateDict } from "../io/host_tensor.ts";
import type { LoadReport } from "../nn/module.ts";
import { mapPretrainedBackbone } from "./create.ts";
import { adaptClassLayers, detectModel } from "./detect.ts";
import type { FcnModel } from "./types.ts";

/** What {@linkcode loadPretrained} and {@linkcode loadPretrainedBackbone} did. */
export interface PretrainedReport extends LoadReport {
  /** Class layers kept as initialised because the file has another class count. */
  reinitialised: string[];
  /** One line for people. */
  summary: string;
}

/** A few of `keys`, for messages. */
const some = (keys: string[], n = 3): string =>
  keys.slice(0, n).join(", ") + (keys.length > n ? `, … (${keys.length} in all)` : "");

/** Why nothing of `source` fits `model`, from a load report. */
function nothingLoaded(source: string, what: string, r: LoadReport): Error {
  const why = r.mismatched.length
    ? `every matching name has another shape (e.g. ${r.mismatched[0].key}: the model has ` +
      `[${r.mismatched[0].expected}], the file [${r.mismatched[0].found}]); build the model ` +
      `at the file's size (width 1, head channels 4096) or pick the file of this backbone`
    : `no tensor name of the file is one of the model's (the file has ${some(r.unexpected)}; ` +
      `the model expects ${some(r.missing)})`;
  return new Error(`${source}: ${what} would load 0 tensors: ${why}.`);
}

/**
 * Loads a whole FCN checkpoint into `model` for fine-tuning. When the file's class count
 * (detected from its keys and shapes) differs from the model's, its class layers are left out
 * and the model keeps their fresh initialisation; the summary says so.
 *
 * @example Fine-tune a 21-class model's weights on 5 classes
 * ```ts
 * import { createModel, loadPretrained, requestDevice } from "@x/fcn";
 * import { assert } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const small = { width: 1 / 16, headChannels: 32 };
 * const voc = createModel("fcn32s", { ...small, numClasses: 21 }, device);
 * const mine = createModel("fcn32s", { ...small, numClasses: 5 }, device);
 * const r = loadPretrained(mine, await voc.stateDict(), "voc.safetensors");
 * assert(r.summary.includes("re-initialised"));
 * ```
 */
export function loadPretrained(model: FcnModel, dict: StateDict, source: string): PretrainedReport {
  let fileClasses = model.config.numClasses;
  try {
    fileClasses = detectModel(dict, source).config.numClasses;
  } catch {
    // not a known layout: load what matches by name, the report says what did not
  }
  const adapted = adaptClassLayers(dict, model.config, fileClasses);
  const r = model.loadStateDict(adapted.dict, { strict: false });
  if (r.loaded.length === 0) throw nothingLoaded(source, "--pretrained", r);
  const reinit = adapted.reinitialised.length
    ? `; class layers re-initialised (${fileClasses} -> ${model.config.numClasses} classes: ` +
      `${some(adapted.reinitialised, 4)})`
    : "";
  return {
    ...r,
    reinitialised: adapted.reinitialised,
    summary: `Pretrained: ${r.loaded.length} tensors loaded from ${source}${reinit}`,
  };
}

/**
 * Maps an ImageNet classifier's state dict (torchvision's VGG or ResNet) onto `model`'s
 * backbone and loads it; throws when that would load nothing (another width, another
 * backbone, a file that is not a classifier).
 *
 * @example A backbone file of the wrong width is refused
 * ```ts
 * import { createModel, loadPretrainedBackbone, requestDevice } from "@x/fcn";
 * import { assertThrows } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const model = createModel("fcn8s", { width: 1 / 16, headChannels: 32, numClasses: 3 }, device);
 * const t = (...shape: number[]) => ({
 *   dtype: "f32" as const,
 *   shape,
 *   data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
 * });
 * const vgg16 = { "features.0.weight": t(64, 3, 3, 3), "features.0.bias": t(64) };
 * assertThrows(() => loadPretrainedBackbone(model, vgg16, "vgg16.pth"), "0 tensors");
 * ```
 */
export function loadPretrainedBackbone(
  model: FcnModel,
  dict: StateDict,
  source: string,
): PretrainedReport {
  const r = model.loadStateDict(mapPretrainedBackbone(dict, model.config), { strict: false });
  if (r.loaded.length === 0) throw nothingLoaded(source, "--pretrained-backbone", r);
  return {
    ...r,
    reinitialised: [],
    summary: `Pretrained backbone: ${r.loaded.length} tensors loaded from ${source}`,
  };
}
