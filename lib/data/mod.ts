/**
 * Data: PASCAL VOC and folder datasets, seeded augmentation, batching in workers, our PNG codec,
 * image/mask I/O and the bundled synthetic dataset's generator.
 *
 * @example Batches of the bundled dataset
 * ```ts
 * import { VocDataset } from "./mod.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const data = await VocDataset.open("fixtures/synthetic", { split: "val", crop: 32, baseSize: 40 });
 * for await (const batch of data.hostBatches({ batchSize: 4, train: true, workers: 0 })) {
 *   assertEquals(batch.shape, [4, 32, 32]); // images [4, 3, 32, 32], masks [4, 32, 32]
 *   break;
 * }
 * ```
 *
 * @module
 */
export { decodePng, encodePng, isPng, pngToRgb } from "./png.ts";
export type { PngBitDepth, PngColorType, PngEncodeOptions, PngImage, PngInput } from "./png.ts";
export {
  encodeMaskPng,
  encodeRgbPng,
  IGNORE,
  IGNORE_COLOR,
  overlay,
  readImage,
  readMask,
  writeMaskPng,
  writeRgbPng,
} from "./image.ts";
export type { Mask, ReadMaskOptions, RgbImage } from "./image.ts";
export { paletteOf, vocPalette } from "./palette.ts";
export type { Rgb } from "./palette.ts";
export {
  cropPad,
  evalTransform,
  flipHorizontal,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
  resizeBilinear,
  resizeNearest,
  shorterSideSize,
  trainTransform,
} from "./transforms.ts";
export type { Raster, TransformedSample, TransformOptions } from "./transforms.ts";
export { checkMaskValues, loadSample, readSample } from "./sample.ts";
export type { LoadedSample, RawSample, SampleJob, SampleRef, SampleSpec } from "./sample.ts";
export { batches, collate, defaultWorkers, epochOrder, hostBatches } from "./loader.ts";
export type { Batch, BatchOptions, HostBatch, HostBatchOptions, LoaderSource } from "./loader.ts";
export { checkFilesExist, parseClasses, SegmentationDataset } from "./dataset.ts";
export type { ClassInfo, DatasetInit } from "./dataset.ts";
export { findVocRoot, parseSplit, VOC_CLASSES, vocClasses, VocDataset } from "./voc.ts";
export type { VocOptions } from "./voc.ts";
export { FolderDataset, splitIds } from "./folder.ts";
export type { FolderOptions } from "./folder.ts";
export { drawSample, makeSyntheticDataset, SYNTHETIC_CLASSES } from "./synthetic.ts";
export type { SyntheticOptions } from "./synthetic.ts";
