/**
 * `predict --tile/--overlap/--tta`: the masks it writes are lib/infer's (`inferMask` with the
 * same options), still segment the bundled validation images, and bad flags are usage errors.
 */
import { run } from "../lib/cli/main.ts";
import { inferFromFlags, parseTta } from "../lib/cli/infer_flags.ts";
import {
  ConfusionMatrix,
  createModel,
  inferMask,
  readImage,
  readMask,
  readSafetensors,
  requestDevice,
} from "../mod.ts";
import { assert, assertEquals, assertThrows } from "./assert.ts";
import { hasBlas } from "./harness.ts";

const backend = hasBlas ? "blas" : "cpu";

const voc = new URL("../fixtures/synthetic/VOCdevkit/VOC2012/", import.meta.url).pathname;
const bundled = new URL("../fixtures/model/", import.meta.url);
const ids = ["syn_000121", "syn_000122", "syn_000123"];

async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => {};
  try {
    return await fn();
  } finally {
    console.log = log;
  }
}

Deno.test("predict --tile --overlap --tta writes inferMask's masks, which still segment (mIoU >= 0.9)", async () => {
  const out = await Deno.makeTempDir({ prefix: "fcn_predict_tile_" });
  const images = ids.map((id) => `${voc}/JPEGImages/${id}.jpg`);
  const flags = ["--tile", "48", "--overlap", "0.25", "--tta", "flip,1.25"];
  const code = await quiet(() =>
    run(["predict", ...images, ...flags, "--out", out, "--backend", backend])
  );
  assertEquals(code, 0);
  const device = await requestDevice({ backend });
  const config = JSON.parse(await Deno.readTextFile(new URL("config.json", bundled))).model;
  const model = createModel(config.name, config, device);
  model.loadStateDict(
    readSafetensors(await Deno.readFile(new URL("best.safetensors", bundled))).tensors,
  );
  model.eval();
  const cm = new ConfusionMatrix(5);
  for (const [i, id] of ids.entries()) {
    const pred = await readMask(`${out}/${id}_mask.png`);
    const want = await inferMask(model, await readImage(images[i]), {
      tile: 48,
      overlap: 0.25,
      scales: [1, 1.25],
      flip: true,
    });
    assertEquals(pred.data, want.data, id);
    cm.update(pred.data, (await readMask(`${voc}/SegmentationClass/${id}.png`)).data);
  }
  const m = cm.compute();

  assert(m.meanIoU >= 0.9, `mIoU with tiles and TTA ${m.meanIoU}`);
  model.dispose();
  device.destroy();
  await Deno.remove(out, { recursive: true });
});

Deno.test("predict: bad --tile/--overlap/--tta values are usage errors (exit 2)", async () => {
  const image = `${voc}/JPEGImages/${ids[0]}.jpg`;
  const err = console.error;
  console.error = () => {};
  try {
    for (
      const bad of [
        ["--overlap", "0.5"],
        ["--tile", "64", "--overlap", "1"],
        ["--tile", "0"],
        ["--tta", "flip,mirror"],
        ["--tta", "flip,-1"],
      ]
    ) {
      assertEquals(await quiet(() => run(["predict", image, ...bad])), 2, bad.join(" "));
    }
  } finally {
    console.error = err;
  }
});

Deno.test("--tta: flip and scales, scale 1 always included", () => {
  assertEquals(parseTta("flip,0.75,1.25"), { flip: true, scales: [1, 0.75, 1.25] });
  assertEquals(parseTta("0.5, 1"), { flip: false, scales: [1, 0.5] });
  assertThrows(() => parseTta("flip,"), "neither");
  assertEquals(inferFromFlags({}), null);
  assertEquals(inferFromFlags({ tile: 512 }), { tile: 512, overlap: undefined });
});
