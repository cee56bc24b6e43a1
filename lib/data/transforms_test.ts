import { Rng } from "../random.ts";
import {
  cropPad,
  evalTransform,
  flipHorizontal,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
  resizeBilinear,
  resizeNearest,
  shorterSideSize,
  trainTransform,
} from "./transforms.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../../tests/assert.ts";

function gray(width: number, height: number, values: number[]) {
  return { width, height, data: new Uint8Array(values.flatMap((v) => [v, v, v])) };
}
const channel0 = (d: Uint8Array) => Array.from(d.filter((_, i) => i % 3 === 0));

Deno.test("transforms: bilinear resize with aligned pixel centres", () => {
  assertEquals(channel0(resizeBilinear(gray(2, 1, [0, 100]), 4, 1).data), [0, 25, 75, 100]);
  assertEquals(channel0(resizeBilinear(gray(4, 1, [0, 10, 20, 40]), 2, 1).data), [5, 30]);
  const up = resizeBilinear(gray(2, 2, [0, 100, 100, 200]), 4, 4);
  assertEquals(channel0(up.data).slice(4, 8), [25, 50, 100, 125]);
});

Deno.test("transforms: nearest mask resize, flip and crop/pad", () => {
  const m = { width: 2, height: 1, data: new Uint8Array([1, 2]) };
  assertEquals(Array.from(resizeNearest(m, 4, 1).data), [1, 1, 2, 2]);
  assertEquals(
    Array.from(
      resizeNearest({ width: 4, height: 1, data: new Uint8Array([1, 2, 3, 4]) }, 2, 1).data,
    ),
    [2, 4],
  );
  assertEquals(Array.from(flipHorizontal(m, 1).data), [2, 1]);
  assertEquals(channel0(flipHorizontal(gray(3, 1, [1, 2, 3]), 3).data), [3, 2, 1]);
  const grid = { width: 3, height: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  assertEquals(Array.from(cropPad(grid, 1, 1, 0, 2, 2, 9).data), [2, 3, 5, 6]);
  assertEquals(Array.from(cropPad(grid, 1, 1, 1, 3, 2, 255).data), [5, 6, 255, 255, 255, 255]);
  assertEquals(shorterSideSize(100, 50, 20), [40, 20]);
  assertEquals(shorterSideSize(30, 45, 20), [20, 30]);
});

Deno.test("transforms: normalise to CHW with ImageNet statistics", () => {
  const img = { width: 2, height: 1, data: new Uint8Array([255, 0, 51, 0, 255, 102]) };
  const out = normalize(img);
  const want = [255, 0, 0, 255, 51, 102].map((v, i) => {
    const c = Math.floor(i / 2);
    return (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
  });
  assertClose(out, want, { atol: 1e-5 });
});

Deno.test("transforms: train augmentation is seeded and keeps image and mask aligned", () => {
  // Columns of class 1 (value 40) and class 2 (value 200): mask and image must move together.
  const width = 40, height = 30;
  const values = Array.from({ length: width * height }, (_, i) => (i % width < 15 ? 40 : 200));
  const image = gray(width, height, values);
  const mask = { width, height, data: new Uint8Array(values.map((v) => (v === 40 ? 1 : 2))) };
  const opts = { crop: 24, baseSize: 30 };
  let flips = 0;
  for (let seed = 0; seed < 20; seed++) {
    const a = trainTransform(image, mask, new Rng(seed), opts);
    const b = trainTransform(image, mask, new Rng(seed), opts);
    assertEquals([a.width, a.height, a.image.length, a.mask.length], [24, 24, 3 * 576, 576]);
    assertEquals(a.image, b.image);
    assertEquals(a.mask, b.mask);
    let agree = 0, labelled = 0;
    for (let i = 0; i < 576; i++) {
      if (a.mask[i] === 255) continue;
      labelled++;
      const v = Math.round((a.image[i] * IMAGENET_STD[0] + IMAGENET_MEAN[0]) * 255);
      if ((a.mask[i] === 1 && v < 120) || (a.mask[i] === 2 && v > 120)) agree++;
    }
    assert(agree >= labelled - 24, `seed ${seed}: ${agree} of ${labelled} pixels agree`);
    // Class 1 is on the left before a flip: find where it is now.
    const row = Array.from(a.mask.subarray(0, 24));
    if (row.includes(1) && row.includes(2) && row.indexOf(1) > row.indexOf(2)) flips++;
  }
  assert(flips > 2 && flips < 18, `${flips} of 20 samples flipped`);
});

Deno.test("transforms: crops larger than the image pad with 0 and 255", () => {
  const image = gray(4, 4, new Array(16).fill(255));
  const mask = { width: 4, height: 4, data: new Uint8Array(16).fill(1) };
  const s = trainTransform(image, mask, new Rng(3), { crop: 10, baseSize: 4, scaleRange: [1, 1] });
  const ignored = s.mask.filter((v) => v === 255).length;
  assertEquals(ignored, 100 - 16);
  const pad = s.image[99]; // bottom-right of the red plane: padding
  assertClose([pad], [-IMAGENET_MEAN[0] / IMAGENET_STD[0]], { atol: 1e-6 });
  assertThrows(
    () => trainTransform(image, { width: 3, height: 4, data: new Uint8Array(12) }, new Rng(1)),
    "mask is 3x4",
  );
});

Deno.test("transforms: eval resizes the shorter side or keeps the resolution", () => {
  const image = gray(8, 4, new Array(32).fill(10));
  const mask = { width: 8, height: 4, data: new Uint8Array(32).fill(1) };
  const s = evalTransform(image, mask, { baseSize: 6 });
  assertEquals([s.width, s.height, s.mask.length], [12, 6, 72]);
  const k = evalTransform(image, mask, { baseSize: 6, keepResolution: true });
  assertEquals([k.width, k.height, k.image.length], [8, 4, 96]);
});
