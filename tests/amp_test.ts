/**
 * Mixed precision: the f16 rounding kernel on every backend, autocast convolutions, and the
 * GradScaler's PyTorch rules.
 */
import { autocast, conv2d, GradScaler, mul, requestDevice, SGD, sum, tensor } from "../mod.ts";
import { devices, randn } from "./harness.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

Deno.test("roundF16: nearest half-precision value on every backend, overflow to infinity", async () => {
  const values = new Float32Array([
    0,
    -0,
    1,
    1.0001,
    0.1,
    -3.14159,
    65504,
    65519,
    65520,
    -70000,
    1e-8,
    6e-5,
    Infinity,
    -Infinity,
    NaN,
    ...randn(1000, 4, -100, 100),
  ]);
  const want = values.map((v) => Math.f16round(v));
  assertEquals([want[7], want[8], want[9]], [65504, Infinity, -Infinity]);
  for (const device of (await devices()).values()) {
    if (!device.backend.supportsF16) continue;
    const x = tensor(values, [values.length], device);
    const s = device.backend.roundF16({ x: x.storage });
    const got = await device.backend.read(s);
    device.backend.free(s);
    x.dispose();
    assertClose(got, want, { atol: 0, rtol: 0, name: `roundF16 on ${device.kind}` });
  }
});

Deno.test("autocast: conv2d takes f16-rounded inputs and gives f16-rounded outputs and gradients", async () => {
  for (const device of (await devices()).values()) {
    if (!device.backend.supportsF16) continue;
    const xs = randn(2 * 3 * 9 * 9, 1), ws = randn(4 * 3 * 3 * 3, 2);
    const x = tensor(xs, [2, 3, 9, 9], device, { requiresGrad: true });
    const w = tensor(ws, [4, 3, 3, 3], device, { requiresGrad: true });
    const y = autocast(() => conv2d(x, w, null, { padding: 1, stride: 2 }));
    const out = await y.toArray();
    assert(out.every((v) => Math.f16round(v) === v), `outputs are f16 values on ${device.kind}`);
    // The same conv in f32 on pre-rounded inputs, rounded after: identical.
    const xr = tensor(xs.map(Math.f16round), [2, 3, 9, 9], device);
    const wr = tensor(ws.map(Math.f16round), [4, 3, 3, 3], device);
    const ref = (await conv2d(xr, wr, null, { padding: 1, stride: 2 }).toArray()).map(
      Math.f16round,
    );
    assertClose(out, ref, { atol: 0, rtol: 0, name: `autocast conv on ${device.kind}` });
    const cot = tensor(randn(y.size, 3), y.shape, device);
    sum(mul(y, cot)).backward();
    for (const g of [x.grad!, w.grad!]) {
      const v = await g.toArray();
      assert(v.every((e) => Math.f16round(e) === e), `gradients are f16 values on ${device.kind}`);
    }
  }
});

Deno.test("GradScaler: skips the step and halves the scale on overflow, grows after the interval", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const w = tensor([1, 2], [2], device, { requiresGrad: true });
  const sgd = new SGD([w], { lr: 0.5 });
  const scaler = new GradScaler({ initScale: 4, growthInterval: 2 });
  // Clean step: grads unscaled before the update.
  scaler.scale(sum(w)).backward();
  assertEquals(await scaler.step(sgd), true);
  assertEquals(Array.from(await w.toArray()), [0.5, 1.5]);
  sgd.zeroGrad();
  // Overflow: the step is skipped, the scale halves.
  scaler.scale(sum(mul(w, tensor([Infinity, 1], [2], device)))).backward();
  assertEquals(await scaler.step(sgd), false);
  assertEquals(Array.from(await w.toArray()), [0.5, 1.5]);
  assertEquals(scaler.state(), { scale: 2, growthTracker: 0 });
  sgd.zeroGrad();
  for (let i = 0; i < 2; i++) {
    scaler.scale(sum(w)).backward();
    await scaler.step(sgd);
    sgd.zeroGrad();
  }
  assertEquals(scaler.state(), { scale: 4, growthTracker: 0 });
});
