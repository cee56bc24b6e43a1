import type { ConvGeom } from "../../../device/backend.ts";
import { loadBlas } from "../../../device/blas_ffi.ts";
import { assert, assertClose } from "../../../../tests/assert.ts";
import { randn } from "../../../../tests/harness.ts";
import { geom } from "../_testing.ts";
import { Scratch } from "../../../device/blas_scratch.ts";
import * as taps from "./gemm_taps.ts";
import * as ref from "../reference.ts";

const sgemm = (() => {
  try {
    return loadBlas().sgemm;
  } catch {
    return null;
  }
})();

/** Stride-1 geometries the per-tap layout takes (its channel threshold aside). */
const CASES: [string, ConvGeom][] = [
  ["3x3 no padding, batch 2", geom(2, 3, 7, 9, 5, 3)],
  ["3x3 pad 1", geom(1, 4, 6, 5, 3, 3, { pad: 1 })],
  ["3x3 dilation 2 pad 2 batch 3", geom(3, 2, 9, 8, 4, 3, { pad: 2, dil: 2 })],
  ["uneven pads, 3x5 kernel", geom(1, 3, 6, 5, 3, 3, { kw: 5, pw: 2 })],
  ["pad larger than the kernel", geom(2, 3, 5, 6, 2, 2, { kw: 3, pad: 3 })],
  ["row dilation 3, column dilation 1", geom(1, 2, 11, 7, 3, 3, { pad: 1, dw: 1, dil: 3 })],
  ["7x7 pad 3 on 7x7 (head-like)", geom(1, 4, 7, 7, 3, 7, { pad: 3 })],
];

function check(name: string, g: ConvGeom, budget: number): void {
  const ctx = { sgemm: sgemm!, scratch: new Scratch(budget) };
  const x = randn(g.n * g.c * g.h * g.w, 1), w = randn(g.k * g.c * g.kh * g.kw, 2);
  const b = randn(g.k, 3), dy = randn(g.n * g.k * g.oh * g.ow, 4);
  const tol = { atol: 1e-5, rtol: 1e-5 };
  const y = new Float32Array(g.n * g.k * g.oh * g.ow).fill(NaN);
  taps.forward(ctx, x, w, b, g, y);
  assertClose(y, ref.conv2d(x, w, b, g, false), { ...tol, name: `${name}: forward` });
  const dx = new Float32Array(g.n * g.c * g.h * g.w);
  taps.backwardData(ctx, dy, w, g, dx);
  assertClose(dx, ref.conv2dGradInput(dy, w, g), { ...tol, name: `${name}: backward-data` });
  const dw = taps.backwardWeight(ctx, dy, x, g);
  assertClose(dw, ref.conv2dGradWeight(dy, x, g), { ...tol, name: `${name}: backward-weight` });
}

Deno.test({
  name: "gemm taps: forward, backward-data and backward-weight match the reference",
  ignore: sgemm === null,
  fn() {
    for (const [name, g] of CASES) {
      assert(g.oh > 0 && g.ow > 0, name);
      check(name, g, 16 * 1024 * 1024);
      // A tiny budget: one output row per band, so bands share their halo rows.
      check(`${name} (bands)`, g, 1);
    }
  },
});

Deno.test("gemm taps: taken for stride 1, several taps and 16 channels or more", () => {
  assert(taps.applies(geom(1, 16, 8, 8, 4, 3, { pad: 1 })));
  assert(!taps.applies(geom(1, 3, 8, 8, 4, 3, { pad: 1 })), "3 channels: too thin");
  assert(!taps.applies(geom(1, 16, 8, 8, 4, 3, { pad: 1, stride: 2 })), "stride 2");
  assert(!taps.applies(geom(1, 16, 8, 8, 4, 1)), "1x1");
  assert(!taps.applies(geom(1, 16, 2, 2, 40, 3, { pad: 1 })), "more filters than outputs");
});
