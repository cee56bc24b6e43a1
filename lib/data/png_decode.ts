/**
 * PNG decoder: every colour type and bit depth, Adam7 interlacing, CRC checks. Palette images
 * decode to their indices (what segmentation masks store) plus the palette.
 *
 * @module
 */
import { crc32, inflate } from "./_zlib.ts";
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

/** Whether `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

interface Chunks {
  header: DataView;
  palette?: Uint8Array;
  transparency?: Uint8Array;
  idat: Uint8Array[];
}

function readChunks(bytes: Uint8Array): Chunks {
  if (!isPng(bytes)) throw new Error("Not a PNG: the 8-byte signature is missing");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Partial<Chunks> & { idat: Uint8Array[] } = { idat: [] };
  let pos = 8, ended = false;
  while (!ended) {
    if (pos + 12 > bytes.length) throw new Error(`Truncated PNG: no IEND chunk (at byte ${pos})`);
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const end = pos + 8 + length;
    if (end + 4 > bytes.length) {
      throw new Error(`Truncated PNG: chunk ${type} needs ${length} bytes at byte ${pos}`);
    }
    const want = view.getUint32(end), got = crc32(bytes.subarray(pos + 4, end));
    if (want !== got) {
      throw new Error(
        `Corrupt PNG: CRC of chunk ${type} at byte ${pos} is ${hex(want)}, computed ${hex(got)}`,
      );
    }
    const body = bytes.subarray(pos + 8, end);
    if (pos === 8 && type !== "IHDR") throw new Error(`Corrupt PNG: first chunk is ${type}`);
    if (type === "IHDR") out.header = new DataView(body.buffer, body.byteOffset, body.byteLength);
    else if (type === "PLTE") out.palette = body.slice();
    else if (type === "tRNS") out.transparency = body.slice();
    else if (type === "IDAT") out.idat.push(body);
    else if (type === "IEND") ended = true;
    else if (type.charCodeAt(0) < 97) throw new Error(`Unsupported critical PNG chunk ${type}`);
    pos = end + 4;
  }
  return out as Chunks;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/**
 * Decodes a PNG file.
 *
 * Samples are returned as stored (`[H, W, channels]`, 16-bit as Uint16Array, low bit depths
 * unpacked to one byte per sample without rescaling); palette images give indices and
 * `palette`. Use {@linkcode pngToRgb} for 8-bit RGB.
 *
 * @example Decode a mask to its class ids
 * ```ts
 * import { decodePng, encodePng } from "./png.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const palette = new Uint8Array([0, 0, 0, 128, 0, 0]);
 * const bytes = await encodePng({
 *   width: 2, height: 1, colorType: 3, bitDepth: 8, data: new Uint8Array([1, 0]), palette,
 * });
 * const png = await decodePng(bytes);
 * assertEquals([png.colorType, ...png.data], [3, 1, 0]);
 * ```
 */
export async function decodePng(bytes: Uint8Array): Promise<PngImage> {
  const chunks = readChunks(bytes);
  if (chunks.header === undefined || chunks.header.byteLength !== 13) {
    throw new Error("Corrupt PNG: missing or malformed IHDR chunk");
  }
  const h = chunks.header;
  const width = h.getUint32(0), height = h.getUint32(4);
  const bitDepth = h.getUint8(8) as PngBitDepth, colorType = h.getUint8(9) as PngColorType;
  const interlace = h.getUint8(12);
  if (width === 0 || height === 0) throw new Error(`Corrupt PNG: size ${width}x${height}`);
  if (!(colorType in CHANNELS) || !DEPTHS[colorType].includes(bitDepth)) {
    throw new Error(`Invalid PNG: colour type ${colorType} with bit depth ${bitDepth}`);
  }
  if (h.getUint8(10) !== 0 || h.getUint8(11) !== 0 || interlace > 1) {
    throw new Error(`Unsupported PNG compression/filter/interlace method in IHDR`);
  }
  if (colorType === 3 && chunks.palette === undefined) {
    throw new Error("Invalid PNG: palette image without a PLTE chunk");
  }
  if (chunks.idat.length === 0) throw new Error("Corrupt PNG: no IDAT chunk");
  const raw = await inflate(concat(chunks.idat)).catch((e) => {
    throw new Error(`Corrupt PNG: image data does not inflate (${(e as Error).message})`);
  });
  const channels = CHANNELS[colorType];
  const data = bitDepth === 16
    ? new Uint16Array(width * height * channels)
    : new Uint8Array(width * height * channels);
  let offset = 0;
  const layout = { width, channels, bitDepth };
  for (const p of scanPasses(layout, height, interlace === 1)) {
    const need = offset + p.height * (p.stride + 1);
    if (raw.length < need) {
      throw new Error(`Corrupt PNG: image data has ${raw.length} bytes, expected ${need}`);
    }
    const rows = unfilter(raw.subarray(offset, need), p.stride, filterStride(channels, bitDepth));
    scatter(rows, p, layout, data);
    offset = need;
  }
  const image: PngImage = { width, height, colorType, bitDepth, data, interlaced: interlace === 1 };
  if (colorType === 3) {
    image.palette = chunks.palette!.subarray(
      0,
      chunks.palette!.length - chunks.palette!.length % 3,
    );
    if (chunks.transparency) image.transparency = chunks.transparency;
  }
  return image;
}

/** Undoes the per-row filters of `rows` (each a filter byte plus `stride` bytes). */
function unfilter(filtered: Uint8Array, stride: number, bpp: number): Uint8Array {
  const height = filtered.length / (stride + 1);
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const type = filtered[y * (stride + 1)];
    const src = y * (stride + 1) + 1, row = y * stride, up = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = y > 0 ? out[up + i] : 0;
      const c = y > 0 && i >= bpp ? out[up + i - bpp] : 0;
      const x = filtered[src + i];
      let v: number;
      if (type === 0) v = x;
      else if (type === 1) v = x + a;
      else if (type === 2) v = x + b;
      else if (type === 3) v = x + ((a + b) >> 1);
      else if (type === 4) v = x + paeth(a, b, c);
      else throw new Error(`Corrupt PNG: unknown filter type ${type} on row ${y}`);
      out[row + i] = v & 0xff;
    }
  }
  return out;
}

/** Unpacks the samples of one pass and writes them at their place in the full image. */
function scatter(
  rows: Uint8Array,
  p: Pass & { stride: number },
  { width, channels, bitDepth }: Layout,
  out: Uint8Array | Uint16Array,
): void {
  const stride = p.stride;
  const mask = (1 << bitDepth) - 1;
  for (let y = 0; y < p.height; y++) {
    const row = y * stride;
    const base = (p.y0 + y * p.dy) * width;
    for (let x = 0; x < p.width; x++) {
      const o = (base + p.x0 + x * p.dx) * channels;
      for (let c = 0; c < channels; c++) {
        const s = x * channels + c;
        let v: number;
        if (bitDepth === 8) v = rows[row + s];
        else if (bitDepth === 16) v = (rows[row + 2 * s] << 8) | rows[row + 2 * s + 1];
        else {
          const bit = s * bitDepth;
          v = (rows[row + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & mask;
        }
        out[o + c] = v;
      }
    }
  }
}
