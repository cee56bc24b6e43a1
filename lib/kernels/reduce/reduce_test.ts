import { argmax, mean, requestDevice, sum, tensor } from "../../../mod.ts";
import { checkOp, randn, uploaded, webGpuTest } from "../../../tests/harness.ts";
import { assertAlmostEquals, assertClose, assertEquals } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

/** x seen as `[outer, len, inner]`: the arguments of the reduce kernels. */
const axis = (x: Float32Array, outer: number, len: number, inner: number) => ({
  x,
  outer,
  len,
  inner,
});

Deno.test("reference sum along each axis of [2, 3, 4]", () => {
  const x = Float32Array.from({ length: 24 }, (_, i) => i);
  assertEquals(Array.from(ref.sum(axis(x, 1, 24, 1))), [276]);
  assertEquals(
    Array.from(ref.sum(axis(x, 1, 2, 12))),
    Array.from({ length: 12 }, (_, i) => 2 * i + 12),
  );
  assertEquals(
    Array.from(ref.sum(axis(x, 2, 3, 4))),
    [12, 15, 18, 21, 48, 51, 54, 57],
  );
  assertEquals(Array.from(ref.sum(axis(x, 6, 4, 1))), [6, 22, 38, 54, 70, 86]);
  assertEquals(Array.from(ref.sum(axis(x, 2, 0, 3))), [0, 0, 0, 0, 0, 0]);
});

Deno.test("reference broadcast repeats rows along the new axis", () => {
  const x = Float32Array.from([1, 2, 3, 4]);
  assertEquals(Array.from(ref.broadcast(axis(x, 2, 3, 2))), [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
});

Deno.test("reference argmax takes the first max and lets NaN win", () => {
  const x = Float32Array.from([1, 3, 3, 0, 2, 5, 5, 1, NaN, 0, 7, NaN]);
  // [outer 2, len 3, inner 2]
  assertEquals(Array.from(ref.argmax(axis(x, 2, 3, 2))), [1, 2, 1, 2]);
  assertEquals(Array.from(ref.argmax(axis(x.subarray(0, 4), 1, 4, 1))), [1]);
});

Deno.test("reference sum of 4M elements keeps f32 accuracy", () => {
  const n = 1 << 22;
  const x = new Float32Array(n).fill(0.1);
  const want = n * Math.fround(0.1);
  assertAlmostEquals(ref.sum(axis(x, 1, n, 1))[0], want, want * 1e-7);
});

Deno.test("sum and mean match the reference on every backend, with finite differences", async () => {
  const shape = [2, 3, 4];
  await checkOp("sum all", [{ shape }], ([x]) => sum(x), { finiteDifferences: true });
  await checkOp("mean all", [{ shape }], ([x]) => mean(x), { finiteDifferences: true });
  for (const dim of [0, 1, 2, -1]) {
    await checkOp(`sum dim ${dim}`, [{ shape }], ([x]) => sum(x, dim), { finiteDifferences: true });
    await checkOp(`mean dim ${dim}`, [{ shape }], ([x]) => mean(x, dim), {
      finiteDifferences: true,
    });
  }
  await checkOp("sum of a long row", [{ shape: [3, 5000] }], ([x]) => sum(x, 1), {
    atol: 1e-3,
  });
  await checkOp("sum of long columns", [{ shape: [2, 700, 9] }], ([x]) => sum(x, 1), {
    atol: 1e-3,
  });
});

Deno.test("sum and mean give known values", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(Float32Array.from({ length: 6 }, (_, i) => i + 1), [2, 3], device);
  assertEquals(await sum(x).item(), 21);
  assertEquals(await mean(x).item(), 3.5);
  assertEquals(Array.from(await sum(x, 0).toArray()), [5, 7, 9]);
  assertEquals(Array.from(await mean(x, 1).toArray()), [2, 5]);
});

Deno.test("argmax matches the reference on every backend", async () => {
  const ties = new Float32Array([0, 1, 2, 1, 2, 1, 5, 0, 4, 3, 5, 3]);
  await checkOp("argmax ties", [{ shape: [2, 3, 2], data: ties }], ([x]) => argmax(x, 1), {
    noGrad: true,
  });
  for (const dim of [0, 1, 2]) {
    await checkOp(`argmax dim ${dim}`, [{ shape: [3, 4, 5] }], ([x]) => argmax(x, dim), {
      noGrad: true,
    });
  }
  const device = await requestDevice({ backend: "cpu" });
  const y = argmax(tensor(ties, [2, 3, 2], device), 1);
  assertEquals(y.dtype, "i32");
  assertEquals(Array.from(await y.toArray()), [1, 0, 0, 1]);
});

webGpuTest(
  "WebGPU reduce kernels split work to fit a 4 KiB binding limit",
  { maxBindingBytes: 4096 },
  async (b) => {
    const shapes: [number, number, number][] = [
      [5, 100, 1], // whole rows per binding
      [3, 2500, 1], // rows longer than a binding: segments
      [1, 70000, 1], // three passes
      [4, 20, 7], // whole blocks of columns
      [2, 300, 9], // runs of column blocks
      [3, 4, 600], // two rows do not fit: added one by one
      [2, 3, 1100], // one row does not fit
      [1, 1, 5],
      [2, 0, 3],
    ];
    for (const [o, l, i] of shapes) {
      const name = `[${o}, ${l}, ${i}]`;
      if (l === 0) {
        const s = b.sum({ x: b.upload(new Float32Array(0)), outer: o, len: l, inner: i });
        assertEquals(Array.from(await b.read(s)), new Array(o * i).fill(0));
        continue;
      }
      const a = axis(randn(o * l * i, o * 7 + l * 3 + i), o, l, i);
      const s = b.sum(uploaded(b, a));
      assertClose(await b.read(s), ref.sum(a), { atol: 1e-4, rtol: 1e-5, name: `sum ${name}` });
      assertEquals(await b.read(b.argmax(uploaded(b, a))), ref.argmax(a), `argmax ${name}`);
      const small = { ...a, x: a.x.subarray(0, o * i) };
      const br = b.broadcast(uploaded(b, small));
      assertEquals(await b.read(br), ref.broadcast(small), `broadcast ${name}`);
    }
  },
);

webGpuTest("WebGPU full sum of 2M elements stays accurate", {}, async (b) => {
  const n = 1 << 21;
  const data = randn(n, 5, 0, 1);
  const want = data.reduce((a, v) => a + v, 0);
  const s = b.sum({ x: b.upload(data), outer: 1, len: n, inner: 1 });
  const got = (await b.read(s))[0];
  assertAlmostEquals(got, want, Math.abs(want) * 2e-7, "full sum");
});
