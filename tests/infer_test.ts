/**
 * Sliding-window and test-time-augmented inference (lib/infer) against PyTorch goldens
 * (scripts/make_tile_goldens.py, computed in float64): the same tiny FCN-ResNet and 8-bit image
 * give the same logits for tiles alone (one case with the image narrower than the tile), flip and
 * scales alone, and both together, on every available backend.
 *
 * Tolerance: `max|ours - ref| <= K * max(err, 2^-24 * max|ref|)` with `err` PyTorch's own float32
 * error of that case (stored beside it, 2.7e-6 to 4.4e-6 for logits up to 17; the largest
 * ratio measured here is 1.46, on WebGPU and BLAS), as in
 * tests/models_golden_test.ts.
 */
import {
  createModel,
  type Device,
  type FcnModel,
  inferLogits,
  inferMask,
  type InferOptions,
  normalize,
  readSafetensors,
  type RgbImage,
  type StateDict,
  tensor,
} from "../mod.ts";
import { devices } from "./harness.ts";
import { coverage, strideOf, windowStarts } from "../lib/infer/windows.ts";
import { assert, assertClose, assertEquals, assertRejects } from "./assert.ts";

/** How many times PyTorch's own float32 error a backend may be off by. */
const K = 4;

const dir = new URL("../fixtures/infer/", import.meta.url);
const read = async (name: string): Promise<StateDict> =>
  readSafetensors(await Deno.readFile(new URL(name, dir))).tensors;

/** The cases of scripts/make_tile_goldens.py. */
const cases: { name: string; size: [number, number]; options: InferOptions }[] = [
  { name: "tile", size: [45, 61], options: { tile: 24, overlap: 1 / 3 } },
  { name: "tile_narrow", size: [19, 70], options: { tile: 32, overlap: 0.25 } },
  { name: "tta", size: [37, 53], options: { scales: [1, 0.75, 1.25], flip: true } },
  {
    name: "tile_tta",
    size: [45, 61],
    options: { tile: 24, overlap: 0.25, scales: [1, 0.5, 1.5], flip: true },
  },
];

async function load(device: Device): Promise<FcnModel> {
  const model = createModel("fcn_resnet50", {
    numClasses: 4,
    width: 1 / 32,
    layers: [1, 1, 1, 1],
    aux: false,
    dropout: 0,
  }, device);
  model.loadStateDict(await read("model.safetensors"));
  return model.eval();
}

async function image([h, w]: [number, number]): Promise<RgbImage> {
  const t = (await read("image.safetensors"))[`image${h}x${w}`];
  assertEquals(t.shape, [h, w, 3]);
  return { width: w, height: h, data: Uint8Array.from(t.data) };
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

for (const [kind, device] of await devices()) {
  Deno.test(`infer: tile and TTA logits match PyTorch's (${kind})`, async () => {
    const model = await load(device);
    const golden = await read("logits.safetensors");
    for (const c of cases) {
      const ref = golden[c.name].data as Float32Array, err = golden[`err.${c.name}`].data[0];
      const out = await inferLogits(model, await image(c.size), c.options);
      assertEquals(out.shape, [1, 4, ...c.size]);
      const atol = K * Math.max(err, 2 ** -24 * maxAbs(ref));
      assertClose(await out.toArray(), ref, { atol, rtol: 0, name: `${c.name} on ${kind}` });
      out.dispose();
    }
    model.dispose();
  });
}

Deno.test("infer: the goldens tell tiles from the whole image, and flips/scales from none", async () => {
  const device = (await devices()).get("cpu")!;
  const model = await load(device);
  const golden = await read("logits.safetensors");
  const img = await image([45, 61]);
  const whole = await (await inferLogits(model, img)).toArray();
  const tiled = golden.tile.data, both = golden.tile_tta.data;
  let dTile = 0, dTta = 0;
  for (let i = 0; i < whole.length; i++) {
    dTile = Math.max(dTile, Math.abs(whole[i] - tiled[i]));
    dTta = Math.max(dTta, Math.abs(both[i] - tiled[i]));
  }
  // Far above the tolerance (K * err ~ 5e-5): a wrong window layout or pass would show.
  assert(dTile > 0.5 && dTta > 0.5, `differences ${dTile}, ${dTta}`);
  model.dispose();
});

Deno.test("infer: inferMask is the argmax of the logits; a normalised tensor gives the same logits", async () => {
  const device = (await devices()).get("cpu")!;
  const model = await load(device);
  const img = await image([45, 61]);
  const options = cases[3].options;
  const logits = await (await inferLogits(model, img, options)).toArray();
  const mask = await inferMask(model, img, options);
  const hw = 45 * 61;
  for (let p = 0; p < hw; p++) {
    let best = 0;
    for (let c = 1; c < 4; c++) if (logits[c * hw + p] > logits[best * hw + p]) best = c;
    assertEquals(mask.data[p], best, `pixel ${p}`);
  }
  const x = tensor(normalize(img), [1, 3, 45, 61], device);
  const fromTensor = await (await inferLogits(model, x, options)).toArray();
  assertClose(fromTensor, logits, { atol: 1e-5, rtol: 0, name: "tensor input" });
  model.dispose();
});

Deno.test("infer: bad options are errors that name the value", async () => {
  const device = (await devices()).get("cpu")!;
  const model = await load(device);
  const img = await image([19, 70]);
  await assertRejects(() => inferMask(model, img, { tile: 0 }), "tile to be an integer");
  await assertRejects(() => inferMask(model, img, { tile: 8, overlap: 1 }), "overlap in [0, 1)");
  await assertRejects(() => inferMask(model, img, { scales: [1, -2] }), "positive scales");
  const x = tensor(new Float32Array(6), [2, 3, 1, 1], device);
  await assertRejects(() => inferMask(model, x), "[1, 3, H, W]");
  model.dispose();
});

Deno.test("infer: window layout is mmsegmentation's (last window flush, short sides unpadded)", () => {
  assertEquals(strideOf(512, 1 / 3), 341);
  assertEquals(strideOf(100, 0.9), 10);
  assertEquals(windowStarts(45, 24, 16), [0, 16, 21]);
  assertEquals(windowStarts(61, 24, 16), [0, 16, 32, 37]);
  assertEquals(windowStarts(19, 19, 24), [0]);
  assertEquals(windowStarts(48, 24, 24), [0, 24]);
  const counts = Array.from(coverage([0, 16, 21], 24, 45)).slice(14, 26);
  assertEquals(counts.join(""), "112222233322");
});
