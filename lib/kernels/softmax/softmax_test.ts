import { logSoftmax, requestDevice, softmax, tensor } from "../../../mod.ts";
import type { Backend } from "../../device/backend.ts";
import { checkOp, hasWebGpu, randn } from "../../../tests/harness.ts";
import { assertClose, assertThrows } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

Deno.test("reference softmax and log-softmax give hand-computed values, stably", () => {
  // [outer 1, len 3, inner 2]: column 0 (1, 2, 3), column 1 (1000, 1000, -1000)
  const x = Float32Array.from([1, 1000, 2, 1000, 3, -1000]);
  const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
  const p = [1, 2, 3].map((v) => Math.exp(v) / z);
  assertClose(ref.softmax(x, 1, 3, 2, false), [p[0], 0.5, p[1], 0.5, p[2], 0], { atol: 1e-7 });
  const lse = Math.log(z);
  assertClose(ref.softmax(x, 1, 3, 2, true), [
    1 - lse,
    -Math.log(2),
    2 - lse,
    -Math.log(2),
    3 - lse,
    -2000 - Math.log(2),
  ], { atol: 1e-5 });
  // Gradients from the output: softmax y * (dy - sum(dy * y)), log dy - exp(y) * sum(dy).
  const y = Float32Array.from([0.2, 0.5, 0.8, 0.5]); // [1, 2, 2]
  const dy = Float32Array.from([1, 2, 3, -1]);
  assertClose(ref.softmaxGrad(y, dy, 1, 2, 2, false), [
    0.2 * (1 - (0.2 + 2.4)),
    0.5 * (2 - (1 - 0.5)),
    0.8 * (3 - (0.2 + 2.4)),
    0.5 * (-1 - (1 - 0.5)),
  ], { atol: 1e-6 });
  assertClose(ref.softmaxGrad(y, dy, 1, 2, 2, true), [
    1 - Math.exp(0.2) * 4,
    2 - Math.exp(0.5) * 1,
    3 - Math.exp(0.8) * 4,
    -1 - Math.exp(0.5) * 1,
  ], { atol: 1e-5 });
});

Deno.test("softmax and logSoftmax match the reference on every backend, with finite differences", async () => {
  for (const [name, op] of [["softmax", softmax], ["logSoftmax", logSoftmax]] as const) {
    for (const dim of [0, 1, 2, -1]) {
      await checkOp(`${name} dim ${dim}`, [{ shape: [2, 3, 4] }], ([x]) => op(x, dim), {
        finiteDifferences: true,
      });
    }
    await checkOp(
      `${name} default dim of [N, K, H, W]`,
      [{ shape: [2, 21, 5, 7] }],
      ([x]) => op(x),
    );
    await checkOp(`${name} of a long row`, [{ shape: [3, 3000] }], ([x]) => op(x, 1));
  }
});

Deno.test("softmax and logSoftmax refuse a dim outside the shape", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(new Float32Array(6), [2, 3], device);
  assertThrows(() => logSoftmax(x, 2), "logSoftmax: dim 2 is out of range for shape [2,3]");
  assertThrows(() => softmax(tensor([1, 2], [2], device)), "softmax: dim 1 is out of range");
});

/** Forward and gradient kernels of `backend` against the reference on `[outer, len, inner]`. */
async function compareKernels(b: Backend, outer: number, len: number, inner: number) {
  const size = outer * len * inner;
  const x = randn(size, size, -40, 40), dy = randn(size, size + 1);
  const [gx, gdy] = [x, dy].map((a) => b.upload(a));
  for (const log of [false, true]) {
    const name = `${log ? "log" : ""}softmax [${outer}, ${len}, ${inner}]`;
    const y = b.softmax({ x: gx, outer, len, inner, log });
    const want = ref.softmax(x, outer, len, inner, log);
    assertClose(await b.read(y), want, { atol: 1e-4, rtol: 1e-5, name });
    const dx = b.softmaxGrad({ y, dy: gdy, outer, len, inner, log });
    const dxRef = ref.softmaxGrad(want, dy, outer, len, inner, log);
    assertClose(await b.read(dx), dxRef, { atol: 1e-4, rtol: 1e-4, name: `grad of ${name}` });
    b.free(y);
    b.free(dx);
  }
  b.free(gx);
  b.free(gdy);
}

Deno.test({
  name: "WebGPU softmax splits the axis and the columns to fit a 1 KiB binding limit",
  ignore: !hasWebGpu,
  async fn() {
    const device = await requestDevice({ backend: "webgpu", maxBindingBytes: 1024 });
    const shapes = [
      [5, 3, 20], // several blocks per binding
      [2, 7, 60], // the axis in chunks, merged online
      [1, 3, 500], // columns in chunks, one row at a time
      [2, 700, 1], // a long axis of contiguous rows
      [1, 1, 4], // a single class
    ];
    for (const [outer, len, inner] of shapes) {
      await compareKernels(device.backend, outer, len, inner);
    }
    device.destroy();
  },
});
