import { assertBitsEqual, assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { crossEntropy, crossEntropyGrad } from "./blas.ts";
import * as ref from "./reference.ts";

Deno.test("blas cross entropy and its gradient: bit for bit the reference", () => {
  const [n, k, hw] = [2, 5, 37];
  const logits = randn(n * k * hw, 1, -6, 6);
  logits[3] = 80; // a dominant class
  const target = Int32Array.from({ length: n * hw }, (_, i) => (i * 7) % k);
  target[4] = 255; // ignored
  const weight = randn(k, 2, 0.5, 2);
  for (const w of [null, weight]) {
    const a = { logits, target, weight: w, n, k, hw, ignoreIndex: 255 };
    const want = ref.crossEntropy(a);
    const out = { loss: new Float32Array(n * hw).fill(NaN), weight: new Float32Array(n * hw) };
    const got = crossEntropy(a, out);
    assertBitsEqual(got.loss, want.loss, `loss, weight ${w !== null}`);
    assertBitsEqual(got.weight, want.weight);
    assertEquals(got.loss, out.loss);
    for (const g of [new Float32Array([0.125]), randn(n * hw, 3)]) {
      const dx = new Float32Array(n * k * hw).fill(NaN);
      assertBitsEqual(
        crossEntropyGrad({ ...a, g }, dx),
        ref.crossEntropyGrad({ ...a, g }),
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
  const a = { logits, target, weight: null, n, k, hw, ignoreIndex: 255 };
  const got = crossEntropy(a);
  assertBitsEqual(got.loss, ref.crossEntropy(a).loss);
  assertEquals([got.loss[1], got.loss[2], got.weight[1], got.weight[2]], [0, 0, 0, 0]);
  const dx = crossEntropyGrad({ ...a, g: Float32Array.of(1) });
  assertEquals([0, 1, 2].flatMap((c) => [dx[c * hw + 1], dx[c * hw + 2]]), [0, 0, 0, 0, 0, 0]);
});
