/**
 * The data loader's throughput on the bundled dataset, inline and with decoding workers.
 *
 * @module
 */
import { benchLoader } from "../data/bench_loader.ts";
import { defaultWorkers } from "../data/loader.ts";
import type { BenchResult } from "./types.ts";

/** The bundled synthetic dataset (150 JPEG/PNG pairs, 64..96 px). */
export const FIXTURE = new URL("../../fixtures/synthetic", import.meta.url).pathname;

/** Options of {@linkcode benchLoaderSection}. */
export interface LoaderSectionOptions {
  /** Epochs over the 120 training images per setting (default 2). */
  epochs?: number;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
}

/**
 * Images per second through the loader (decode, augment with 64 px crops, collate into batches
 * of 8) with decoding inline and with the default workers.
 */
export async function benchLoaderSection(
  options: LoaderSectionOptions = {},
): Promise<BenchResult[]> {
  const epochs = options.epochs ?? 2;
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
      const ips = await benchLoader(FIXTURE, {
        batchSize: 8,
        crop: 64,
        baseSize: 80,
        workers,
        epochs,
      });
      r = { ...base, imagesPerSec: ips };
    } catch (e) {
      r = { ...base, note: `n/a: ${(e as Error).message.split("\n")[0]}` };
    }
    results.push(r);
    options.onResult?.(r);
  }
  return results;
}
