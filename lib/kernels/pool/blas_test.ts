import type { PoolGeom } from "../../device/backend.ts";
import { assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { maxPool2d } from "./blas.ts";
import * as ref from "./reference.ts";
import { geom } from "./_testing.ts";

/** A 2x2 stride-2 pool; `ceil` gives PyTorch's ceil_mode output size. */
const pool2 = (n: number, c: number, h: number, w: number, ceil = false): PoolGeom =>
  geom([n, c, h, w], [2, 2], [2, 2], [0, 0], ceil);

Deno.test("blas maxPool2d: 2x2 stride 2 equals the reference, odd sizes and ceil mode", () => {
  const cases = [
    pool2(2, 3, 8, 6),
    pool2(1, 2, 7, 9),
    pool2(1, 2, 7, 9, true),
    pool2(2, 1, 5, 4, true),
    pool2(1, 1, 1, 1, true),
  ];
  cases.forEach((g, i) => {
    const x = randn(g.n * g.c * g.h * g.w, 50 + i);
    // Ties and NaNs: the first max wins, a NaN wins (as the reference decides).
    if (x.length > 8) x.set([0.5, 0.5, NaN, 0.25, -Infinity], 2);
    const got = maxPool2d({ x, geom: g }), want = ref.maxPool2d({ x, geom: g });
    assertEquals(Array.from(got.idx), Array.from(want.idx), `idx of ${JSON.stringify(g)}`);
    assertEquals(Array.from(got.y), Array.from(want.y), `y of ${JSON.stringify(g)}`);
  });
});

Deno.test("blas maxPool2d: other geometries equal the reference, NaNs and ties included", () => {
  const geoms: PoolGeom[] = [
    geom([1, 2, 7, 7], [3, 3], [2, 2], [1, 1]),
    geom([2, 3, 9, 8], [3, 2], [1, 1]),
    geom([1, 1, 5, 6], [2, 2], [2, 2], [1, 1]),
    // ceil mode: the last window starts inside and ends past the input
    geom([1, 2, 8, 8], [3, 3], [2, 2], [0, 0], true),
  ];
  geoms.forEach((g, i) => {
    const x = randn(g.n * g.c * g.h * g.w, 60 + i);
    x.set([0.5, 0.5, NaN, 0.25, NaN, -Infinity], 3);
    const out = { y: new Float32Array(g.n * g.c * g.oh * g.ow), idx: new Int32Array(0) };
    out.idx = new Int32Array(out.y.length).fill(-7);
    const got = maxPool2d({ x, geom: g }, out), want = ref.maxPool2d({ x, geom: g });
    assertEquals(Array.from(got.idx), Array.from(want.idx), `idx of ${JSON.stringify(g)}`);
    assertEquals(Array.from(got.y), Array.from(want.y), `y of ${JSON.stringify(g)}`);
    assertEquals(got.y, out.y);
    const dy = randn(want.y.length, 70 + i);
    const dx = new Float32Array(g.n * g.c * g.h * g.w).fill(NaN);
    assertEquals(
      ref.maxPool2dGrad({ dy, idx: want.idx, geom: g }, dx),
      ref.maxPool2dGrad({ dy, idx: want.idx, geom: g }),
    );
  });
});
