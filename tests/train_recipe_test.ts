/**
 * The training recipe: the default length in steps on a dataset the defaults were not tuned on
 * (a short run that must improve), `--patience`, `--preset voc` (the printed recipe),
 * `--class-weights` (hand-computed median-frequency weights, saved and reused on resume),
 * `--ignore-index`, and the report's heatmap and per-class chart.
 */
import { run } from "../lib/cli/main.ts";
import { train, type TrainSettings } from "../lib/cli/train.ts";
import { TRAIN_FLAGS } from "../lib/cli/train/settings.ts";
import { parseFlags } from "../lib/cli/flags.ts";
import { settingsFromFlags } from "../lib/cli/train/settings.ts";
import { applyPreset, scratchWarning } from "../lib/cli/train/preset.ts";
import { resolveClassWeights } from "../lib/cli/train/class_weights.ts";
import { renderReport } from "../lib/cli/report.ts";
import { readSampleMask } from "../lib/data/sample.ts";
import { makeShapesDataset, SHAPES_VARIANTS } from "../bench/shapes_data.ts";
import { VocDataset, writeMaskPng } from "../mod.ts";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";

const quiet = () => {};

/** A small dataset of the bench's "blobs" kind (not the bundled one): 8 train, 4 val images. */
async function shapes(dir: string): Promise<{ data: string; k: number }> {
  const v = { ...SHAPES_VARIANTS.blobs, train: 8, val: 4, minSize: 48, maxSize: 64, seed: 3 };
  return { data: dir, k: await makeShapesDataset(dir, v) };
}

/** The settings of `deno task train --data ... --num-classes k` plus `extra` flags. */
function cliSettings(args: string[]): TrainSettings {
  const parsed = parseFlags("train", args, TRAIN_FLAGS);
  const s = settingsFromFlags(parsed);
  assert("steps" in s, "a new run");
  return applyPreset(s, parsed.given);
}

Deno.test("train with the default recipe on a new dataset: epochs from --steps, the loss falls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_recipe_" });
  const { data, k } = await shapes(dir);
  const lines: string[] = [];
  const s = cliSettings(["--data", data, "--num-classes", `${k}`, "--workers", "0"]);
  // A small model and a few steps of the default 750-step plan (8 images: 2 steps an epoch).
  const r = await train(
    { ...s, width: 1 / 16, headChannels: 16, maxSteps: 24, out: `${dir}/run` },
    (l) => lines.push(l),
  );
  assert(
    lines.includes(
      "Length: 375 epochs x 2 steps = 750 steps (--steps 750 rounded to whole epochs)",
    ),
    lines.join("\n"),
  );
  assert(
    lines.some((l) => l.startsWith("Base size 53: the training images' median shorter side")),
    lines.join("\n"),
  );
  assert(lines.some((l) => l.startsWith("Crop 64: the base size rounded")), lines.join("\n"));
  assertEquals(r.losses.length, 24);
  assert(r.history.at(-1)!.valLoss < 0.5 * r.history[0].valLoss, "val loss falls");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert(mean(r.losses.slice(-6)) < 0.8 * mean(r.losses.slice(0, 6)), `losses ${r.losses}`);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
  assertEquals([config.settings.epochs, config.settings.baseSize, config.settings.crop], [
    375,
    53,
    64,
  ]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train --patience stops after that many epochs without a better mIoU, and says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_patience_" });
  const { data, k } = await shapes(dir);
  const lines: string[] = [];
  // lr 0: the weights never change, so no epoch beats the first one's mIoU.
  const s = cliSettings([
    ...["--data", data, "--num-classes", `${k}`, "--workers", "0", "--epochs", "10"],
    ...["--lr", "0", "--patience", "2", "--width", "1/16", "--head-channels", "16"],
  ]);
  const r = await train({ ...s, out: `${dir}/run` }, (l) => lines.push(l));
  assertEquals(r.history.length, 3);
  const stop = lines.find((l) => l.startsWith("Early stop")) ?? "";
  assert(
    stop.startsWith(
      "Early stop after epoch 3 of 10: no better val mIoU for 2 epochs (--patience 2)",
    ),
    stop,
  );
  // The per-class table: at the new best (epoch 1) and at the end (epoch 3), not at epoch 2.
  assertEquals(lines.filter((l) => l.includes("IoU      Acc       F1")).length, 2);
  assert(lines.some((l) => l.startsWith("Epoch 3:\nclass ")), "the final table");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--preset voc resolves torchvision's and fouen6's recipes under the given flags and prints them", async () => {
  const resnet = cliSettings(["--preset", "voc", "--model", "fcn_resnet101", "--batch-size", "8"]);
  assertAlmostEquals(resnet.lr, 0.005, 1e-12); // 0.02 at 32, scaled to 8
  assertEquals(
    [resnet.epochs, resnet.schedule, resnet.warmupEpochs, resnet.auxWeight, resnet.auxLrMult],
    [30, "poly", 0, 0.5, 10],
  );
  assertEquals(
    [resnet.crop, resnet.baseSize, resnet.width, resnet.momentum, resnet.weightDecay],
    [480, 520, 1, 0.9, 1e-4],
  );
  assertEquals(resnet.pretrainedBackbone, "torchvision:resnet101");
  const vgg = cliSettings(["--preset", "voc", "--lr", "0.01", "--crop", "256"]);
  assertEquals([vgg.model, vgg.lr, vgg.batchSize, vgg.epochs, vgg.crop, vgg.baseSize], [
    "fcn8s",
    0.01,
    8,
    50,
    256,
    320,
  ]);
  assertEquals([vgg.schedule, vgg.stepSize, vgg.gamma, vgg.headChannels], ["step", 10, 0.1, 4096]);
  assertEquals(vgg.pretrainedBackbone, "torchvision:vgg16");
  assertEquals(
    cliSettings(["--preset", "voc", "--model", "fcn32s", "--batch-size", "2"]).lr,
    0.00125,
  );

  // The CLI prints the resolved recipe; --dry-run stops before building the model.
  const lines: string[] = [];
  const log = console.log;
  console.log = (m: string) => lines.push(String(m));
  try {
    const args = ["--preset", "voc", "--model", "fcn_resnet50", "--batch-size", "8", "--dry-run"];
    assertEquals(await run(["train", ...args, "--workers", "0"]), 0);
  } finally {
    console.log = log;
  }
  assertEquals(
    lines[0],
    "Recipe --preset voc (torchvision fcn_resnet50): lr 0.005 (0.02 at batch 32, scaled to 8), " +
      "batch 8, momentum 0.9, weight decay 0.0001, 30 epochs, poly 0.9, aux 0.5 (lr x10), " +
      "crop 480, base size 520, width 1, backbone torchvision:resnet50; given: --batch-size",
  );
  assert(lines.includes("Dry run: nothing trained"), lines.join("\n"));
  assert(lines.some((l) => l.startsWith("Length: 30 epochs x 15 steps")), lines.join("\n"));
});

Deno.test("a full-size model from scratch on a real dataset gets a one-line warning naming the flag", () => {
  const s = cliSettings(["--width", "1", "--model", "fcn_resnet50"]);
  assertEquals(
    scratchWarning(s, 1464),
    "Warning: a full-size fcn_resnet50 from scratch on 1464 images learns slowly and poorly; " +
      "start from ImageNet weights with --pretrained-backbone torchvision:resnet50 (or --preset voc)",
  );
  assertEquals(scratchWarning(s, 120), null, "a small dataset");
  assertEquals(scratchWarning({ ...s, pretrainedBackbone: "x" }, 1464), null, "ImageNet weights");
  assertEquals(scratchWarning(cliSettings([]), 1464), null, "the small default width");
  assert(scratchWarning(cliSettings(["--width", "1"]), 500)!.includes("torchvision:vgg16"));
});

/** A VOC folder whose masks are `masks` (2x2 each), with 4 classes and placeholder images. */
async function maskSet(masks: number[][]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_masks_" });
  const voc = `${dir}/VOCdevkit/VOC2012`;
  await Deno.mkdir(`${voc}/ImageSets/Segmentation`, { recursive: true });
  await Deno.mkdir(`${voc}/JPEGImages`, { recursive: true });
  await Deno.mkdir(`${voc}/SegmentationClass`, { recursive: true });
  const ids = masks.map((_, i) => `m${i}`);
  for (const [i, m] of masks.entries()) {
    await writeMaskPng(`${voc}/SegmentationClass/m${i}.png`, {
      width: 2,
      height: 2,
      data: Uint8Array.from(m),
    });
    await Deno.writeFile(`${voc}/JPEGImages/m${i}.jpg`, new Uint8Array());
  }
  await Deno.writeTextFile(`${voc}/ImageSets/Segmentation/train.txt`, ids.join("\n") + "\n");
  const classes = ["bg", "a", "b", "c"].map((name, k) => ({ name, color: [k, k, k] }));
  await Deno.writeTextFile(`${dir}/VOCdevkit/classes.json`, JSON.stringify({ classes }));
  return dir;
}

Deno.test("--class-weights auto: median-frequency weights of a known mask set, 0 and a warning for an absent class", async () => {
  // m0: 3 labelled px (bg 2, a 1); m1: bg 4; m2: b 2, bg 1, a 1. Class c never appears.
  // f_bg = 7/11, f_a = 2/7, f_b = 2/4; median 1/2 -> w = [11/14, 7/4, 1, 0].
  const dir = await maskSet([[0, 0, 1, 255], [0, 0, 0, 0], [2, 2, 0, 1]]);
  const trainSet = await VocDataset.open(dir, { split: "train" });
  const lines: string[] = [];
  const o = { trainSet, numClasses: 4, names: trainSet.classes, log: (l: string) => lines.push(l) };
  const w = await resolveClassWeights({ ...o, flag: "auto" });
  assertEquals(w!.length, 4);
  [11 / 14, 7 / 4, 1, 0].forEach((v, c) => assertAlmostEquals(w![c], v, 1e-12));
  assertEquals(lines, [
    "Warning: --class-weights auto: c never appear in the training masks; weight 0 (the loss ignores them)",
    "Class weights (auto: median frequency over 3 training masks): bg 0.7857, a 1.75, b 1, c 0",
  ]);
  assertEquals(await resolveClassWeights({ ...o, flag: "1,2,3,0.5" }), [1, 2, 3, 0.5]);
  await assertRejects(
    () => resolveClassWeights({ ...o, flag: "1,2" }),
    'expected "auto" or 4 non-negative numbers',
  );
  // --ignore-index 2: class b's pixels are ignored, as 255 is.
  const ignoring = await VocDataset.open(dir, { split: "train", ignoreIndex: 2 });
  const w2 = await resolveClassWeights({ ...o, trainSet: ignoring, flag: "auto", log: quiet });
  // f_bg = 7/9 (m2 has 2 labelled px), f_a = 2/5; median (7/9 + 2/5) / 2.
  const med = (7 / 9 + 2 / 5) / 2;
  [med / (7 / 9), med / (2 / 5), 0, 0].forEach((v, c) => assertAlmostEquals(w2![c], v, 1e-12));
  assertEquals(
    Array.from((await readSampleMask(ignoring.samples[2], ignoring.spec)).data),
    [255, 255, 0, 1],
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train --class-weights auto saves the weights in config.json and a resumed run reuses them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_cw_" });
  const { data, k } = await shapes(dir);
  const s = cliSettings([
    ...["--data", data, "--num-classes", `${k}`, "--workers", "0", "--epochs", "2"],
    ...["--class-weights", "auto", "--width", "1/16", "--head-channels", "16"],
  ]);
  const first: string[] = [];
  await train({ ...s, out: `${dir}/run`, maxSteps: 2 }, (l) => first.push(l));
  const said = first.find((l) => l.startsWith("Class weights (auto")) ?? "";
  const config = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
  const w: number[] = config.settings.classWeightValues;
  assertEquals(w.length, k);
  assert(
    said.endsWith(
      w.map((v, c) =>
        `${
          [
            "background",
            ...SHAPES_VARIANTS.blobs.classes.map((x) => x.name),
          ][c]
        } ${+v.toFixed(4)}`
      ).join(", "),
    ),
    said,
  );
  const second: string[] = [];
  await train({ resume: `${dir}/run` } as TrainSettings, (l) => second.push(l));
  assert(
    second.some((l) => l.startsWith("Class weights (saved in config.json)")),
    second.join("\n"),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("report.html: a confusion-matrix heatmap and a per-class IoU chart with the matrix's numbers", () => {
  const names = Array.from({ length: 21 }, (_, c) => (c === 0 ? "background" : `class_${c}`));
  const k = 21, confusion = new Float64Array(k * k);
  for (let c = 0; c < k; c++) confusion[c * k + c] = 90 + c;
  confusion[1 * k + 2] = 30; // 30 px of class_1 predicted as class_2
  const iou = names.map((_, c) => confusion[c * k + c] / (90 + c + (c === 1 || c === 2 ? 30 : 0)));
  const history = [{
    epoch: 1,
    trainLoss: 1,
    valLoss: 1,
    pixelAccuracy: 0.9,
    meanIoU: 0.9,
    seconds: 1,
  }];
  const html = renderReport({
    title: "t",
    history,
    classNames: names,
    iou,
    confusion,
    samples: [],
    settings: {},
  });
  // class_1: 91 right, 30 as class_2 -> 75.2% and 24.8% of its row.
  assert(
    html.includes('title="class_1 predicted as class_2: 30 px (24.8%)">24.8</td>'),
    "off-diagonal cell",
  );
  assert(
    html.includes('title="class_1 predicted as class_1: 91 px (75.2%)">75.2</td>'),
    "diagonal cell",
  );
  assertEquals(
    (html.match(/<tr><th title="\d+ px">/g) ?? []).length,
    21,
    "one heatmap row per class",
  );
  // The IoU chart: class_2's IoU is 92 / 122 = 75.4%, class_20's 100%.
  assert(html.includes(">2 class_2</text>") && html.includes(">75.4</text>"), "class_2 bar");
  assert(html.includes(">20 class_20</text>") && html.includes(">100.0</text>"), "class_20 bar");
  assert(html.includes("<h2>Confusion matrix</h2>") && html.includes("IoU per class"), "sections");
});
