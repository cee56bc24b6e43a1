/**
 * PASCAL VOC segmentation data (and SBD-style augmented split lists) as a
 * {@linkcode SegmentationDataset}.
 *
 * @module
 */
import { dirname, isDir, isFile, join, readText, stem } from "./_path.ts";
import {
  checkFilesExist,
  type ClassInfo,
  type DatasetInit,
  parseClasses,
  SegmentationDataset,
} from "./dataset.ts";
import { type Rgb, vocPalette } from "./palette.ts";
import type { SampleRef } from "./sample.ts";
import type { TransformOptions } from "./transforms.ts";

/** The 21 PASCAL VOC classes (background first). */
export const VOC_CLASSES: readonly string[] = [
  "background",
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
];

/** Options of {@linkcode VocDataset.open}: which split, plus the transform options. */
export interface VocOptions extends TransformOptions {
  /** VOC year, the folder `VOC<year>` (default "2012"). */
  year?: string;
  /**
   * "train", "val", "trainval" (files of ImageSets/Segmentation/), or the path of a list file
   * whose lines are ids or SBD-style "/JPEGImages/x.jpg /SegmentationClassAug/x.png" pairs.
   * Default "train".
   */
  split?: string;
  /** Default of `train` for batches (default: true for splits whose name starts with "train"). */
  train?: boolean;
  /** Default seed of shuffling and augmentation in batches (default 0). */
  seed?: number;
}

/** Finds VOC<year> from the folder holding VOCdevkit, VOCdevkit itself, or VOC<year> itself. */
export async function findVocRoot(root: string, year = "2012"): Promise<string> {
  const candidates = [join(root, "VOCdevkit", `VOC${year}`), join(root, `VOC${year}`), root];
  for (const c of candidates) {
    if (await isDir(join(c, "JPEGImages")) && await isDir(join(c, "ImageSets"))) return c;
  }
  throw new Error(
    `Cannot find VOC${year} from ${root}: none of ${candidates.join(", ")} holds JPEGImages/ ` +
      "and ImageSets/ (give the folder holding VOCdevkit, VOCdevkit or VOC" + year + " itself)",
  );
}

function isNamedSplit(split: string): boolean {
  return !split.includes("/") && !split.endsWith(".txt");
}

/** Parses a split list: one id per line, or image and mask paths relative to VOC<year>. */
export function parseSplit(text: string, vocDir: string, listPath: string): SampleRef[] {
  const refs: SampleRef[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const parts = line.trim().split(/\s+/).filter((p) => p !== "");
    if (parts.length === 0 || parts[0].startsWith("#")) return;
    if (parts.length === 1) {
      const id = parts[0];
      refs.push({
        id,
        image: join(vocDir, "JPEGImages", `${id}.jpg`),
        mask: join(vocDir, "SegmentationClass", `${id}.png`),
      });
    } else if (parts.length === 2) {
      refs.push({
        id: stem(parts[0]),
        image: join(vocDir, parts[0]),
        mask: join(vocDir, parts[1]),
      });
    } else {
      throw new Error(
        `${listPath}:${i + 1}: expected "id" or "image mask" but found ${parts.length} fields`,
      );
    }
  });
  if (refs.length === 0) throw new Error(`Split list ${listPath} lists no samples`);
  return refs;
}

/** The 21 VOC classes with the VOC colour map. */
export function vocClasses(): ClassInfo[] {
  const p = vocPalette(VOC_CLASSES.length);
  return VOC_CLASSES.map((name, k) => ({
    name,
    color: [p[3 * k], p[3 * k + 1], p[3 * k + 2]] as Rgb,
  }));
}

/**
 * PASCAL VOC segmentation: JPEGImages/<id>.jpg and SegmentationClass/<id>.png (palette PNGs
 * whose indices are class ids) listed by ImageSets/Segmentation/<split>.txt. A classes.json in
 * VOC<year>, beside it or in `root` replaces VOC's 21 classes.
 *
 * @example The bundled synthetic dataset
 * ```ts
 * import { VocDataset } from "./voc.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const data = await VocDataset.open("fixtures/synthetic", { split: "val" });
 * assertEquals(data.classes[0], "background");
 * const { image, mask } = await data.read(0);
 * assertEquals([image.width, image.height], [mask.width, mask.height]);
 * ```
 */
export class VocDataset extends SegmentationDataset {
  /** The VOC<year> folder. */
  readonly root: string;
  /** The split list file. */
  readonly splitFile: string;

  private constructor(
    root: string,
    splitFile: string,
    init: DatasetInit,
  ) {
    super(init);
    this.root = root;
    this.splitFile = splitFile;
  }

  /**
   * Opens a split, checking that every listed file exists (all missing ones are reported at
   * once).
   */
  static async open(root: string, options: VocOptions = {}): Promise<VocDataset> {
    const { year = "2012", split = "train", train, seed, ...transform } = options;
    const vocDir = await findVocRoot(root, year);
    const listPath = isNamedSplit(split)
      ? join(vocDir, "ImageSets", "Segmentation", `${split}.txt`)
      : split;
    if (!await isFile(listPath)) {
      throw new Error(
        `Split list ${listPath} does not exist; ` +
          (isNamedSplit(split)
            ? `splits found: ${(await namedSplits(vocDir)).join(", ") || "none"}`
            : "give train, val, trainval or the path of a list file"),
      );
    }
    const samples = parseSplit(await readText(listPath, "split list"), vocDir, listPath);
    await checkFilesExist(samples, listPath);
    const classes = await readClasses([
      join(vocDir, "classes.json"),
      join(dirname(vocDir), "classes.json"),
      join(root, "classes.json"),
    ]);
    return new VocDataset(vocDir, listPath, {
      samples,
      classes,
      transform,
      train: train ?? stem(listPath).startsWith("train"),
      seed,
    });
  }
}

async function namedSplits(vocDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(vocDir, "ImageSets", "Segmentation"))) {
      if (e.isFile && e.name.endsWith(".txt")) names.push(stem(e.name));
    }
  } catch {
    // no folder: no splits
  }
  return names.sort();
}

async function readClasses(paths: string[]): Promise<ClassInfo[]> {
  for (const p of paths) {
    if (await isFile(p)) return parseClasses(await readText(p, "class list"), p);
  }
  return vocClasses();
}
