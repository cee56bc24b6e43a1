/**
 * A small synthetic segmentation dataset in the exact PASCAL VOC layout: textured circles,
 * squares, triangles and crosses on gradient and noise backgrounds, with 255 bands on object
 * borders as in VOC. Deterministic for a seed. Easy to learn on purpose: every class has a
 * strong colour cue that the backgrounds never show.
 *
 * @module
 */
import { encodeJpeg } from "./_jpeg.ts";
import { join } from "./_path.ts";
import { encodeMaskPng, IGNORE } from "./image.ts";
import { paletteOf, type Rgb, vocPalette } from "./palette.ts";
import { Rng } from "../random.ts";

/** The synthetic classes, background first, with their mask colours (VOC's first five). */
export const SYNTHETIC_CLASSES: readonly { name: string; color: Rgb }[] = (() => {
  const p = vocPalette(5);
  return ["background", "circle", "square", "triangle", "cross"].map((name, k) => ({
    name,
    color: [p[3 * k], p[3 * k + 1], p[3 * k + 2]] as Rgb,
  }));
})();

/** Object appearance per class id (RGB of the fill). */
const FILL: Record<number, Rgb> = {
  1: [225, 45, 40],
  2: [40, 190, 60],
  3: [45, 80, 225],
  4: [235, 205, 35],
};

/** Options of {@linkcode makeSyntheticDataset}. */
export interface SyntheticOptions {
  /** Training images (default 120). */
  train?: number;
  /** Validation images (default 30). */
  val?: number;
  /** Seed (default 2024). */
  seed?: number;
  /** Smallest image side (default 64). */
  minSize?: number;
  /** Largest image side (default 96). */
  maxSize?: number;
  /** JPEG quality (default 90). */
  quality?: number;
}

interface Shape {
  cls: number;
  cx: number;
  cy: number;
  r: number;
  angle: number;
}

function inside(s: Shape, x: number, y: number): boolean {
  const dx = x - s.cx, dy = y - s.cy;
  const c = Math.cos(s.angle), sn = Math.sin(s.angle);
  const u = c * dx + sn * dy, v = -sn * dx + c * dy;
  switch (s.cls) {
    case 1:
      return dx * dx + dy * dy <= s.r * s.r;
    case 2:
      return Math.abs(u) <= 0.8 * s.r && Math.abs(v) <= 0.8 * s.r;
    case 3: {
      // Equilateral triangle of circumradius r: inside all three edges' half-planes.
      for (let k = 0; k < 3; k++) {
        const a = (2 * Math.PI * k) / 3;
        if (u * Math.cos(a) + v * Math.sin(a) > 0.5 * s.r) return false;
      }
      return true;
    }
    default: {
      const t = s.r / 3;
      return (Math.abs(u) <= s.r && Math.abs(v) <= t) || (Math.abs(v) <= s.r && Math.abs(u) <= t);
    }
  }
}

/** Brightness factor of a class's texture at (x, y). */
function texture(s: Shape, x: number, y: number): number {
  const dx = x - s.cx, dy = y - s.cy;
  switch (s.cls) {
    case 1:
      return 1.1 - 0.3 * Math.sqrt(dx * dx + dy * dy) / s.r; // radial shading
    case 2:
      return Math.floor((x + y) / 3) % 2 === 0 ? 1 : 0.8; // diagonal stripes
    case 3:
      return (Math.floor(x / 4) + Math.floor(y / 4)) % 2 === 0 ? 1 : 0.85; // checker
    default:
      return 0.9 + 0.1 * Math.sin(x * 0.9) * Math.sin(y * 0.9); // dots
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Draws one sample: RGB pixels `[H, W, 3]` and class ids `[H, W]` with 255 borders. */
export function drawSample(
  rng: Rng,
  width: number,
  height: number,
): { rgb: Uint8Array; mask: Uint8Array } {
  // Background: a low-saturation gradient between two grays, plus grain or blotches.
  const gray = () => {
    const g = rng.uniform(50, 200);
    return [g + rng.uniform(-20, 20), g + rng.uniform(-20, 20), g + rng.uniform(-20, 20)];
  };
  const a = gray(), b = gray(), angle = rng.uniform(0, 2 * Math.PI);
  const grain = rng.uniform(4, 14), blotch = rng.next() < 0.5 ? rng.uniform(5, 20) : 0;
  const phase = [rng.uniform(0, 6), rng.uniform(0, 6)];
  const shapes: Shape[] = [];
  const count = 1 + rng.int(3);
  for (let attempt = 0; shapes.length < count && attempt < 50; attempt++) {
    const r = rng.uniform(9, Math.min(22, Math.min(width, height) / 3));
    const s: Shape = {
      cls: 1 + rng.int(4),
      cx: rng.uniform(r + 2, width - r - 2),
      cy: rng.uniform(r + 2, height - r - 2),
      r,
      angle: rng.uniform(0, 2 * Math.PI),
    };
    if (shapes.every((o) => Math.hypot(o.cx - s.cx, o.cy - s.cy) > o.r + s.r + 4)) shapes.push(s);
  }
  const tints = shapes.map(
    () => [rng.uniform(-20, 20), rng.uniform(-20, 20), rng.uniform(-20, 20)],
  );
  const rgb = new Uint8Array(width * height * 3), labels = new Uint8Array(width * height);
  const dirX = Math.cos(angle),
    dirY = Math.sin(angle),
    span = Math.abs(dirX) * width + Math.abs(dirY) * height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const t = Math.min(
        1,
        Math.max(0, ((x - width / 2) * dirX + (y - height / 2) * dirY) / span + 0.5),
      );
      const blot = blotch * Math.sin(x * 0.21 + phase[0]) * Math.sin(y * 0.17 + phase[1]);
      let c = [0, 1, 2].map((k) => a[k] + (b[k] - a[k]) * t + blot);
      const k = shapes.findIndex((s) => inside(s, x + 0.5, y + 0.5));
      if (k >= 0) {
        const s = shapes[k], f = texture(s, x, y);
        c = [0, 1, 2].map((ch) => (FILL[s.cls][ch] + tints[k][ch]) * f);
        labels[i] = s.cls;
      }
      for (let ch = 0; ch < 3; ch++) rgb[3 * i + ch] = clamp(c[ch] + rng.uniform(-grain, grain));
    }
  }
  return { rgb, mask: borderBands(labels, width, height) };
}

/** Marks 255 every pixel whose 3x3 neighbourhood holds another class: a 2-px band on borders. */
export function borderBands(labels: Uint8Array, width: number, height: number): Uint8Array {
  const out = labels.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = labels[y * width + x];
      let edge = false;
      for (let dy = -1; dy <= 1 && !edge; dy++) {
        for (let dx = -1; dx <= 1 && !edge; dx++) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          edge = labels[yy * width + xx] !== v;
        }
      }
      if (edge) out[y * width + x] = IGNORE;
    }
  }
  return out;
}

/**
 * Writes the dataset under `root` as `VOCdevkit/VOC2012/{JPEGImages, SegmentationClass,
 * ImageSets/Segmentation/{train,val,trainval}.txt}` plus `VOCdevkit/classes.json`.
 *
 * @returns The number of bytes written.
 */
export async function makeSyntheticDataset(
  root: string,
  options: SyntheticOptions = {},
): Promise<number> {
  const { train = 120, val = 30, seed = 2024, minSize = 64, maxSize = 96, quality = 90 } = options;
  const devkit = join(root, "VOCdevkit"), voc = join(devkit, "VOC2012");
  await Deno.remove(devkit, { recursive: true }).catch(() => {});
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) {
    await Deno.mkdir(join(voc, d), { recursive: true });
  }
  const rng = new Rng(seed);
  const palette = paletteOf(SYNTHETIC_CLASSES.map((c) => c.color));
  const ids: string[] = [];
  let bytes = 0;
  for (let n = 0; n < train + val; n++) {
    const id = `syn_${String(n + 1).padStart(6, "0")}`;
    const width = minSize + rng.int(maxSize - minSize + 1);
    const height = minSize + rng.int(maxSize - minSize + 1);
    const { rgb, mask } = drawSample(rng, width, height);
    const jpeg = await encodeJpeg({ width, height, data: rgb }, quality);
    const png = await encodeMaskPng({ width, height, data: mask }, palette);
    await Deno.writeFile(join(voc, "JPEGImages", `${id}.jpg`), jpeg);
    await Deno.writeFile(join(voc, "SegmentationClass", `${id}.png`), png);
    bytes += jpeg.length + png.length;
    ids.push(id);
  }
  const lists = { train: ids.slice(0, train), val: ids.slice(train), trainval: ids };
  for (const [name, list] of Object.entries(lists)) {
    const text = list.join("\n") + "\n";
    await Deno.writeTextFile(join(voc, "ImageSets", "Segmentation", `${name}.txt`), text);
    bytes += text.length;
  }
  const rows = SYNTHETIC_CLASSES.map((c) => `    ${JSON.stringify(c).replaceAll(",", ", ")}`);
  const classes = `{\n  "classes": [\n${rows.join(",\n")}\n  ]\n}\n`;
  await Deno.writeTextFile(join(devkit, "classes.json"), classes);
  return bytes + classes.length;
}
