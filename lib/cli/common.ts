/**
 * What the train, eval and predict commands share: locating the bundled data and model,
 * opening datasets, choosing the device, loading weights and configs.
 *
 * @module
 */
import { FolderDataset } from "../data/folder.ts";
import { VocDataset } from "../data/voc.ts";
import type { TransformOptions } from "../data/transforms.ts";
import { requestDevice } from "../device/request.ts";
import type { BackendKind } from "../device/backend.ts";
import { bundledFolder } from "../io/bundled.ts";
import { detectWeights, type LoadModelOptions, readStateDict } from "../models/load.ts";
import type { StateDict } from "../io/host_tensor.ts";
import { MODEL_NAMES, type ModelConfig, resolveConfig, VGG_BACKBONES } from "../models/create.ts";
import type { ModelName, VggBackbone } from "../models/types.ts";
import type { Device } from "../tensor.ts";
import { type FlagSpec, UsageError } from "./flags.ts";

/** The bundled synthetic dataset (VOC layout), resolved from this module's URL. */
export const BUNDLED_DATA: URL = new URL("../../fixtures/synthetic/", import.meta.url);
/** The bundled trained model folder (config.json + best.safetensors). */
export const BUNDLED_MODEL: URL = new URL("../../fixtures/model/", import.meta.url);

/** A dataset as the commands use it. */
export type SegDataset = VocDataset | FolderDataset;

/**
 * A local path for a bundled folder: the folder itself in a checkout, or, when the module runs
 * from a remote URL (JSR), its checked copy in the cache (lib/io/bundled.ts) holding the given
 * files (default: all the manifest lists in it).
 */
export async function localPath(url: URL, files: string[] = []): Promise<string> {
  return await bundledFolder(url, { files: files.length ? files : undefined });
}

/**
 * The bundled dataset as a local folder: in a checkout, the folder itself; from JSR, a cached
 * copy of all its files (every split list and the images and masks they name), fetched once.
 */
export async function bundledData(url: URL = BUNDLED_DATA): Promise<string> {
  return await bundledFolder(url);
}

/** The files of the bundled model folder. */
export const BUNDLED_MODEL_FILES = ["config.json", "best.safetensors"];

/** Opens a VOC-layout or folder dataset. */
export async function openDataset(
  kind: string,
  root: string,
  split: string,
  transform: TransformOptions,
): Promise<SegDataset> {
  if (kind === "folder") return await FolderDataset.open(root, { split, ...transform });
  return await VocDataset.open(root, { split, ...transform });
}

/** Requests the device named by a flag (or the automatic choice) and says which it is. */
export async function openDevice(
  backend: string | undefined,
  log: (s: string) => void,
): Promise<Device> {
  const device = await requestDevice({
    backend: backend ? backend as BackendKind : undefined,
  });
  log(`Device: ${device.kind} (${device.description})`);
  return device;
}

/**
 * Reads weights from a `.safetensors` or PyTorch `.pth`/`.pt` file ({@linkcode readStateDict}),
 * a file that cannot be read or loaded being a usage error.
 */
export async function readWeights(path: string): Promise<StateDict> {
  try {
    return await readStateDict(path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Where a run folder's or weights file's config and weights are. */
export interface ResolvedWeights {
  weightsPath: string;
  config: ModelConfig;
  /** Class names and colours recorded with the model, when known. */
  classes?: { names: string[]; colors: [number, number, number][] };
  /** The settings of the run that produced them (transform sizes). */
  settings?: Record<string, unknown>;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** `--data` and `--dataset voc|folder`, shared by train and eval. */
export const DATASET_FLAGS: FlagSpec[] = [
  { name: "data", type: "string", help: "dataset root (default: the bundled synthetic dataset)" },
  {
    name: "dataset",
    type: "string",
    default: "voc",
    choices: ["voc", "folder"],
    help: "dataset layout",
  },
];

/** `--weights`, shared by eval, predict and export. */
export const WEIGHTS_FLAG: FlagSpec = {
  name: "weights",
  type: "string",
  help:
    "run folder, .pth/.safetensors (detected without config.json), URL or torchvision:NAME (default: the bundled model)",
};

/** `--backend webgpu|blas|cpu`, shared by train, eval and predict. */
export const BACKEND_FLAG: FlagSpec = {
  name: "backend",
  type: "string",
  choices: ["webgpu", "blas", "cpu"],
  help: "compute backend (default: automatic)",
};

/**
 * Flags that override what is detected from a weights file without a config.json (`--model`,
 * `--backbone`, `--num-classes`, `--classes classes.json`), shared by predict and eval.
 */
export const DETECT_FLAGS: FlagSpec[] = [
  { name: "model", type: "string", choices: MODEL_NAMES, help: "model family (default: detected)" },
  {
    name: "backbone",
    type: "string",
    choices: VGG_BACKBONES,
    help: "VGG backbone (default: detected)",
  },
  { name: "num-classes", type: "int", min: 1, help: "classes (default: detected)" },
  { name: "classes", type: "string", help: "classes.json with names and colours" },
];

/** The detection overrides among parsed flags (see {@linkcode DETECT_FLAGS}). */
export function detectOverrides(v: Record<string, unknown>): LoadModelOptions {
  return {
    model: v.model as ModelName | undefined,
    backbone: v.backbone as VggBackbone | undefined,
    numClasses: v.numClasses as number | undefined,
    classes: v.classes as string | undefined,
  };
}

/**
 * Resolves `--weights`: a run folder (its `config.json` and `best.safetensors`, else
 * `last.safetensors`) or a file with a `config.json` beside it.
 */
export async function resolveWeights(
  given: string,
  overrides: LoadModelOptions = {},
): Promise<ResolvedWeights> {
  const path = given.length > 1 ? given.replace(/\/+$/, "") : given;
  if (!await Deno.stat(path).then(() => true, () => false)) {
    throw new UsageError(
      `--weights "${path}" does not exist: expected a run folder (with config.json) or a ` +
        ".safetensors/.pth file with a config.json beside it",
    );
  }
  const slash = path.lastIndexOf("/");
  // a file's folder: "." for a bare name in the working directory, "/" for one at the root
  const dir = await isDir(path) ? path : slash < 0 ? "." : path.slice(0, slash) || "/";
  let weightsPath = path;
  if (await isDir(path)) {
    const candidates = ["best.safetensors", "last.safetensors"].map((f) => `${dir}/${f}`);
    const found = [];
    for (const c of candidates) if (await Deno.stat(c).then(() => true, () => false)) found.push(c);
    if (found.length === 0) {
      throw new UsageError(`No best.safetensors or last.safetensors in "${path}"`);
    }
    weightsPath = found[0];
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !await isDir(path)) {
      return await detectWeights(path, console.log, overrides);
    }
    throw new UsageError(
      `Cannot read ${dir}/config.json (${(e as Error).message}); ` +
        "the weights need the config of the model that made them",
    );
  }
  const model = json.model as ModelConfig;
  return {
    weightsPath,
    config: resolveConfig(model.name, model),
    classes: json.classes as ResolvedWeights["classes"],
    settings: json,
  };
}
