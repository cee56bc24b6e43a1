/**
 * `loadModel`: a checkpoint file -> a built model with its config, detected from the state dict
 * when no config is given, plus the class names and colours to show its predictions with.
 *
 * @module
 */
import type { StateDict } from "../io/host_tensor.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { readWhole } from "../io/read_whole.ts";
import { extractStateDict, readTorchCheckpoint } from "../io/torch_pth.ts";
import { parseClasses } from "../data/dataset.ts";
import type { Rgb } from "../data/palette.ts";
import { VOC_CLASSES, vocClasses } from "../data/voc.ts";
import type { Device } from "../tensor.ts";
import { describe } from "../nn/module.ts";
import { createModel, type FcnModel, type ModelConfig } from "./create.ts";
import { adaptClassLayers, detectModel, type DetectOptions } from "./detect.ts";
import { resolveWeights } from "../io/weights.ts";

/** Options of {@linkcode loadModel}: detection overrides, seed, class names. */
export interface LoadModelOptions extends DetectOptions {
  /** A classes.json (`{ "classes": [{ "name", "color": [r, g, b] }] }`) naming the classes. */
  classes?: string;
  /** Seed of any re-initialised class layer and of the dropout masks (default 0). */
  seed?: number;
  /** Dropout probability of the head (default: the family's). */
  dropout?: number;
}

/** What {@linkcode loadModel} returns. */
export interface LoadedModel {
  /** The built model, with the file's weights loaded. */
  model: FcnModel;
  /** Its complete config (what a `config.json` would hold). */
  config: ModelConfig;
  /** One line saying what was detected (for the console). */
  summary: string;
  /** Class names: the classes.json's, VOC's when there are 21 classes, else `class_0...`. */
  classes: string[];
  /** Class colours, in the same order. */
  colors: Rgb[];
  /** Keys left as initialised because the class count changed (fine-tuning). */
  reinitialised: string[];
}

/** Reads the state dict of a `.safetensors` or PyTorch `.pth`/`.pt` file (any wrapper). */
export async function readStateDict(path: string): Promise<StateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(path);
  } catch (e) {
    throw new Error(`Cannot read weights "${path}": ${(e as Error).message}`);
  }
  try {
    if (/\.safetensors$/i.test(path)) return readSafetensors(bytes).tensors;
    return extractStateDict(await readTorchCheckpoint(bytes));
  } catch (e) {
    throw new Error(`Cannot load weights "${path}": ${(e as Error).message}`);
  }
}

/** Class names and colours for `k` classes: a classes.json's, VOC's for 21, else `class_N`. */
export async function classNames(
  k: number,
  classesJson?: string,
): Promise<{ names: string[]; colors: Rgb[] }> {
  if (classesJson) {
    const list = parseClasses(await Deno.readTextFile(classesJson), classesJson);
    if (list.length !== k) {
      throw new Error(
        `${classesJson} names ${list.length} classes but the model has ${k}; give one per class`,
      );
    }
    return { names: list.map((c) => c.name), colors: list.map((c) => c.color) };
  }
  const voc = vocClasses();
  if (k === VOC_CLASSES.length) return { names: [...VOC_CLASSES], colors: voc.map((c) => c.color) };
  const names = Array.from({ length: k }, (_, i) => `class_${i}`);
  // VOC's palette extends to 256 entries; reuse its first k colours.
  const colors = names.map((_, i) => voc[i % voc.length].color);
  return { names, colors };
}

/**
 * Builds the model a checkpoint holds, detecting its family, depth, widths and class count from
 * the state dict (see {@linkcode detectModel}); `model`, `backbone` and `numClasses` override.
 * With another `numClasses` than the file's, the class layers keep their fresh initialisation.
 *
 * @example A torchvision-style FCN-8s checkpoint
 * ```ts
 * import { loadModel, requestDevice } from "../../mod.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const file = new URL("../../fixtures/byom/fcn8s_bnhead.pth", import.meta.url).pathname;
 * const { config, summary, classes } = await loadModel(file, device);
 * assertEquals(config.name, "fcn8s_bnhead");
 * assertEquals(classes, ["class_0", "class_1", "class_2"]);
 * console.log(summary);
 * ```
 */
export async function loadModel(
  path: string,
  device: Device,
  options: LoadModelOptions = {},
): Promise<LoadedModel> {
  path = await resolveWeights(path); // a URL or `torchvision:` name: the cached local file
  const dict = await readStateDict(path);
  const { config: fileConfig } = detectModel(dict, path, { ...options, numClasses: undefined });
  const { config, summary } = detectModel(dict, path, options);
  const withSeed = {
    ...config,
    seed: options.seed ?? config.seed,
    dropout: options.dropout ?? config.dropout,
  };
  const adapted = adaptClassLayers(dict, withSeed, fileConfig.numClasses);
  const model = createModel(withSeed.name, withSeed, device);
  const fresh = new Set(adapted.reinitialised);
  const r = model.loadStateDict(adapted.dict, { strict: false });
  const missing = r.missing.filter((k) => !fresh.has(k));
  if (missing.length || r.unexpected.length || r.mismatched.length) {
    model.dispose();
    throw new Error(
      `${path} was detected as ${summary} but does not load into it:\n` +
        describe({ ...r, missing }) +
        "\nPass --model/--backbone/--num-classes if the detection is wrong",
    );
  }
  const { names, colors } = await classNames(config.numClasses, options.classes);
  return {
    model,
    config: withSeed,
    summary,
    classes: names,
    colors,
    reinitialised: adapted.reinitialised,
  };
}

/**
 * For the CLI's `--weights FILE` without a config.json beside it: the detected config of `path`
 * (the model is built by the caller) and, with a `classes` option, its class names/colours
 * (without, the CLI uses the dataset's names and VOC's palette, as {@linkcode classNames} would).
 * `say` prints the one line of what was detected.
 */
export async function detectWeights(
  path: string,
  say: (line: string) => void = console.log,
  options: LoadModelOptions = {},
): Promise<{
  weightsPath: string;
  config: ModelConfig;
  classes?: { names: string[]; colors: [number, number, number][] };
  settings: Record<string, unknown>;
}> {
  const { config, summary } = detectModel(await readStateDict(path), path, options);
  say(`Detected ${summary} (no config.json beside ${path})`);
  if (!options.classes) return { weightsPath: path, config, settings: {} };
  const { names, colors } = await classNames(config.numClasses, options.classes);
  return {
    weightsPath: path,
    config,
    classes: { names, colors: colors.map((c) => [c[0], c[1], c[2]]) },
    settings: {},
  };
}
