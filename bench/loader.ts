/**
 * The data loader's throughput on the bundled dataset, inline and with decoding workers.
 *
 * @module
 */
import { openDataset } from "../lib/cli/common.ts";
import { defaultWorkers } from "../lib/data/loader.ts";
import type { TransformOptions } from "../lib/data/transforms.ts";
import { startLoad } from "./load.ts";
import { summarize } from "./stats.ts";
import type { BenchResult } from "./types.ts";

/** The bundled synthetic dataset (150 JPEG/PNG pairs, 64..96 px). */
export const FIXTURE = new URL("../fixtures/synthetic", import.meta.url).pathname;

/** Options of {@linkcode benchLoader}. */
export interface BenchLoaderOptions extends TransformOptions {
  /** Dataset layout (default "voc"). */
  dataset?: "voc" | "folder";
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

/**
 * Images per second through the whole loader (read, decode, augment, collate; no device
 * upload), not counting the first batch, which pays for starting the workers.
 *
 * @example
 * ```ts ignore
 * import { benchLoader } from "./loader.ts";
 *
 * console.log(await benchLoader("fixtures/synthetic", { batchSize: 8, crop: 64, baseSize: 80 }));
 * ```
 */
export async function benchLoader(root: string, options: BenchLoaderOptions = {}): Promise<number> {
  const {
    dataset = "voc",
    batchSize = 8,
    workers,
    train = true,
    split = "train",
    epochs = 1,
    ...transform
  } = options;
  const data = await openDataset(dataset, root, split, transform);
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

/** Options of {@linkcode benchLoaderSection}. */
export interface LoaderSectionOptions {
  /** Epochs over the 120 training images per sample (default 2). */
  epochs?: number;
  /** Samples per setting (default 5), each `epochs` epochs. */
  reps?: number;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
}

/**
 * Images per second through the loader (decode, augment with 64 px crops, collate into batches
 * of 8) with decoding inline and with the default workers: `reps` samples of ms per image, the
 * row's rate from their median.
 */
export async function benchLoaderSection(
  options: LoaderSectionOptions = {},
): Promise<BenchResult[]> {
  const epochs = options.epochs ?? 2, reps = options.reps ?? 5;
  const results: BenchResult[] = [];
  for (
    const [setting, workers] of [["inline", 0], [
      `${defaultWorkers()} worker(s) (default)`,
      undefined,
    ]] as const
  ) {
    const base = {
      section: "loader" as const,
      id: `loader/${workers ?? "default"}`,
      label: "synthetic VOC, train aug, crop 64, batch 8",
      pass: setting,
      impl: "ours",
      peer: false,
    };
    let r: BenchResult;
    try {
      const window = startLoad();
      const samples: number[] = [];
      for (let i = 0; i < reps; i++) {
        const ips = await benchLoader(FIXTURE, {
          batchSize: 8,
          crop: 64,
          baseSize: 80,
          workers,
          epochs,
        });
        samples.push(1000 / ips);
      }
      const load = window.end();
      const t = summarize(samples);
      r = {
        ...base,
        ms: t.median,
        samples,
        spreadPct: t.spreadPct,
        imagesPerSec: 1000 / t.median,
        ...(load ? { load } : {}),
      };
    } catch (e) {
      r = { ...base, note: `n/a: ${(e as Error).message.split("\n")[0]}` };
    }
    results.push(r);
    options.onResult?.(r);
  }
  return results;
}
