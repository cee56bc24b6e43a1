/**
 * Exact resume from any step: a run stopped inside an epoch (`--max-steps`), resumed, killed
 * with SIGKILL inside an epoch and resumed again gives the uninterrupted run's per-epoch losses
 * and final weights bit for bit; `--checkpoint-every` saves the resumable state inside epochs.
 * On the BLAS backend (the reference one where it is missing), a small FCN-8s, 6 steps an epoch.
 */
import { train, type TrainSettings } from "../lib/cli/train.ts";
import { loadLastState } from "../lib/io/checkpoint.ts";
import { readSafetensors } from "../mod.ts";
import { devices } from "./harness.ts";
import { assert, assertEquals } from "./assert.ts";

const data = new URL("../fixtures/synthetic/", import.meta.url).pathname;
const voc = `${data}VOCdevkit/VOC2012`;
const split = async (name: string) =>
  (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/${name}.txt`)).trim().split("\n");
const trainTask = new URL("../tasks/train.ts", import.meta.url).pathname;
const backend = (await devices()).has("blas") ? "blas" : "cpu";
const quiet = () => {};

/** A temp folder with 12 train and 2 val images: 6 steps an epoch at batch 2. */
async function tinyRun(): Promise<{ dir: string; base: TrainSettings }> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_resume_" });
  await Deno.writeTextFile(`${dir}/train.txt`, (await split("train")).slice(0, 12).join("\n"));
  await Deno.writeTextFile(`${dir}/val.txt`, (await split("val")).slice(0, 2).join("\n"));
  const base: TrainSettings = {
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
    warmupEpochs: 1,
    stepSize: 1,
    gamma: 0.1,
    auxWeight: 0.5,
    auxLrMult: 10,
    crop: 48,
    baseSize: 56,
    seed: 5,
    ignoreIndex: 255,
    evalEvery: 1,
    backend,
    workers: 0,
    reportSamples: 0,
  };
  return { dir, base };
}

/** The history.jsonl records of a run folder. */
async function history(run: string): Promise<Record<string, number>[]> {
  return (await Deno.readTextFile(`${run}/history.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l));
}

/** Asserts that two weights files hold the same tensors, bit for bit. */
async function assertSameWeights(a: string, b: string): Promise<void> {
  const [x, y] = [await Deno.readFile(a), await Deno.readFile(b)].map((f) =>
    readSafetensors(f).tensors
  );
  assertEquals(Object.keys(x).sort(), Object.keys(y).sort());
  for (const k of Object.keys(x)) {
    const [u, v] = [x[k].data, y[k].data];
    const bytes = (t: typeof u) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    assert(bytes(u).every((e, i) => e === bytes(v)[i]), `${k} differs between ${a} and ${b}`);
  }
}

/**
 * Resumes `run` in a subprocess and SIGKILLs it once its saved state is inside epoch 2 (its
 * `--checkpoint-every 1` saves after every step); returns the state it left.
 */
async function resumeAndKill(run: string): Promise<{ epoch: number; batch: number }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", trainTask, "--resume", run, "--checkpoint-every", "1"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const t0 = performance.now();
  let killed = false;
  while (performance.now() - t0 < 120_000) {
    const state = await Deno.readTextFile(`${run}/state.json`).then(JSON.parse, () => null);
    if (state?.epoch === 1 && state.batch > 0) {
      child.kill("SIGKILL");
      killed = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const status = await child.status;
  assert(
    killed && status.signal === "SIGKILL",
    `the resumed run was not killed mid-epoch: ${await stderr}`,
  );
  const { state } = await loadLastState(run);
  return { epoch: state.epoch, batch: state.batch ?? 0 };
}

Deno.test("resume: stop inside an epoch, resume, SIGKILL inside an epoch, resume: the same losses and weights bit for bit", async () => {
  const { dir, base } = await tinyRun();
  const whole = await train({ ...base, out: `${dir}/whole` }, quiet);
  assertEquals(whole.losses.length, 12);

  // --max-steps 4 stops at batch 4 of 6 of epoch 1: nothing recorded, the position saved.
  const run = `${dir}/split`;
  const first = await train({ ...base, out: run, maxSteps: 4 }, quiet);
  assertEquals([first.history.length, first.checkpoints], [0, [4]]);
  const stopped = await loadLastState(run);
  assertEquals([stopped.state.epoch, stopped.state.batch], [0, 4]);
  assertEquals(stopped.state.epochLosses, first.losses);
  assertEquals(await Deno.readTextFile(`${run}/history.jsonl`), "");

  // Resumed and killed inside epoch 2: the state left is a complete mid-epoch generation.
  const left = await resumeAndKill(run);
  assertEquals(left.epoch, 1);
  assert(left.batch >= 1 && left.batch < 6, `killed at batch ${left.batch} of epoch 2`);

  const rest = await train({ resume: run }, quiet);
  assertEquals(rest.losses, whole.losses.slice(12 - rest.losses.length));
  assertEquals(rest.history.map((h) => h.epoch), [1, 2]);
  assertEquals(rest.history.map((h) => h.trainLoss), whole.history.map((h) => h.trainLoss));
  const [a, b] = [await history(`${dir}/whole`), await history(run)];
  assertEquals(b.map((h) => h.epoch), [1, 2], "history.jsonl holds each epoch once");
  for (const key of ["trainLoss", "valLoss", "meanIoU", "pixelAccuracy", "lr", "steps"]) {
    assertEquals(b.map((h) => h[key]), a.map((h) => h[key]), key);
  }
  await assertSameWeights(`${dir}/whole/last.safetensors`, `${run}/last.safetensors`);
  await assertSameWeights(`${dir}/whole/best.safetensors`, `${run}/best.safetensors`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resume: --checkpoint-every N saves the resumable state every N steps inside epochs", async () => {
  const { dir, base } = await tinyRun();
  const out = `${dir}/run`;
  // Steps 4 and 8 inside epochs, 6 and 12 at their ends; 12 is saved once.
  const r = await train({ ...base, out, checkpointEvery: 4, evalEvery: 2 }, quiet);
  assertEquals(r.checkpoints, [4, 6, 8, 12]);
  const stopped = await train({ ...base, out: `${dir}/b`, checkpointEvery: 4, maxSteps: 9 }, quiet);
  assertEquals(stopped.checkpoints, [4, 6, 8, 9]);
  const { state } = await loadLastState(`${dir}/b`);
  assertEquals([state.epoch, state.step, state.batch], [1, 9, 3]);
  assertEquals(state.epochLosses, stopped.losses.slice(6));
  // Without it, a run saves at each epoch's end only.
  const plain = await train({ ...base, out: `${dir}/c`, maxSteps: 9 }, quiet);
  assertEquals(plain.checkpoints, [6, 9]);
  await Deno.remove(dir, { recursive: true });
});
