/**
 * Augmentation and preprocessing of one (image, mask) pair, seeded so that a sample's result
 * depends only on its generator state.
 *
 * Train: resize the shorter side to `round(U[scaleRange] * baseSize)` (image bilinear, mask
 * nearest), flip horizontally with p = 0.5, pad to `crop` (image 0, mask 255), random `crop`,
 * normalise to float CHW. Eval: resize the shorter side to `baseSize` (or keep the resolution),
 * normalise.
 *
 * @module
 */
import { IGNORE, type Mask, type RgbImage } from "./image.ts";
import type { Rng } from "../random.ts";

/** Options of the train and eval transforms. */
export interface TransformOptions {
  /** Side of the square random crop in training (default 480). */
  crop?: number;
  /** Shorter side before scaling (train) or after resizing (eval); default 520. */
  baseSize?: number;
  /** Range of the random scale factor of `baseSize` in training (default [0.5, 2.0]). */
  scaleRange?: readonly [number, number];
  /** Random horizontal flips in training (default true). */
  flip?: boolean;
  /** Per-channel mean of 0..1 pixel values (default ImageNet's). */
  mean?: readonly [number, number, number];
  /** Per-channel standard deviation (default ImageNet's). */
  std?: readonly [number, number, number];
  /** Eval only: keep the original resolution instead of resizing to `baseSize` (default false). */
  keepResolution?: boolean;
  /**
   * The mask value that marks pixels to ignore, read as 255 (the padding label, which the loss
   * and the metrics always skip); default 255.
   */
  ignoreIndex?: number;
}

/** ImageNet channel means (RGB, 0..1 scale). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet channel standard deviations (RGB, 0..1 scale). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** A transformed sample: a normalised float image and its mask, both `height` x `width`. */
export interface TransformedSample {
  /** Normalised pixels, `[3, H, W]`. */
  image: Float32Array;
  /** Class ids, `[H, W]` (255 = ignore). */
  mask: Uint8Array;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
}

/** Any 8-bit image: `[H, W, channels]` bytes (an {@linkcode RgbImage} or a {@linkcode Mask}). */
export interface Raster {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixels. */
  data: Uint8Array;
}

function check(image: RgbImage, mask: Mask): void {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new RangeError(
      `Image is ${image.width}x${image.height} but its mask is ${mask.width}x${mask.height}`,
    );
  }
}

/** The size `[width, height]` whose shorter side is `size`, keeping the aspect ratio. */
export function shorterSideSize(width: number, height: number, size: number): [number, number] {
  return width <= height
    ? [size, Math.max(1, Math.round((height * size) / width))]
    : [Math.max(1, Math.round((width * size) / height)), size];
}

/** Bilinear resize of an RGB image (pixel centres aligned, edges clamped, results rounded). */
export function resizeBilinear(image: RgbImage, width: number, height: number): RgbImage {
  const { width: W, height: H, data: src } = image;
  if (W === width && H === height) return image;
  const data = new Uint8Array(width * height * 3);
  const sx = W / width, sy = H / height;
  const x0s = new Int32Array(width), x1s = new Int32Array(width), fxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), W - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x] + 1, W - 1);
    fxs[x] = fx - x0s[x];
  }
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), H - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, H - 1), wy = fy - y0;
    const r0 = y0 * W * 3, r1 = y1 * W * 3, o = y * width * 3;
    for (let x = 0; x < width; x++) {
      const a = r0 + x0s[x] * 3, b = r0 + x1s[x] * 3, c = r1 + x0s[x] * 3, d = r1 + x1s[x] * 3;
      const wx = fxs[x];
      for (let ch = 0; ch < 3; ch++) {
        const top = src[a + ch] + (src[b + ch] - src[a + ch]) * wx;
        const bottom = src[c + ch] + (src[d + ch] - src[c + ch]) * wx;
        data[o + x * 3 + ch] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return { width, height, data };
}

/** Nearest-neighbour resize of a mask (source pixel `floor((x + 0.5) * W / width)`). */
export function resizeNearest(mask: Mask, width: number, height: number): Mask {
  const { width: W, height: H, data: src } = mask;
  if (W === width && H === height) return mask;
  const data = new Uint8Array(width * height);
  const xs = new Int32Array(width);
  for (let x = 0; x < width; x++) xs[x] = Math.min(Math.floor(((x + 0.5) * W) / width), W - 1);
  for (let y = 0; y < height; y++) {
    const row = Math.min(Math.floor(((y + 0.5) * H) / height), H - 1) * W;
    for (let x = 0; x < width; x++) data[y * width + x] = src[row + xs[x]];
  }
  return { width, height, data };
}

/** Mirrors an image of `channels` samples per pixel left to right. */
export function flipHorizontal<T extends Raster>(r: T, channels: number): T {
  const { width, height, data: src } = r;
  const data = new Uint8Array(src.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * channels, d = (y * width + width - 1 - x) * channels;
      for (let c = 0; c < channels; c++) data[d + c] = src[s + c];
    }
  }
  return { ...r, data };
}

/**
 * The `width` x `height` window at (`x0`, `y0`); parts outside the source are `fill`
 * (padding at the right and bottom, as torchvision's reference does).
 */
export function cropPad<T extends Raster>(
  r: T,
  channels: number,
  x0: number,
  y0: number,
  width: number,
  height: number,
  fill: number,
): T {
  const data = new Uint8Array(width * height * channels).fill(fill);
  const w = Math.min(width, r.width - x0), h = Math.min(height, r.height - y0);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * r.width + x0) * channels;
    data.set(r.data.subarray(s, s + w * channels), y * width * channels);
  }
  return { ...r, width, height, data };
}

/** `(pixel / 255 - mean) / std` per channel, as `[3, H, W]` floats. */
export function normalize(
  image: RgbImage,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): Float32Array {
  const n = image.width * image.height, out = new Float32Array(3 * n), src = image.data;
  for (let c = 0; c < 3; c++) {
    const a = 1 / (255 * std[c]), b = -mean[c] / std[c], o = c * n;
    for (let i = 0; i < n; i++) out[o + i] = src[3 * i + c] * a + b;
  }
  return out;
}

/**
 * The training augmentation. Random draws, in order: scale, flip, crop x, crop y.
 *
 * @example A 4x4 sample cropped to 2x2
 * ```ts
 * import { Rng } from "../random.ts";
 * import { trainTransform } from "./transforms.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const image = { width: 4, height: 4, data: new Uint8Array(48).fill(128) };
 * const mask = { width: 4, height: 4, data: new Uint8Array(16).fill(1) };
 * const s = trainTransform(image, mask, new Rng(1), { crop: 2, baseSize: 4 });
 * assertEquals([s.width, s.height, s.image.length, s.mask.length], [2, 2, 12, 4]);
 * ```
 */
export function trainTransform(
  image: RgbImage,
  mask: Mask,
  rng: Rng,
  options: TransformOptions = {},
): TransformedSample {
  check(image, mask);
  const { crop = 480, baseSize = 520, scaleRange = [0.5, 2.0], flip = true } = options;
  const size = Math.max(1, Math.round(rng.uniform(scaleRange[0], scaleRange[1]) * baseSize));
  const [w, h] = shorterSideSize(image.width, image.height, size);
  let img = resizeBilinear(image, w, h), m = resizeNearest(mask, w, h);
  if (rng.next() < 0.5 && flip) {
    img = flipHorizontal(img, 3);
    m = flipHorizontal(m, 1);
  }
  const x0 = rng.int(Math.max(w - crop, 0) + 1), y0 = rng.int(Math.max(h - crop, 0) + 1);
  img = cropPad(img, 3, x0, y0, crop, crop, 0);
  m = cropPad(m, 1, x0, y0, crop, crop, IGNORE);
  return {
    image: normalize(img, options.mean, options.std),
    mask: m.data,
    width: crop,
    height: crop,
  };
}

/**
 * The evaluation preprocessing: resize the shorter side to `baseSize` (unless `keepResolution`)
 * and normalise.
 */
export function evalTransform(
  image: RgbImage,
  mask: Mask,
  options: TransformOptions = {},
): TransformedSample {
  check(image, mask);
  let img = image, m = mask;
  if (!options.keepResolution) {
    const [w, h] = shorterSideSize(image.width, image.height, options.baseSize ?? 520);
    img = resizeBilinear(image, w, h);
    m = resizeNearest(mask, w, h);
  }
  return {
    image: normalize(img, options.mean, options.std),
    mask: m.data,
    width: img.width,
    height: img.height,
  };
}
