import { assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { crossEntropy, crossEntropyGrad } from "./blas.ts";
import * as ref from "./reference.ts";

/** Bits of a float array, so that NaNs and signed zeros compare exactly. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.slice().buffer));
}

Deno.test("blas cross entropy and its gradient: bit for bit the reference", () => {
  const [n, k, hw] = [2, 5, 37];
  const logits = randn(n * k * hw, 1, -6, 6);
  logits[3] = 80; // a dominant class
  const target = Int32Array.from({ length: n * hw }, (_, i) => (i * 7) % k);
  target[4] = 255; // ignored
  const weight = randn(k, 2, 0.5, 2);
  for (const w of [null, weight]) {
    const want = ref.crossEntropy(logits, target, w, n, k, hw, 255);
    const out = { loss: new Float32Array(n * hw).fill(NaN), weight: new Float32Array(n * hw) };
    const got = crossEntropy(logits, target, w, n, k, hw, 255, out);
    assertEquals(bits(got.loss), bits(want.loss), `loss, weight ${w !== null}`);
    assertEquals(bits(got.weight), bits(want.weight));
    assertEquals(got.loss, out.loss);
    for (const g of [new Float32Array([0.125]), randn(n * hw, 3)]) {
      const dx = new Float32Array(n * k * hw).fill(NaN);
      assertEquals(
        bits(crossEntropyGrad(logits, target, w, g, n, k, hw, 255, dx)),
        bits(ref.crossEntropyGrad(logits, target, w, g, n, k, hw, 255)),
        `gradient, weight ${w !== null}, g of ${g.length}`,
      );
    }
  }
});

Deno.test("blas cross entropy below the op's check: a bad target gets 0, never a read outside", () => {
  // The ops raise on a target outside [0, K) (checkTargets, tests in targets_test.ts); the
  // kernels still give such a pixel loss, weight and gradient 0, as the reference does.
  const [n, k, hw] = [1, 3, 4];
  const logits = randn(n * k * hw, 5);
  const target = Int32Array.from([0, -1, 3, 2]);
  const got = crossEntropy(logits, target, null, n, k, hw, 255);
  assertEquals(bits(got.loss), bits(ref.crossEntropy(logits, target, null, n, k, hw, 255).loss));
  assertEquals([got.loss[1], got.loss[2], got.weight[1], got.weight[2]], [0, 0, 0, 0]);
  const dx = crossEntropyGrad(logits, target, null, Float32Array.of(1), n, k, hw, 255);
  assertEquals([0, 1, 2].flatMap((c) => [dx[c * hw + 1], dx[c * hw + 2]]), [0, 0, 0, 0, 0, 0]);
});
