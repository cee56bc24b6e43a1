/**
 * PNG encoder: every colour type and bit depth, optional Adam7 interlacing, a fixed or adaptive
 * scanline filter. Indexed ("P") images carry their palette, as segmentation masks do.
 *
 * @module
 */
import { crc32, deflate } from "./_zlib.ts";
import {
  CHANNELS,
  concat,
  DEPTHS,
  filterStride,
  type Layout,
  paeth,
  type Pass,
  type PngBitDepth,
  type PngColorType,
  type PngImage,
  scanPasses,
  SIGNATURE,
} from "./_png_format.ts";

/** What {@linkcode encodePng} needs: a {@linkcode PngImage} whose type and depth may be implied. */
export type PngInput = Omit<PngImage, "colorType" | "bitDepth"> & {
  /** Colour type; default 3 when `palette` is given, else from the samples per pixel. */
  colorType?: PngColorType;
  /** Bit depth; default 16 for a Uint16Array, else 8. */
  bitDepth?: PngBitDepth;
};

/** Options of {@linkcode encodePng}. */
export interface PngEncodeOptions {
  /**
   * Scanline filter: 0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth, or "adaptive" (per row, the one
   * with the smallest sum of absolute differences; the default).
   */
  filter?: 0 | 1 | 2 | 3 | 4 | "adaptive";
}

const INFERRED: Record<number, PngColorType> = { 1: 0, 2: 4, 3: 2, 4: 6 };

/**
 * Encodes a PNG. `data` holds `[H, W, channels]` samples (palette indices for colour type 3);
 * every sample must fit the bit depth.
 *
 * @example An RGB image
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const data = new Uint8Array([255, 0, 0, 0, 255, 0]);
 * const png = await decodePng(await encodePng({ width: 2, height: 1, data }));
 * assertEquals([png.colorType, png.bitDepth, ...png.data], [2, 8, 255, 0, 0, 0, 255, 0]);
 * ```
 */
export async function encodePng(
  image: PngInput,
  options: PngEncodeOptions = {},
): Promise<Uint8Array> {
  const { width, height, data, palette } = image;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new RangeError(`Expected a positive integer PNG size but found ${width}x${height}`);
  }
  const perPixel = data.length / (width * height);
  const colorType = image.colorType ?? (palette ? 3 : INFERRED[perPixel]);
  if (colorType === undefined || CHANNELS[colorType] !== perPixel) {
    throw new RangeError(
      `Expected ${width}x${height} pixels of ${
        colorType === undefined ? "1-4" : CHANNELS[colorType]
      }` +
        ` samples but data has ${data.length} values`,
    );
  }
  const bitDepth = image.bitDepth ?? (data instanceof Uint16Array ? 16 : 8);
  if (!DEPTHS[colorType].includes(bitDepth)) {
    throw new RangeError(`PNG colour type ${colorType} does not allow bit depth ${bitDepth}`);
  }
  checkSamples(data, bitDepth, colorType === 3 ? palette : undefined);
  const channels = CHANNELS[colorType];
  const filter = options.filter ?? "adaptive";
  if (filter !== "adaptive" && ![0, 1, 2, 3, 4].includes(filter)) {
    throw new RangeError(`Expected a PNG filter 0..4 or "adaptive" but found ${filter}`);
  }
  const parts: Uint8Array[] = [];
  const layout = { width, channels, bitDepth };
  for (const p of scanPasses(layout, height, image.interlaced ?? false)) {
    const rows = gather(data, p, layout);
    parts.push(applyFilters(rows, p.stride, filterStride(channels, bitDepth), filter));
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([bitDepth, colorType, 0, 0, image.interlaced ? 1 : 0], 8);
  const chunks = [chunk("IHDR", header)];
  if (colorType === 3) {
    chunks.push(chunk("PLTE", palette!));
    if (image.transparency) chunks.push(chunk("tRNS", image.transparency));
  }
  chunks.push(chunk("IDAT", await deflate(concat(parts))), chunk("IEND", new Uint8Array(0)));
  return concat([SIGNATURE, ...chunks]);
}

function checkSamples(data: ArrayLike<number>, bitDepth: number, palette?: Uint8Array): void {
  if (
    palette !== undefined &&
    (palette.length % 3 !== 0 || palette.length === 0 || palette.length > 768)
  ) {
    throw new RangeError(
      `Expected a palette of 1..256 RGB triples but found ${palette.length} bytes`,
    );
  }
  const max = palette ? Math.min(palette.length / 3, 2 ** bitDepth) - 1 : 2 ** bitDepth - 1;
  for (let i = 0; i < data.length; i++) {
    if (data[i] > max) {
      throw new RangeError(
        `Sample ${data[i]} at index ${i} does not fit ${
          palette ? `a palette of ${max + 1} entries` : `${bitDepth} bits`
        }`,
      );
    }
  }
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 12);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/** Packs the samples of one pass into unfiltered scanlines. */
function gather(
  data: Uint8Array | Uint16Array,
  p: Pass & { stride: number },
  { width, channels, bitDepth }: Layout,
): Uint8Array {
  const stride = p.stride;
  const rows = new Uint8Array(p.height * stride);
  for (let y = 0; y < p.height; y++) {
    const row = y * stride, base = (p.y0 + y * p.dy) * width;
    for (let x = 0; x < p.width; x++) {
      const o = (base + p.x0 + x * p.dx) * channels;
      for (let c = 0; c < channels; c++) {
        const s = x * channels + c, v = data[o + c];
        if (bitDepth === 8) rows[row + s] = v;
        else if (bitDepth === 16) {
          rows[row + 2 * s] = v >> 8;
          rows[row + 2 * s + 1] = v & 0xff;
        } else {
          const bit = s * bitDepth;
          rows[row + (bit >> 3)] |= v << (8 - bitDepth - (bit & 7));
        }
      }
    }
  }
  return rows;
}

/** Prefixes every row with its filter byte and filters it against the row above. */
function applyFilters(
  rows: Uint8Array,
  stride: number,
  bpp: number,
  filter: NonNullable<PngEncodeOptions["filter"]>,
): Uint8Array {
  const height = rows.length / stride;
  const out = new Uint8Array(height * (stride + 1));
  const trial = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const dst = out.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    let best: number = typeof filter === "number" ? filter : 0;
    filterRow(rows, y, stride, bpp, best, dst);
    if (filter === "adaptive") {
      let bestCost = cost(dst);
      for (let t = 1; t <= 4; t++) {
        filterRow(rows, y, stride, bpp, t, trial);
        const c = cost(trial);
        if (c < bestCost) {
          best = t;
          bestCost = c;
          dst.set(trial);
        }
      }
    }
    out[y * (stride + 1)] = best;
  }
  return out;
}

function cost(row: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += row[i] < 128 ? row[i] : 256 - row[i];
  return s;
}

function filterRow(
  rows: Uint8Array,
  y: number,
  stride: number,
  bpp: number,
  type: number,
  dst: Uint8Array,
): void {
  const row = y * stride, up = row - stride;
  for (let i = 0; i < stride; i++) {
    const a = i >= bpp ? rows[row + i - bpp] : 0;
    const b = y > 0 ? rows[up + i] : 0;
    const c = y > 0 && i >= bpp ? rows[up + i - bpp] : 0;
    const x = rows[row + i];
    const pred = type === 0
      ? 0
      : type === 1
      ? a
      : type === 2
      ? b
      : type === 3
      ? (a + b) >> 1
      : paeth(a, b, c);
    dst[i] = (x - pred) & 0xff;
  }
}
