import { crop, interpolate, requestDevice, tensor } from "../../../mod.ts";
import type { Planes } from "../../device/backend.ts";
import type { WebGpuBackend } from "../../backends/webgpu.ts";
import { checkOp, hasWebGpu, randn } from "../../../tests/harness.ts";
import { assert, assertAlmostEquals, assertClose, assertEquals } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

const planes = (n: number, c: number, h: number, w: number): Planes => ({ n, c, h, w });
const row = (...v: number[]) => Float32Array.from(v);

Deno.test("reference interpolate: 1-D values by hand, both corner rules", () => {
  const p = planes(1, 1, 1, 2);
  assertEquals(Array.from(ref.interpolate(row(0, 1), p, 1, 4, false)), [0, 0.25, 0.75, 1]);
  assertClose(ref.interpolate(row(0, 1), p, 1, 4, true), [0, 1 / 3, 2 / 3, 1], { atol: 1e-7 });
  // 3 -> 5, align false: src = (d + 0.5) * 0.6 - 0.5 = [-0.2 -> 0, 0.4, 1, 1.6, 2.2]
  assertClose(ref.interpolate(row(0, 1, 4), planes(1, 1, 1, 3), 1, 5, false), [0, 0.4, 1, 2.8, 4], {
    atol: 1e-6,
  });
  // downsampling 4 -> 2: src = [0.5, 2.5] (align false), [0, 3] (align true)
  const q = planes(1, 1, 1, 4);
  assertEquals(Array.from(ref.interpolate(row(0, 1, 2, 3), q, 1, 2, false)), [0.5, 2.5]);
  assertEquals(Array.from(ref.interpolate(row(0, 1, 2, 3), q, 1, 2, true)), [0, 3]);
  // one output: the first input with aligned corners, the centre otherwise
  assertEquals(Array.from(ref.interpolate(row(0, 1, 2, 3), q, 1, 1, true)), [0]);
  assertEquals(Array.from(ref.interpolate(row(0, 1, 2, 3), q, 1, 1, false)), [1.5]);
});

Deno.test("reference interpolate: 2x2 -> 3x3 with aligned corners", () => {
  const y = ref.interpolate(row(0, 1, 2, 3), planes(1, 1, 2, 2), 3, 3, true);
  assertEquals(Array.from(y), [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
});

Deno.test("reference interpolateGrad is the exact adjoint of interpolate", () => {
  for (const [h, w, oh, ow] of [[5, 7, 11, 13], [9, 8, 4, 3], [3, 4, 24, 32], [1, 3, 4, 1]]) {
    for (const align of [false, true]) {
      const p = planes(2, 3, h, w);
      const x = randn(2 * 3 * h * w, h * 7 + w);
      const dy = randn(2 * 3 * oh * ow, oh * 7 + ow);
      const y = ref.interpolate(x, p, oh, ow, align);
      const dx = ref.interpolateGrad(dy, p, oh, ow, align);
      let lhs = 0, rhs = 0;
      y.forEach((v, i) => lhs += v * dy[i]);
      dx.forEach((v, i) => rhs += v * x[i]);
      assertAlmostEquals(lhs, rhs, 1e-4 * (1 + Math.abs(lhs)), `${h}x${w} -> ${oh}x${ow}`);
    }
  }
});

Deno.test("reference crop and cropGrad by hand", () => {
  const p = planes(1, 2, 2, 3);
  const x = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  assertEquals(Array.from(ref.crop(x, p, 1, 2, 1, 1)), [5, 6, 11, 12]);
  assertEquals(
    Array.from(ref.cropGrad(row(5, 6, 11, 12), p, 1, 2, 1, 1)),
    [0, 0, 0, 0, 5, 6, 0, 0, 0, 0, 11, 12],
  );
});

Deno.test("interpolate and crop ops: shapes and values", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(row(0, 1, 2, 3), [1, 1, 2, 2], device);
  const y = interpolate(x, { size: [3, 3], alignCorners: true });
  assertEquals(y.shape, [1, 1, 3, 3]);
  assertEquals((await y.toArray())[4], 1.5);
  assertEquals(Array.from(await crop(y, 2, 2, 1, 1).toArray()), [1.5, 2, 2.5, 3]);
});

const resizeCases: [number[], [number, number]][] = [
  [[2, 3, 5, 7], [11, 13]], // up, odd sizes, batch 2
  [[1, 2, 9, 8], [4, 3]], // down
  [[1, 2, 3, 4], [24, 32]], // x8 as FCN-8s
  [[1, 2, 4, 5], [1, 1]], // to one pixel
  [[1, 1, 1, 3], [4, 5]], // from one row
  [[1, 2, 4, 4], [4, 4]], // identity
  [[2, 1, 6, 3], [3, 7]], // down in H, up in W
];

Deno.test("interpolate matches the reference on every backend, forward and backward", async () => {
  for (const [shape, size] of resizeCases) {
    for (const alignCorners of [false, true]) {
      const compared = await checkOp(
        `interpolate ${shape} -> ${size} align ${alignCorners}`,
        [{ shape }],
        ([x]) => interpolate(x, { size, alignCorners }),
      );
      assert(!hasWebGpu || compared.includes("webgpu"), "WebGPU was not compared");
    }
  }
});

Deno.test("interpolate x32 (FCN-32s) matches the reference on every backend", async () => {
  await checkOp(
    "interpolate x32",
    [{ shape: [1, 2, 2, 3] }],
    ([x]) => interpolate(x, { size: [64, 96] }),
    { atol: 1e-3 },
  );
});

Deno.test("interpolate gradients pass finite differences", async () => {
  for (const [shape, size] of [[[1, 1, 3, 2], [4, 5]], [[1, 2, 4, 4], [3, 2]]] as const) {
    for (const alignCorners of [false, true]) {
      await checkOp(
        `interpolate fd ${shape}`,
        [{ shape: [...shape] }],
        ([x]) => interpolate(x, { size: [...size], alignCorners }),
        { finiteDifferences: true },
      );
    }
  }
});

Deno.test("crop matches the reference on every backend, with finite differences", async () => {
  await checkOp("crop 4x5 at (1, 2)", [{ shape: [2, 3, 6, 7] }], ([x]) => crop(x, 4, 5, 1, 2));
  await checkOp("crop 3x3 at the origin", [{ shape: [1, 2, 5, 4] }], ([x]) => crop(x, 3, 3));
  await checkOp("crop whole", [{ shape: [1, 1, 3, 3] }], ([x]) => crop(x, 3, 3));
  await checkOp("crop fd", [{ shape: [1, 2, 3, 4] }], ([x]) => crop(x, 2, 2, 1, 1), {
    finiteDifferences: true,
  });
});

Deno.test({
  name: "WebGPU resize kernels split storages larger than one binding over planes",
  ignore: !hasWebGpu,
  async fn() {
    const device = await requestDevice({ backend: "webgpu", maxBindingBytes: 4096 });
    const b = device.backend as WebGpuBackend;
    try {
      const before = b.rt.pipelineCount;
      // 30 planes of 7x9 (1890 elements) <-> 13x17 (6630), bindings hold 1016 elements
      const p = planes(3, 10, 7, 9);
      const x = randn(30 * 63, 1), dyUp = randn(30 * 221, 2), dyDown = randn(30 * 20, 3);
      const xs = b.upload(x);
      for (const align of [false, true]) {
        const up = b.interpolate({ x: xs, planes: p, oh: 13, ow: 17, alignCorners: align });
        assertClose(await b.read(up), ref.interpolate(x, p, 13, 17, align), { atol: 1e-5 });
        const gUp = b.interpolateGrad({
          dy: b.upload(dyUp),
          planes: p,
          oh: 13,
          ow: 17,
          alignCorners: align,
        });
        assertClose(await b.read(gUp), ref.interpolateGrad(dyUp, p, 13, 17, align), {
          atol: 1e-5,
        });
        const down = b.interpolate({ x: xs, planes: p, oh: 5, ow: 4, alignCorners: align });
        assertClose(await b.read(down), ref.interpolate(x, p, 5, 4, align), { atol: 1e-5 });
        const gDown = b.interpolateGrad({
          dy: b.upload(dyDown),
          planes: p,
          oh: 5,
          ow: 4,
          alignCorners: align,
        });
        assertClose(await b.read(gDown), ref.interpolateGrad(dyDown, p, 5, 4, align), {
          atol: 1e-5,
        });
      }
      const c = b.crop({ x: xs, planes: p, oh: 4, ow: 5, top: 2, left: 3 });
      assertEquals(await b.read(c), ref.crop(x, p, 4, 5, 2, 3));
      const dyc = randn(30 * 20, 4);
      assertEquals(
        await b.read(b.cropGrad({ dy: b.upload(dyc), planes: p, oh: 4, ow: 5, top: 2, left: 3 })),
        ref.cropGrad(dyc, p, 4, 5, 2, 3),
      );
      // one pipeline per kernel, whatever the sizes and corner rule
      assertEquals(b.rt.pipelineCount - before, 4);
    } finally {
      device.destroy();
    }
  },
});
