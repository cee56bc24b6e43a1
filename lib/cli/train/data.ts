/**
 * The data of a run: the training and validation splits, the class count and names, and the
 * steps per epoch.
 *
 * @module
 */
import { paletteOf } from "../../data/palette.ts";
import { bundledData, openDataset } from "../common.ts";
import type { TrainSettings } from "./settings.ts";
import type { Log, TrainData } from "./types.ts";

/**
 * Opens both splits of `--data` (or the bundled dataset) and says what they hold. An epoch has
 * one step per full global batch of `ranks * batchSize` images.
 */
export async function buildData(s: TrainSettings, log: Log, ranks = 1): Promise<TrainData> {
  const root = s.data ?? await bundledData();
  const transform = { crop: s.crop, baseSize: s.baseSize };
  const trainSet = await openDataset(s.dataset, root, s.trainSplit, transform);
  const valSet = await openDataset(s.dataset, root, s.valSplit, transform);
  const numClasses = s.numClasses ?? trainSet.classes.length;
  const names = trainSet.classes.length === numClasses
    ? trainSet.classes
    : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
  log(
    `Data: ${root} (${s.dataset}): ${trainSet.length} train / ${valSet.length} val images, ` +
      `${numClasses} classes`,
  );
  return {
    root,
    trainSet,
    valSet,
    numClasses,
    names,
    palette: paletteOf(trainSet.colors),
    itersPerEpoch: Math.floor(trainSet.length / (s.batchSize * ranks)) || 1,
  };
}
