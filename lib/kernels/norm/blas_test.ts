import type { Planes } from "../../device/backend.ts";
import { loadBlas } from "../../device/blas_ffi.ts";
import { assertClose, assertEquals } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import * as blas from "./blas.ts";
import * as ref from "./reference.ts";

const CASES: Planes[] = [
  { n: 1, c: 1, h: 1, w: 1 },
  { n: 2, c: 3, h: 5, w: 7 },
  { n: 3, c: 4, h: 1, w: 9 },
  { n: 1, c: 16, h: 12, w: 11 },
];

Deno.test("blas batch norm kernels: bit for bit the reference, training and eval", () => {
  CASES.forEach((p, i) => {
    const len = p.n * p.c * p.h * p.w;
    const x = randn(len, 10 + i, -2, 3), dy = randn(len, 20 + i);
    const gamma = randn(p.c, 30 + i, 0.5, 1.5), beta = randn(p.c, 40 + i);
    const name = JSON.stringify(p);
    const st = ref.batchNormStats({ x, planes: p });
    assertEquals(blas.batchNormStats({ x, planes: p }), st, `stats of ${name}`);
    const a = { x, mean: st.mean, variance: st.var, gamma, planes: p, eps: 1e-5 };
    assertEquals(
      blas.batchNorm({ ...a, beta }),
      ref.batchNorm({ ...a, beta }),
      `forward of ${name}`,
    );
    for (const training of [true, false]) {
      assertEquals(
        blas.batchNormGrad({ ...a, dy, training }),
        ref.batchNormGrad({ ...a, dy, training }),
        `backward of ${name}, training ${training}`,
      );
    }
  });
});

const saxpy = (() => {
  try {
    return loadBlas().axpby?.saxpy ?? null;
  } catch {
    return null;
  }
})();

Deno.test({
  name: "blas batch norm forward through saxpy: close to the reference, small planes exact",
  ignore: saxpy === null,
  fn() {
    for (const p of [{ n: 2, c: 3, h: 32, w: 40 }, { n: 1, c: 5, h: 40, w: 26 }, CASES[3]]) {
      const len = p.n * p.c * p.h * p.w;
      const x = randn(len, 50, -2, 3), gamma = randn(p.c, 51, 0.5, 1.5);
      const beta = randn(p.c, 52), mean = randn(p.c, 53), variance = randn(p.c, 54, 0.1, 2);
      const a = { x, mean, variance, gamma, beta, planes: p, eps: 1e-5 };
      const want = ref.batchNorm(a);
      const out = new Float32Array(len).fill(NaN);
      const got = blas.batchNorm(a, { out, saxpy: saxpy! });
      assertEquals(got, out);
      const name = JSON.stringify(p);
      if (p.h * p.w < blas.BLAS_PLANE) assertEquals(got, want, `exact on small planes ${name}`);
      else assertClose(got, want, { atol: 1e-6, rtol: 1e-6, name: `saxpy form on ${name}` });
    }
  },
});
