/**
 * The data of a run: the training and validation splits, the class count and names, and the
 * steps per epoch.
 *
 * @module
 */
import { paletteOf } from "../../data/palette.ts";
import { bundledData, openDataset } from "../common.ts";
import { medianShorterSide } from "./base_size.ts";
import type { TrainSettings } from "./settings.ts";
import type { Log, TrainData } from "./types.ts";

/**
 * Opens both splits of `--data` (or the bundled dataset) at `--base-size` (default: the
 * training images' median shorter side) and says what they hold.
 */
export async function buildData(s: TrainSettings, log: Log): Promise<TrainData> {
  const root = s.data ?? await bundledData();
  const baseSize = s.baseSize ?? await defaultBaseSize(s, root, log);
  const transform = { crop: s.crop, baseSize, ignoreIndex: s.ignoreIndex };
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
    baseSize,
    trainSet,
    valSet,
    numClasses,
    names,
    palette: paletteOf(trainSet.colors),
    itersPerEpoch: Math.floor(trainSet.length / s.batchSize) || 1,
  };
}

/** The median shorter side of the training images (520, torchvision's, when unreadable). */
async function defaultBaseSize(s: TrainSettings, root: string, log: Log): Promise<number> {
  const probe = await openDataset(s.dataset, root, s.trainSplit, {});
  const side = await medianShorterSide(probe.samples);
  log(
    side === null
      ? "Base size 520 (--base-size): no mask PNG header to measure"
      : `Base size ${side}: the training images' median shorter side (--base-size to change)`,
  );
  return side ?? 520;
}
