import { crop, interpolate, requestDevice, tensor } from "../../../mod.ts";
import type { Planes } from "../../device/backend.ts";
import { checkOp, hasWebGpu, randn, webGpuTest } from "../../../tests/harness.ts";
import { assert, assertAlmostEquals, assertClose, assertEquals } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

const planes = (n: number, c: number, h: number, w: number): Planes => ({ n, c, h, w });
const row = (...v: number[]) => Float32Array.from(v);

Deno.test("reference interpolate: 1-D values by hand, both corner rules", () => {
  // [input row, output width, aligned corners, expected, atol (0: exact)]
  const cases: [number[], number, boolean, number[], number][] = [
    [[0, 1], 4, false, [0, 0.25, 0.75, 1], 0],
    [[0, 1], 4, true, [0, 1 / 3, 2 / 3, 1], 1e-7],
    // 3 -> 5, align false: src = (d + 0.5) * 0.6 - 0.5 = [-0.2 -> 0, 0.4, 1, 1.6, 2.2]
    [[0, 1, 4], 5, false, [0, 0.4, 1, 2.8, 4], 1e-6],
    // downsampling 4 -> 2: src = [0.5, 2.5] (align false), [0, 3] (align true)
    [[0, 1, 2, 3], 2, false, [0.5, 2.5], 0],
    [[0, 1, 2, 3], 2, true, [0, 3], 0],
    // one output: the first input with aligned corners, the centre otherwise
    [[0, 1, 2, 3], 1, true, [0], 0],
    [[0, 1, 2, 3], 1, false, [1.5], 0],
  ];
  for (const [x, ow, alignCorners, want, atol] of cases) {
    const y = ref.interpolate({
      x: row(...x),
      planes: planes(1, 1, 1, x.length),
      oh: 1,
      ow,
      alignCorners,
    });
    if (atol === 0) assertEquals(Array.from(y), want);
    else assertClose(y, want, { atol });
  }
});

Deno.test("reference interpolate: 2x2 -> 3x3 with aligned corners", () => {
  const y = ref.interpolate({
    x: row(0, 1, 2, 3),
    planes: planes(1, 1, 2, 2),
    oh: 3,
    ow: 3,
    alignCorners: true,
  });
  assertEquals(Array.from(y), [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3]);
});

Deno.test("reference interpolateGrad is the exact adjoint of interpolate", () => {
  for (const [h, w, oh, ow] of [[5, 7, 11, 13], [9, 8, 4, 3], [3, 4, 24, 32], [1, 3, 4, 1]]) {
    for (const align of [false, true]) {
      const p = planes(2, 3, h, w);
      const x = randn(2 * 3 * h * w, h * 7 + w);
      const dy = randn(2 * 3 * oh * ow, oh * 7 + ow);
      const y = ref.interpolate({ x, planes: p, oh, ow, alignCorners: align });
      const dx = ref.interpolateGrad({ dy, planes: p, oh, ow, alignCorners: align });
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
  assertEquals(Array.from(ref.crop({ x, planes: p, oh: 1, ow: 2, top: 1, left: 1 })), [
    5,
    6,
    11,
    12,
  ]);
  assertEquals(
    Array.from(ref.cropGrad({ dy: row(5, 6, 11, 12), planes: p, oh: 1, ow: 2, top: 1, left: 1 })),
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

webGpuTest(
  "WebGPU resize kernels split storages larger than one binding over planes",
  { maxBindingBytes: 4096 },
  async (b) => {
    const before = b.rt.pipelineCount;
    // 30 planes of 7x9 (1890 elements) <-> 13x17 (6630), bindings hold 1016 elements
    const p = planes(3, 10, 7, 9);
    const x = randn(30 * 63, 1), xs = b.upload(x);
    // up to 13x17 and down to 5x4, each with its own dy
    for (const [oh, ow, seed] of [[13, 17, 2], [5, 4, 3]]) {
      const dy = randn(30 * oh * ow, seed);
      for (const alignCorners of [false, true]) {
        const a = { planes: p, oh, ow, alignCorners };
        const y = b.interpolate({ x: xs, ...a });
        assertClose(await b.read(y), ref.interpolate({ x, ...a }), { atol: 1e-5 });
        const dx = b.interpolateGrad({ dy: b.upload(dy), ...a });
        assertClose(await b.read(dx), ref.interpolateGrad({ dy, ...a }), { atol: 1e-5 });
      }
    }
    const window = { planes: p, oh: 4, ow: 5, top: 2, left: 3 };
    assertEquals(await b.read(b.crop({ x: xs, ...window })), ref.crop({ x, ...window }));
    const dyc = randn(30 * 20, 4);
    assertEquals(
      await b.read(b.cropGrad({ dy: b.upload(dyc), ...window })),
      ref.cropGrad({ dy: dyc, ...window }),
    );
    // one pipeline per kernel, whatever the sizes and corner rule
    assertEquals(b.rt.pipelineCount - before, 4);
  },
);
