import { type BlasBackend, createBlasBackend } from "../../backends/blas.ts";
import { f32of } from "../../device/host.ts";
import { assertClose, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { randn, uploaded } from "../../../tests/harness.ts";
import * as ref from "./reference.ts";

const blas: BlasBackend | null = (() => {
  try {
    return createBlasBackend();
  } catch {
    return null;
  }
})();
const ignore = blas === null;

/** [m, k, n]: odd sizes, vectors, a long inner dimension. */
const SHAPES = [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 1, 31], [1, 300, 2], [40, 129, 65]];

Deno.test({
  name: "blas matmul: matches the reference in every layout on odd shapes",
  ignore,
  fn() {
    for (const fortran of [false, true]) {
      const be = fortran ? createBlasBackend({ fortran }) : blas!;
      SHAPES.forEach(([m, k, n], i) => {
        for (
          const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]
        ) {
          const a = randn(m * k, 10 + i), b = randn(k * n, 20 + i);
          const got = be.matmul({ a: be.upload(a), b: be.upload(b), m, k, n, transA, transB });
          assertClose(f32of(got), ref.matmul({ a, b, m, k, n, transA, transB }), {
            atol: 1e-5,
            rtol: 1e-4,
            name: `matmul ${m}x${k}x${n} transA ${transA} transB ${transB} fortran ${fortran}`,
          });
        }
      });
    }
  },
});

Deno.test({
  name: "blas matmul: empty dimensions give zeros, wrong sizes throw before BLAS reads",
  ignore,
  fn() {
    const be = blas!;
    /** `a [m, k] @ b [k, n]` on the BLAS backend from host arrays. */
    const product = (a: number, b: number, [m, k, n]: number[]) =>
      be.matmul(uploaded(be, {
        a: new Float32Array(a),
        b: new Float32Array(b),
        m,
        k,
        n,
        transA: false,
        transB: false,
      }));
    assertEquals(f32of(product(0, 0, [2, 0, 3])), new Float32Array(6));
    assertEquals(product(0, 12, [0, 3, 4]).length, 0);
    assertThrows(() => product(5, 6, [2, 3, 2]), "matmul: expected a of 6 and b of 6 elements");
  },
});
