import { FolderDataset, splitIds } from "./folder.ts";
import { writeFolder } from "./_fixtures_test.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

const COLORS: [number, number, number][] = [[0, 0, 0], [250, 0, 0], [0, 250, 0]];

Deno.test("folder: split files, RGB masks through the class colours", async () => {
  const dir = await Deno.makeTempDir();
  const ids = ["x1", "x2", "x3"];
  await writeFolder(dir, ids.map((id) => ({ id, width: 5, height: 3 })), COLORS, {
    train: ["x1", "x3"],
    val: ["x2"],
  });
  const train = await FolderDataset.open(dir);
  assertEquals([train.length, train.trainByDefault], [2, true]);
  assertEquals(train.classes, ["c0", "c1", "c2"]);
  const { mask } = await train.read(1);
  assertEquals(Array.from(mask.data.subarray(0, 4)), [255, 1, 2, 0]);
  const val = await FolderDataset.open(dir, { split: "val" });
  assertEquals([val.samples[0].id, val.trainByDefault], ["x2", false]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("folder: a seeded split ratio without split files", async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `im${i}`);
  const train = splitIds(ids, "train", 0.7, 5), val = splitIds(ids, "val", 0.7, 5);
  assertEquals([train.length, val.length], [7, 3]);
  assertEquals([...train, ...val].sort(), [...ids].sort());
  assertEquals(splitIds(ids, "train", 0.7, 5), train);
  assert(splitIds(ids, "train", 0.7, 6).join() !== train.join(), "another seed, another split");
  const dir = await Deno.makeTempDir();
  await writeFolder(dir, ids.map((id) => ({ id, width: 2, height: 2 })), COLORS);
  const data = await FolderDataset.open(dir, { split: "val", splitRatio: 0.7, seed: 5 });
  assertEquals(data.samples.map((s) => s.id), val);
  assertEquals((await FolderDataset.open(dir, { split: "all" })).length, 10);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("folder: missing masks, classes.json and unknown colours are reported", async () => {
  const dir = await Deno.makeTempDir();
  await writeFolder(dir, [
    { id: "a", width: 2, height: 2 },
    { id: "b", width: 2, height: 2, value: (i) => (i === 3 ? 5 : 0) },
    { id: "c", width: 2, height: 2 },
  ], COLORS);
  await Deno.remove(`${dir}/masks/a.png`);
  await Deno.remove(`${dir}/masks/c.png`);
  const e = await assertRejects(() => FolderDataset.open(dir, { split: "all" }), "2 of 6 files");
  assert(e.message.includes(`${dir}/masks/a.png`) && e.message.includes(`${dir}/masks/c.png`));
  await Deno.writeTextFile(`${dir}/train.txt`, "b\n");
  const data = await FolderDataset.open(dir);
  await assertRejects(
    () => data.read(0),
    `Mask ${dir}/masks/b.png has colour (1, 2, 3) at (1, 1), which is not a class colour`,
  );
  await Deno.writeTextFile(`${dir}/classes.json`, '{"classes": [{"name": "a"}]}');
  await assertRejects(() => FolderDataset.open(dir), 'class 0 is {"name":"a"}');
  await Deno.remove(`${dir}/classes.json`);
  await assertRejects(() => FolderDataset.open(dir), `Missing ${dir}/classes.json`);
  await Deno.remove(dir, { recursive: true });
});
