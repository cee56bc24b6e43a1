/**
 * Loud failures of train and eval, each naming the value and what to do: a training split
 * smaller than one batch, a dataset whose class count is not the model's, a non-finite loss (naming the step whose loss it was), and flags a run would ignore
 * (`--backbone` / `--head-channels` for ResNets, settings given with `--resume`).
 */
import { run } from "../lib/cli/main.ts";
import { train, type TrainSettings } from "../lib/cli/train.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { writeVoc } from "../lib/data/_fixtures_test.ts";
import { devices } from "./harness.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

const data = new URL("../fixtures/synthetic/", import.meta.url).pathname;
const voc = `${data}VOCdevkit/VOC2012`;
const ids = (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/train.txt`)).trim()
  .split("\n");
const backend = (await devices()).has("blas") ? "blas" : "cpu";
const quiet = () => {};

/** Settings of a small FCN-8s on the bundled data, training on `trainIds`. */
async function settings(dir: string, trainIds: string[]) {
  await Deno.writeTextFile(`${dir}/train.txt`, trainIds.join("\n"));
  await Deno.writeTextFile(`${dir}/val.txt`, ids[0]);
  const s: TrainSettings = {
    dataset: "voc",
    data,
    trainSplit: `${dir}/train.txt`,
    valSplit: `${dir}/val.txt`,
    model: "fcn8s",
    backbone: "vgg16",
    width: 1 / 16,
    headChannels: 16,
    epochs: 2,
    steps: 750,
    batchSize: 2,
    lr: 0.02,
    momentum: 0.9,
    weightDecay: 1e-4,
    schedule: "poly",
    warmupEpochs: 0,
    stepSize: 1,
    gamma: 0.1,
    auxWeight: 0.5,
    auxLrMult: 10,
    crop: 48,
    baseSize: 56,
    seed: 2,
    ignoreIndex: 255,
    evalEvery: 1,
    backend,
    workers: 0,
    reportSamples: 0,
    out: `${dir}/run`,
  };
  return s;
}

/** The lines `run(args)` writes to console.error, and its exit code. */
async function errorsOf(args: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const orig = console.error;
  console.error = (m: string) => errors.push(m);
  try {
    return { code: await run(args), errors };
  } finally {
    console.error = orig;
  }
}

Deno.test("train: a training split smaller than one batch is an error saying what to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_errors_" });
  const small = await settings(dir, ids.slice(0, 3));
  const err = await assertRejects(() => train({ ...small, batchSize: 4 }, quiet), "train.txt");
  assert(err instanceof UsageError, err.message);
  assert(err.message.includes("has 3 images, fewer than --batch-size 4"), err.message);
  assert(err.message.includes("Pass --batch-size 3 or less"), err.message);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train: a non-finite loss names the step whose loss it was, not the step it was read at", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_errors_" });
  // 4 steps an epoch, read after the 4th; lr 1e30 makes the weights overflow after step 1.
  const s = await settings(dir, ids.slice(0, 8));
  const err = await assertRejects(() => train({ ...s, lr: 1e30 }, quiet), "The loss became");
  assert(err.message.includes("at step 2 (epoch 1)"), err.message);
  assert(err.message.includes("lower --lr (now 1e+30)"), err.message);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("eval: a dataset whose class count is not the model's is an error naming both", async () => {
  const root = await Deno.makeTempDir({ prefix: "fcn_errors_" });
  // No classes.json: VOC's 21 classes; the bundled model has 5.
  await writeVoc(root, [{ id: "a", width: 8, height: 8 }], { val: ["a"] });
  const { code, errors } = await errorsOf(["eval", "--data", root, "--workers", "0"]);
  assertEquals(code, 2);
  const msg = errors.join("\n");
  assert(msg.includes(`The model has 5 classes but the dataset ${root} [val] has 21`), msg);
  assert(msg.includes("pass --data with the model's 5 classes"), msg);
  await Deno.remove(root, { recursive: true });
});

Deno.test("train: flags the run would ignore are errors: --backbone/--head-channels for ResNets, settings with --resume", async () => {
  const cases: [string[], string][] = [
    [
      ["--model", "fcn_resnet50", "--backbone", "vgg19"],
      "--backbone vgg19 does not apply to fcn_resnet50: its backbone is the ResNet of its name",
    ],
    [
      ["--model", "fcn_resnet101", "--head-channels", "32"],
      "--head-channels 32 does not apply to fcn_resnet101",
    ],
    [["--model", "fcn_fusion", "--head-channels", "32"], "does not apply to fcn_fusion"],
    [
      ["--resume", "/nonexistent/run", "--lr", "0.5", "--epochs", "3"],
      "--lr 0.5: a resumed run keeps the settings of /nonexistent/run/config.json",
    ],
  ];
  for (const [args, want] of cases) {
    const { code, errors } = await errorsOf(["train", ...args]);
    assertEquals(code, 2, args.join(" "));
    assert(errors.join("\n").includes(want), errors.join("\n"));
  }
});
