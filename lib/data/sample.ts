/**
 * Reading and checking one (image, mask) pair and turning it into a training or evaluation
 * sample: the unit of work of the loader, run inline or in a worker.
 *
 * @module
 */
import { IGNORE, type Mask, readImage, readMask, type RgbImage } from "./image.ts";
import type { Rgb } from "./palette.ts";
import { Rng } from "../random.ts";
import {
  evalTransform,
  trainTransform,
  type TransformedSample,
  type TransformOptions,
} from "./transforms.ts";

/** Where one sample's files are. */
export interface SampleRef {
  /** The sample's name (file stem). */
  id: string;
  /** Path of the image (JPEG or PNG). */
  image: string;
  /** Path of the mask (PNG). */
  mask: string;
}

/** What a dataset tells the reader about its masks and preprocessing. */
export interface SampleSpec {
  /** Number of classes K: mask values must be 0..K-1 or 255. */
  numClasses: number;
  /** Class colours, to read RGB masks. */
  colors: readonly Rgb[];
  /** Augmentation and normalisation options. */
  transform: TransformOptions;
}

/** A decoded, checked sample at its original size. */
export interface RawSample {
  /** The sample's name. */
  id: string;
  /** The image. */
  image: RgbImage;
  /** The mask (class ids, 255 = ignore), of the image's size. */
  mask: Mask;
}

/** One unit of loader work. */
export interface SampleJob {
  /** The files. */
  ref: SampleRef;
  /** The dataset's spec. */
  spec: SampleSpec;
  /** Train augmentation (true) or eval preprocessing (false). */
  train: boolean;
  /** Seed of this sample's random draws. */
  seed: number;
}

/** A preprocessed sample and its name. */
export type LoadedSample = TransformedSample & { id: string };

/**
 * Throws unless every value of `mask` is in 0..K-1 or 255, naming the file, the bad values and
 * how to fix them.
 */
export function checkMaskValues(mask: Mask, numClasses: number, name: string): void {
  const counts = new Uint32Array(256);
  for (let i = 0; i < mask.data.length; i++) counts[mask.data[i]]++;
  const bad: string[] = [];
  for (let v = numClasses; v < 256; v++) {
    if (v !== IGNORE && counts[v] > 0) bad.push(`${v} (${counts[v]} px)`);
  }
  if (bad.length > 0) {
    throw new Error(
      `Mask ${name} has values ${bad.join(", ")} outside 0..${numClasses - 1} (the ` +
        `${numClasses} classes) and 255 (ignore): remap them to class ids or to 255 before ` +
        "training (or list the missing classes in classes.json)",
    );
  }
}

/**
 * Reads a sample's mask alone, checked: the spec's `ignoreIndex` (when not 255) read as 255,
 * then every value in 0..K-1 or 255.
 */
export async function readSampleMask(ref: SampleRef, spec: SampleSpec): Promise<Mask> {
  const mask = await readMask(ref.mask, { colors: spec.colors });
  const ignore = spec.transform.ignoreIndex ?? IGNORE;
  if (ignore !== IGNORE) {
    for (let i = 0; i < mask.data.length; i++) if (mask.data[i] === ignore) mask.data[i] = IGNORE;
  }
  checkMaskValues(mask, spec.numClasses, ref.mask);
  return mask;
}

/** Reads a sample's image and mask and checks their sizes and the mask's values. */
export async function readSample(ref: SampleRef, spec: SampleSpec): Promise<RawSample> {
  const [image, mask] = await Promise.all([readImage(ref.image), readSampleMask(ref, spec)]);
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new Error(
      `Sample ${ref.id}: image ${ref.image} is ${image.width}x${image.height} but mask ` +
        `${ref.mask} is ${mask.width}x${mask.height}`,
    );
  }
  return { id: ref.id, image, mask };
}

/** Reads and transforms one sample: the same result for the same job, wherever it runs. */
export async function loadSample(job: SampleJob): Promise<LoadedSample> {
  const { image, mask } = await readSample(job.ref, job.spec);
  const out = job.train
    ? trainTransform(image, mask, new Rng(job.seed), job.spec.transform)
    : evalTransform(image, mask, job.spec.transform);
  return { id: job.ref.id, ...out };
}
