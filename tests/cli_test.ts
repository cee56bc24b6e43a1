/**
 * The train, eval and predict commands end to end on the bundled data: exact resume, a stop on
 * a non-finite loss that keeps the last good files, flag errors, and the bundled model's
 * predictions matching the ground truth.
 */
import { run } from "../lib/cli/main.ts";
import { train, type TrainSettings } from "../lib/cli/train.ts";
import { ConfusionMatrix, createModel, readMask, requestDevice, writeSafetensors } from "../mod.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const data = new URL("../fixtures/synthetic/", import.meta.url).pathname;
const voc = `${data}VOCdevkit/VOC2012`;
const ids = (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/train.txt`)).trim().split("\n");
const valIds = (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/val.txt`)).trim().split(
  "\n",
);

/** A temp folder with tiny split lists (8 train, 4 val images). */
async function tinySplits(): Promise<{ dir: string; train: string; val: string }> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_cli_" });
  await Deno.writeTextFile(`${dir}/tiny_train.txt`, ids.slice(0, 8).join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/tiny_val.txt`, valIds.slice(0, 4).join("\n") + "\n");
  return { dir, train: `${dir}/tiny_train.txt`, val: `${dir}/tiny_val.txt` };
}

function settings(over: Partial<TrainSettings>): TrainSettings {
  return {
    dataset: "voc",
    data,
    trainSplit: "train",
    valSplit: "val",
    model: "fcn8s",
    backbone: "vgg16",
    width: 1 / 16,
    headChannels: 16,
    steps: 750,
    epochs: 2,
    batchSize: 4,
    lr: 0.02,
    momentum: 0.9,
    weightDecay: 1e-4,
    schedule: "poly",
    warmupEpochs: 1,
    stepSize: 1,
    gamma: 0.1,
    auxWeight: 0.5,
    auxLrMult: 10,
    ignoreIndex: 255,
    crop: 64,
    baseSize: 72,
    seed: 3,
    evalEvery: 1,
    workers: 0,
    reportSamples: 1,
    ...over,
  };
}

const quiet = () => {};

Deno.test("train: a run stopped and resumed gives the same losses as an uninterrupted one", async () => {
  const t = await tinySplits();
  const base = settings({ trainSplit: t.train, valSplit: t.val });
  const whole = await train({ ...base, out: `${t.dir}/whole` }, quiet);
  assertEquals(whole.losses.length, 4);
  const first = await train({ ...base, out: `${t.dir}/split`, maxSteps: 2 }, quiet);
  assertEquals(first.history.length, 1);
  const rest = await train({ resume: `${t.dir}/split` } as TrainSettings, quiet);
  assertEquals([...first.losses, ...rest.losses], whole.losses);
  assertEquals(rest.history.at(-1)!.meanIoU, whole.history.at(-1)!.meanIoU);
  // The run folder has what the issue promises.
  for (
    const f of [
      "config.json",
      "last.safetensors",
      "state.json",
      "best.safetensors",
      "history.jsonl",
      "report.html",
    ]
  ) {
    await Deno.stat(`${t.dir}/whole/${f}`);
  }
  const history = (await Deno.readTextFile(`${t.dir}/whole/history.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l));
  assertEquals(history.map((h) => h.epoch), [1, 2]);
  for (const key of ["trainLoss", "valLoss", "pixelAccuracy", "meanIoU", "seconds"]) {
    assert(typeof history[1][key] === "number", `history has ${key}`);
  }
  const report = await Deno.readTextFile(`${t.dir}/whole/report.html`);
  assert(report.includes("<svg") && report.includes("data:image/png;base64,"), "report content");
  assert(
    !/https?:\/\//.test(report.replace(/xmlns="http:\/\/www.w3.org\/2000\/svg"/g, "")),
    "no network",
  );
  await Deno.remove(t.dir, { recursive: true });
});

Deno.test("train: a non-finite loss stops with the step number and keeps the last good files", async () => {
  const t = await tinySplits();
  const out = `${t.dir}/run`;
  // Epoch 1 trains normally; from epoch 2 the step schedule multiplies lr by 1e12.
  const s = settings({
    trainSplit: t.train,
    valSplit: t.val,
    out,
    epochs: 3,
    schedule: "step",
    stepSize: 1,
    gamma: 1e12,
  });
  const err = await assertRejects(() => train(s, quiet), "The loss became");
  assert(/at step \d+/.test(err.message), err.message);
  const state = JSON.parse(await Deno.readTextFile(`${out}/state.json`));
  assertEquals(state.epoch, 1);
  await Deno.stat(`${out}/best.safetensors`);
  await Deno.remove(t.dir, { recursive: true });
});

Deno.test("train/eval/predict: unknown flags and bad values are one-line errors", async () => {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    assertEquals(await run(["train", "--bogus", "1"]), 2);
    assertEquals(await run(["train", "--model", "fcn7s"]), 2);
    assertEquals(await run(["train", "--lr", "fast"]), 2);
    assertEquals(await run(["eval", "--weights", "/nonexistent/run"]), 2);
    assertEquals(await run(["predict"]), 2);
    assertEquals(await run(["frobnicate"]), 2);
  } finally {
    console.error = orig;
  }
  assert(errors[0].includes("Unknown flag --bogus"), errors[0]);
  assert(errors[1].includes("fcn8s") && errors[1].includes("fcn7s"), errors[1]);
  assert(errors[2].includes("--lr expects a number"), errors[2]);
  assert(errors[3].includes("/nonexistent/run"), errors[3]);
  assert(errors.every((e) => !e.includes("    at ")), "no stack traces");
});

Deno.test("predict: the bundled model segments the bundled validation images (mIoU >= 0.9)", async () => {
  const out = await Deno.makeTempDir({ prefix: "fcn_predict_" });
  const log = console.log;
  console.log = () => {};
  let code;
  try {
    code = await run([
      "predict",
      `${voc}/JPEGImages/${valIds[0]}.jpg`,
      ...valIds.slice(1).map((id) => `${voc}/JPEGImages/${id}.jpg`),
      "--out",
      out,
      "--batch-size",
      "4",
    ]);
  } finally {
    console.log = log;
  }
  assertEquals(code, 0);
  const cm = new ConfusionMatrix(5);
  for (const id of valIds) {
    const pred = await readMask(`${out}/${id}_mask.png`);
    const truth = await readMask(`${voc}/SegmentationClass/${id}.png`);
    assertEquals([pred.width, pred.height], [truth.width, truth.height], id);
    cm.update(pred.data, truth.data);
    await Deno.stat(`${out}/${id}_overlay.png`);
  }
  const m = cm.compute();
  assert(m.meanIoU >= 0.9, `bundled model mIoU ${m.meanIoU}`);
  await Deno.remove(out, { recursive: true });
});

Deno.test("predict: an unreadable file in a folder is reported and skipped; the exit code says so", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_predict_in_" });
  await Deno.copyFile(`${voc}/JPEGImages/${valIds[0]}.jpg`, `${dir}/good.jpg`);
  await Deno.writeTextFile(`${dir}/broken.jpg`, "not a jpeg");
  const errors: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = () => {};
  console.error = (m: string) => errors.push(m);
  let code;
  try {
    code = await run(["predict", dir, "--out", `${dir}/out`]);
  } finally {
    console.log = log;
    console.error = err;
  }
  assertEquals(code, 1);
  assert(errors.some((e) => e.includes("broken.jpg")), errors.join("\n"));
  await Deno.stat(`${dir}/out/good_mask.png`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("predict: the bundled model names the real-photo command for an image not from its dataset, once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_predict_hint_" });
  const bundled = `${voc}/JPEGImages/${valIds[0]}.jpg`;
  await Deno.copyFile(bundled, `${dir}/photo.jpg`);
  const predict = async (...args: string[]) => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (m: string) => lines.push(String(m));
    try {
      assertEquals(await run(["predict", ...args, "--out", `${dir}/out`]), 0);
    } finally {
      console.log = log;
    }
    return lines.filter((l) => l.includes("--weights torchvision:fcn_resnet50_coco"));
  };
  const foreign = await predict(`${dir}/photo.jpg`, bundled);
  assertEquals(foreign.length, 1, "one line for a foreign image");
  assert(foreign[0].includes(`${dir}/photo.jpg is not from the bundled dataset`), foreign[0]);
  assert(
    foreign[0].includes("deno task predict photo.jpg --weights torchvision:fcn_resnet50_coco"),
    foreign[0],
  );
  assertEquals(await predict(bundled), [], "no line for a bundled image");
  const model = new URL("../fixtures/model/", import.meta.url).pathname;
  assertEquals(await predict(`${dir}/photo.jpg`, "--weights", model), [], "none with --weights");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("eval: the bundled model's metrics on the bundled val split, written to metrics.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_eval_" });
  const log = console.log;
  const lines: string[] = [];
  console.log = (m: string) => lines.push(String(m));
  let code;
  try {
    code = await run(["eval", "--out", `${dir}/metrics.json`, "--workers", "0"]);
  } finally {
    console.log = log;
  }
  assertEquals(code, 0);
  const m = JSON.parse(await Deno.readTextFile(`${dir}/metrics.json`));
  assert(m.meanIoU >= 0.9, `mIoU ${m.meanIoU}`);
  for (const k of ["pixelAccuracy", "meanAccuracy", "fwIoU", "meanF1"]) assert(k in m, k);
  assert(lines.some((l) => l.includes("circle")), "class names in the table");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train --pretrained with another class count re-initialises the class layers and says so; a backbone file that loads nothing is an error", async () => {
  const t = await tinySplits();
  const device = await requestDevice({ backend: "cpu" });
  const voc21 = createModel("fcn8s", { width: 1 / 16, headChannels: 16, numClasses: 21 }, device);
  const file = `${t.dir}/voc21.safetensors`;
  await Deno.writeFile(file, writeSafetensors(await voc21.stateDict()));
  const lines: string[] = [];
  await train(
    settings({
      trainSplit: t.train,
      valSplit: t.val,
      epochs: 1,
      pretrained: file,
      out: `${t.dir}/ft`,
    }),
    (l) => lines.push(l),
  );
  const said = lines.find((l) => l.startsWith("Pretrained:")) ?? "";
  assert(said.includes("class layers re-initialised (21 -> 5 classes"), said);

  const wrong = `${t.dir}/vgg16.safetensors`;
  const shape = [64, 3, 3, 3];
  await Deno.writeFile(
    wrong,
    writeSafetensors({
      "features.0.weight": { dtype: "f32", shape, data: new Float32Array(1728) },
    }),
  );
  await assertRejects(
    () =>
      train(
        settings({
          trainSplit: t.train,
          valSplit: t.val,
          pretrainedBackbone: wrong,
          out: `${t.dir}/bb`,
        }),
        quiet,
      ),
    "--pretrained-backbone would load 0 tensors",
  );
});
