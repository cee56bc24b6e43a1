import { assertBitsEqual } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { softmax, softmaxGrad } from "./blas.ts";
import * as ref from "./reference.ts";

Deno.test("blas softmax and its gradient: bit for bit the reference", () => {
  for (const [outer, len, inner] of [[2, 5, 37], [3, 40, 1], [1, 1, 6], [2, 21, 12]]) {
    const size = outer * len * inner;
    const x = randn(size, size, -30, 30), dy = randn(size, size + 1);
    x[3] = 80; // a dominant entry
    for (const log of [false, true]) {
      const name = `${log ? "log" : ""}softmax [${outer}, ${len}, ${inner}]`;
      const axis = { outer, len, inner, log };
      const want = ref.softmax({ x, ...axis });
      assertBitsEqual(softmax({ x, ...axis }, new Float32Array(size).fill(NaN)), want, name);
      assertBitsEqual(
        softmaxGrad({ y: want, dy, ...axis }, new Float32Array(size).fill(NaN)),
        ref.softmaxGrad({ y: want, dy, ...axis }),
        `grad of ${name}`,
      );
    }
  }
});
