/**
 * A small FCN-8s trained with mixed precision (`--amp`) on the bundled dataset ends within 0.02
 * mIoU of the same run in f32. Two full default runs (25 epochs each): it runs on the BLAS
 * backend, where they take about a minute each, and is skipped where BLAS is missing.
 */
import { train, TRAIN_FLAGS, type TrainSettings } from "../lib/cli/train.ts";
import { camel } from "../lib/cli/flags.ts";
import { devices } from "./harness.ts";
import { assert } from "./assert.ts";

const hasBlas = (await devices()).has("blas");

Deno.test({
  name: "train --amp reaches the f32 run's mIoU within 0.02 (seed 2, default settings)",
  ignore: !hasBlas,
  fn: async () => {
    const defaults = Object.fromEntries(
      TRAIN_FLAGS.filter((f) => f.default !== undefined).map((f) => [camel(f.name), f.default]),
    ) as unknown as TrainSettings;
    const dir = await Deno.makeTempDir({ prefix: "fcn_amp_" });
    const base = { ...defaults, seed: 2, backend: "blas", workers: 0, reportSamples: 0 };
    const f32 = await train({ ...base, out: `${dir}/f32` }, () => {});
    const amp = await train({ ...base, amp: true, out: `${dir}/amp` }, () => {});
    const gap = Math.abs(amp.best.meanIoU - f32.best.meanIoU);
    assert(f32.best.meanIoU >= 0.9, `f32 run mIoU ${f32.best.meanIoU}`);
    assert(gap <= 0.02, `amp ${amp.best.meanIoU} vs f32 ${f32.best.meanIoU}: gap ${gap}`);
    await Deno.remove(dir, { recursive: true });
  },
});
