/**
 * `predict`: segments images (files, folders or globs) and writes `<name>_mask.png` (indexed,
 * the dataset's palette) and `<name>_overlay.png` at each image's own size.
 *
 * @module
 */
import { noGrad } from "../autograd.ts";
import { argmax } from "../ops/reduce.ts";
import { type Device, tensor, tidy } from "../tensor.ts";
import { createModel } from "../models/create.ts";
import type { FcnModel } from "../models/types.ts";
import { skipInit } from "../nn/init.ts";
import type { RgbImage } from "../data/image.ts";
import { defaultWorkers } from "../data/loader.ts";
import { paletteOf, vocPalette } from "../data/palette.ts";
import { normalize } from "../data/transforms.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "./flags.ts";
import {
  BUNDLED_MODEL,
  BUNDLED_MODEL_FILES,
  DETECT_FLAGS,
  detectOverrides,
  localPath,
  openDevice,
  readWeights,
  resolveWeights,
} from "./common.ts";
import { SHARD_FLAGS, shardFromFlags } from "../dist/shard_cli.ts";
import { shardOf } from "../dist/shard.ts";
import { resolveWeights as fetchWeights } from "../io/weights.ts";
import { demoModelHint } from "./demo_hint.ts";
import { inferMask, type InferOptions } from "../infer/tta.ts";
import { INFER_FLAGS, inferFromFlags } from "./infer_flags.ts";
import { PredictIo } from "./predict_io.ts";

/** The flags of `predict`. */
export const PREDICT_FLAGS: FlagSpec[] = [
  {
    name: "weights",
    type: "string",
    help:
      "run folder, .pth/.safetensors (detected without config.json), URL or torchvision:NAME (default: the bundled model)",
  },
  { name: "out", type: "string", default: "predictions", help: "output folder" },
  {
    name: "batch-size",
    type: "int",
    default: 1,
    min: 1,
    help: "images per forward pass (same-size images are batched)",
  },
  { name: "alpha", type: "number", default: 0.5, min: 0, help: "opacity of the mask in overlays" },
  {
    name: "workers",
    type: "int",
    min: 0,
    help:
      "image workers decoding the next images and writing finished ones while the model runs; 0 = inline (default: cores - 1, 1 to 4)",
  },
  {
    name: "backend",
    type: "string",
    choices: ["webgpu", "blas", "cpu"],
    help: "compute backend (default: automatic)",
  },
  ...INFER_FLAGS,
  ...SHARD_FLAGS,
  ...DETECT_FLAGS,
];

const IMAGE_EXT = /\.(jpe?g|png)$/i;

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\/?/g, "@@ANY@@")
    .replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]").replace(/@@ANY@@/g, "(?:.*/)?");
  return new RegExp(`^${re}$`);
}

async function walk(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir.replace(/\/+$/, "")}/${e.name}`;
    if (e.isDirectory && recursive) out.push(...await walk(p, true));
    else if (e.isFile) out.push(p);
  }
  return out.sort();
}

/** Expands files, folders (their images) and globs (`*`, `?`, `**`) into image paths. */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (/[*?]/.test(input)) {
      const base = input.slice(0, input.search(/[*?]/)).replace(/[^/]*$/, "") || "./";
      const re = globToRegExp(input.startsWith("./") ? input.slice(2) : input);
      const files = await walk(
        base,
        input.includes("**") || input.slice(base.length).includes("/"),
      );
      const matches = files.filter((f) => re.test(f.startsWith("./") ? f.slice(2) : f));
      if (matches.length === 0) throw new UsageError(`No file matches "${input}"`);
      out.push(...matches);
      continue;
    }
    let stat;
    try {
      stat = await Deno.stat(input);
    } catch {
      throw new UsageError(`Input "${input}" does not exist`);
    }
    if (stat.isDirectory) {
      const files = (await walk(input, false)).filter((f) => IMAGE_EXT.test(f));
      if (files.length === 0) throw new UsageError(`No .jpg or .png images in folder "${input}"`);
      out.push(...files);
    } else out.push(input);
  }
  return out;
}

/** Where and how predictions are written. */
interface PredictTarget {
  model: FcnModel;
  device: Device;
  palette: Uint8Array;
  outDir: string;
  /** Opacity of the mask in overlays. */
  alpha: number;
  /** Images per forward pass (same-size ones only; 1 with `infer`). */
  batchSize: number;
  /** `--tile`/`--tta`: each image alone, through {@linkcode inferMask}. */
  infer: InferOptions | null;
  /** Image workers decoding and writing (0: inline). */
  workers: number;
}

/** An image read from `path`, waiting in a batch of same-size images. */
interface QueuedImage {
  path: string;
  image: RgbImage;
}

/** The `predict` command; the exit code is 1 when some images failed. */
export async function main(args: string[]): Promise<number> {
  const p = parseFlags("predict", args, PREDICT_FLAGS);
  if (p.help) {
    console.log(
      helpText("predict", "deno task predict <file|folder|glob>... [flags]", PREDICT_FLAGS),
    );
    return 0;
  }
  if (p.positionals.length === 0) {
    throw new UsageError("predict needs at least one image, folder or glob (see --help)");
  }
  const v = p.values as Record<string, string | number | boolean | undefined>;
  const shard = shardFromFlags(v);
  const infer = inferFromFlags(v); // --tile/--tta: one image at a time, row by row
  const all = await expandInputs(p.positionals);
  const inputs = shard ? shardOf(all, shard) : all;
  const resolved = await resolveWeights(
    (v.weights ? await fetchWeights(v.weights as string) : undefined) ??
      await localPath(BUNDLED_MODEL, BUNDLED_MODEL_FILES),
    detectOverrides(v),
  );
  const device = await openDevice(v.backend as string | undefined, console.log);
  const model = skipInit(() => createModel(resolved.config.name, resolved.config, device));
  model.loadStateDict(await readWeights(resolved.weightsPath), { adopt: true });
  model.eval();
  const palette = resolved.classes ? paletteOf(resolved.classes.colors) : vocPalette();
  const outDir = v.out as string;
  await Deno.mkdir(outDir, { recursive: true });
  console.log(
    `Weights: ${resolved.weightsPath}; ${inputs.length} image(s) -> ${outDir}/` +
      (shard
        ? ` (shard ${shard.index}/${shard.count} of ${all.length}, from ${shard.source})`
        : ""),
  );
  const hint = v.weights ? null : await demoModelHint(inputs);
  if (hint) console.log(hint);
  const failed = await predictAll(inputs, {
    model,
    device,
    palette,
    outDir,
    alpha: v.alpha as number,
    batchSize: infer ? 1 : v.batchSize as number,
    infer,
    workers: (v.workers as number | undefined) ?? defaultWorkers(),
  });
  device.destroy();
  if (failed.length) {
    console.error(
      `${failed.length} of ${inputs.length} image(s) failed: ${failed.slice(0, 5).join(", ")}`,
    );
    return 1;
  }
  return 0;
}

/**
 * Predicts every input, batching consecutive images of one size up to `target.batchSize`; an
 * unreadable image is reported and skipped. Decoding of the next images and writing of finished
 * ones run in `target.workers` image workers (none: inline, and for a single image), overlapping
 * the forward passes; the lines and files are the same either way. At most `batchSize` + 2 *
 * `ahead` + 1 images are held (`ahead` = max(batchSize, workers + 1)). Prints images/s at the end
 * and returns the paths that failed.
 */
async function predictAll(inputs: readonly string[], target: PredictTarget): Promise<string[]> {
  const t0 = performance.now();
  // One image has nothing to overlap with: no worker to start.
  const workers = inputs.length > 1 ? target.workers : 0;
  const io = new PredictIo({ workers, ahead: Math.max(target.batchSize, workers + 1) });
  const failed: string[] = [];
  const queue: QueuedImage[] = [];
  try {
    for await (const input of io.decode(inputs)) {
      if ("error" in input) {
        await io.report(`Skipping ${input.path}: ${input.error.message}`);
        failed.push(input.path);
        continue;
      }
      const { path, image } = input;
      const head = queue[0]?.image;
      if (head && (head.width !== image.width || head.height !== image.height)) {
        await predictBatch(queue.splice(0), target, io);
      }
      queue.push({ path, image });
      if (queue.length >= target.batchSize) await predictBatch(queue.splice(0), target, io);
    }
    if (queue.length) await predictBatch(queue.splice(0), target, io);
    await io.flush();
  } finally {
    await io.flush().catch(() => {}); // after an error, still write what was predicted
    io.close();
  }
  console.log(throughputLine(inputs.length - failed.length, performance.now() - t0, io.workers));
  return failed;
}

/** The last line of `predict`: e.g. "150 image(s) in 3.21 s: 46.7 images/s (1 image worker)". */
export function throughputLine(images: number, ms: number, workers: number): string {
  const s = ms / 1000, rate = images / Math.max(s, 1e-9);
  const how = workers
    ? `${workers} image worker${workers > 1 ? "s" : ""}`
    : "decoding and writing inline";
  return `${images} image(s) in ${s.toFixed(2)} s: ${
    rate.toFixed(rate < 10 ? 2 : 1)
  } images/s (${how})`;
}

/** The label maps `[N, H, W]` of same-size images, from one forward pass. */
async function forwardLabels(batch: QueuedImage[], target: PredictTarget): Promise<Int32Array> {
  const { width: w, height: h } = batch[0].image;
  const data = new Float32Array(batch.length * 3 * h * w);
  batch.forEach((b, i) => data.set(normalize(b.image), i * 3 * h * w));
  const x = tensor(data, [batch.length, 3, h, w], target.device); // [N, 3, H, W]
  const pred = noGrad(() => tidy(() => argmax(target.model.forward(x).out, 1))); // [N, H, W]
  const labels = await pred.toArray();
  x.dispose();
  pred.dispose();
  return labels as Int32Array;
}

/**
 * Segments same-size images in one forward pass (or one image through `inferMask` with
 * `--tile`/`--tta`) and queues each one's mask and overlay.
 */
async function predictBatch(
  batch: QueuedImage[],
  target: PredictTarget,
  io: PredictIo,
): Promise<void> {
  const { model, palette, outDir } = target;
  const { width: w, height: h } = batch[0].image;
  const t0 = performance.now();
  const labels = target.infer
    ? (await inferMask(model, batch[0].image, target.infer)).data
    : await forwardLabels(batch, target);
  const ms = (performance.now() - t0) / batch.length;
  for (let i = 0; i < batch.length; i++) {
    const mask = {
      width: w,
      height: h,
      data: Uint8Array.from(labels.subarray(i * h * w, (i + 1) * h * w)),
    };
    const name = batch[i].path.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
    const maskPath = `${outDir}/${name}_mask.png`;
    await io.write(
      {
        kind: "write",
        image: batch[i].image,
        mask,
        palette,
        alpha: target.alpha,
        maskPath,
        overlayPath: `${outDir}/${name}_overlay.png`,
      },
      `${batch[i].path}: ${w}x${h}, ${ms.toFixed(1)} ms -> ${maskPath}`,
    );
  }
}
