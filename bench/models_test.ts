import { assert, assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { MODEL_CONFIGS, modelCase } from "./cases.ts";
import { benchModels } from "./models.ts";

/** Tiny stand-ins of the three model kinds, fast on the reference backend. */
const TINY = {
  fcn8s: { ...MODEL_CONFIGS.fcn8s, options: { numClasses: 3, width: 1 / 32, headChannels: 8 } },
  fcn8s_small: {
    ...MODEL_CONFIGS.fcn8s_small,
    options: { numClasses: 3, width: 1 / 64, headChannels: 4 },
  },
  fcn_resnet50: {
    ...MODEL_CONFIGS.fcn_resnet50,
    options: {
      numClasses: 3,
      width: 1 / 32,
      aux: false,
      layers: [1, 1, 1, 1] as [number, number, number, number],
    },
  },
};

Deno.test("benchModels times forward and train steps and sees the training step's larger peak", async () => {
  const cases = [modelCase("fcn8s", 32, 1, "forward"), modelCase("fcn8s", 32, 1, "train")];
  const rs = await benchModels("cpu", cases, {
    timing: { warmup: 1, reps: 1 },
    capMs: 60_000,
    configs: TINY,
  });
  assertEquals(rs.map((r) => [r.id, r.pass, r.impl, r.section]), [
    ["fcn8s/32/b1/forward", "forward", "cpu", "models"],
    ["fcn8s/32/b1/train", "train", "cpu", "models"],
  ]);
  for (const r of rs) {
    assert(r.ms! > 0 && r.peakBytes! > 0, JSON.stringify(r));
    assertAlmostEquals(r.imagesPerSec!, 1000 / r.ms!, 1e-9);
  }
  // Gradients, momentum and the kept activations come on top of the weights.
  assert(rs[1].peakBytes! > rs[0].peakBytes!, `${rs[1].peakBytes} <= ${rs[0].peakBytes}`);
});

Deno.test("benchModels skips what is estimated above the cap, and what `skip` names", async () => {
  const cases = [
    modelCase("fcn8s", 32, 1, "forward"),
    modelCase("fcn8s", 32 * 64, 4, "train"), // 64^2 * 4 * 3 times the first
    modelCase("fcn_resnet50", 32, 1, "forward"),
  ];
  const rs = await benchModels("cpu", cases, {
    timing: { warmup: 0, reps: 1 },
    capMs: 60_000,
    configs: TINY,
    skip: (c) => c.model === "fcn_resnet50" ? "skipped: not today" : null,
  });
  assertEquals(rs[0].ms! > 0, true);
  assert(rs[1].note!.startsWith("skipped: ~") && rs[1].ms === undefined, rs[1].note);
  assertEquals(rs[2].note, "skipped: not today");
});
