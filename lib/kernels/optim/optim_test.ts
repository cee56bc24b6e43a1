import type { Backend, SgdUpdate } from "../../device/backend.ts";
import { devices, randn, webGpuTest } from "../../../tests/harness.ts";
import { assertClose, assertThrows } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

const GRADS = [0.5, -0.25, 1.0];

/** Runs three SGD steps on `n` copies of param 1 with the gradients of {@linkcode GRADS}. */
async function threeSteps(b: Backend, n: number, o: Omit<SgdUpdate, "first">): Promise<number[]> {
  const param = b.upload(new Float32Array(n).fill(1));
  const buf = o.momentum !== 0 ? b.fill({ length: n, dtype: "f32", value: 0 }) : null;
  const out: number[] = [];
  for (let step = 0; step < GRADS.length; step++) {
    const grad = b.fill({ length: n, dtype: "f32", value: GRADS[step] });
    b.sgd({ param, grad, buf, update: { ...o, first: step === 0 } });
    b.free(grad);
    const p = await b.read(param);
    assertClose(p, new Float32Array(n).fill(p[0]), { name: "every element alike" });
    out.push(p[0]);
  }
  b.free(param);
  if (buf) b.free(buf);
  return out;
}

// Values worked out by hand with torch.optim.SGD's rule, step by step.
const CASES: { name: string; o: Omit<SgdUpdate, "first">; want: number[] }[] = [
  {
    name: "plain with weight decay",
    o: { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0.1, nesterov: false },
    want: [0.7, 0.79, 0.2505],
  },
  {
    name: "momentum, dampening and weight decay",
    o: { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false },
    want: [0.949, 0.9247459, 0.81208493869],
  },
  {
    name: "nesterov",
    o: { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true },
    want: [0.905, 0.912, 0.7058],
  },
];

Deno.test("sgd follows torch.optim.SGD on every backend", async () => {
  for (const [kind, device] of await devices()) {
    for (const c of CASES) {
      const got = await threeSteps(device.backend, 3, c.o);
      assertClose(got, c.want, { atol: 1e-6, rtol: 1e-6, name: `${c.name} on ${kind}` });
    }
  }
});

Deno.test("sgd rejects a missing momentum buffer and mismatched lengths", () => {
  const o = { lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, first: true };
  const p = new Float32Array(3);
  assertThrows(
    () => ref.sgd({ param: p, grad: new Float32Array(3), buf: null, update: o }),
    "needs a momentum buffer",
  );
  assertThrows(
    () => ref.sgd({ param: p, grad: new Float32Array(2), buf: new Float32Array(3), update: o }),
    "gradient of 3",
  );
});

webGpuTest(
  "WebGPU sgd matches the reference in chunks under a 4 KiB binding limit",
  { maxBindingBytes: 4096 },
  async (b) => {
    const n = 2500; // three chunks
    for (const c of CASES) {
      for (const hand of [true, false]) {
        if (hand) {
          const got = await threeSteps(b, n, c.o);
          assertClose(got, c.want, { atol: 1e-6, rtol: 1e-6, name: `${c.name}, chunked` });
          continue;
        }
        const p0 = randn(n, 1), hostBuf = new Float32Array(n);
        const param = b.upload(p0), buf = b.upload(hostBuf);
        for (let step = 0; step < 3; step++) {
          const g = randn(n, 10 + step);
          const grad = b.upload(g);
          const o = { ...c.o, first: step === 0 };
          b.sgd({ param, grad, buf: c.o.momentum ? buf : null, update: o });
          ref.sgd({ param: p0, grad: g, buf: c.o.momentum ? hostBuf : null, update: o });
          b.free(grad);
        }
        assertClose(await b.read(param), p0, { atol: 1e-6, name: `${c.name} params` });
        assertClose(await b.read(buf), hostBuf, { atol: 1e-6, name: `${c.name} buffer` });
      }
    }
  },
);
