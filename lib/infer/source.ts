/**
 * The inputs of sliding windows: a normalised image read region by region (so a large 8-bit
 * image is never held as one float array), resized bilinearly on the fly for test-time scales
 * and mirrored for flips.
 *
 * @module
 */
import type { RgbImage } from "../data/image.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../data/transforms.ts";
import { tap } from "../kernels/resize/reference.ts";

/** A normalised image `[3, H, W]` whose pixels are read one region at a time. */
export interface ImageSource {
  /** Height in pixels. */
  readonly height: number;
  /** Width in pixels. */
  readonly width: number;
  /** The normalised pixels of rows `[y, y + h)` and columns `[x, x + w)`: `[3, h, w]`. */
  region(rect: Rect): Float32Array;
}

/** A rectangle of pixels. */
export interface Rect {
  /** Top row. */
  y: number;
  /** Left column. */
  x: number;
  /** Rows. */
  h: number;
  /** Columns. */
  w: number;
}

/** An 8-bit RGB image `[H, W, 3]`, normalised per region as `normalize()` does. */
export function rgbSource(
  image: RgbImage,
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): ImageSource {
  const { width, height, data } = image;
  const a = [0, 1, 2].map((c) => 1 / (255 * std[c])), b = [0, 1, 2].map((c) => -mean[c] / std[c]);
  return {
    width,
    height,
    region({ y, x, h, w }) {
      const out = new Float32Array(3 * h * w); // [3, h, w]
      for (let c = 0; c < 3; c++) {
        for (let r = 0; r < h; r++) {
          const src = ((y + r) * width + x) * 3 + c, dst = (c * h + r) * w;
          for (let i = 0; i < w; i++) out[dst + i] = data[src + 3 * i] * a[c] + b[c];
        }
      }
      return out;
    },
  };
}

/** An already normalised planar image `[3, H, W]`. */
export function planarSource(data: Float32Array, height: number, width: number): ImageSource {
  if (data.length !== 3 * height * width) {
    throw new RangeError(
      `Expected 3 * ${height} * ${width} = ${3 * height * width} values but got ${data.length}`,
    );
  }
  return {
    width,
    height,
    region({ y, x, h, w }) {
      const out = new Float32Array(3 * h * w); // [3, h, w]
      for (let c = 0; c < 3; c++) {
        for (let r = 0; r < h; r++) {
          const src = (c * height + y + r) * width + x;
          out.set(data.subarray(src, src + w), (c * h + r) * w);
        }
      }
      return out;
    },
  };
}

/** Bilinear taps (PyTorch's, `align_corners=False`) of each index of an axis resized to `out`. */
interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  l0: Float32Array;
  l1: Float32Array;
}

/** The taps of every output index of an axis resized from `size` to `out` pixels. */
export function axisTaps(size: number, out: number): AxisTaps {
  const t: AxisTaps = {
    i0: new Int32Array(out),
    i1: new Int32Array(out),
    l0: new Float32Array(out),
    l1: new Float32Array(out),
  };
  for (let d = 0; d < out; d++) {
    const { i0, i1, l0, l1 } = tap(d, size, out, false);
    t.i0[d] = i0, t.i1[d] = i1, t.l0[d] = l0, t.l1[d] = l1;
  }
  return t;
}

/**
 * `source` resized to `height` x `width` as `F.interpolate(x, size, mode="bilinear",
 * align_corners=False)` would, computed one window at a time.
 */
export class ScaledImage {
  /** Scaled height. */
  readonly height: number;
  /** Scaled width. */
  readonly width: number;
  #source: ImageSource;
  #taps: { y: AxisTaps; x: AxisTaps } | null;

  /** `source` seen at `[height, width]` (itself when the size is the same). */
  constructor(source: ImageSource, size: [number, number]) {
    [this.height, this.width] = size;
    this.#source = source;
    this.#taps = size[0] === source.height && size[1] === source.width
      ? null
      : { y: axisTaps(source.height, size[0]), x: axisTaps(source.width, size[1]) };
  }

  /** Pixels `rect` of the scaled image, `[3, h, w]`; columns mirrored within it when `flip`. */
  window(rect: Rect, flip: boolean): Float32Array {
    const out = this.#taps ? this.#resized(rect) : this.#source.region(rect);
    if (flip) {
      for (let row = 0; row < 3 * rect.h; row++) {
        out.subarray(row * rect.w, (row + 1) * rect.w).reverse();
      }
    }
    return out;
  }

  #resized({ y, x, h, w }: Rect): Float32Array {
    const { y: ty, x: tx } = this.#taps!;
    const ry = ty.i0[y], rx = tx.i0[x];
    const rh = ty.i1[y + h - 1] - ry + 1, rw = tx.i1[x + w - 1] - rx + 1;
    const reg = this.#source.region({ y: ry, x: rx, h: rh, w: rw }); // [3, rh, rw]
    const out = new Float32Array(3 * h * w); // [3, h, w]
    for (let c = 0; c < 3; c++) {
      for (let r = 0; r < h; r++) {
        const oy = y + r, l0 = ty.l0[oy], l1 = ty.l1[oy];
        const r0 = (c * rh + ty.i0[oy] - ry) * rw - rx, r1 = (c * rh + ty.i1[oy] - ry) * rw - rx;
        const dst = (c * h + r) * w;
        for (let i = 0; i < w; i++) {
          const ox = x + i, a = tx.i0[ox], b = tx.i1[ox], m0 = tx.l0[ox], m1 = tx.l1[ox];
          out[dst + i] = l0 * (m0 * reg[r0 + a] + m1 * reg[r0 + b]) +
            l1 * (m0 * reg[r1 + a] + m1 * reg[r1 + b]);
        }
      }
    }
    return out;
  }
}
