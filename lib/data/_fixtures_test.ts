/**
 * Helpers of the data tests: tiny VOC and folder datasets written into temp dirs.
 *
 * @module
 */
import { Image } from "imagescript";
import { encodeMaskPng } from "./image.ts";
import { encodePng } from "./png.ts";

/** The bundled synthetic dataset's root. */
export const SYNTHETIC = new URL("../../fixtures/synthetic", import.meta.url).pathname;

/** One sample to write: sizes of image and mask, and how to fill the mask. */
export interface FakeSample {
  id: string;
  width: number;
  height: number;
  /** Mask size when it differs from the image's. */
  maskSize?: [number, number];
  /** Mask value at pixel i (default: i % 3, with 255 on the first pixel). */
  value?: (i: number) => number;
  /** Write garbage instead of an image. */
  corrupt?: boolean;
}

/** JPEG bytes of a `width` x `height` image whose pixel i is gray `(7 * i) % 256`. */
export async function jpeg(width: number, height: number): Promise<Uint8Array> {
  const img = new Image(width, height);
  for (let i = 0; i < width * height; i++) {
    const g = (7 * i) % 256;
    img.bitmap.set([g, g, 255 - g, 255], 4 * i);
  }
  return await img.encodeJPEG(95);
}

function maskData(s: FakeSample): { width: number; height: number; data: Uint8Array } {
  const [width, height] = s.maskSize ?? [s.width, s.height];
  const f = s.value ?? ((i: number) => (i === 0 ? 255 : i % 3));
  return { width, height, data: Uint8Array.from({ length: width * height }, (_, i) => f(i)) };
}

/** Writes a VOC2012 tree under `root/VOCdevkit/VOC2012` with the given split lists. */
export async function writeVoc(
  root: string,
  samples: FakeSample[],
  splits: Record<string, string[]>,
  skip: { images?: string[]; masks?: string[] } = {},
): Promise<string> {
  const voc = `${root}/VOCdevkit/VOC2012`;
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) {
    await Deno.mkdir(`${voc}/${d}`, { recursive: true });
  }
  for (const s of samples) {
    if (!skip.images?.includes(s.id)) {
      const bytes = s.corrupt
        ? new TextEncoder().encode("not an image")
        : await jpeg(s.width, s.height);
      await Deno.writeFile(`${voc}/JPEGImages/${s.id}.jpg`, bytes);
    }
    if (!skip.masks?.includes(s.id)) {
      await Deno.writeFile(
        `${voc}/SegmentationClass/${s.id}.png`,
        await encodeMaskPng(maskData(s)),
      );
    }
  }
  for (const [name, ids] of Object.entries(splits)) {
    await Deno.writeTextFile(`${voc}/ImageSets/Segmentation/${name}.txt`, ids.join("\n") + "\n");
  }
  return voc;
}

/** Writes a folder dataset with RGB masks in the given class colours. */
export async function writeFolder(
  root: string,
  samples: FakeSample[],
  colors: [number, number, number][],
  splits: Record<string, string[]> = {},
): Promise<void> {
  await Deno.mkdir(`${root}/images`, { recursive: true });
  await Deno.mkdir(`${root}/masks`, { recursive: true });
  const classes = colors.map((color, k) => ({ name: `c${k}`, color }));
  await Deno.writeTextFile(`${root}/classes.json`, JSON.stringify({ classes }));
  for (const s of samples) {
    await Deno.writeFile(`${root}/images/${s.id}.jpg`, await jpeg(s.width, s.height));
    const m = maskData(s);
    const rgb = new Uint8Array(m.data.length * 3);
    m.data.forEach((v, i) => rgb.set(v === 255 ? [224, 224, 192] : colors[v] ?? [1, 2, 3], 3 * i));
    await Deno.writeFile(
      `${root}/masks/${s.id}.png`,
      await encodePng({ width: m.width, height: m.height, data: rgb }),
    );
  }
  for (const [name, ids] of Object.entries(splits)) {
    await Deno.writeTextFile(`${root}/${name}.txt`, ids.join("\n"));
  }
}
