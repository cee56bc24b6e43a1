/**
 * Our own PNG codec (zlib through the platform's compression streams): decoding of every colour
 * type and bit depth including Adam7, palette images decoded to their indices, and encoding of
 * indexed, gray, RGB(A) images.
 *
 * @module
 */
import type { PngImage } from "./_png_format.ts";

export type { PngBitDepth, PngColorType, PngImage } from "./_png_format.ts";
export { decodePng, isPng } from "./png_decode.ts";
export { encodePng } from "./png_encode.ts";
export type { PngEncodeOptions, PngInput } from "./png_encode.ts";

/**
 * 8-bit RGB pixels (`[H, W, 3]`) of any decoded PNG: gray is repeated on the three channels,
 * palette indices are looked up, low and 16-bit depths are rescaled to 0..255, alpha is dropped.
 *
 * @example
 * ```ts
 * import { pngToRgb } from "./png.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const rgb = pngToRgb({ width: 2, height: 1, colorType: 0, bitDepth: 1, data: new Uint8Array([0, 1]) });
 * assertEquals(Array.from(rgb), [0, 0, 0, 255, 255, 255]);
 * ```
 */
export function pngToRgb(png: PngImage): Uint8Array {
  const n = png.width * png.height;
  const out = new Uint8Array(n * 3);
  const { data, colorType } = png;
  if (colorType === 3) {
    const pal = png.palette!, entries = pal.length / 3;
    for (let i = 0; i < n; i++) {
      const k = data[i];
      if (k >= entries) {
        throw new RangeError(
          `Palette index ${k} at pixel ${i} but the palette has ${entries} entries`,
        );
      }
      out[3 * i] = pal[3 * k];
      out[3 * i + 1] = pal[3 * k + 1];
      out[3 * i + 2] = pal[3 * k + 2];
    }
    return out;
  }
  const max = 2 ** png.bitDepth - 1;
  // 16 bits keep their high byte (as libpng's strip_16); 1, 2 and 4 bits stretch to 0..255.
  const scale = (v: number) => max === 255 ? v : max === 65535 ? v >> 8 : (v * 255) / max;
  const channels = colorType === 0 ? 1 : colorType === 4 ? 2 : colorType === 2 ? 3 : 4;
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    if (channels <= 2) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = scale(data[o]);
    else {
      out[3 * i] = scale(data[o]);
      out[3 * i + 1] = scale(data[o + 1]);
      out[3 * i + 2] = scale(data[o + 2]);
    }
  }
  return out;
}
