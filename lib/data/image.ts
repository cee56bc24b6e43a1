/**
 * Reading images and masks from disk (JPEG through imagescript, PNG through our decoder),
 * writing masks as palette PNGs, and overlays for visual checks.
 *
 * @module
 */
import { decodeJpeg } from "./_jpeg.ts";
import { decodePng, encodePng, isPng, type PngImage, pngToRgb } from "./png.ts";
import { type Rgb, vocPalette } from "./palette.ts";

/** An 8-bit RGB image. */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Pixels, `[H, W, 3]`. */
  data: Uint8Array;
}

/** A class-id mask: 0..K-1, 255 = ignore. */
export interface Mask {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Class ids, `[H, W]`. */
  data: Uint8Array;
}

/** The ignore label of masks. */
export const IGNORE = 255;

/** Colour of the ignore label in VOC masks. */
export const IGNORE_COLOR: Rgb = [224, 224, 192];

async function load(source: string | Uint8Array): Promise<[Uint8Array, string]> {
  if (typeof source !== "string") return [source, "<bytes>"];
  try {
    return [await Deno.readFile(source), source];
  } catch (e) {
    throw new Error(`Cannot read ${source}: ${(e as Error).message}`);
  }
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

function describe(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (x) => x.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Reads a JPEG (baseline or progressive) or PNG as 8-bit RGB: gray is repeated on three
 * channels, alpha is dropped.
 *
 * @param source A file path, or the file's bytes.
 * @throws Error naming the file when it cannot be read or decoded.
 *
 * @example
 * ```ts
 * import { encodeRgbPng, readImage } from "./image.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const png = await encodeRgbPng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3]) });
 * const img = await readImage(png);
 * assertEquals([img.width, img.height, ...img.data], [1, 1, 1, 2, 3]);
 * ```
 */
export async function readImage(source: string | Uint8Array): Promise<RgbImage> {
  const [bytes, name] = await load(source);
  try {
    if (isPng(bytes)) {
      const png = await decodePng(bytes);
      return { width: png.width, height: png.height, data: pngToRgb(png) };
    }
    if (!isJpeg(bytes)) throw new Error(`not a JPEG or PNG file (starts with ${describe(bytes)})`);
    return await decodeJpeg(bytes);
  } catch (e) {
    throw new Error(`Cannot decode image ${name}: ${(e as Error).message}`);
  }
}

/** Options of {@linkcode readMask}. */
export interface ReadMaskOptions {
  /** Class colours: an RGB mask's colour `colors[k]` becomes class k. */
  colors?: readonly Rgb[];
  /** The colour read as 255 (ignore) in RGB masks; default (224, 224, 192) as in VOC. */
  ignoreColor?: Rgb;
}

/**
 * Reads a PNG mask as class ids: palette PNGs give their indices, gray PNGs their values, RGB(A)
 * PNGs are mapped through `colors` (and `ignoreColor` to 255).
 *
 * @param source A file path, or the file's bytes.
 * @throws Error naming the file for a non-PNG, a gray value above 255, or an RGB colour that
 *   is not a class colour.
 *
 * @example
 * ```ts
 * import { encodeMaskPng, readMask } from "./image.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const png = await encodeMaskPng({ width: 3, height: 1, data: new Uint8Array([0, 2, 255]) });
 * assertEquals(Array.from((await readMask(png)).data), [0, 2, 255]);
 * ```
 */
export async function readMask(
  source: string | Uint8Array,
  options: ReadMaskOptions = {},
): Promise<Mask> {
  const [bytes, name] = await load(source);
  if (!isPng(bytes)) {
    throw new Error(
      `Cannot decode mask ${name}: masks must be PNG files (found ${
        isJpeg(bytes) ? "a JPEG, whose lossy compression would change class ids" : describe(bytes)
      })`,
    );
  }
  let png: PngImage;
  try {
    png = await decodePng(bytes);
  } catch (e) {
    throw new Error(`Cannot decode mask ${name}: ${(e as Error).message}`);
  }
  const { width, height } = png;
  if (png.colorType === 3) return { width, height, data: Uint8Array.from(png.data) };
  if (png.colorType === 0 || png.colorType === 4) {
    return { width, height, data: grayIds(png, name) };
  }
  return { width, height, data: colorIds(png, name, options) };
}

function grayIds(png: PngImage, name: string): Uint8Array {
  const step = png.colorType === 4 ? 2 : 1, n = png.width * png.height;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = png.data[i * step];
    if (v > 255) {
      throw new Error(
        `Mask ${name} has value ${v} at (${i % png.width}, ${Math.floor(i / png.width)}); ` +
          "class ids must be 0..254 and 255 (ignore): rewrite it as an 8-bit gray or palette PNG",
      );
    }
    out[i] = v;
  }
  return out;
}

function colorIds(png: PngImage, name: string, options: ReadMaskOptions): Uint8Array {
  const colors = options.colors ?? [];
  if (colors.length === 0) {
    throw new Error(
      `Mask ${name} is an RGB image but no class colours were given: list them in classes.json ` +
        `or save masks as palette/gray PNGs of class ids`,
    );
  }
  const key = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b;
  const ids = new Map<number, number>();
  const ig = options.ignoreColor ?? IGNORE_COLOR;
  ids.set(key(ig[0], ig[1], ig[2]), IGNORE);
  colors.forEach((c, k) => ids.set(key(c[0], c[1], c[2]), k));
  const rgb = pngToRgb(png), n = png.width * png.height, out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
    const id = ids.get(key(r, g, b));
    if (id === undefined) {
      throw new Error(
        `Mask ${name} has colour (${r}, ${g}, ${b}) at (${i % png.width}, ${
          Math.floor(i / png.width)
        }), which is not a class colour (${colors.map((c) => `(${c.join(", ")})`).join(" ")}) ` +
          `nor the ignore colour (${ig.join(", ")})`,
      );
    }
    out[i] = id;
  }
  return out;
}

/** Encodes a mask as an indexed ("P" mode) PNG with `palette` (default {@linkcode vocPalette}). */
export function encodeMaskPng(mask: Mask, palette: Uint8Array = vocPalette()): Promise<Uint8Array> {
  const { width, height, data } = mask;
  return encodePng({ width, height, colorType: 3, bitDepth: 8, data, palette });
}

/** Encodes an RGB image as an 8-bit RGB PNG. */
export function encodeRgbPng(image: RgbImage): Promise<Uint8Array> {
  const { width, height, data } = image;
  return encodePng({ width, height, colorType: 2, bitDepth: 8, data });
}

/**
 * Writes a mask as an indexed PNG (read back by PIL as mode "P", pixel value = class id).
 *
 * @example
 * ```ts
 * import { readMask, writeMaskPng } from "./image.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await writeMaskPng(path, { width: 2, height: 1, data: new Uint8Array([1, 255]) });
 * assertEquals(Array.from((await readMask(path)).data), [1, 255]);
 * await Deno.remove(path);
 * ```
 */
export async function writeMaskPng(path: string, mask: Mask, palette?: Uint8Array): Promise<void> {
  await Deno.writeFile(path, await encodeMaskPng(mask, palette));
}

/** Writes an RGB image as a PNG. */
export async function writeRgbPng(path: string, image: RgbImage): Promise<void> {
  await Deno.writeFile(path, await encodeRgbPng(image));
}

/**
 * Blends each pixel with its class colour: `(1 - alpha) * image + alpha * palette[mask]`.
 *
 * @example
 * ```ts
 * import { overlay } from "./image.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const image = { width: 1, height: 1, data: new Uint8Array([0, 0, 200]) };
 * const mask = { width: 1, height: 1, data: new Uint8Array([1]) }; // VOC colour (128, 0, 0)
 * assertEquals(Array.from(overlay(image, mask).data), [64, 0, 100]);
 * ```
 */
export function overlay(
  image: RgbImage,
  mask: Mask,
  palette: Uint8Array = vocPalette(),
  alpha = 0.5,
): RgbImage {
  if (image.width !== mask.width || image.height !== mask.height) {
    throw new RangeError(
      `Expected a mask of the image's size ${image.width}x${image.height} but found ` +
        `${mask.width}x${mask.height}`,
    );
  }
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < mask.data.length; i++) {
    const k = mask.data[i];
    for (let c = 0; c < 3; c++) {
      const v = (1 - alpha) * image.data[3 * i + c] + alpha * (palette[3 * k + c] ?? 0);
      data[3 * i + c] = Math.round(v);
    }
  }
  return { width: image.width, height: image.height, data };
}
