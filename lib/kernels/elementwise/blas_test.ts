import { assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { affine, binary, dropout, relu, reluGrad, reluInPlace } from "./blas.ts";
import * as ref from "./reference.ts";

/** Values where bit tricks could go wrong: signed zeros, NaNs, infinities, subnormals. */
const SPECIAL = new Float32Array([
  -1.5,
  0,
  -0,
  2.25,
  -1e-40,
  1e-40,
  Infinity,
  -Infinity,
  NaN,
  -NaN,
  3.4e38,
  -3.4e38,
  1,
  -1,
]);
// A NaN with the sign bit set (JS's -NaN keeps the canonical bits).
new Uint32Array(SPECIAL.buffer)[9] = 0xffc00000;

/** Bits of a float array, so that -0 and NaN compare exactly. */
function bitsOf(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.slice().buffer));
}

Deno.test("blas relu and reluGrad: bit for bit the reference, special values included", () => {
  const x = new Float32Array(1000 + SPECIAL.length);
  x.set(randn(1000, 7));
  x.set(SPECIAL, 1000);
  assertEquals(bitsOf(relu(x)), bitsOf(ref.relu(x)));
  const y = ref.relu(x), dy = randn(x.length, 8);
  assertEquals(bitsOf(reluGrad(dy, y)), bitsOf(ref.reluGrad(dy, y)));
  // The gradient given a y with every special value, and a dy of specials too.
  assertEquals(bitsOf(reluGrad(SPECIAL, SPECIAL)), bitsOf(ref.reluGrad(SPECIAL, SPECIAL)));
});

Deno.test("blas reluInPlace: clears negatives and -0, keeps positives, works on a subarray", () => {
  const y = new Float32Array([9, -1.5, 0, -0, 2.25, -1e-40, 1e-40, Infinity, -Infinity, -9]);
  reluInPlace(y.subarray(1, 9));
  assertEquals(Array.from(y), [9, 0, 0, 0, 2.25, 0, Math.fround(1e-40), Infinity, 0, -9]);
  assertEquals(Object.is(y[3], 0), true);
});

Deno.test("blas binary and affine: bit for bit the reference, scalar b and specials too", () => {
  const a = new Float32Array(1000 + SPECIAL.length), b = new Float32Array(a.length);
  a.set(randn(1000, 11));
  a.set(SPECIAL, 1000);
  b.set(randn(1000, 12));
  b.set(SPECIAL.slice().reverse(), 1000);
  const scalar = new Float32Array([-0.75]);
  for (const op of ["add", "sub", "mul", "div"] as const) {
    assertEquals(bitsOf(binary(op, a, b)), bitsOf(ref.binary(op, a, b)), `${op}`);
    assertEquals(bitsOf(binary(op, a, scalar)), bitsOf(ref.binary(op, a, scalar)), `${op} scalar`);
    const out = new Float32Array(a.length).fill(NaN);
    assertEquals(binary(op, a, b, out), out);
  }
  assertEquals(bitsOf(affine(a, 1.5, -2)), bitsOf(ref.affine(a, 1.5, -2)));
  assertEquals(bitsOf(affine(a, 1, 0)), bitsOf(ref.affine(a, 1, 0)));
});

Deno.test("blas dropout: the reference's mask and scale, element-wise and per channel", () => {
  const x = randn(6 * 49, 13);
  for (const [p, group] of [[0.5, 1], [0.5, 49], [0.1, 49], [0.9, 7], [0.5, 0.5]]) {
    const out = new Float32Array(x.length).fill(NaN);
    assertEquals(
      bitsOf(dropout({ x, p, seed: 1234, group }, out)),
      bitsOf(ref.dropout({ x, p, seed: 1234, group })),
      `p ${p}, group ${group}`,
    );
  }
});
