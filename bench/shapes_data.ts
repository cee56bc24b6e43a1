/**
 * Small segmentation datasets in the PASCAL VOC layout that the trainer's defaults were not
 * tuned on: other shapes (ellipses, stars, rings, hexagons, diamonds, crescents, bars), other
 * colours, other image sizes and noise or texture backgrounds than the bundled dataset
 * (lib/data/synthetic.ts). `deno task bench:data` trains on them with no flag but `--data` and
 * `--num-classes`.
 *
 * @module
 */
import { encodeJpeg } from "../lib/data/_jpeg.ts";
import { encodeMaskPng } from "../lib/data/image.ts";
import { paletteOf, type Rgb, vocPalette } from "../lib/data/palette.ts";
import { borderBands } from "../lib/data/synthetic.ts";
import { Rng } from "../lib/random.ts";

/** An object class: its name, outline and fill colour. */
export interface ShapeClass {
  name: string;
  shape: ShapeKind;
  fill: Rgb;
}

/** The outlines the generator draws. */
export type ShapeKind = "ellipse" | "star" | "ring" | "hexagon" | "diamond" | "crescent" | "bar";

/** How the background of a variant is painted. */
export type Background = "noise" | "stripes" | "cells";

/** One generated dataset. */
export interface ShapesVariant {
  /** Object classes (class 0, background, comes first in the dataset). */
  classes: ShapeClass[];
  train: number;
  val: number;
  /** Image sides are drawn from `[minSize, maxSize]`. */
  minSize: number;
  maxSize: number;
  /** Object radius as a fraction of the shorter side, `[lo, hi]`. */
  radius: [number, number];
  /** Objects per image, `[lo, hi]`. */
  objects: [number, number];
  background: Background;
  /** Amplitude of the per-pixel uniform noise (0..255 scale). */
  grain: number;
  seed: number;
}

/** The variants `deno task bench:data` trains on. */
export const SHAPES_VARIANTS: Record<string, ShapesVariant> = {
  // 4 classes on coloured value noise, 96-128 px images: the kind of dataset.
  blobs: {
    classes: [
      { name: "ellipse", shape: "ellipse", fill: [240, 140, 20] },
      { name: "star", shape: "star", fill: [150, 60, 210] },
      { name: "ring", shape: "ring", fill: [20, 170, 170] },
      { name: "hexagon", shape: "hexagon", fill: [240, 90, 170] },
    ],
    train: 48,
    val: 16,
    minSize: 96,
    maxSize: 128,
    radius: [0.1, 0.22],
    objects: [1, 4],
    background: "noise",
    grain: 18,
    seed: 7,
  },
  // 6 classes on striped textures, larger images, smaller objects.
  stripes: {
    classes: [
      { name: "diamond", shape: "diamond", fill: [200, 40, 40] },
      { name: "crescent", shape: "crescent", fill: [230, 220, 60] },
      { name: "bar", shape: "bar", fill: [40, 90, 220] },
      { name: "ring", shape: "ring", fill: [250, 130, 200] },
      { name: "star", shape: "star", fill: [60, 200, 90] },
      { name: "hexagon", shape: "hexagon", fill: [120, 60, 20] },
    ],
    train: 44,
    val: 12,
    minSize: 112,
    maxSize: 160,
    radius: [0.08, 0.17],
    objects: [2, 5],
    background: "stripes",
    grain: 12,
    seed: 11,
  },
  // 3 classes on a cell texture with heavy noise, small images, colours close to each other.
  cells: {
    classes: [
      { name: "crescent", shape: "crescent", fill: [220, 70, 60] },
      { name: "ellipse", shape: "ellipse", fill: [230, 130, 50] },
      { name: "diamond", shape: "diamond", fill: [70, 110, 200] },
    ],
    train: 56,
    val: 16,
    minSize: 56,
    maxSize: 80,
    radius: [0.14, 0.28],
    objects: [1, 3],
    background: "cells",
    grain: 30,
    seed: 5,
  },
};

interface Placed {
  cls: number;
  kind: ShapeKind;
  cx: number;
  cy: number;
  r: number;
  angle: number;
}

/** Whether (x, y) is inside shape `s` (rotated by its angle). */
export function insideShape(s: Placed, x: number, y: number): boolean {
  const dx = x - s.cx, dy = y - s.cy, c = Math.cos(s.angle), sn = Math.sin(s.angle);
  const u = (c * dx + sn * dy) / s.r, v = (-sn * dx + c * dy) / s.r;
  const d = Math.hypot(u, v);
  switch (s.kind) {
    case "ellipse":
      return u * u + (v / 0.55) ** 2 <= 1;
    case "star": {
      const f = Math.abs((((Math.atan2(v, u) * 5) / (2 * Math.PI)) % 1 + 1) % 1 - 0.5) * 2;
      return d <= 0.45 + 0.55 * (1 - f);
    }
    case "ring":
      return d <= 1 && d >= 0.55;
    case "hexagon":
      return [0, 1, 2].every((k) =>
        Math.abs(u * Math.cos(k * Math.PI / 3) + v * Math.sin(k * Math.PI / 3)) <= 0.87
      );
    case "diamond":
      return Math.abs(u) + Math.abs(v) <= 1;
    case "crescent":
      return d <= 1 && Math.hypot(u - 0.5, v) > 0.8;
    case "bar":
      return Math.abs(u) <= 1 && Math.abs(v) <= 0.32;
  }
}

/** Smooth value noise in 0..1: `octaves` layers of bilinearly interpolated random grids. */
function valueNoise(rng: Rng, width: number, height: number, cell: number): Float32Array {
  const out = new Float32Array(width * height);
  let amp = 1, total = 0;
  for (let size = cell; size >= 4; size /= 2, amp /= 2) {
    const gw = Math.ceil(width / size) + 2, gh = Math.ceil(height / size) + 2;
    const grid = Float32Array.from({ length: gw * gh }, () => rng.next());
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const gx = x / size, gy = y / size, x0 = Math.floor(gx), y0 = Math.floor(gy);
        const fx = gx - x0, fy = gy - y0, g = (i: number, j: number) => grid[j * gw + i];
        const top = g(x0, y0) * (1 - fx) + g(x0 + 1, y0) * fx;
        const bottom = g(x0, y0 + 1) * (1 - fx) + g(x0 + 1, y0 + 1) * fx;
        out[y * width + x] += amp * (top * (1 - fy) + bottom * fy);
      }
    }
    total += amp;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** A random muted colour (saturation at most ~0.35). */
function muted(rng: Rng): Rgb {
  const g = rng.uniform(60, 200), s = rng.uniform(15, 45);
  return [g + rng.uniform(-s, s), g + rng.uniform(-s, s), g + rng.uniform(-s, s)];
}

/** The background of one image, RGB floats `[H, W, 3]`. */
function paintBackground(rng: Rng, kind: Background, width: number, height: number): Float32Array {
  const a = muted(rng), b = muted(rng), out = new Float32Array(width * height * 3);
  let t: (x: number, y: number) => number;
  if (kind === "noise") {
    const n = valueNoise(rng, width, height, 32);
    t = (x, y) => n[y * width + x];
  } else if (kind === "stripes") {
    const angle = rng.uniform(0, Math.PI), period = rng.uniform(6, 16);
    const c = Math.cos(angle), s = Math.sin(angle);
    t = (x, y) => 0.5 + 0.5 * Math.sin((2 * Math.PI * (c * x + s * y)) / period);
  } else {
    const seeds = Array.from({ length: 12 }, () => [rng.uniform(0, width), rng.uniform(0, height)]);
    const shade = seeds.map(() => rng.next());
    t = (x, y) => {
      let best = Infinity, k = 0;
      seeds.forEach(([sx, sy], i) => {
        const d = (x - sx) ** 2 + (y - sy) ** 2;
        if (d < best) [best, k] = [d, i];
      });
      return shade[k];
    };
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = t(x, y), i = 3 * (y * width + x);
      for (let ch = 0; ch < 3; ch++) out[i + ch] = a[ch] + (b[ch] - a[ch]) * v;
    }
  }
  return out;
}

/** Places up to `count` non-overlapping objects. */
function placeObjects(rng: Rng, v: ShapesVariant, width: number, height: number): Placed[] {
  const side = Math.min(width, height), out: Placed[] = [];
  const count = v.objects[0] + rng.int(v.objects[1] - v.objects[0] + 1);
  for (let attempt = 0; out.length < count && attempt < 60; attempt++) {
    const r = side * rng.uniform(v.radius[0], v.radius[1]), cls = 1 + rng.int(v.classes.length);
    const p: Placed = {
      cls,
      kind: v.classes[cls - 1].shape,
      cx: rng.uniform(r + 1, width - r - 1),
      cy: rng.uniform(r + 1, height - r - 1),
      r,
      angle: rng.uniform(0, 2 * Math.PI),
    };
    if (out.every((o) => Math.hypot(o.cx - p.cx, o.cy - p.cy) > o.r + p.r + 3)) out.push(p);
  }
  return out;
}

/** Draws one image of variant `v`: RGB bytes `[H, W, 3]` and class ids `[H, W]` (255 borders). */
export function drawShapes(
  rng: Rng,
  v: ShapesVariant,
  size: { width: number; height: number },
): { rgb: Uint8Array; mask: Uint8Array } {
  const { width, height } = size;
  const bg = paintBackground(rng, v.background, width, height);
  const objects = placeObjects(rng, v, width, height);
  const tints = objects.map(() => [0, 1, 2].map(() => rng.uniform(-25, 25)));
  const rgb = new Uint8Array(width * height * 3), labels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x, k = objects.findIndex((o) => insideShape(o, x + 0.5, y + 0.5));
      for (let ch = 0; ch < 3; ch++) {
        const base = k < 0 ? bg[3 * i + ch] : v.classes[objects[k].cls - 1].fill[ch] + tints[k][ch];
        const px = base + rng.uniform(-v.grain, v.grain);
        rgb[3 * i + ch] = px < 0 ? 0 : px > 255 ? 255 : Math.round(px);
      }
      if (k >= 0) labels[i] = objects[k].cls;
    }
  }
  return { rgb, mask: borderBands(labels, width, height) };
}

/**
 * Writes variant `v` under `root` as `VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
 * ImageSets/Segmentation/{train,val}.txt}` and `VOCdevkit/classes.json`; returns the class count
 * (background included).
 */
export async function makeShapesDataset(root: string, v: ShapesVariant): Promise<number> {
  const voc = `${root}/VOCdevkit/VOC2012`;
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) {
    await Deno.mkdir(`${voc}/${d}`, { recursive: true });
  }
  const k = v.classes.length + 1, p = vocPalette(k);
  const colors = Array.from({ length: k }, (_, c) => [p[3 * c], p[3 * c + 1], p[3 * c + 2]] as Rgb);
  const rng = new Rng(v.seed), ids: string[] = [];
  for (let n = 0; n < v.train + v.val; n++) {
    const id = `shp_${String(n + 1).padStart(4, "0")}`;
    const width = v.minSize + rng.int(v.maxSize - v.minSize + 1);
    const height = v.minSize + rng.int(v.maxSize - v.minSize + 1);
    const { rgb, mask } = drawShapes(rng, v, { width, height });
    await Deno.writeFile(
      `${voc}/JPEGImages/${id}.jpg`,
      await encodeJpeg({ width, height, data: rgb }, 90),
    );
    await Deno.writeFile(
      `${voc}/SegmentationClass/${id}.png`,
      await encodeMaskPng({ width, height, data: mask }, paletteOf(colors)),
    );
    ids.push(id);
  }
  const split = (list: string[]) => list.join("\n") + "\n";
  await Deno.writeTextFile(`${voc}/ImageSets/Segmentation/train.txt`, split(ids.slice(0, v.train)));
  await Deno.writeTextFile(`${voc}/ImageSets/Segmentation/val.txt`, split(ids.slice(v.train)));
  const names = ["background", ...v.classes.map((c) => c.name)];
  const classes = names.map((name, c) => ({ name, color: colors[c] }));
  await Deno.writeTextFile(
    `${root}/VOCdevkit/classes.json`,
    JSON.stringify({ classes }, null, 2) + "\n",
  );
  return k;
}

if (import.meta.main) {
  const [name = "blobs", out = `/tmp/shapes_${name}`] = Deno.args;
  const v = SHAPES_VARIANTS[name];
  if (!v) {
    throw new Error(
      `Unknown variant "${name}"; expected ${Object.keys(SHAPES_VARIANTS).join(", ")}`,
    );
  }
  console.log(`${out}: ${await makeShapesDataset(out, v)} classes`);
}
