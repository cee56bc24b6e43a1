import { VOC_CLASSES, VocDataset } from "./voc.ts";
import { SYNTHETIC, writeVoc } from "./_fixtures_test.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

Deno.test("voc: opens the bundled dataset from any of its three roots", async () => {
  for (const root of [SYNTHETIC, `${SYNTHETIC}/VOCdevkit`, `${SYNTHETIC}/VOCdevkit/VOC2012`]) {
    const train = await VocDataset.open(root);
    assertEquals(train.length, 120);
    assertEquals(train.classes, ["background", "circle", "square", "triangle", "cross"]);
    assertEquals(train.colors[1], [128, 0, 0]);
    assertEquals(train.trainByDefault, true);
  }
  const val = await VocDataset.open(SYNTHETIC, { split: "val" });
  assertEquals([val.length, val.trainByDefault, val.samples[0].id], [30, false, "syn_000121"]);
  const { id, image, mask } = await val.read(0);
  assertEquals(id, "syn_000121");
  assertEquals([image.width, image.height], [mask.width, mask.height]);
  assertEquals(image.data.length, 3 * mask.data.length);
  const values = new Set(mask.data);
  assert(values.has(0) && values.has(255) && [...values].every((v) => v < 5 || v === 255));
});

Deno.test("voc: VOC's 21 classes without classes.json; SBD-style pair lists", async () => {
  const dir = await Deno.makeTempDir();
  const voc = await writeVoc(dir, [{ id: "a", width: 5, height: 4 }, {
    id: "b",
    width: 3,
    height: 3,
  }], {
    train: ["a", "b"],
  });
  const data = await VocDataset.open(dir);
  assertEquals([data.length, data.classes.length, data.classes[15]], [2, 21, VOC_CLASSES[15]]);
  const list = `${dir}/aug.txt`;
  await Deno.writeTextFile(
    list,
    "/JPEGImages/b.jpg /SegmentationClass/b.png\n\n/JPEGImages/a.jpg /SegmentationClass/a.png\n",
  );
  const aug = await VocDataset.open(`${dir}/VOCdevkit`, { split: list });
  assertEquals(aug.samples.map((s) => s.id), ["b", "a"]);
  assertEquals(aug.samples[0].mask, `${voc}/SegmentationClass/b.png`);
  assertEquals(aug.trainByDefault, false);
  assertEquals((await aug.read(1)).mask.data[0], 255);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("voc: reports every missing file at once", async () => {
  const dir = await Deno.makeTempDir();
  const ids = ["a", "b", "c", "d", "e"];
  await writeVoc(dir, ids.map((id) => ({ id, width: 4, height: 4 })), { train: ids }, {
    images: ["b", "c", "e"],
    masks: ["d"],
  });
  const e = await assertRejects(() => VocDataset.open(dir), "4 of 10 files listed in");
  for (
    const name of [
      "JPEGImages/b.jpg",
      "JPEGImages/c.jpg",
      "JPEGImages/e.jpg",
      "SegmentationClass/d.png",
    ]
  ) {
    assert(e.message.includes(name), `${name} missing from: ${e.message}`);
  }
  await assertRejects(() => VocDataset.open(dir, { split: "val" }), "splits found: train");
  await assertRejects(() => VocDataset.open(`${dir}/nowhere`), "Cannot find VOC2012");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("voc: bad samples fail with the file named", async () => {
  const dir = await Deno.makeTempDir();
  const voc = await writeVoc(dir, [
    { id: "size", width: 6, height: 4, maskSize: [6, 5] },
    { id: "range", width: 4, height: 4, value: (i) => (i < 3 ? 30 : i === 3 ? 40 : 1) },
    { id: "broken", width: 4, height: 4, corrupt: true },
    { id: "good", width: 4, height: 4 },
  ], { train: ["size", "range", "broken", "good"] });
  const data = await VocDataset.open(dir);
  await assertRejects(
    () => data.read(0),
    `image ${voc}/JPEGImages/size.jpg is 6x4 but mask ${voc}/SegmentationClass/size.png is 6x5`,
  );
  await assertRejects(
    () => data.read(1),
    `Mask ${voc}/SegmentationClass/range.png has values 30 (3 px), 40 (1 px) outside 0..20`,
  );
  await assertRejects(() => data.read(2), `Cannot decode image ${voc}/JPEGImages/broken.jpg`);
  const problems = await data.validate();
  assertEquals(problems.length, 3);
  assertEquals((await data.read(3)).id, "good");
  await Deno.remove(dir, { recursive: true });
});
