/**
 * The image work `predict` moves off the main thread: decoding an input image, and encoding and
 * writing one prediction (indexed mask PNG and RGB overlay PNG). One function runs a job inline
 * or in `image_worker.ts`, so the files are the same bytes wherever it ran.
 *
 * @module
 */
import {
  type Mask,
  overlay,
  readImage,
  type RgbImage,
  writeMaskPng,
  writeRgbPng,
} from "./image.ts";

/** Decode the JPEG or PNG at `path` to 8-bit RGB. */
export interface DecodeJob {
  /** The job's kind. */
  kind: "decode";
  /** The image file. */
  path: string;
}

/** Write a prediction: `mask` as an indexed PNG, and `image` blended with it as an RGB PNG. */
export interface WritePredictionJob {
  /** The job's kind. */
  kind: "write";
  /** The input image, `[H, W, 3]`. */
  image: RgbImage;
  /** Its predicted class ids, `[H, W]`. */
  mask: Mask;
  /** Class colours, `[K, 3]` bytes. */
  palette: Uint8Array;
  /** Opacity of the mask in the overlay. */
  alpha: number;
  /** Where the mask PNG goes. */
  maskPath: string;
  /** Where the overlay PNG goes. */
  overlayPath: string;
}

/** One unit of image work. */
export type ImageJob = DecodeJob | WritePredictionJob;

/** What a job gives back: the decoded image, or that the files are written. */
export type ImageJobResult = { kind: "decode"; image: RgbImage } | { kind: "write" };

/**
 * Runs one job: the same bytes inline and in a worker.
 *
 * @throws Error naming the file that cannot be read, decoded or written.
 *
 * @example
 * ```ts
 * import { runImageJob } from "./image_jobs.ts";
 * import { readImage, readMask } from "./image.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const image = { width: 2, height: 1, data: new Uint8Array([0, 0, 200, 10, 20, 30]) };
 * const mask = { width: 2, height: 1, data: new Uint8Array([1, 0]) };
 * const palette = new Uint8Array([0, 0, 0, 128, 0, 0]);
 * const maskPath = `${dir}/a_mask.png`, overlayPath = `${dir}/a_overlay.png`;
 * await runImageJob({ kind: "write", image, mask, palette, alpha: 0.5, maskPath, overlayPath });
 * assertEquals(Array.from((await readMask(maskPath)).data), [1, 0]);
 * const back = await runImageJob({ kind: "decode", path: overlayPath });
 * assertEquals(back.kind === "decode" && Array.from(back.image.data), [64, 0, 100, 5, 10, 15]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function runImageJob(job: ImageJob): Promise<ImageJobResult> {
  if (job.kind === "decode") return { kind: "decode", image: await readImage(job.path) };
  const { image, mask, palette, alpha, maskPath, overlayPath } = job;
  await writeMaskPng(maskPath, mask, palette);
  await writeRgbPng(overlayPath, overlay(image, mask, palette, alpha));
  return { kind: "write" };
}

/** Buffers of a result handed back to the main thread. */
export function resultTransfers(result: ImageJobResult): ArrayBuffer[] {
  return result.kind === "decode" ? buffersOf([result.image.data]) : [];
}

function buffersOf(arrays: Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) if (a.buffer instanceof ArrayBuffer) out.add(a.buffer);
  return [...out];
}
