/**
 * The default `--base-size`: the median shorter side of the training images, read from the
 * headers of their mask PNGs (same size as the images), so that a run trains and validates near
 * the data's own resolution (72 on the bundled dataset).
 *
 * @module
 */
import type { SampleRef } from "../../data/sample.ts";

/** Masks read for the median: evenly spaced over the split. */
const SAMPLED = 200;

/** Width and height from the IHDR chunk of a PNG's first 24 bytes; null for another format. */
export function pngSize(head: Uint8Array): { width: number; height: number } | null {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (head.length < 24 || signature.some((b, i) => head[i] !== b)) return null;
  const view = new DataView(head.buffer, head.byteOffset, 24);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

async function readHead(path: string): Promise<Uint8Array> {
  using file = await Deno.open(path);
  const head = new Uint8Array(24);
  let n = 0;
  while (n < 24) {
    const got = await file.read(head.subarray(n));
    if (got === null) break;
    n += got;
  }
  return head.subarray(0, n);
}

/**
 * The median shorter side of the samples' masks (at most 200 of them, evenly spaced); null when
 * none is a readable PNG.
 *
 * @example
 * ```ts
 * import { medianShorterSide } from "./base_size.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const png = (w: number, h: number) => {
 *   const b = new Uint8Array(24);
 *   b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
 *   new DataView(b.buffer).setUint32(16, w);
 *   new DataView(b.buffer).setUint32(20, h);
 *   return b;
 * };
 * const sizes = [[90, 60], [70, 100], [50, 40]];
 * for (const [i, [w, h]] of sizes.entries()) await Deno.writeFile(`${dir}/${i}.png`, png(w, h));
 * const refs = sizes.map((_, i) => ({ id: `${i}`, image: "", mask: `${dir}/${i}.png` }));
 * assertEquals(await medianShorterSide(refs), 60);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function medianShorterSide(samples: readonly SampleRef[]): Promise<number | null> {
  const n = Math.min(samples.length, SAMPLED), sides: number[] = [];
  for (let i = 0; i < n; i++) {
    const ref = samples[Math.floor((i * samples.length) / n)];
    const size = pngSize(await readHead(ref.mask).catch(() => new Uint8Array()));
    if (size) sides.push(Math.min(size.width, size.height));
  }
  if (sides.length === 0) return null;
  sides.sort((a, b) => a - b);
  return sides[Math.floor(sides.length / 2)];
}
