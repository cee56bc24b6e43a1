import { matmul } from "../../../mod.ts";
import type { Backend } from "../../device/backend.ts";
import { requestDevice } from "../../device/request.ts";
import type { WebGpuBackend } from "../../backends/webgpu.ts";
import { assert, assertClose, assertEquals } from "../../../tests/assert.ts";
import { checkOp, devices, hasWebGpu, randn } from "../../../tests/harness.ts";
import { directConv } from "../conv/webgpu/direct.ts";
import { planBlocks, ranges, span } from "./blocks.ts";
import * as ref from "./reference.ts";
import { asConv, DIRECT_TILES } from "./webgpu.ts";

Deno.test("matmul reference: hand-computed products in every layout", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = new Float32Array([7, 8, 9, 10, 11, 12]); // [3, 2]
  const want = new Float32Array([58, 64, 139, 154]);
  assertEquals(ref.matmul(a, b, 2, 3, 2, false, false), want);
  const at = new Float32Array([1, 4, 2, 5, 3, 6]); // a stored [3, 2]
  const bt = new Float32Array([7, 9, 11, 8, 10, 12]); // b stored [2, 3]
  assertEquals(ref.matmul(at, b, 2, 3, 2, true, false), want);
  assertEquals(ref.matmul(a, bt, 2, 3, 2, false, true), want);
  assertEquals(ref.matmul(at, bt, 2, 3, 2, true, true), want);
});

Deno.test("matmul reference: rejects buffers of the wrong size", () => {
  let msg = "";
  try {
    ref.matmul(new Float32Array(5), new Float32Array(6), 2, 3, 2, false, false);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertEquals(msg, "matmul: expected a of 6 elements [2, 3] but got 5");
});

Deno.test("planBlocks: shrinks outer dimensions first and fits every window", () => {
  const windows = [
    { name: "a", outer: "m", stride: 300, inner: "k", unit: 1 },
    { name: "b", outer: "k", stride: 7, inner: "n", unit: 1 },
    { name: "c", outer: "m", stride: 7, inner: "n", unit: 1 },
  ];
  const b = planBlocks({ m: 10, k: 300, n: 7 }, windows, 1000);
  assertEquals(b, { m: 3, k: 142, n: 7 });
  for (const w of windows) assertEquals(span(w, b) <= 1000, true);
  assertEquals(ranges(10, 3), [[0, 3], [3, 3], [6, 3], [9, 1]]);
  assertEquals(ranges(0, 3), [[0, 0]]);
});

Deno.test("matmul: forward and gradients on every backend, odd sizes", async () => {
  for (const [m, k, n, seed] of [[1, 1, 1, 1], [5, 7, 3, 2], [13, 33, 9, 3], [4, 70, 300, 4]]) {
    const compared = await checkOp(
      `matmul ${m}x${k}x${n}`,
      [{ shape: [m, k] }, { shape: [k, n] }],
      ([a, b]) => matmul(a, b),
      { seed },
    );
    assertEquals(compared.length, (await devices()).size - 1);
  }
});

Deno.test("matmul: finite differences on a tiny product", async () => {
  await checkOp("matmul fd", [{ shape: [3, 4] }, { shape: [4, 2] }], ([a, b]) => matmul(a, b), {
    finiteDifferences: true,
  });
});

/** Runs the backend's matmul on host data and reads the result. */
async function run(
  b: Backend,
  a: Float32Array,
  bm: Float32Array,
  dims: [number, number, number, boolean, boolean],
) {
  const sa = b.upload(a), sb = b.upload(bm);
  const [m, k, n, transA, transB] = dims;
  const sc = b.matmul({ a: sa, b: sb, m, k, n, transA, transB });
  const out = await b.read(sc);
  for (const s of [sa, sb, sc]) b.free(s);
  return out;
}

Deno.test({
  name: "matmul on WebGPU: chunked over rows, columns and K with a 4 KiB binding limit",
  ignore: !hasWebGpu,
  fn: async () => {
    const device = await requestDevice({ backend: "webgpu", maxBindingBytes: 4096 });
    const rt = (device.backend as WebGpuBackend).rt;
    try {
      // 4 KiB holds ~1000 floats: every operand below needs several windows.
      const cases: [number, number, number][] = [[37, 45, 29], [3, 1500, 2], [2, 3, 2100]];
      for (const [m, k, n] of cases) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          const a = randn(m * k, m + k), bm = randn(k * n, k + n);
          const before = rt.dispatchCount;
          const got = await run(device.backend, a, bm, [m, k, n, ta, tb]);
          assert(rt.dispatchCount - before > 1, `${m}x${k}x${n}: expected several chunks`);
          assertClose(got, ref.matmul(a, bm, m, k, n, ta, tb), {
            atol: 1e-4,
            rtol: 1e-4,
            name: `matmul ${m}x${k}x${n} transA=${ta} transB=${tb}`,
          });
        }
      }
      // An empty reduction gives zeros.
      const z = await run(device.backend, new Float32Array(0), new Float32Array(0), [
        2,
        0,
        3,
        false,
        false,
      ]);
      assertEquals(z, new Float32Array(6));
    } finally {
      device.destroy();
    }
  },
});

Deno.test({
  name: "matmul on WebGPU: the direct path with every candidate tile",
  ignore: !hasWebGpu,
  fn: async () => {
    const device = await requestDevice({ backend: "webgpu" });
    const b = device.backend as WebGpuBackend;
    try {
      // N a multiple of 4 (vec4 loads and stores) or not; M not a multiple of the tiles.
      const cases: [number, number, number][] = [[37, 45, 29], [21, 70, 64], [5, 300, 7]];
      for (const [m, k, n] of cases) {
        for (const transA of [false, true]) {
          const a = randn(m * k, m + k), bm = randn(k * n, k + n);
          const want = ref.matmul(a, bm, m, k, n, transA, false);
          for (const t of DIRECT_TILES) {
            const sa = b.upload(a), sb = b.upload(bm);
            const c = directConv(b.rt, sb, sa, null, asConv(m, k, n), false, transA, t);
            assertClose(await b.read(c) as Float32Array, want, {
              atol: 1e-4,
              rtol: 1e-4,
              name: `matmul ${m}x${k}x${n} transA=${transA} tile ${JSON.stringify(t)}`,
            });
            for (const s of [sa, sb, c]) b.free(s);
          }
          // The public entry takes the direct path too.
          assertClose(await run(b, a, bm, [m, k, n, transA, false]), want, {
            atol: 1e-4,
            rtol: 1e-4,
            name: `matmul ${m}x${k}x${n} transA=${transA}`,
          });
        }
      }
    } finally {
      device.destroy();
    }
  },
});
