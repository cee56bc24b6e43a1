/**
 * The `predict` section: images/s of `deno run -A mod.ts predict <folder> --backend blas` with
 * the bundled model, as its last line prints it, on the bundled images (150 JPEGs, 64..96 px) and
 * on a generated folder of 640x480 JPEGs, with decoding and writing inline (`--workers 0`, how
 * predict ran before it had image workers) and in the default image workers, in interleaved
 * rounds (one process per run; the rate leaves out process start and model loading).
 *
 * @module
 */
import { encodeJpeg } from "../lib/data/_jpeg.ts";
import { defaultWorkers } from "../lib/data/loader.ts";
import { drawSample } from "../lib/data/synthetic.ts";
import { Rng } from "../lib/random.ts";
import { type Contender, interleave } from "./interleave.ts";
import { summarize } from "./stats.ts";
import type { BenchResult } from "./types.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The bundled images. */
export const BUNDLED_IMAGES = `${ROOT}fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages`;

/** Options of {@linkcode makeImageFolder}. */
export interface ImageFolderOptions {
  /** Images (default 24). */
  count?: number;
  /** Width (default 640). */
  width?: number;
  /** Height (default 480). */
  height?: number;
  /** Seed (default 7). */
  seed?: number;
}

/**
 * Writes `count` synthetic scenes (the bundled dataset's shapes) as JPEGs `img_0001.jpg`... into
 * `dir`: the same files for the same options.
 *
 * @example
 * ```ts
 * import { makeImageFolder } from "./predict.ts";
 * import { readImage } from "../lib/data/image.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const dir = await Deno.makeTempDir();
 * await makeImageFolder(dir, { count: 2, width: 40, height: 30 });
 * const img = await readImage(`${dir}/img_0002.jpg`);
 * assertEquals([img.width, img.height], [40, 30]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function makeImageFolder(dir: string, options: ImageFolderOptions = {}) {
  const { count = 24, width = 640, height = 480, seed = 7 } = options;
  await Deno.mkdir(dir, { recursive: true });
  const rng = new Rng(seed);
  for (let i = 1; i <= count; i++) {
    const { rgb } = drawSample(rng, width, height);
    const jpeg = await encodeJpeg({ width, height, data: rgb }, 90);
    await Deno.writeFile(`${dir}/img_${String(i).padStart(4, "0")}.jpg`, jpeg);
  }
}

/**
 * Images/s from predict's last line, e.g. "150 image(s) in 3.21 s: 46.7 images/s (...)".
 *
 * @example
 * ```ts
 * import { parseImagesPerSec } from "./predict.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * assertEquals(parseImagesPerSec("a\n150 image(s) in 3.21 s: 46.7 images/s (1 image worker)\n"), 46.7);
 * ```
 */
export function parseImagesPerSec(stdout: string): number | null {
  const m = stdout.match(/image\(s\) in [\d.]+ s: ([\d.]+) images\/s/);
  return m ? Number(m[1]) : null;
}

/** Runs predict on `folder` with `workers` image workers; returns its images/s. */
async function predictRate(folder: string, out: string, workers: number): Promise<number> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}mod.ts`,
      "predict",
      folder,
      "--backend",
      "blas",
      "--out",
      out,
      "--workers",
      String(workers),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(r.stdout);
  const rate = parseImagesPerSec(stdout);
  if (!r.success || rate === null) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" / ");
    throw new Error(`predict --workers ${workers} on ${folder} failed (code ${r.code}): ${err}`);
  }
  return rate;
}

/** Options of {@linkcode benchPredictSection}. */
export interface PredictSectionOptions {
  /** Timed rounds (default 5). */
  rounds?: number;
  /** Fewer generated images (8 instead of 24). */
  quick?: boolean;
  /** Called with each result as soon as it is known. */
  onResult?: (r: BenchResult) => void;
}

/** One folder's rows: inline and in the default image workers, interleaved. */
async function folderRows(
  folder: string,
  label: string,
  o: PredictSectionOptions,
): Promise<BenchResult[]> {
  const settings = [0, defaultWorkers()];
  const out = await Deno.makeTempDir({ prefix: "fcn-bench-predict-" });
  const name = (w: number) => (w ? `${w} image worker(s) (default)` : "inline (--workers 0)");
  try {
    const list: Contender[] = settings.map((w) => ({
      name: name(w),
      once: async () => 1000 / await predictRate(folder, `${out}/${w}`, w),
    }));
    const r = await interleave(list, {
      warmup: 1,
      rounds: o.rounds ?? 5,
      onRound: (i) => console.error(`  [predict] ${label}: round ${i + 1} of ${o.rounds ?? 5}`),
    });
    return settings.map((w) => {
      const samples = r.samples[name(w)], s = summarize(samples);
      return {
        ...row(label, w, name(w)),
        ms: s.median,
        samples,
        spreadPct: s.spreadPct,
        imagesPerSec: 1000 / s.median,
        interleaved: true,
        ...(r.load ? { load: r.load } : {}),
      };
    });
  } catch (e) {
    const note = `n/a: ${(e as Error).message.split("\n")[0]}`;
    return settings.map((w) => ({ ...row(label, w, name(w)), note }));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

function row(label: string, workers: number, pass: string): BenchResult {
  return {
    section: "predict",
    id: `predict/${label.split(" ")[0]}/${workers ? "workers" : "inline"}`,
    label,
    pass,
    impl: "blas",
    peer: false,
  };
}

/**
 * Predict's images/s on the bundled images and on generated 640x480 JPEGs, inline against the
 * default image workers; `rounds` samples each, ms per image = 1000 / images/s.
 */
export async function benchPredictSection(
  o: PredictSectionOptions = {},
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const emit = (rs: BenchResult[]) => {
    results.push(...rs);
    rs.forEach((r) => o.onResult?.(r));
  };
  emit(await folderRows(BUNDLED_IMAGES, "bundled 150 JPEGs, 64-96 px", o));
  const count = o.quick ? 8 : 24;
  const big = await Deno.makeTempDir({ prefix: "fcn-bench-images-" });
  try {
    await makeImageFolder(big, { count });
    emit(await folderRows(big, `generated ${count} JPEGs, 640x480`, o));
  } finally {
    await Deno.remove(big, { recursive: true });
  }
  return results;
}
