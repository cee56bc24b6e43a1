/**
 * What the PNG decoder and encoder share: the image type, the allowed colour type / bit depth
 * pairs, Adam7 pass geometry, sample (un)packing and the five scanline filters.
 *
 * @module
 */

/** PNG colour types: 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA. */
export type PngColorType = 0 | 2 | 3 | 4 | 6;

/** PNG bit depths (bits per sample, or per palette index). */
export type PngBitDepth = 1 | 2 | 4 | 8 | 16;

/** A decoded PNG, or one to encode. */
export interface PngImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Colour type (0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA). */
  colorType: PngColorType;
  /** Bits per sample: 1, 2, 4, 8 or 16 (allowed pairs as in the PNG specification). */
  bitDepth: PngBitDepth;
  /**
   * Samples, row-major `[H, W, channels]`, as stored (not rescaled: a 2-bit gray image holds
   * 0..3). Palette images hold the palette INDICES, one per pixel. 16-bit images use a
   * Uint16Array.
   */
  data: Uint8Array | Uint16Array;
  /** Palette as `[P, 3]` RGB bytes (colour type 3 only). */
  palette?: Uint8Array;
  /** Alpha of the first palette entries (the tRNS chunk of palette images). */
  transparency?: Uint8Array;
  /** Whether the file is (or should be written) Adam7-interlaced. */
  interlaced?: boolean;
}

/** Samples per pixel of each colour type. */
export const CHANNELS: Record<PngColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Bit depths each colour type allows. */
export const DEPTHS: Record<PngColorType, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** The 8-byte PNG signature. */
export const SIGNATURE: Uint8Array = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);

/** One pass of a (possibly interlaced) image: start and step in x and y, and its size. */
export interface Pass {
  /** First column. */
  x0: number;
  /** First row. */
  y0: number;
  /** Column step. */
  dx: number;
  /** Row step. */
  dy: number;
  /** Columns in the pass. */
  width: number;
  /** Rows in the pass. */
  height: number;
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** How an image lays out its samples: pixels per row, samples per pixel, bits per sample. */
export interface Layout {
  /** Pixels per row of the whole image. */
  width: number;
  /** Samples per pixel. */
  channels: number;
  /** Bits per sample. */
  bitDepth: number;
}

/**
 * The passes of an image of `height` rows that hold pixels: one full pass, or the non-empty
 * ones of the seven Adam7 passes, each with `stride`, the bytes of one of its scanlines
 * (without the filter byte).
 */
export function scanPasses(
  layout: Layout,
  height: number,
  interlaced: boolean,
): (Pass & { stride: number })[] {
  const { width, channels, bitDepth } = layout;
  const all: Pass[] = interlaced
    ? ADAM7.map(([x0, y0, dx, dy]) => ({
      x0,
      y0,
      dx,
      dy,
      width: Math.max(0, Math.ceil((width - x0) / dx)),
      height: Math.max(0, Math.ceil((height - y0) / dy)),
    }))
    : [{ x0: 0, y0: 0, dx: 1, dy: 1, width, height }];
  return all
    .filter((p) => p.width > 0 && p.height > 0)
    .map((p) => ({ ...p, stride: Math.ceil((p.width * channels * bitDepth) / 8) }));
}

/** One buffer holding `parts` one after the other. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

/** Bytes per complete pixel, at least 1: the distance the Sub, Average and Paeth filters look back. */
export function filterStride(channels: number, bitDepth: number): number {
  return Math.max(1, (channels * bitDepth) >> 3);
}

/** The Paeth predictor of the PNG specification. */
export function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
