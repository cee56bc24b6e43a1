/**
 * Shards end to end on the bundled model and data: the shards of `predict` together write the
 * same files, byte for byte, as one unsharded run; `eval --merge` of the shards' partial files
 * gives the unsharded metrics.json; `--shard auto` works from Kubernetes' and Slurm's variables.
 */
import { run } from "../lib/cli/main.ts";
import { assert, assertAlmostEquals, assertEquals } from "./assert.ts";

const voc = new URL("../fixtures/synthetic/VOCdevkit/VOC2012/", import.meta.url).pathname;
const valIds = (await Deno.readTextFile(`${voc}ImageSets/Segmentation/val.txt`)).trim()
  .split("\n").slice(0, 7);

/** A folder with 7 of the bundled validation images. */
async function images(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_shard_in_" });
  for (const id of valIds) await Deno.copyFile(`${voc}JPEGImages/${id}.jpg`, `${dir}/${id}.jpg`);
  return dir;
}

async function files(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  return out;
}

function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { log, error } = console;
  console.log = () => {};
  console.error = () => {};
  return fn().finally(() => Object.assign(console, { log, error }));
}

Deno.test("predict --shard i/3: the three shards write exactly what one run writes", async () => {
  const dir = await images();
  const outs = await Deno.makeTempDir({ prefix: "fcn_shard_out_" });
  assertEquals(await quietly(() => run(["predict", dir, "--out", `${outs}/whole`])), 0);
  await Deno.mkdir(`${outs}/merged`);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const out = `${outs}/shard${i}`;
    assertEquals(await quietly(() => run(["predict", dir, "--out", out, "--shard", `${i}/3`])), 0);
    counts.push((await files(out)).size);
    for (const [name, bytes] of await files(out)) {
      await Deno.writeFile(`${outs}/merged/${name}`, bytes, { createNew: true }); // no overlap
    }
  }
  assertEquals(counts, [6, 4, 4]); // 7 images sorted, index mod 3; a mask and an overlay each
  const whole = await files(`${outs}/whole`);
  const merged = await files(`${outs}/merged`);
  assertEquals([...merged.keys()].sort(), [...whole.keys()].sort());
  for (const [name, bytes] of whole) assertEquals(merged.get(name), bytes, name);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(outs, { recursive: true });
});

Deno.test("eval --shard i/3 then --merge: the same metrics.json as one eval", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_shard_eval_" });
  const split = `${dir}/seven.txt`;
  await Deno.writeTextFile(split, valIds.join("\n") + "\n");
  // batch 1: a batch is padded to its largest image, so other batchmates change border pixels
  const evalArgs = ["eval", "--split", split, "--workers", "0", "--batch-size", "1"];
  assertEquals(await quietly(() => run([...evalArgs, "--out", `${dir}/whole.json`])), 0);
  const parts = [0, 1, 2].map((i) => `${dir}/part${i}.json`);
  for (const [i, part] of parts.entries()) {
    assertEquals(await quietly(() => run([...evalArgs, "--shard", `${i}/3`, "--out", part])), 0);
  }
  const p1 = JSON.parse(await Deno.readTextFile(parts[1]));
  assertEquals([p1.shard, p1.images], [{ index: 1, count: 3 }, 2]);
  assert(p1.meanIoU > 0.5 && p1.matrix.length === p1.classes.length ** 2, "partial metrics");
  // in reverse order: the merge does not depend on it
  const merge = ["eval", "--merge", ...parts.toReversed(), "--out", `${dir}/merged.json`];
  assertEquals(await quietly(() => run(merge)), 0);
  const whole = JSON.parse(await Deno.readTextFile(`${dir}/whole.json`));
  const merged = JSON.parse(await Deno.readTextFile(`${dir}/merged.json`));
  assertEquals(Object.keys(merged), Object.keys(whole));
  // the same per-image f32 sums, added in another order
  assertAlmostEquals(merged.loss, whole.loss, 1e-6 * whole.loss);
  assertEquals({ ...merged, loss: 0 }, { ...whole, loss: 0 });
  // a missing shard is named
  const { error } = console;
  let said = "";
  console.error = (s: string) => said += s;
  try {
    assertEquals(await run(["eval", "--merge", parts[0], parts[2]]), 2);
  } finally {
    console.error = error;
  }
  assert(said.includes("shard(s) 1 of 3 are missing"), said);
  await Deno.remove(dir, { recursive: true });
});

/** Runs predict in a child process with `env` (Deno.env is shared by parallel tests). */
async function predictWith(env: Record<string, string>, args: string[]): Promise<string> {
  const mod = new URL("../mod.ts", import.meta.url).pathname;
  const clean = Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([k]) =>
      !/^(SLURM_|JOB_COMPLETION_INDEX|OMPI_|PMI_)/.test(k)
    ),
  );
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mod, "predict", ...args],
    env: { ...clean, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
  assertEquals(res.code, 0, text);
  return text;
}

Deno.test("predict --shard auto: from JOB_COMPLETION_INDEX with --shards, and from a Slurm array", async () => {
  const dir = await images();
  const k8s = await predictWith({ JOB_COMPLETION_INDEX: "2" }, [
    dir,
    "--out",
    `${dir}/k8s`,
    "--shard",
    "auto",
    "--shards",
    "3",
  ]);
  assert(k8s.includes("(shard 2/3 of 7, from JOB_COMPLETION_INDEX)"), k8s);
  const slurm = await predictWith({
    SLURM_ARRAY_TASK_ID: "5",
    SLURM_ARRAY_TASK_MIN: "4",
    SLURM_ARRAY_TASK_MAX: "6",
    SLURM_ARRAY_TASK_COUNT: "3",
    SLURM_ARRAY_TASK_STEP: "1",
  }, [dir, "--out", `${dir}/slurm`, "--shard", "auto"]);
  assert(slurm.includes("(shard 1/3 of 7, from Slurm array)"), slurm);
  const names = [...(await files(`${dir}/slurm`)).keys()].sort();
  assertEquals(
    names,
    [valIds.toSorted()[1], valIds.toSorted()[4]].flatMap((id) => [
      `${id}_mask.png`,
      `${id}_overlay.png`,
    ]),
  );
  await Deno.remove(dir, { recursive: true });
});
