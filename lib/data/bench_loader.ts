/**
 * Loader throughput: decoded, augmented and collated images per second.
 *
 * @module
 */
import { isDir, isFile, join } from "./_path.ts";
import type { SegmentationDataset } from "./dataset.ts";
import { FolderDataset } from "./folder.ts";
import type { TransformOptions } from "./transforms.ts";
import { VocDataset } from "./voc.ts";

/** Options of {@linkcode benchLoader}. */
export interface BenchLoaderOptions extends TransformOptions {
  /** Samples per batch (default 8). */
  batchSize?: number;
  /** Decoding workers (default: the loader's default; 0 = inline). */
  workers?: number;
  /** Training augmentation (default true) or eval preprocessing. */
  train?: boolean;
  /** Split to read (default "train"). */
  split?: string;
  /** Epochs to run (default 1). */
  epochs?: number;
}

/** Opens `root` as a folder dataset when it has classes.json and images/, else as VOC. */
export async function openDataset(
  root: string,
  options: TransformOptions & { split?: string } = {},
): Promise<SegmentationDataset> {
  const folder = await isFile(join(root, "classes.json")) && await isDir(join(root, "images"));
  return folder ? await FolderDataset.open(root, options) : await VocDataset.open(root, options);
}

/**
 * Images per second through the whole loader (read, decode, augment, collate; no device
 * upload), not counting the first batch, which pays for starting the workers.
 *
 * @example
 * ```ts ignore
 * import { benchLoader } from "./bench_loader.ts";
 *
 * console.log(await benchLoader("fixtures/synthetic", { batchSize: 8, crop: 64, baseSize: 80 }));
 * ```
 */
export async function benchLoader(root: string, options: BenchLoaderOptions = {}): Promise<number> {
  const { batchSize = 8, workers, train = true, split = "train", epochs = 1, ...transform } =
    options;
  const data = await openDataset(root, { split, ...transform });
  let start = 0, images = 0, first = true;
  const t0 = performance.now();
  for (let epoch = 0; epoch < epochs; epoch++) {
    for await (const b of data.hostBatches({ batchSize, workers, train, epoch })) {
      if (first) {
        first = false;
        start = performance.now();
        continue;
      }
      images += b.shape[0];
    }
  }
  if (images === 0) return batchSize / ((performance.now() - t0) / 1000);
  return images / ((performance.now() - start) / 1000);
}
