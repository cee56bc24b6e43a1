/**
 * A custom dataset in a plain folder layout:
 *
 * ```
 * root/classes.json   { "classes": [{ "name": "background", "color": [0, 0, 0] }, ...] }
 * root/images/<id>.jpg|.jpeg|.png
 * root/masks/<id>.png  palette or gray PNG of class ids, or RGB in the class colours
 * root/train.txt, root/val.txt  optional: one id per line
 * ```
 *
 * @module
 */
import { isFile, join, readText, stem } from "./_path.ts";
import { checkFilesExist, type DatasetInit, parseClasses, SegmentationDataset } from "./dataset.ts";
import { Rng } from "../random.ts";
import type { SampleRef } from "./sample.ts";
import type { TransformOptions } from "./transforms.ts";

/** Options of {@linkcode FolderDataset.open}. */
export interface FolderOptions extends TransformOptions {
  /**
   * "train", "val" (from root/<split>.txt when it exists, else a seeded split of all images),
   * "all", or the path of a list file of ids. Default "train".
   */
  split?: string;
  /** Fraction of images in "train" when no split file exists (default 0.8). */
  splitRatio?: number;
  /** Seed of the split when no split file exists, and default seed of batches (default 0). */
  seed?: number;
  /** Default of `train` for batches (default: split === "train"). */
  train?: boolean;
}

const IMAGE_EXTENSIONS = [".jpg", ".jpeg", ".png"];

async function listImages(dir: string): Promise<Map<string, string>> {
  const byId = new Map<string, string>();
  try {
    for await (const e of Deno.readDir(dir)) {
      const ext = e.name.slice(e.name.lastIndexOf(".")).toLowerCase();
      if (!e.isFile || !IMAGE_EXTENSIONS.includes(ext)) continue;
      const id = stem(e.name);
      if (byId.has(id)) {
        throw new Error(`Two images share the id ${id} in ${dir}: ${byId.get(id)} and ${e.name}`);
      }
      byId.set(id, e.name);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`Missing image folder ${dir}`);
    throw e;
  }
  return byId;
}

/**
 * The ids of a split: ids listed in a file, all, or a seeded `splitRatio` train/val split of the
 * sorted ids.
 */
export function splitIds(
  ids: readonly string[],
  split: string,
  ratio: number,
  seed: number,
): string[] {
  const sorted = [...ids].sort();
  if (split === "all") return sorted;
  if (split !== "train" && split !== "val") {
    throw new RangeError(
      `Expected split "train", "val", "all" or a list file but found "${split}"`,
    );
  }
  if (!(ratio >= 0 && ratio <= 1)) {
    throw new RangeError(`Expected splitRatio in [0, 1] but found ${ratio}`);
  }
  const shuffled = new Rng(seed).shuffle(sorted);
  const cut = Math.round(ratio * shuffled.length);
  return (split === "train" ? shuffled.slice(0, cut) : shuffled.slice(cut)).sort();
}

/**
 * A dataset of `images/`, `masks/` and `classes.json` (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { FolderDataset } from "./folder.ts";
 *
 * const data = await FolderDataset.open("data/leaves", { split: "val", baseSize: 256 });
 * console.log(data.length, data.classes);
 * ```
 */
export class FolderDataset extends SegmentationDataset {
  /** The dataset folder. */
  readonly root: string;

  private constructor(root: string, init: DatasetInit) {
    super(init);
    this.root = root;
  }

  /**
   * Opens a split, checking that every image has its mask (all missing files are reported at
   * once).
   */
  static async open(root: string, options: FolderOptions = {}): Promise<FolderDataset> {
    const { split = "train", splitRatio = 0.8, seed = 0, train, ...transform } = options;
    const classesPath = join(root, "classes.json");
    if (!await isFile(classesPath)) {
      throw new Error(
        `Missing ${classesPath}: write { "classes": [{ "name": "background", "color": [0, 0, 0] }, ...] }`,
      );
    }
    const classes = parseClasses(await readText(classesPath, "class list"), classesPath);
    const images = await listImages(join(root, "images"));
    const listPath = split.includes("/") || split.endsWith(".txt")
      ? split
      : join(root, `${split}.txt`);
    let ids: string[], listedIn: string;
    if (split !== "all" && await isFile(listPath)) {
      ids = (await readText(listPath, "split list")).split(/\r?\n/).map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("#"));
      listedIn = listPath;
    } else if (listPath === split) {
      throw new Error(`Split list ${split} does not exist`);
    } else {
      ids = splitIds([...images.keys()], split, splitRatio, seed);
      listedIn = join(root, "images");
    }
    if (ids.length === 0) throw new Error(`Split "${split}" of ${root} has no samples`);
    const samples: SampleRef[] = ids.map((id) => ({
      id,
      image: join(root, "images", images.get(id) ?? `${id}.jpg`),
      mask: join(root, "masks", `${id}.png`),
    }));
    await checkFilesExist(samples, listedIn);
    return new FolderDataset(root, {
      samples,
      classes,
      transform,
      train: train ?? split === "train",
      seed,
    });
  }
}
