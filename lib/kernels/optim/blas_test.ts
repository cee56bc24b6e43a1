import type { SgdUpdate } from "../../device/backend.ts";
import { loadBlas } from "../../device/blas_ffi.ts";
import { assertClose, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import { sgd } from "./blas.ts";
import * as ref from "./reference.ts";

const axpby = (() => {
  try {
    return loadBlas().axpby;
  } catch {
    return null;
  }
})();

/** Every mode of the rule, with and without weight decay and dampening. */
function modes(): SgdUpdate[] {
  const out: SgdUpdate[] = [];
  for (const momentum of [0, 0.9]) {
    for (const nesterov of momentum === 0 ? [false] : [false, true]) {
      for (const first of [true, false]) {
        for (const weightDecay of [0, 1e-4, 0.05]) {
          for (const dampening of nesterov ? [0] : [0, 0.1]) {
            out.push({ lr: 0.01, momentum, dampening, weightDecay, nesterov, first });
          }
        }
      }
    }
  }
  return out;
}

Deno.test({
  name: "blas sgd matches the reference in every mode, grad untouched",
  ignore: axpby === null,
  fn() {
    const n = 10007;
    for (const o of modes()) {
      const p0 = randn(n, 1), g = randn(n, 2), b0 = randn(n, 3);
      const [pr, br] = [p0.slice(), b0.slice()];
      const [pb, bb] = [p0.slice(), b0.slice()];
      const g0 = g.slice();
      ref.sgd({ param: pr, grad: g, buf: o.momentum === 0 ? null : br, update: o });
      sgd(axpby!, { param: pb, grad: g, buf: o.momentum === 0 ? null : bb, update: o });
      const name = JSON.stringify(o);
      assertClose(pb, pr, { atol: 1e-6, rtol: 1e-6, name: `param ${name}` });
      assertClose(bb, br, { atol: 1e-6, rtol: 1e-6, name: `buf ${name}` });
      assertEquals(Array.from(g), Array.from(g0), `grad ${name}`);
    }
  },
});

Deno.test({
  name: "blas sgd keeps a weight decay of lr * wd = 1e-7 without momentum",
  ignore: axpby === null,
  fn() {
    // p -= 1e-3 * (0 + 1e-4 * p): the decay alone, smaller than f32's spacing below 1.
    const p = new Float32Array(64).fill(1000);
    const o = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 1e-4, nesterov: false };
    sgd(axpby!, {
      param: p,
      grad: new Float32Array(64),
      buf: null,
      update: { ...o, first: false },
    });
    assertClose(p, new Float32Array(64).fill(1000 - 1e-4), { atol: 1e-5, rtol: 0 });
  },
});

Deno.test({
  name: "blas sgd: an empty parameter is a no-op, wrong lengths throw",
  ignore: axpby === null,
  fn() {
    const o = { lr: 1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, first: true };
    sgd(axpby!, {
      param: new Float32Array(0),
      grad: new Float32Array(0),
      buf: new Float32Array(0),
      update: o,
    });
    assertThrows(
      () =>
        sgd(axpby!, {
          param: new Float32Array(3),
          grad: new Float32Array(2),
          buf: new Float32Array(3),
          update: o,
        }),
      "sgd: expected a gradient of 3 elements but got 2",
    );
  },
});
