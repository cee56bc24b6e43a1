/**
 * Data-parallel training: `mpirun -np 2 deno task train --batch-size 2` trains the same model as
 * one process with `--batch-size 4` (per-epoch train losses within 1e-3 relative, final weights
 * and BatchNorm statistics within 1e-3 absolute) for a model without BatchNorm (FCN-8s/VGG16),
 * one with (FCN-8s/VGG11-BN, synchronised statistics) and with `--amp`; only rank 0 writes; a
 * run stopped inside an epoch resumes under mpirun as it would have continued; a rank that fails mid-training ends the
 * job non-zero within a minute. Without mpirun: synchronised batch norm against one process
 * holding the whole batch, and the loader's split of each global batch across ranks.
 *
 * The MPI tests are skipped where mpirun is missing, except under CI=true, where that is a
 * failure.
 */
import { parseFlags } from "../lib/cli/flags.ts";
import { train, TRAIN_FLAGS } from "../lib/cli/train.ts";
import { settingsFromFlags } from "../lib/cli/train/settings.ts";
import { readWeights } from "../lib/cli/common.ts";
import { epochOrder } from "../lib/data/loader.ts";
import { VocDataset } from "../lib/data/voc.ts";
import { batchNorm2d } from "../lib/ops/norm.ts";
import type { StatsReducer } from "../lib/ops/norm_sync.ts";
import { mul, sum, tensor } from "../mod.ts";
import type { Device } from "../lib/tensor.ts";
import { devices, randn } from "./harness.ts";
import { assert, assertClose, assertEquals, assertRejects } from "./assert.ts";
import { mpiAvailable, mpirun } from "./_mpi.ts";

const mpirunFound = mpiAvailable();
const trainScript = new URL("../tasks/train.ts", import.meta.url).pathname;
const data = new URL("../fixtures/synthetic/", import.meta.url).pathname;
const voc = `${data}VOCdevkit/VOC2012`;
const split = async (name: string) =>
  (await Deno.readTextFile(`${voc}/ImageSets/Segmentation/${name}.txt`)).trim().split("\n");
const [trainIds, valIds] = [await split("train"), await split("val")];

/** A temp folder with split lists of `nTrain` train and 4 val images. */
async function tinySplits(nTrain: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_dist_" });
  await Deno.writeTextFile(`${dir}/train.txt`, trainIds.slice(0, nTrain).join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/val.txt`, valIds.slice(0, 4).join("\n") + "\n");
  return dir;
}

/** The flags of a tiny run on `dir`'s splits: 8 images, 2 epochs of 2 global batches of 4. */
function tinyFlags(dir: string, extra: string[] = []): string[] {
  return [
    ...["--data", data, "--train-split", `${dir}/train.txt`, "--val-split", `${dir}/val.txt`],
    ...["--width", "0.0625", "--head-channels", "16", "--epochs", "2", "--crop", "32"],
    ...["--base-size", "36", "--workers", "0", "--report-samples", "1", "--backend", "blas"],
    ...["--seed", "3"],
    ...extra,
  ];
}

/** One process, in this process: `train` with the parsed flags. */
async function trainHere(flags: string[]): Promise<void> {
  await train(settingsFromFlags(parseFlags("train", flags, TRAIN_FLAGS)), () => {});
}

/** The per-epoch train losses of a run folder. */
async function trainLosses(dir: string): Promise<number[]> {
  const text = await Deno.readTextFile(`${dir}/history.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l).trainLoss);
}

/** Files of a folder, sorted. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/**
 * Asserts that run folders `a` (one process) and `b` (two ranks) hold the same files, per-epoch
 * losses within 1e-3 relative and last weights (and buffers) within 1e-3 absolute; returns the
 * largest weight difference.
 */
async function assertSameRun(a: string, b: string): Promise<number> {
  assertEquals(await files(b), await files(a));
  const [la, lb] = [await trainLosses(a), await trainLosses(b)];
  assertEquals(lb.length, la.length);
  la.forEach((l, i) => {
    const rel = Math.abs(l - lb[i]) / Math.abs(l);
    assert(rel < 1e-3, `epoch ${i + 1}: train loss ${lb[i]} (2 ranks) vs ${l} (1 process)`);
  });
  const [wa, wb] = [
    await readWeights(`${a}/last.safetensors`),
    await readWeights(`${b}/last.safetensors`),
  ];
  assertEquals(Object.keys(wb).sort(), Object.keys(wa).sort());
  let worst = 0;
  for (const [k, t] of Object.entries(wa)) {
    const u = wb[k].data;
    t.data.forEach((v, i) => worst = Math.max(worst, Math.abs(v - u[i])));
    assert(worst < 1e-3, `${k}: weights differ by ${worst}`);
  }
  return worst;
}

/**
 * Trains `extra`'s model as one process with batch 4 and as 2 ranks x 2 under mpirun, and
 * checks they match; returns the temp folder (with `one/`, `two/`).
 */
async function twoRanksMatchOne(extra: string[]): Promise<string> {
  const dir = await tinySplits(8);
  await trainHere([...tinyFlags(dir, extra), "--batch-size", "4", "--out", `${dir}/one`]);
  const r = await mpirun(
    trainScript,
    [...tinyFlags(dir, extra), "--batch-size", "2", "--out", "two"],
    { cwd: dir },
  );
  assertEquals(r.code, 0, r.err);
  await assertSameRun(`${dir}/one`, `${dir}/two`);
  // Only rank 0 writes and prints: one run folder line, nothing but the run folders around.
  assertEquals(r.out.split("\n").filter((l) => l.startsWith("Run folder:")), ["Run folder: two"]);
  assert(r.out.includes("Data parallel: 2 ranks (openmpi) x 2 images = global batch 4"), r.out);
  assertEquals(await files(dir), ["one", "train.txt", "two", "val.txt"]);
  return dir;
}

Deno.test({
  name: "dist train: 2 ranks x 2 train FCN-8s/VGG16 (no BN) as 1 process x 4; resume under mpirun",
  ignore: !mpirunFound,
  async fn() {
    const dir = await twoRanksMatchOne([]);
    // Stopped inside epoch 2 and resumed with 2 ranks: the same run as the uninterrupted one.
    const flags = [...tinyFlags(dir), "--batch-size", "2", "--out", "split"];
    const first = await mpirun(trainScript, [...flags, "--max-steps", "3"], { cwd: dir });
    assertEquals(first.code, 0, first.err);
    const rest = await mpirun(trainScript, ["--resume", "split"], { cwd: dir });
    assertEquals(rest.code, 0, rest.err);
    assert(rest.out.includes("Resuming split in epoch 2 at batch 2 (step 3)"), rest.out);
    await assertSameRun(`${dir}/one`, `${dir}/split`);
    // A 2-rank run resumes with 2 ranks only (its steps are global batches of 2 x 2).
    await assertRejects(() => trainHere(["--resume", `${dir}/two`]), "mpirun -np 2");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "dist train: 2 ranks x 2 train FCN-8s/VGG11-BN (synchronised BN) as 1 process x 4",
  ignore: !mpirunFound,
  async fn() {
    const dir = await twoRanksMatchOne(["--backbone", "vgg11_bn"]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "dist train: 2 ranks x 2 with --amp (overflow verdict agreed) as 1 process x 4",
  ignore: !mpirunFound,
  async fn() {
    const dir = await twoRanksMatchOne(["--amp"]);
    await Deno.remove(dir, { recursive: true });
  },
});

/** A VOC tree of the first 16 train and 4 val images, with one image's file corrupt. */
async function vocWithBadImage(bad: string): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "fcn_dist_bad_" });
  const v = `${root}/VOCdevkit/VOC2012`;
  for (const d of ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]) {
    await Deno.mkdir(`${v}/${d}`, { recursive: true });
  }
  const [tr, va] = [trainIds.slice(0, 16), valIds.slice(0, 4)];
  for (const id of [...tr, ...va]) {
    await Deno.copyFile(`${voc}/JPEGImages/${id}.jpg`, `${v}/JPEGImages/${id}.jpg`);
    await Deno.copyFile(`${voc}/SegmentationClass/${id}.png`, `${v}/SegmentationClass/${id}.png`);
  }
  await Deno.writeTextFile(`${v}/JPEGImages/${bad}.jpg`, "not a jpeg");
  await Deno.writeTextFile(`${v}/ImageSets/Segmentation/train.txt`, tr.join("\n") + "\n");
  await Deno.writeTextFile(`${v}/ImageSets/Segmentation/val.txt`, va.join("\n") + "\n");
  return root;
}

Deno.test({
  name: "dist train: a rank that fails mid-training ends mpirun non-zero within a minute",
  ignore: !mpirunFound,
  async fn() {
    // 16 images, global batches of 2 x 2: rank 1's first sample of step 2 is position 6 of
    // epoch 1's order. Its file is corrupt, so rank 1 throws there while rank 0 waits for it.
    const bad = trainIds[epochOrder(16, 3, 1, true)[6]];
    const root = await vocWithBadImage(bad);
    const r = await mpirun(trainScript, [
      ...["--data", root, "--width", "0.0625", "--head-channels", "16", "--epochs", "2"],
      ...["--crop", "32", "--base-size", "36", "--workers", "0", "--backend", "blas"],
      ...["--seed", "3", "--batch-size", "2", "--out", `${root}/run`],
    ], { timeout: 120 });
    assert(r.code !== 0 && r.code !== 124, `mpirun exited ${r.code}:\n${r.err}`);
    assert(r.s < 60, `took ${r.s.toFixed(1)} s`);
    assert(r.err.includes(bad), r.err);
    assert(r.err.includes("rank 1: exiting with 1; calling MPI_Abort"), r.err);
    assert(!r.out.includes("epoch 1:"), r.out); // rank 0 never finished the epoch
    await Deno.remove(root, { recursive: true });
  },
});

/** A reducer that doubles: two processes holding the same slice of a batch. */
const twoAlike: StatsReducer = { allreduceSum: (a) => a.forEach((v, i) => a[i] = 2 * v) };

/** Training-mode batch norm of x `[N, C, H, W]` and its gradients under the loss sum(y * g). */
async function bnPass(device: Device, x: Float32Array, g: Float32Array, n: number, sync = false) {
  const [c, h, w] = [3, 4, 5];
  const xt = tensor(x, [n, c, h, w], device, { requiresGrad: true });
  const gamma = tensor(randn(c, 7, 0.5, 1.5), [c], device, { requiresGrad: true });
  const beta = tensor(randn(c, 8), [c], device, { requiresGrad: true });
  const rm = tensor(new Float32Array(c), [c], device);
  const rv = tensor(new Float32Array(c).fill(1), [c], device);
  const y = batchNorm2d(xt, rm, rv, gamma, beta, { training: true, sync: sync ? twoAlike : null });
  const out = { y: await y.toArray(), rm: await rm.toArray(), rv: await rv.toArray() };
  sum(mul(y, tensor(g, [n, c, h, w], device))).backward();
  return {
    ...out,
    dx: await xt.grad!.toArray(),
    dgamma: await gamma.grad!.toArray(),
    dbeta: await beta.grad!.toArray(),
  };
}

Deno.test("sync batch norm: a slice of a batch with summed statistics equals the whole batch", async () => {
  const half = 2 * 3 * 4 * 5;
  const x = randn(half, 1, -2, 3), g = randn(half, 2);
  const twice = (a: Float32Array) => Float32Array.from([...a, ...a]);
  for (const [kind, device] of await devices()) {
    if (kind === "webgpu") {
      await assertRejects(
        () => bnPass(device, x, g, 2, true),
        "needs a backend that reads at once (cpu, blas), not webgpu",
      );
      continue;
    }
    const whole = await bnPass(device, twice(x), twice(g), 4);
    const slice = await bnPass(device, x, g, 2, true);
    const tol = (name: string) => ({ atol: 1e-5, rtol: 1e-5, name: `${kind} ${name}` });
    assertClose(slice.y, whole.y.subarray(0, half), tol("y"));
    assertClose(slice.rm, whole.rm, tol("running mean"));
    assertClose(slice.rv, whole.rv, tol("running var (unbiased over the global batch)"));
    assertClose(slice.dx, whole.dx.subarray(0, half), tol("dx"));
    // The parameter gradients stay the slice's own: the gradient allreduce adds them up.
    assertClose(slice.dgamma.map((v) => 2 * v), whole.dgamma, tol("dgamma"));
    assertClose(slice.dbeta.map((v) => 2 * v), whole.dbeta, tol("dbeta"));
  }
});

Deno.test("loader: ranks take consecutive slices of each global batch, augmented as one process", async () => {
  const ds = await VocDataset.open(data, { split: "train", crop: 32, baseSize: 36 });
  const opts = { shuffle: true, dropLast: true, seed: 5, epoch: 2, train: true, workers: 0 };
  const collect = async (o: object) => {
    const out = [];
    for await (const b of ds.hostBatches({ ...opts, ...o })) out.push(b);
    return out;
  };
  const one = await collect({ batchSize: 6, startBatch: 1 });
  const ranks = await Promise.all(
    [0, 1, 2].map((rank) => collect({ batchSize: 2, rank, ranks: 3, startBatch: 1 })),
  );
  assertEquals(ranks.map((r) => r.length), [19, 19, 19]); // floor(120 / 6) - 1 skipped
  one.forEach((b, i) => {
    const parts = ranks.map((r) => r[i]);
    assertEquals(parts.flatMap((p) => p.ids), b.ids);
    const img = b.images.length / 3;
    parts.forEach((p, r) => assertEquals(p.images, b.images.subarray(r * img, (r + 1) * img)));
    assertEquals(parts.flatMap((p) => [...p.masks]), [...b.masks]);
  });
  await assertRejects(
    () => collect({ batchSize: 2, rank: 0, ranks: 2, dropLast: false }),
    "dropLast",
  );
});
