/**
 * Inference on images of any size: sliding windows (`tile`, `overlap`) and test-time
 * augmentation (`scales`, `flip`), streamed by rows so that a tiled pass over a large photo holds
 * logits only for the rows its windows still cover.
 *
 * The logits are the mean over the passes {each scale} x {plain, mirrored}: the image resized
 * bilinearly to the scale (`align_corners=False`), mirrored, segmented by sliding windows of
 * `tile` pixels (whole when no tile) with the logits summed and divided by each pixel's window
 * count (mmsegmentation's "slide" mode), mirrored back and resized bilinearly to the image size.
 *
 * @module
 */
import { noGrad } from "../autograd.ts";
import type { Mask, RgbImage } from "../data/image.ts";
import type { FcnModel } from "../models/types.ts";
import { type Tensor, tensor, tidy } from "../tensor.ts";
import { resizeRows } from "./resize_rows.ts";
import { type ImageSource, planarSource, rgbSource, ScaledImage } from "./source.ts";
import { slideRows, type WindowForward } from "./tile.ts";

/** Options of {@linkcode inferLogits}, {@linkcode inferMask} and {@linkcode inferRows}. */
export interface InferOptions {
  /** Window side in pixels (sliding windows); default: the whole image in one pass. */
  tile?: number;
  /** Fraction of a window shared with the next, in [0, 1) (default 1/3: stride 341 for 512). */
  overlap?: number;
  /** Scales of the image whose logits are averaged (default `[1]`). */
  scales?: readonly number[];
  /** Also average the logits of the mirrored image at every scale (default false). */
  flip?: boolean;
  /** Per-channel mean of an 8-bit image's normalisation (default ImageNet's). */
  mean?: readonly number[];
  /** Per-channel std of an 8-bit image's normalisation (default ImageNet's). */
  std?: readonly number[];
}

/** One pass of the mean: a scale and a side. */
interface Pass {
  scale: number;
  flip: boolean;
}

function check(options: InferOptions): Pass[] {
  const { tile, overlap = 1 / 3, scales = [1], flip = false } = options;
  if (tile !== undefined && !(Number.isInteger(tile) && tile >= 1)) {
    throw new RangeError(`Expected tile to be an integer of at least 1 but found ${tile}`);
  }
  if (!(overlap >= 0 && overlap < 1)) {
    throw new RangeError(`Expected overlap in [0, 1) but found ${overlap}`);
  }
  if (scales.length === 0 || !scales.every((s) => Number.isFinite(s) && s > 0)) {
    throw new RangeError(`Expected positive scales but found [${scales}]`);
  }
  return [...new Set(scales)].flatMap((scale) =>
    (flip ? [false, true] : [false]).map((f) => ({ scale, flip: f }))
  );
}

async function sourceOf(image: RgbImage | Tensor, options: InferOptions): Promise<ImageSource> {
  if (!("shape" in image)) return rgbSource(image, options.mean, options.std);
  const [n, c, h, w] = image.shape;
  if (image.shape.length !== 4 || n !== 1 || c !== 3 || image.dtype !== "f32") {
    throw new RangeError(
      `Expected an f32 image tensor [1, 3, H, W] but got ${image.dtype} [${image.shape}]`,
    );
  }
  return planarSource(await image.toArray() as Float32Array, h, w);
}

function windowForward(model: FcnModel): WindowForward {
  const device = model.parameters()[0].device;
  return async (data, h, w) => {
    const x = tensor(data, [1, 3, h, w], device);
    const out = noGrad(() => tidy(() => model.forward(x).out)); // [1, K, h, w]
    x.dispose();
    const logits = await out.toArray() as Float32Array;
    out.dispose();
    return logits;
  };
}

/** The rows `[K, W]` of one pass, at the image's own size. */
function passRows(
  source: ImageSource,
  forward: WindowForward,
  p: Pass & { tile?: number; overlap: number },
): AsyncGenerator<Float32Array> {
  const { height, width } = source;
  const size: [number, number] = [
    Math.max(1, Math.floor(height * p.scale + 0.5)),
    Math.max(1, Math.floor(width * p.scale + 0.5)),
  ];
  const rows = slideRows(new ScaledImage(source, size), forward, p);
  return resizeRows(rows, { from: size, to: [height, width] });
}

/**
 * The logits of `image` one row `[K, W]` at a time, top to bottom: the mean over the passes (see
 * the module doc). With `tile`, the passes advance together row by row, so memory follows the
 * tile and the width; without it, each pass runs whole and adds into one `[K, H, W]` sum.
 *
 * @param model An FCN in eval mode.
 * @param image An 8-bit RGB image (normalised window by window), or a normalised f32 tensor
 * `[1, 3, H, W]`.
 */
export async function* inferRows(
  model: FcnModel,
  image: RgbImage | Tensor,
  options: InferOptions = {},
): AsyncGenerator<Float32Array> {
  const passes = check(options);
  const source = await sourceOf(image, options);
  const forward = windowForward(model);
  const overlap = options.overlap ?? 1 / 3, tile = options.tile;
  const streams = () => passes.map((p) => passRows(source, forward, { ...p, tile, overlap }));
  const n = passes.length;
  if (tile !== undefined || n === 1) {
    const its = streams().map((s) => s[Symbol.asyncIterator]());
    for (let y = 0; y < source.height; y++) {
      const row = (await its[0].next()).value as Float32Array;
      for (let i = 1; i < n; i++) {
        const other = (await its[i].next()).value as Float32Array;
        for (let j = 0; j < row.length; j++) row[j] += other[j];
      }
      if (n > 1) { for (let j = 0; j < row.length; j++) row[j] /= n; }
      yield row;
    }
    return;
  }
  let sum: Float32Array | null = null; // [H, K, W]
  for (const stream of streams()) {
    let y = 0;
    for await (const row of stream) {
      sum ??= new Float32Array(source.height * row.length);
      const dst = sum.subarray(y * row.length, ++y * row.length);
      for (let j = 0; j < row.length; j++) dst[j] += row[j];
    }
  }
  const k = sum!.length / source.height;
  for (let y = 0; y < source.height; y++) yield sum!.slice(y * k, (y + 1) * k).map((v) => v / n);
}

/**
 * The logits `[1, K, H, W]` of `image` (see {@linkcode inferRows}), on the model's device.
 *
 * @example Sliding windows with mirrored and 1.5x passes
 * ```ts
 * import { createModel, inferLogits, requestDevice } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const model = createModel("fcn_resnet50", { numClasses: 3, width: 1 / 32, layers: [1, 1, 1, 1] }, device).eval();
 * const image = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(100) };
 * const logits = await inferLogits(model, image, { tile: 24, overlap: 0.25, scales: [1, 1.5], flip: true });
 * assertEquals(logits.shape, [1, 3, 30, 40]);
 * ```
 */
export async function inferLogits(
  model: FcnModel,
  image: RgbImage | Tensor,
  options: InferOptions = {},
): Promise<Tensor> {
  const height = "shape" in image ? image.shape[2] : image.height;
  const width = "shape" in image ? image.shape[3] : image.width;
  let out: Float32Array | null = null, y = 0; // [K, H, W]
  for await (const row of inferRows(model, image, options)) {
    const k = row.length / width;
    out ??= new Float32Array(k * height * width);
    for (let c = 0; c < k; c++) {
      out.set(row.subarray(c * width, (c + 1) * width), (c * height + y) * width);
    }
    y++;
  }
  return tensor(
    out!,
    [1, out!.length / (height * width), height, width],
    model.parameters()[0].device,
  );
}

/**
 * The class of each pixel of `image` (argmax of {@linkcode inferRows}' logits, the first on
 * ties), built row by row: with `tile` a large image never has all its logits in memory.
 *
 * @example A 1000x700 image in windows of 256
 * ```ts
 * import { createModel, inferMask, requestDevice } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "blas" }).catch(() => requestDevice({ backend: "cpu" }));
 * const model = createModel("fcn_resnet50", { numClasses: 3, width: 1 / 32, layers: [1, 1, 1, 1] }, device).eval();
 * const image = { width: 1000, height: 700, data: new Uint8Array(1000 * 700 * 3).fill(100) };
 * const mask = await inferMask(model, image, { tile: 256 });
 * assertEquals([mask.width, mask.height, mask.data.length], [1000, 700, 700_000]);
 * ```
 */
export async function inferMask(
  model: FcnModel,
  image: RgbImage | Tensor,
  options: InferOptions = {},
): Promise<Mask> {
  const height = "shape" in image ? image.shape[2] : image.height;
  const width = "shape" in image ? image.shape[3] : image.width;
  const data = new Uint8Array(height * width);
  let y = 0;
  for await (const row of inferRows(model, image, options)) {
    const k = row.length / width;
    if (k > 256) throw new RangeError(`inferMask: ${k} classes do not fit a mask of 8-bit ids`);
    for (let x = 0; x < width; x++) {
      let best = 0, top = row[x];
      for (let c = 1; c < k; c++) if (row[c * width + x] > top) top = row[c * width + x], best = c;
      data[y * width + x] = best;
    }
    y++;
  }
  return { width, height, data };
}
