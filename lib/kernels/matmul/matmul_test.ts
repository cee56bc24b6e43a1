import { matmul } from "../../../mod.ts";
import type { Backend, HostArray } from "../../device/backend.ts";
import { assert, assertClose, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { checkOp, devices, randn, uploaded, webGpuTest } from "../../../tests/harness.ts";
import { directConv } from "../conv/webgpu/direct.ts";
import { planBlocks, ranges, span } from "./blocks.ts";
import * as ref from "./reference.ts";
import { asConv, DIRECT_TILES } from "./webgpu.ts";

Deno.test("matmul reference: hand-computed products in every layout", () => {
  const a = new Float32Array([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = new Float32Array([7, 8, 9, 10, 11, 12]); // [3, 2]
  const want = new Float32Array([58, 64, 139, 154]);
  assertEquals(ref.matmul({ a, b, m: 2, k: 3, n: 2, transA: false, transB: false }), want);
  const at = new Float32Array([1, 4, 2, 5, 3, 6]); // a stored [3, 2]
  const bt = new Float32Array([7, 9, 11, 8, 10, 12]); // b stored [2, 3]
  assertEquals(ref.matmul({ a: at, b, m: 2, k: 3, n: 2, transA: true, transB: false }), want);
  assertEquals(ref.matmul({ a, b: bt, m: 2, k: 3, n: 2, transA: false, transB: true }), want);
  assertEquals(ref.matmul({ a: at, b: bt, m: 2, k: 3, n: 2, transA: true, transB: true }), want);
});

Deno.test("matmul reference: rejects buffers of the wrong size", () => {
  const [a, b] = [new Float32Array(5), new Float32Array(6)];
  const e = assertThrows(() =>
    ref.matmul({ a, b, m: 2, k: 3, n: 2, transA: false, transB: false })
  );
  assertEquals(e.message, "matmul: expected a of 6 elements [2, 3] but got 5");
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

/** The reference's arguments of `a [m, k] @ b [k, n]` (stored transposed as asked). */
const product = (a: Float32Array, b: Float32Array, [m, k, n, transA, transB]: Dims) => ({
  a,
  b,
  m,
  k,
  n,
  transA,
  transB,
});
type Dims = [number, number, number, boolean, boolean];

/** Runs the backend's matmul on the reference's arguments and reads the result. */
async function run(b: Backend, args: ReturnType<typeof product>): Promise<HostArray> {
  return await b.read(b.matmul(uploaded(b, args)));
}

webGpuTest(
  "matmul on WebGPU: chunked over rows, columns and K with a 4 KiB binding limit",
  { maxBindingBytes: 4096 },
  async (b) => {
    // 4 KiB holds ~1000 floats: every operand below needs several windows.
    const cases: [number, number, number][] = [[37, 45, 29], [3, 1500, 2], [2, 3, 2100]];
    for (const [m, k, n] of cases) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
        const args = product(randn(m * k, m + k), randn(k * n, k + n), [m, k, n, ta, tb]);
        const before = b.rt.dispatchCount;
        const got = await run(b, args);
        assert(b.rt.dispatchCount - before > 1, `${m}x${k}x${n}: expected several chunks`);
        assertClose(got, ref.matmul(args), {
          atol: 1e-4,
          rtol: 1e-4,
          name: `matmul ${m}x${k}x${n} transA=${ta} transB=${tb}`,
        });
      }
    }
    // An empty reduction gives zeros.
    const empty = new Float32Array(0);
    assertEquals(await run(b, product(empty, empty, [2, 0, 3, false, false])), new Float32Array(6));
  },
);

webGpuTest("matmul on WebGPU: the direct path with every candidate tile", {}, async (b) => {
  // N a multiple of 4 (vec4 loads and stores) or not; M not a multiple of the tiles.
  const cases: [number, number, number][] = [[37, 45, 29], [21, 70, 64], [5, 300, 7]];
  for (const [m, k, n] of cases) {
    for (const transA of [false, true]) {
      const args = product(randn(m * k, m + k), randn(k * n, k + n), [m, k, n, transA, false]);
      const want = ref.matmul(args);
      for (const t of DIRECT_TILES) {
        const sa = b.upload(args.a), sb = b.upload(args.b);
        const d = asConv(m, k, n);
        const c = directConv(
          b.rt,
          { x: sb, w: sa, b: null, d, relu: false, transposed: transA },
          t,
        );
        assertClose(await b.read(c) as Float32Array, want, {
          atol: 1e-4,
          rtol: 1e-4,
          name: `matmul ${m}x${k}x${n} transA=${transA} tile ${JSON.stringify(t)}`,
        });
        for (const s of [sa, sb, c]) b.free(s);
      }
      // The public entry takes the direct path too.
      assertClose(await run(b, args), want, {
        atol: 1e-4,
        rtol: 1e-4,
        name: `matmul ${m}x${k}x${n} transA=${transA}`,
      });
    }
  }
});
