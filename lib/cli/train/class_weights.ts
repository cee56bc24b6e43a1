/**
 * `--class-weights`: per-class weights of the training loss, given (`w0,w1,...`) or balanced
 * by median frequency over the training masks (`auto`), printed and kept in `config.json` so
 * that a resumed run reuses them.
 *
 * @module
 */
import { IGNORE } from "../../data/image.ts";
import { readSampleMask } from "../../data/sample.ts";
import { UsageError } from "../flags.ts";
import type { SegDataset } from "../common.ts";
import type { Log } from "./types.ts";

/** Pixel counts behind median-frequency balancing. */
export interface ClassFrequencies {
  /** Labelled pixels of class c over the masks. */
  pixels: number[];
  /** Labelled pixels of the masks that contain class c. */
  imagePixels: number[];
}

/** Counts the labelled pixels (255 left out) of each class in `masks`, for `k` classes. */
export function classFrequencies(masks: Iterable<Uint8Array>, k: number): ClassFrequencies {
  const pixels = new Array(k).fill(0), imagePixels = new Array(k).fill(0);
  const counts = new Float64Array(256);
  for (const mask of masks) {
    counts.fill(0);
    for (let i = 0; i < mask.length; i++) counts[mask[i]]++;
    const labelled = mask.length - counts[IGNORE];
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue;
      pixels[c] += counts[c];
      imagePixels[c] += labelled;
    }
  }
  return { pixels, imagePixels };
}

/**
 * Median-frequency balancing (Eigen & Fergus; SegNet): `w_c = median(f) / f_c` with
 * `f_c = pixels of c / labelled pixels of the images that contain c`, the median taken over the
 * classes present; a class absent from the masks gets 0.
 *
 * @example Two 4-pixel masks, 3 classes: class 2 never appears
 * ```ts
 * import { classFrequencies, medianFrequencyWeights } from "./class_weights.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * const masks = [new Uint8Array([0, 0, 0, 1]), new Uint8Array([0, 0, 0, 255])];
 * // f0 = 6 / 7, f1 = 1 / 4, median(f0, f1) = (6 / 7 + 1 / 4) / 2
 * const w = medianFrequencyWeights(classFrequencies(masks, 3));
 * assertEquals(w.map((v) => +v.toFixed(4)), [0.6458, 2.2143, 0]);
 * ```
 */
export function medianFrequencyWeights(freq: ClassFrequencies): number[] {
  const f = freq.pixels.map((p, c) => (p > 0 ? p / freq.imagePixels[c] : NaN));
  const present = f.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (present.length === 0) return f.map(() => 0);
  const m = present.length >> 1;
  const median = present.length % 2 ? present[m] : (present[m - 1] + present[m]) / 2;
  return f.map((v) => (Number.isNaN(v) ? 0 : median / v));
}

/** Parses `w0,w1,...` into `k` finite non-negative weights, or throws a UsageError. */
export function parseClassWeights(text: string, k: number): number[] {
  const w = text.split(",").map((t) => Number(t.trim()));
  if (w.length !== k || w.some((v) => !(Number.isFinite(v) && v >= 0))) {
    throw new UsageError(
      `--class-weights "${text}": expected "auto" or ${k} non-negative numbers w0,...,w${k - 1} ` +
        `(one per class)`,
    );
  }
  return w;
}

/** Options of {@linkcode resolveClassWeights}. */
export interface ClassWeightOptions {
  /** The value of `--class-weights` (undefined: none). */
  flag?: string;
  /** Weights a resumed run saved: reused as they are. */
  saved?: number[];
  trainSet: SegDataset;
  numClasses: number;
  names: readonly string[];
  log: Log;
}

/**
 * The loss weights of a run (null for none): saved ones, the listed ones, or median-frequency
 * ones over the training masks; printed, with a warning for classes absent from training.
 */
export async function resolveClassWeights(o: ClassWeightOptions): Promise<number[] | null> {
  if (o.flag === undefined && !o.saved) return null;
  let weights: number[], how: string;
  if (o.saved) {
    [weights, how] = [o.saved, "saved in config.json"];
  } else if (o.flag === "auto") {
    const masks = [];
    for (const ref of o.trainSet.samples) {
      masks.push((await readSampleMask(ref, o.trainSet.spec)).data);
    }
    const freq = classFrequencies(masks, o.numClasses);
    weights = medianFrequencyWeights(freq);
    how = `auto: median frequency over ${masks.length} training masks`;
    const absent = o.names.filter((_, c) => freq.pixels[c] === 0);
    if (absent.length) {
      o.log(
        `Warning: --class-weights auto: ${absent.join(", ")} never appear in the training ` +
          `masks; weight 0 (the loss ignores them)`,
      );
    }
  } else {
    [weights, how] = [parseClassWeights(o.flag!, o.numClasses), "given"];
  }
  const list = weights.map((w, c) => `${o.names[c]} ${+w.toFixed(4)}`).join(", ");
  o.log(`Class weights (${how}): ${list}`);
  return weights;
}
