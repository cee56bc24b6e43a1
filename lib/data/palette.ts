/**
 * Colour maps for segmentation masks.
 *
 * @module
 */

/** An RGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

/**
 * The PASCAL VOC colour map: entry `k` takes bit `3j`, `3j+1`, `3j+2` of `k` as bit `7-j` of R,
 * G, B. Class 1 is (128, 0, 0), and 255 (the ignore label) is (224, 224, 192).
 *
 * @param n Number of entries (default 256).
 * @returns `[n, 3]` RGB bytes.
 *
 * @example
 * ```ts
 * import { vocPalette } from "./palette.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const p = vocPalette();
 * assertEquals(Array.from(p.subarray(3, 6)), [128, 0, 0]);
 * assertEquals(Array.from(p.subarray(255 * 3)), [224, 224, 192]);
 * ```
 */
export function vocPalette(n = 256): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let k = 0; k < n; k++) {
    let r = 0, g = 0, b = 0;
    for (let j = 0, c = k; j < 8; j++, c >>= 3) {
      r |= (c & 1) << (7 - j);
      g |= ((c >> 1) & 1) << (7 - j);
      b |= ((c >> 2) & 1) << (7 - j);
    }
    out.set([r, g, b], 3 * k);
  }
  return out;
}

/**
 * A 256-entry palette whose first entries are `colors` (class k gets `colors[k]`), the rest as in
 * {@linkcode vocPalette} (so 255 stays (224, 224, 192)).
 */
export function paletteOf(colors: readonly Rgb[]): Uint8Array {
  const out = vocPalette();
  colors.forEach((c, k) => out.set(c, 3 * k));
  return out;
}
