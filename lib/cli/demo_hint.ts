/**
 * The line `predict` prints when the bundled demo model (no `--weights`) meets an image that is
 * not from the bundled dataset: the demo model knows only the synthetic shapes of
 * `fixtures/synthetic/`, so a photo gets a meaningless mask; the line names the command for real
 * photos.
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLED_DATA } from "./common.ts";

/** The command `predict` suggests for real photos. */
export const REAL_PHOTOS_COMMAND =
  "deno task predict photo.jpg --weights torchvision:fcn_resnet50_coco";

/** `path` resolved through symbolic links where it exists, else made absolute. */
async function realOrAbsolute(path: string): Promise<string> {
  return await Deno.realPath(path).catch(() => resolve(path));
}

/**
 * Whether `image` lies inside the bundled dataset's folder (the checkout's
 * `fixtures/synthetic/`); from a remote module (JSR), where that folder is not local, never.
 */
export async function isBundledImage(image: string, bundled: URL = BUNDLED_DATA): Promise<boolean> {
  if (bundled.protocol !== "file:") return false;
  const root = await realOrAbsolute(fileURLToPath(bundled));
  const rel = relative(root, await realOrAbsolute(image));
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}

/**
 * The one line to print when the bundled demo model predicts `images` and some are not from the
 * bundled dataset, else null.
 *
 * @example A photo of one's own gets the line, a bundled image does not
 * ```ts
 * import { demoModelHint } from "./demo_hint.ts";
 * import { assert, assertEquals } from "../../tests/assert.ts";
 *
 * const bundled = "fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages/syn_000121.jpg";
 * assertEquals(await demoModelHint([bundled]), null);
 * assert((await demoModelHint(["photo.jpg", bundled]))!.includes("--weights torchvision:"));
 * ```
 */
export async function demoModelHint(
  images: string[],
  bundled: URL = BUNDLED_DATA,
): Promise<string | null> {
  const foreign: string[] = [];
  for (const image of images) if (!await isBundledImage(image, bundled)) foreign.push(image);
  if (foreign.length === 0) return null;
  const which = foreign.length === 1 ? `${foreign[0]} is` : `${foreign.length} images are`;
  return `Note: ${which} not from the bundled dataset, and the bundled demo model knows only its ` +
    `synthetic shapes; for real photos: ${REAL_PHOTOS_COMMAND}`;
}
