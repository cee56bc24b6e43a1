import { requestDevice } from "../device/request.ts";
import { collate, epochOrder } from "./loader.ts";
import { VocDataset } from "./voc.ts";
import { SYNTHETIC, writeVoc } from "./_fixtures_test.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

const OPTIONS = { crop: 32, baseSize: 40 };

async function collect(data: VocDataset, options: Parameters<VocDataset["hostBatches"]>[0]) {
  const out = [];
  for await (const b of data.hostBatches(options)) out.push(b);
  return out;
}

Deno.test("loader: batches are identical inline and in workers, for a seed and epoch", async () => {
  const data = await VocDataset.open(SYNTHETIC, { split: "val", ...OPTIONS });
  const opts = { batchSize: 4, seed: 9, epoch: 3, train: true };
  const inline = await collect(data, { ...opts, workers: 0 });
  const pooled = await collect(data, { ...opts, workers: 2, prefetch: 1 });
  assertEquals(inline.length, 8);
  assertEquals(inline[7].shape, [2, 32, 32]);
  for (let i = 0; i < inline.length; i++) {
    assertEquals(pooled[i].ids, inline[i].ids);
    assertEquals(pooled[i].images, inline[i].images);
    assertEquals(pooled[i].masks, inline[i].masks);
  }
  const ids = inline.flatMap((b) => b.ids);
  assertEquals(new Set(ids).size, 30);
  assert(ids.join() !== data.samples.map((s) => s.id).join(), "shuffled");
  const other = await collect(data, { ...opts, epoch: 4, workers: 0 });
  assert(other[0].ids.join() !== inline[0].ids.join(), "each epoch has its own order");
});

Deno.test("loader: resuming at a batch gives the rest of the epoch; dropLast", async () => {
  const data = await VocDataset.open(SYNTHETIC, { split: "val", ...OPTIONS });
  const opts = { batchSize: 4, seed: 1, epoch: 0, train: true, workers: 0 };
  const full = await collect(data, opts);
  const tail = await collect(data, { ...opts, startBatch: 5 });
  assertEquals(tail.length, 3);
  assertEquals(tail[0].images, full[5].images);
  assertEquals(tail[2].masks, full[7].masks);
  const dropped = await collect(data, { ...opts, dropLast: true });
  assertEquals(dropped.map((b) => b.shape[0]), [4, 4, 4, 4, 4, 4, 4]);
  assertEquals(epochOrder(5, 1, 0, false), [0, 1, 2, 3, 4]);
  assertEquals(epochOrder(5, 1, 0, true), epochOrder(5, 1, 0, true));
});

Deno.test("loader: a sample's augmentation depends on (seed, epoch, index), not on its batch", async () => {
  const data = await VocDataset.open(SYNTHETIC, { split: "val", ...OPTIONS });
  const opts = { seed: 5, epoch: 2, train: true, workers: 0 };
  const byFour = await collect(data, { ...opts, batchSize: 4 });
  const byThree = await collect(data, { ...opts, batchSize: 3 });
  const order = epochOrder(data.length, 5, 2, true);
  assertEquals(byFour.flatMap((b) => b.indices), order);
  assertEquals(byThree.flatMap((b) => b.indices), order);
  assertEquals(byFour[1].ids, byFour[1].indices.map((i) => data.samples[i].id));
  // Order position 5: the second sample of byFour[1] and the last of byThree[1].
  const image = (b: (typeof byFour)[number], k: number) => {
    const n = b.images.length / b.shape[0];
    return Array.from(b.images.subarray(k * n, (k + 1) * n));
  };
  assertEquals(image(byFour[1], 1), image(byThree[1], 2));
});

Deno.test("loader: epochs advance on each call unless given", async () => {
  const data = await VocDataset.open(SYNTHETIC, { split: "val", ...OPTIONS });
  const a = await collect(data, { batchSize: 30, train: true, workers: 0 });
  const b = await collect(data, { batchSize: 30, train: true, workers: 0 });
  const again = await collect(data, { batchSize: 30, train: true, workers: 0, epoch: 0 });
  assert(a[0].ids.join() !== b[0].ids.join());
  assertEquals(again[0].ids, a[0].ids);
  assertEquals(again[0].images, a[0].images);
});

Deno.test("loader: samples of different sizes are padded with 0 and 255", () => {
  const small = {
    id: "s",
    width: 2,
    height: 1,
    image: new Float32Array([1, 2, 3, 4, 5, 6]),
    mask: new Uint8Array([1, 2]),
  };
  const big = {
    id: "b",
    width: 3,
    height: 2,
    image: new Float32Array(18).fill(9),
    mask: new Uint8Array(6).fill(4),
  };
  const batch = collate([small, big]);
  assertEquals(batch.shape, [2, 2, 3]);
  assertEquals(Array.from(batch.masks.subarray(0, 6)), [1, 2, 255, 255, 255, 255]);
  assertEquals(Array.from(batch.images.subarray(0, 18)), [
    1,
    2,
    0,
    0,
    0,
    0,
    3,
    4,
    0,
    0,
    0,
    0,
    5,
    6,
    0,
    0,
    0,
    0,
  ]);
  assertEquals(Array.from(batch.masks.subarray(6)), [4, 4, 4, 4, 4, 4]);
  assertEquals(batch.ids, ["s", "b"]);
});

Deno.test("loader: eval batches keep sizes and pad; tensors on a device", async () => {
  const data = await VocDataset.open(SYNTHETIC, { split: "val", keepResolution: true });
  const device = await requestDevice({ backend: "cpu" });
  let n = 0;
  for await (const { images, masks, ids } of data.batches({ batchSize: 3, device, workers: 1 })) {
    const [b, , h, w] = images.shape;
    assertEquals([masks.shape, masks.dtype, images.dtype], [[b, h, w], "i32", "f32"]);
    const sizes = await Promise.all(
      ids.map(async (_, i) => (await data.read(data.samples.findIndex((s) => s.id === ids[i])))),
    );
    assertEquals([h, w], [
      Math.max(...sizes.map((s) => s.mask.height)),
      Math.max(...sizes.map((s) => s.mask.width)),
    ]);
    const m = await masks.toArray();
    const first = sizes[0].mask;
    // Row 0 of sample 0 is its mask row, then 255 padding up to the batch width.
    assertEquals(
      Array.from(m.subarray(0, first.width)),
      Array.from(first.data.subarray(0, first.width)),
    );
    assert(m.subarray(first.width, w).every((v) => v === 255));
    images.dispose();
    masks.dispose();
    n += b;
  }
  assertEquals(n, 30);
  device.destroy();
});

Deno.test("loader: a bad sample fails the iteration with its file named, in workers too", async () => {
  const dir = await Deno.makeTempDir();
  const voc = await writeVoc(dir, [
    { id: "ok", width: 8, height: 8 },
    { id: "bad", width: 8, height: 8, maskSize: [8, 7] },
  ], { train: ["ok", "bad"] });
  const data = await VocDataset.open(dir, OPTIONS);
  for (const workers of [0, 1]) {
    await assertRejects(
      () => collect(data, { batchSize: 1, workers, shuffle: false }),
      `mask ${voc}/SegmentationClass/bad.png is 8x7`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loader: the seed given to open() is the batches' default seed", async () => {
  const seeded = await VocDataset.open(SYNTHETIC, { split: "val", seed: 9, ...OPTIONS });
  const plain = await VocDataset.open(SYNTHETIC, { split: "val", ...OPTIONS });
  const opts = { batchSize: 30, train: true, workers: 0, epoch: 2 };
  const a = await collect(seeded, opts), b = await collect(plain, { ...opts, seed: 9 });
  assertEquals(a[0].ids, b[0].ids);
  assertEquals(a[0].images, b[0].images);
});
