import { assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { softmax, softmaxGrad } from "./blas.ts";
import * as ref from "./reference.ts";

/** Bits of a float array, so that NaNs and signed zeros compare exactly. */
function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.slice().buffer));
}

Deno.test("blas softmax and its gradient: bit for bit the reference", () => {
  for (const [outer, len, inner] of [[2, 5, 37], [3, 40, 1], [1, 1, 6], [2, 21, 12]]) {
    const size = outer * len * inner;
    const x = randn(size, size, -30, 30), dy = randn(size, size + 1);
    x[3] = 80; // a dominant entry
    for (const log of [false, true]) {
      const name = `${log ? "log" : ""}softmax [${outer}, ${len}, ${inner}]`;
      const want = ref.softmax(x, outer, len, inner, log);
      const out = new Float32Array(size).fill(NaN);
      assertEquals(bits(softmax(x, outer, len, inner, log, out)), bits(want), name);
      const dx = new Float32Array(size).fill(NaN);
      assertEquals(
        bits(softmaxGrad(want, dy, outer, len, inner, log, dx)),
        bits(ref.softmaxGrad(want, dy, outer, len, inner, log)),
        `grad of ${name}`,
      );
    }
  }
});
