/**
 * Sliding-window ("slide") inference over one image, streamed by rows: windows are run one row
 * of windows at a time and their logits summed into a band that holds only the rows later
 * windows still cover; each row is divided by how many windows covered each pixel and handed on
 * as soon as no later window reaches it. Memory follows the tile and the width, not the area.
 *
 * @module
 */
import type { ScaledImage } from "./source.ts";
import { coverage, strideOf, windowStarts } from "./windows.ts";

/** Runs the model on one window: `[3, h, w]` normalised pixels -> `[K, h, w]` logits. */
export type WindowForward = (x: Float32Array, h: number, w: number) => Promise<Float32Array>;

/** Options of {@linkcode slideRows}. */
export interface SlideOptions {
  /** Window side in pixels; undefined: one window covering the whole image. */
  tile?: number;
  /** Fraction of a window shared with the next one, in [0, 1). */
  overlap: number;
  /** Run on the mirrored image and mirror the logits back. */
  flip: boolean;
}

/** The windows of one image: rows and columns (unmirrored columns), with their coverage. */
interface Layout {
  th: number;
  tw: number;
  ys: number[];
  xs: number[];
  rowCount: Int32Array;
  colCount: Int32Array;
}

function layout(height: number, width: number, options: SlideOptions): Layout {
  const { tile, flip } = options;
  const th = Math.min(tile ?? height, height), tw = Math.min(tile ?? width, width);
  const stride = tile === undefined ? 1 : strideOf(tile, options.overlap);
  const ys = windowStarts(height, th, stride);
  // Windows are laid out on the mirrored image when flipping, as if it were the input.
  const xs = windowStarts(width, tw, stride).map((x) => flip ? width - tw - x : x);
  return { th, tw, ys, xs, rowCount: coverage(ys, th, height), colCount: coverage(xs, tw, width) };
}

/**
 * The logits of `image` by sliding windows, one finished row `[K, W]` at a time, top to bottom
 * (mmsegmentation's slide mode: the sum of the windows' logits over how many windows cover each
 * pixel). An image side smaller than the tile gets windows of that side, not padded ones.
 */
export async function* slideRows(
  image: ScaledImage,
  forward: WindowForward,
  options: SlideOptions,
): AsyncGenerator<Float32Array> {
  const { height, width } = image;
  const { th, tw, ys, xs, rowCount, colCount } = layout(height, width, options);
  let band: Float32Array | null = null; // ring of th rows, each [K, W]
  let k = 0, next = 0;
  for (let i = 0; i < ys.length; i++) {
    for (const x of xs) {
      const out = await forward(image.window({ y: ys[i], x, h: th, w: tw }, options.flip), th, tw);
      if (band === null) {
        k = out.length / (th * tw);
        band = new Float32Array(th * k * width);
      }
      accumulate(band, out, { y: ys[i], x, th, tw, k, width, flip: options.flip });
    }
    const until = i + 1 < ys.length ? ys[i + 1] : height;
    for (; next < until; next++) {
      const off = (next % th) * k * width, row = new Float32Array(k * width); // [K, W]
      const rc = rowCount[next];
      for (let c = 0; c < k; c++) {
        for (let x = 0; x < width; x++) {
          row[c * width + x] = band![off + c * width + x] / (rc * colCount[x]);
        }
      }
      band!.fill(0, off, off + k * width);
      yield row;
    }
  }
}

/** Adds one window's logits `[K, th, tw]` into the band's rows `[y, y + th)`. */
function accumulate(
  band: Float32Array,
  out: Float32Array,
  g: { y: number; x: number; th: number; tw: number; k: number; width: number; flip: boolean },
): void {
  const { y, x, th, tw, k, width, flip } = g;
  for (let r = 0; r < th; r++) {
    const off = ((y + r) % th) * k * width;
    for (let c = 0; c < k; c++) {
      const src = (c * th + r) * tw, dst = off + c * width + x;
      if (flip) { for (let i = 0; i < tw; i++) band[dst + tw - 1 - i] += out[src + i]; }
      else for (let i = 0; i < tw; i++) band[dst + i] += out[src + i];
    }
  }
}
