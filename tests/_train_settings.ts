/**
 * What the train tests share: the bundled synthetic dataset (`fixtures/synthetic/`) and the
 * settings of a small FCN-8s on it (VGG16 layout at width 1/16, two epochs).
 *
 * @module
 */
import type { TrainSettings } from "../lib/cli/train.ts";
import { devices } from "./harness.ts";

/** The bundled dataset's root, as `--data` takes it. */
export const data: string = new URL("../fixtures/synthetic/", import.meta.url).pathname;

/** Its VOC2012 folder. */
export const voc = `${data}VOCdevkit/VOC2012`;

/** The image ids of a split of the bundled dataset. */
export async function splitIds(name: "train" | "val"): Promise<string[]> {
  return (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/${name}.txt`)).trim()
    .split("\n");
}

/**
 * Settings of a small FCN-8s on the bundled data (64x64 crops, 4 images a batch, seed 3, no
 * loader workers); `over` replaces any of them.
 */
export function tinySettings(over: Partial<TrainSettings> = {}): TrainSettings {
  return {
    dataset: "voc",
    data,
    trainSplit: "train",
    valSplit: "val",
    model: "fcn8s",
    backbone: "vgg16",
    width: 1 / 16,
    headChannels: 16,
    steps: 750,
    epochs: 2,
    batchSize: 4,
    lr: 0.02,
    momentum: 0.9,
    weightDecay: 1e-4,
    schedule: "poly",
    warmupEpochs: 1,
    stepSize: 1,
    gamma: 0.1,
    auxWeight: 0.5,
    auxLrMult: 10,
    ignoreIndex: 255,
    crop: 64,
    baseSize: 72,
    seed: 3,
    evalEvery: 1,
    workers: 0,
    reportSamples: 1,
    ...over,
  };
}

/**
 * Writes the split lists `train.txt` and `val.txt` of `trainIds` and `valIds` into `dir` and
 * returns settings training on them: {@linkcode tinySettings} at 2 images a batch on 48x48
 * crops, on the BLAS backend (the reference one where it is missing), without report samples;
 * `over` replaces any of them.
 */
export async function splitSettings(
  dir: string,
  ids: { train: string[]; val: string[] },
  over: Partial<TrainSettings> = {},
): Promise<TrainSettings> {
  await Deno.writeTextFile(`${dir}/train.txt`, ids.train.join("\n"));
  await Deno.writeTextFile(`${dir}/val.txt`, ids.val.join("\n"));
  return tinySettings({
    trainSplit: `${dir}/train.txt`,
    valSplit: `${dir}/val.txt`,
    batchSize: 2,
    crop: 48,
    baseSize: 56,
    backend: (await devices()).has("blas") ? "blas" : "cpu",
    reportSamples: 0,
    ...over,
  });
}
