import { assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { randn, rng } from "../../../tests/harness.ts";
import { geom } from "./_testing.ts";
import { channelSum, conv2d, conv2dGradInput, conv2dGradWeight } from "./reference.ts";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);

Deno.test("conv2d reference: hand-computed values", () => {
  // x [1, 1, 3, 3] = 1..9, w [2, 1, 2, 2], bias [10, -100]
  const x = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const w = new Float32Array([1, 0, 0, 1, 0, 1, 1, 0]);
  const g = geom(1, 1, 3, 3, 2, 2);
  // channel 0: x[i, j] + x[i+1, j+1]; channel 1: x[i, j+1] + x[i+1, j]
  assertEquals(
    conv2d(x, w, new Float32Array([10, -100]), g, false),
    new Float32Array([16, 18, 22, 24, -94, -92, -88, -86]),
  );
  assertEquals(
    conv2d(x, w, new Float32Array([10, -100]), g, true),
    new Float32Array([16, 18, 22, 24, 0, 0, 0, 0]),
  );
});

Deno.test("conv2d reference: stride 2, padding 1 and dilation 2 read the right taps", () => {
  // x [1, 1, 4, 4] = 0..15, a 2x2 kernel of ones.
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const ones = new Float32Array(4).fill(1);
  // stride 2 + padding 1: output 3x3, corners see one input element.
  const g1 = geom(1, 1, 4, 4, 1, 2, { stride: 2, pad: 1 });
  assertEquals([g1.oh, g1.ow], [3, 3]);
  assertEquals(
    conv2d(x, ones, null, g1, false),
    new Float32Array([0, 1 + 2, 3, 4 + 8, 5 + 6 + 9 + 10, 7 + 11, 12, 13 + 14, 15]),
  );
  // dilation 2: taps (i, j), (i, j+2), (i+2, j), (i+2, j+2).
  const g2 = geom(1, 1, 4, 4, 1, 2, { dil: 2 });
  assertEquals([g2.oh, g2.ow], [2, 2]);
  assertEquals(
    conv2d(x, ones, null, g2, false),
    new Float32Array([0 + 2 + 8 + 10, 1 + 3 + 9 + 11, 4 + 6 + 12 + 14, 5 + 7 + 13 + 15]),
  );
});

Deno.test("conv2d reference: gradients by hand on a strided conv", () => {
  // x [1, 1, 3, 3], w [1, 1, 2, 2], stride 1 -> y [2, 2]; dy = [1, 0, 0, 2].
  const x = Float32Array.from({ length: 9 }, (_, i) => i + 1);
  const w = new Float32Array([1, 2, 3, 4]);
  const g = geom(1, 1, 3, 3, 1, 2);
  const dy = new Float32Array([1, 0, 0, 2]);
  // dx: w placed at (0, 0) times 1 plus w placed at (1, 1) times 2.
  assertEquals(conv2dGradInput(dy, w, g), new Float32Array([1, 2, 0, 3, 4 + 2, 4, 0, 6, 8]));
  // dw[i, j] = x[i, j] * 1 + x[i+1, j+1] * 2
  assertEquals(conv2dGradWeight(dy, x, g), new Float32Array([1 + 10, 2 + 12, 4 + 16, 5 + 18]));
  // channelSum of dy seen as [1, 1, 2, 2]
  assertEquals(channelSum(dy, { n: 1, c: 1, h: 2, w: 2 }), new Float32Array([3]));
});

Deno.test("conv2d reference: backward kernels are the adjoints of the forward", () => {
  // <conv(x, w), dy> = <x, gradInput(dy, w)> = <w, gradWeight(dy, x)> for any geometry.
  const r = rng(7);
  const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let t = 0; t < 40; t++) {
    const ks = [1, 2, 3, 4, 5, 7][pick(0, 5)];
    const dil = pick(1, 2), stride = pick(1, 3), pad = pick(0, ks);
    const h = pick(dil * (ks - 1) + 1, 12), w = pick(dil * (ks - 1) + 1, 12);
    const g = geom(pick(1, 3), pick(1, 4), h, w, pick(1, 4), ks, { stride, pad, dil });
    const x = randn(g.n * g.c * g.h * g.w, t), wt = randn(g.k * g.c * g.kh * g.kw, t + 100);
    const dy = randn(g.n * g.k * g.oh * g.ow, t + 200);
    const lhs = dot(conv2d(x, wt, null, g, false), dy);
    const name = `geometry ${JSON.stringify(g)}`;
    assertAlmostEquals(dot(x, conv2dGradInput(dy, wt, g)), lhs, 1e-3, name);
    assertAlmostEquals(dot(wt, conv2dGradWeight(dy, x, g)), lhs, 1e-3, name);
  }
});

Deno.test("channelSum reference: sums over images and pixels", () => {
  const x = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i); // [2, 3, 1, 2]
  assertEquals(channelSum(x, { n: 2, c: 3, h: 1, w: 2 }), new Float32Array([14, 22, 30]));
});

Deno.test("conv reference: rejects buffers of the wrong size", () => {
  const g = geom(1, 2, 3, 3, 1, 3);
  assertThrows(
    () => conv2d(new Float32Array(17), new Float32Array(18), null, g, false),
    "conv2d: expected input of 18 elements [N, C, H, W] but got 17",
  );
  assertThrows(
    () => conv2dGradWeight(new Float32Array(1), new Float32Array(18), { ...g, k: 2 }),
    "conv2dGradWeight: expected dy of 2 elements [N, K, OH, OW] but got 1",
  );
});
