/**
 * Autograd and tensor lifetime: gradients accumulate, backward frees the tape, noGrad records
 * nothing, `using`/dispose free memory, errors say what went wrong, and the chunked WebGPU
 * paths (a tiny binding limit) give the reference backend's answers.
 */
import {
  add,
  conv2d,
  type Device,
  mul,
  noGrad,
  relu,
  requestDevice,
  sum,
  type Tensor,
  tensor,
  tidy,
} from "../mod.ts";
import type { WebGpuBackend } from "../lib/backends/webgpu.ts";
import { devices, hasWebGpu, randn } from "./harness.ts";
import { assert, assertClose, assertEquals, assertRejects, assertThrows } from "./assert.ts";
import { disposeSmallNet, makeSmallNet, smallNetLoss } from "./_small_net.ts";

/** Runs `fn` on every available device as one step each. */
function onEveryDevice(name: string, fn: (device: Device) => Promise<void> | void): void {
  Deno.test(name, async (t) => {
    for (const [kind, device] of await devices()) await t.step(kind, () => fn(device));
  });
}

onEveryDevice("gradients accumulate across two backward() calls", async (device) => {
  const x = tensor([1, -2, 3], [3], device);
  const w = tensor([0.5, 0.5, 0.5], [3], device, { requiresGrad: true });
  const first = sum(mul(x, w));
  first.backward();
  assertEquals(Array.from(await w.grad!.toArray()), [1, -2, 3]);
  const second = sum(mul(mul(x, w), x)); // d/dw = x * x
  second.backward();
  assertEquals(Array.from(await w.grad!.toArray()), [2, 2, 12]);
  for (const t of [x, w, w.grad!, first, second]) t.dispose();
});

onEveryDevice("backward frees the tape's intermediates", (device) => {
  const base = device.liveBytes();
  const x = tensor(randn(2 * 3 * 6 * 6, 1), [2, 3, 6, 6], device);
  const w = tensor(randn(4 * 3 * 3 * 3, 2), [4, 3, 3, 3], device, { requiresGrad: true });
  const b = tensor(randn(4, 3), [4], device, { requiresGrad: true });
  const leaves = device.liveBytes();
  const h = conv2d(x, w, b, { padding: 1 });
  const r = relu(h);
  const loss = sum(mul(r, r));
  assert(device.liveBytes() > leaves + 4, "the graph holds its intermediates before backward");
  loss.backward();
  assert(h.disposed && r.disposed, "intermediates are disposed by backward");
  assert(!x.disposed && !w.disposed && !loss.disposed, "leaves and the root survive backward");
  assertEquals(loss.node, null, "the root's node is released");
  // What is left: the leaves, the loss (4 bytes) and the two gradients.
  assertEquals(device.liveBytes(), leaves + 4 + (w.size + b.size) * 4);
  loss.dispose();
  w.grad!.dispose();
  b.grad!.dispose();
  assertEquals(device.liveBytes(), leaves);
  for (const t of [x, w, b]) t.dispose();
  assertEquals(device.liveBytes(), base);
});

onEveryDevice("kept intermediates survive backward and tidy", async (device) => {
  const w = tensor([1, -1], [2], device, { requiresGrad: true });
  const base = device.liveBytes();
  const { kept, loss } = tidy(() => {
    const kept = relu(w).keep();
    const loss = sum(mul(kept, w));
    loss.backward();
    return { kept, loss };
  });
  assertEquals(Array.from(await kept.toArray()), [1, 0]);
  assertEquals(Array.from(await w.grad!.toArray()), [2, 0]); // relu(w) + w * relu'(w)
  assertEquals(device.liveBytes(), base + 8 + 4 + 8, "kept, loss and the gradient are left");
  for (const t of [w, w.grad!, kept, loss]) t.dispose();
});

// Regression: tidy() used to dispose the graph behind a returned loss, and backward() outside it
// silently left w.grad null. tidy() now keeps a returned tensor's graph.
Deno.test({
  name: "backward() outside the tidy() that built the graph does not fail silently",
  fn: async () => {
    const device = (await devices()).get("cpu")!;
    const w = tensor([1, -1], [2], device, { requiresGrad: true });
    const loss = tidy(() => sum(mul(relu(w), w)));
    try {
      loss.backward();
      assert(w.grad !== null, "backward() gave no gradient and no error");
      assertEquals(Array.from(await w.grad.toArray()), [2, 0]);
    } catch (e) {
      assert(String((e as Error).message).includes("disposed"), `unclear error: ${e}`);
    }
    for (const t of [w, w.grad, loss]) t?.dispose();
  },
});

onEveryDevice("noGrad records nothing", async (device) => {
  const x = tensor([1, -2], [2], device, { requiresGrad: true });
  const base = device.liveBytes();
  // Without a tape nothing frees the intermediates: tidy() does.
  const y = tidy(() => noGrad(() => sum(relu(mul(x, x)))));
  assertEquals(y.requiresGrad, false);
  assertEquals(y.node, null);
  assertEquals(device.liveBytes(), base + 4, "only the returned scalar is left");
  assertEquals(await y.item(), 5);
  assertThrows(() => y.backward(), "does not require grad");
  assertEquals(x.grad, null);
  y.dispose();
  x.dispose();
});

onEveryDevice("using and dispose free memory", async (device) => {
  const base = device.liveBytes();
  let escaped: Tensor;
  {
    using t = tensor(new Float32Array(100), [10, 10], device);
    escaped = t;
    assertEquals(device.liveBytes(), base + 400);
  }
  assert(escaped.disposed, "`using` disposed the tensor at the end of the block");
  assertEquals(device.liveBytes(), base);
  const u = tensor(new Int32Array([1, 2]), [2], device);
  u.dispose();
  u.dispose(); // twice is harmless
  assertEquals(device.liveBytes(), base);
  await assertRejects(() => u.toArray(), "already disposed");
  assertThrows(() => relu(escaped), "already disposed");
});

// What synchronised batch norm builds on: a host function in the middle of recorded work sees
// its inputs as recorded, and the work recorded after it sees its results, although on WebGPU
// the recording goes on without a wait (the inputs' buffers freed and reused, uploads, a trim).
onEveryDevice(
  "hostCall: host functions in the middle of recorded work keep its order",
  async (device) => {
    const b = device.backend;
    const base = device.liveBytes();
    const a = b.upload(new Float32Array([1, 2, 3]));
    const twice = b.affine({ x: a, alpha: 2, beta: 0 });
    const seen: number[][] = [];
    const [plus1] = b.hostCall([twice], [3], ([d]) => {
      seen.push([...d]);
      return [Float32Array.from(d, (v) => v + 1)];
    });
    for (const s of [a, twice]) b.free(s);
    const reused = b.fill({ length: 3, dtype: "f32", value: 99 }); // may take twice's buffer
    const ten = b.upload(new Float32Array([10, 10, 10]));
    const sum1 = b.binary({ op: "add", a: plus1, b: ten });
    for (const s of [plus1, ten]) b.free(s);
    if (device.kind === "webgpu") (b as WebGpuBackend).rt.trim(); // their buffers, still to be used
    const [total, none] = b.hostCall([sum1, reused], [1, 0], ([d, r]) => {
      seen.push([...d], [...r]);
      return [Float32Array.of([...d].reduce((x, y) => x + y, 0)), new Float32Array(0)];
    });
    const out = b.affine({ x: total, alpha: 0.5, beta: 0 });
    assertEquals([...await b.read(out)], [22.5]); // (3 + 5 + 7 + 30) / 2
    assertEquals(seen, [[2, 4, 6], [13, 15, 17], [99, 99, 99]]);
    for (const s of [reused, sum1, total, none, out]) b.free(s);
    assertEquals(device.liveBytes(), base);
    // What the host function throws: at once on cpu and blas, at the next read on WebGPU.
    const fail = () =>
      b.hostCall([], [1], () => {
        throw new RangeError("no sum here");
      });
    if (device.kind !== "webgpu") {
      assertThrows(fail, "no sum here");
      return;
    }
    const [bad] = fail();
    await assertRejects(() => b.read(bad), "no sum here");
    b.free(bad);
    const one = b.fill({ length: 1, dtype: "f32", value: 1 });
    assertEquals([...await b.read(one)], [1], "the runtime goes on after the error");
    b.free(one);
  },
);

onEveryDevice("ops reject bad shapes with messages naming them", (device) => {
  const x = tensor(new Float32Array(2 * 3 * 5 * 5), [2, 3, 5, 5], device);
  const w = tensor(new Float32Array(4 * 2 * 3 * 3), [4, 2, 3, 3], device);
  assertThrows(
    () => conv2d(x, w),
    "conv2d: input has 3 channels but weight [4,2,3,3] expects 2",
  );
  const w3 = tensor(new Float32Array(4 * 3 * 3 * 3), [4, 3, 3, 3], device);
  const bad = tensor(new Float32Array(3), [3], device);
  assertThrows(() => conv2d(x, w3, bad), "expected bias of shape [4] but got [3]");
  assertThrows(() => conv2d(x, w3, null, { padding: -1 }), "padding");
  const flat = tensor(new Float32Array(75), [3, 25], device);
  assertThrows(
    () => conv2d(flat, w3),
    "expected input of rank 4 [N, C, H, W] but got shape [3,25]",
  );
  const a = tensor(new Float32Array(6), [2, 3], device);
  const b = tensor(new Float32Array(6), [3, 2], device);
  assertThrows(() => add(a, b), "add: expected shapes to match");
  assertThrows(() => add(a, b), "[2,3] and [3,2]");
  const p = tensor(new Float32Array(6), [2, 3], device, { requiresGrad: true });
  const y = mul(p, a);
  assertThrows(() => y.backward(), "backward() needs a one-element loss but got shape [2,3]");
  for (const t of [x, w, w3, bad, flat, a, b, p, y]) t.dispose();
});

Deno.test("requestDevice names unknown backends", async () => {
  // deno-lint-ignore no-explicit-any
  await assertRejects(() => requestDevice({ backend: "tpu" as any }), 'Unknown backend "tpu"');
  const before = Deno.env.get("FCN_BACKEND");
  Deno.env.set("FCN_BACKEND", "quantum");
  // requestDevice reads the variable before its first await: restore it at once.
  const pending = requestDevice();
  if (before === undefined) Deno.env.delete("FCN_BACKEND");
  else Deno.env.set("FCN_BACKEND", before);
  await assertRejects(() => pending, 'Unknown backend "quantum" in FCN_BACKEND');
  await assertRejects(() => pending, "expected one of webgpu, blas, cpu");
});

/** Loss, parameter gradients and running statistics of the small net after one backward. */
async function smallNetRun(device: Device) {
  const net = makeSmallNet(device, 3);
  const loss = smallNetLoss(net, 11);
  const value = await loss.item();
  loss.backward();
  const grads = await Promise.all(net.params.map((p) => p.grad!.toArray()));
  const running = await Promise.all(net.running.map((t) => t.toArray()));
  loss.dispose();
  disposeSmallNet(net);
  return { value, grads, running };
}

Deno.test({
  name: "WebGPU with a 4 KiB binding limit matches the cpu device (chunked kernels)",
  ignore: !hasWebGpu,
  fn: async () => {
    const small = await requestDevice({ backend: "webgpu", maxBindingBytes: 4096 });
    const rt = (small.backend as WebGpuBackend).rt;
    assertEquals(rt.maxBinding, 4096);
    const devs = await devices();
    const want = await smallNetRun(devs.get("cpu")!);
    const base = small.liveBytes();
    const got = await smallNetRun(small);
    assertEquals(small.liveBytes(), base, "live bytes after the run");
    const tol = { atol: 1e-4, rtol: 1e-4 };
    assertClose([got.value], [want.value], { ...tol, name: "loss" });
    got.grads.forEach((g, i) => assertClose(g, want.grads[i], { ...tol, name: `grad ${i}` }));
    got.running.forEach((r, i) =>
      assertClose(r, want.running[i], { ...tol, name: `running ${i}` })
    );
    // The work was split: more dispatches than on the same adapter with its own limit.
    const full = devs.get("webgpu")!;
    const fullRt = (full.backend as WebGpuBackend).rt;
    const before = [fullRt.dispatchCount, rt.dispatchCount];
    await smallNetRun(full);
    await smallNetRun(small);
    const [fullCount, smallCount] = [
      fullRt.dispatchCount - before[0],
      rt.dispatchCount - before[1],
    ];
    assert(
      smallCount > fullCount,
      `${smallCount} dispatches with 4 KiB bindings, ${fullCount} without`,
    );
    small.destroy();
  },
});
