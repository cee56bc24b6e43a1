import { ConfusionMatrix } from "../metrics/confusion_matrix.ts";
import { borderBands, makeSyntheticDataset } from "./synthetic.ts";
import { VocDataset } from "./voc.ts";
import { SYNTHETIC } from "./_fixtures_test.ts";
import { assert, assertEquals } from "../../tests/assert.ts";

Deno.test("synthetic: border bands are 2 px of 255 between regions", () => {
  // A 6x1 strip: 0 0 0 1 1 1 -> the two pixels at the boundary become 255.
  const out = borderBands(new Uint8Array([0, 0, 0, 1, 1, 1]), 6, 1);
  assertEquals(Array.from(out), [0, 0, 255, 255, 1, 1]);
});

Deno.test("synthetic: the generator is deterministic and reproduces the bundled masks", async () => {
  const dir = await Deno.makeTempDir();
  await makeSyntheticDataset(dir);
  const voc = "VOCdevkit/VOC2012";
  for (const list of ["train", "val", "trainval"]) {
    const path = `${voc}/ImageSets/Segmentation/${list}.txt`;
    assertEquals(
      await Deno.readTextFile(`${dir}/${path}`),
      await Deno.readTextFile(`${SYNTHETIC}/${path}`),
    );
  }
  assertEquals(
    await Deno.readTextFile(`${dir}/VOCdevkit/classes.json`),
    await Deno.readTextFile(`${SYNTHETIC}/VOCdevkit/classes.json`),
  );
  for (const id of ["syn_000001", "syn_000077", "syn_000150"]) {
    const path = `${voc}/SegmentationClass/${id}.png`;
    assertEquals(
      await Deno.readFile(`${dir}/${path}`),
      await Deno.readFile(`${SYNTHETIC}/${path}`),
      path,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("synthetic: chroma alone separates the classes (nearest class mean mIoU)", async () => {
  const train = await VocDataset.open(SYNTHETIC, { split: "train" });
  const val = await VocDataset.open(SYNTHETIC, { split: "val" });
  // Chroma (r - g, b - g): the strong colour cue, free of the backgrounds' brightness.
  const chroma = (
    d: Uint8Array,
    p: number,
  ) => [d[3 * p] - d[3 * p + 1], d[3 * p + 2] - d[3 * p + 1]];
  const k = train.numClasses, sums = new Float64Array(k * 2), counts = new Float64Array(k);
  const hist = new Float64Array(k);
  for (let i = 0; i < train.length; i++) {
    const { image, mask } = await train.read(i);
    mask.data.forEach((c, p) => {
      if (c === 255) return;
      counts[c]++;
      const [u, v] = chroma(image.data, p);
      sums[2 * c] += u;
      sums[2 * c + 1] += v;
    });
  }
  const means = Array.from(
    { length: k },
    (_, c) => [sums[2 * c] / counts[c], sums[2 * c + 1] / counts[c]],
  );
  const cm = new ConfusionMatrix(k);
  for (let i = 0; i < val.length; i++) {
    const { image, mask } = await val.read(i);
    const pred = new Uint8Array(mask.data.length);
    for (let p = 0; p < pred.length; p++) {
      let best = 0, bestD = Infinity;
      means.forEach((m, c) => {
        const [u, v] = chroma(image.data, p);
        const d = (u - m[0]) ** 2 + (v - m[1]) ** 2;
        if (d < bestD) [best, bestD] = [c, d];
      });
      pred[p] = best;
      if (mask.data[p] !== 255) hist[mask.data[p]]++;
    }
    cm.update(pred, mask.data);
  }
  const { meanIoU, iou } = cm.compute();
  assert(hist.every((n) => n > 0), `every class appears in val: ${hist}`);
  assert(meanIoU > 0.95, `mIoU ${meanIoU} (${iou.map((v) => v.toFixed(3))})`);
});
