/**
 * The base of the datasets: a list of (image, mask) files with class names and colours, reading
 * of single samples and batching through the shared loader.
 *
 * @module
 */
import { isFile } from "./_path.ts";
import type { Rgb } from "./palette.ts";
import {
  type Batch,
  batches,
  type BatchOptions,
  type HostBatch,
  hostBatches,
  type HostBatchOptions,
} from "./loader.ts";
import { type RawSample, readSample, type SampleRef, type SampleSpec } from "./sample.ts";
import type { TransformOptions } from "./transforms.ts";

/** A class of a dataset. */
export interface ClassInfo {
  /** Display name. */
  name: string;
  /** Colour in masks and overlays. */
  color: Rgb;
}

/** What a concrete dataset hands to the base class. */
export interface DatasetInit {
  /** The samples of the split. */
  samples: SampleRef[];
  /** The classes, index = class id. */
  classes: ClassInfo[];
  /** Transform options. */
  transform: TransformOptions;
  /** The default of `train` in {@linkcode SegmentationDataset.batches}. */
  train: boolean;
  /** The default of `seed` in {@linkcode SegmentationDataset.batches} (default 0). */
  seed?: number;
}

/**
 * A segmentation dataset: samples, classes, and batching. `VocDataset` (voc.ts) and
 * `FolderDataset` (folder.ts) are the concrete ones.
 */
export class SegmentationDataset {
  /** The samples of the split, in file order. */
  readonly samples: readonly SampleRef[];
  /** Class names, index = class id. */
  readonly classes: readonly string[];
  /** Class colours, index = class id. */
  readonly colors: readonly Rgb[];
  /** What samples are read and transformed with. */
  readonly spec: SampleSpec;
  /** Whether batches default to training augmentation (train splits). */
  readonly trainByDefault: boolean;
  /** The seed batches use when none is given. */
  readonly seed: number;
  #epochs = 0;

  /** Builds a dataset from its parts; prefer the `open` functions of the subclasses. */
  constructor(init: DatasetInit) {
    this.samples = Object.freeze([...init.samples]);
    this.classes = Object.freeze(init.classes.map((c) => c.name));
    this.colors = Object.freeze(init.classes.map((c) => c.color));
    this.spec = { numClasses: init.classes.length, colors: this.colors, transform: init.transform };
    this.trainByDefault = init.train;
    this.seed = init.seed ?? 0;
  }

  /** Number of samples. */
  get length(): number {
    return this.samples.length;
  }

  /** Number of classes K. */
  get numClasses(): number {
    return this.classes.length;
  }

  /**
   * Reads sample `i` at its original size (no transform), checked: same image and mask size,
   * mask values in 0..K-1 or 255.
   */
  read(i: number): Promise<RawSample> {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) {
      throw new RangeError(`Expected a sample index in 0..${this.length - 1} but found ${i}`);
    }
    return readSample(this.samples[i], this.spec);
  }

  /**
   * Reads every sample and returns the problems found (one message per bad sample), so that a
   * dataset can be checked before a long run.
   */
  async validate(): Promise<string[]> {
    const problems: string[] = [];
    for (let i = 0; i < this.length; i++) {
      await readSample(this.samples[i], this.spec).catch((e) => problems.push(e.message));
    }
    return problems;
  }

  #options<T extends HostBatchOptions>(o: T): T & { train: boolean; epoch: number } {
    const epoch = o.epoch ?? this.#epochs;
    this.#epochs = epoch + 1;
    return { ...o, train: o.train ?? this.trainByDefault, seed: o.seed ?? this.seed, epoch };
  }

  /**
   * One epoch of batches as tensors `images [N, 3, H, W]` (f32) and `masks [N, H, W]` (i32).
   * Each call is the next epoch unless `epoch` is given.
   */
  batches(options: BatchOptions): AsyncGenerator<Batch> {
    return batches(this, this.#options(options));
  }

  /** One epoch of batches in host memory (see {@linkcode SegmentationDataset.batches}). */
  hostBatches(options: HostBatchOptions = {}): AsyncGenerator<HostBatch> {
    return hostBatches(this, this.#options(options));
  }
}

/** Parses a classes.json text: `{ "classes": [{ "name": "...", "color": [r, g, b] }] }`. */
export function parseClasses(text: string, path: string): ClassInfo[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
  const list = (json as { classes?: unknown })?.classes;
  const format = '{ "classes": [{ "name": "background", "color": [0, 0, 0] }, ...] }';
  if (!Array.isArray(list) || list.length === 0 || list.length > 255) {
    throw new Error(`${path} must hold 1..255 classes as ${format}`);
  }
  return list.map((c, k) => {
    const { name, color } = c ?? {};
    const ok = typeof name === "string" && Array.isArray(color) && color.length === 3 &&
      color.every((v: unknown) =>
        Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255
      );
    if (!ok) {
      throw new Error(`${path}: class ${k} is ${JSON.stringify(c)}; expected ${format}`);
    }
    return { name, color: [color[0], color[1], color[2]] as Rgb };
  });
}

/** Throws one error listing every missing file (count and the first names). */
export async function checkFilesExist(
  samples: readonly SampleRef[],
  listedIn: string,
): Promise<void> {
  const missing: string[] = [];
  for (let i = 0; i < samples.length; i += 64) {
    const chunk = samples.slice(i, i + 64).flatMap((s) => [s.image, s.mask]);
    const found = await Promise.all(chunk.map(isFile));
    chunk.forEach((p, j) => found[j] || missing.push(p));
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 10).join("\n  ");
    throw new Error(
      `${missing.length} of ${2 * samples.length} files listed in ${listedIn} are missing:\n  ` +
        shown + (missing.length > 10 ? `\n  ... and ${missing.length - 10} more` : ""),
    );
  }
}
