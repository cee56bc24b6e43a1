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
import { readSafetensors } from "../io/safetensors.ts";
import { extractStateDict, readTorchCheckpoint } from "../io/torch_pth.ts";
import type { StateDict } from "../io/host_tensor.ts";
import { type ModelConfig, resolveConfig } from "../models/create.ts";
import type { Device } from "../tensor.ts";
import { UsageError } from "./flags.ts";

/** The bundled synthetic dataset (VOC layout), resolved from this module's URL. */
export const BUNDLED_DATA: URL = new URL("../../fixtures/synthetic/", import.meta.url);
/** The bundled trained model folder (config.json + best.safetensors). */
export const BUNDLED_MODEL: URL = new URL("../../fixtures/model/", import.meta.url);

/** A dataset as the commands use it. */
export type SegDataset = VocDataset | FolderDataset;

/** A local path for a file URL; remote URLs (JSR) are fetched into a temp folder first. */
export async function localPath(url: URL): Promise<string> {
  if (url.protocol === "file:") return decodeURIComponent(url.pathname);
  throw new UsageError(
    `The bundled files are only available from a local checkout (got ${url.href}); pass --data / --weights`,
  );
}

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
    verbose: false,
  });
  log(`Device: ${device.kind} (${device.description})`);
  return device;
}

/** Reads weights from a `.safetensors` or PyTorch `.pth`/`.pt` file. */
export async function readWeights(path: string): Promise<StateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UsageError(`Cannot read weights "${path}": ${(e as Error).message}`);
  }
  try {
    if (/\.safetensors$/i.test(path)) return readSafetensors(bytes).tensors;
    return extractStateDict(await readTorchCheckpoint(bytes));
  } catch (e) {
    throw new UsageError(`Cannot load weights "${path}": ${(e as Error).message}`);
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

/**
 * Resolves `--weights`: a run folder (its `config.json` and `best.safetensors`, else
 * `last.safetensors`) or a file with a `config.json` beside it.
 */
export async function resolveWeights(path: string): Promise<ResolvedWeights> {
  const dir = await isDir(path) ? path : path.replace(/\/[^/]*$/, "") || ".";
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
