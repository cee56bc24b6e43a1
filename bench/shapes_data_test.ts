import { drawShapes, insideShape, makeShapesDataset, SHAPES_VARIANTS } from "./shapes_data.ts";
import { VocDataset } from "../lib/data/voc.ts";
import { Rng } from "../lib/random.ts";
import { assert, assertEquals } from "../tests/assert.ts";

Deno.test("shapes_data: each variant draws its classes with 255 borders, the same for a seed", () => {
  for (const [name, v] of Object.entries(SHAPES_VARIANTS)) {
    const a = drawShapes(new Rng(1), v, { width: 90, height: 70 });
    const b = drawShapes(new Rng(1), v, { width: 90, height: 70 });
    assertEquals(a.rgb, b.rgb, name);
    const values = new Set(a.mask);
    assert(values.has(0) && values.has(255), `${name}: background and borders`);
    for (const c of values) assert(c === 255 || c <= v.classes.length, `${name}: class ${c}`);
    assertEquals(a.rgb.length, 90 * 70 * 3);
  }
});

Deno.test("shapes_data: outlines (a ring's hole, a crescent's bite, a star's points)", () => {
  const at = (kind: "ring" | "crescent" | "star") => ({
    cls: 1,
    kind,
    cx: 0,
    cy: 0,
    r: 10,
    angle: 0,
  });
  assertEquals([insideShape(at("ring"), 0, 0), insideShape(at("ring"), 8, 0)], [false, true]);
  assertEquals([insideShape(at("crescent"), -8, 0), insideShape(at("crescent"), 5, 0)], [
    true,
    false,
  ]);
  // The points lie at 36 + 72k degrees; on the +x axis, between two points, the star is thinner.
  const r = 9 * Math.cos(Math.PI / 5), s = 9 * Math.sin(Math.PI / 5);
  assertEquals([insideShape(at("star"), r, s), insideShape(at("star"), 9, 0)], [true, false]);
});

Deno.test("shapes_data: a dataset in the VOC layout with its classes.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shapes_" });
  const v = { ...SHAPES_VARIANTS.stripes, train: 3, val: 2 };
  assertEquals(await makeShapesDataset(dir, v), 7);
  const train = await VocDataset.open(dir, { split: "train" });
  const val = await VocDataset.open(dir, { split: "val" });
  assertEquals([train.length, val.length, train.numClasses], [3, 2, 7]);
  assertEquals(train.classes, [
    "background",
    "diamond",
    "crescent",
    "bar",
    "ring",
    "star",
    "hexagon",
  ]);
  const s = await train.read(0);
  assert(s.image.width >= v.minSize && s.image.width <= v.maxSize, `${s.image.width}`);
  await Deno.remove(dir, { recursive: true });
});
