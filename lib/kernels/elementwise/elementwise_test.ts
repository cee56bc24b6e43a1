import {
  add,
  div,
  dropout,
  dropout2d,
  mul,
  noGrad,
  relu,
  requestDevice,
  scale,
  sub,
  sum,
  type Tensor,
  tensor,
} from "../../../mod.ts";
import type { Backend, Storage } from "../../device/backend.ts";
import { dropoutKeep } from "../../device/backend.ts";
import { addRelu } from "../../ops/elementwise.ts";
import { checkOp, devices, hasWebGpu, randn } from "../../../tests/harness.ts";
import {
  assert,
  assertAlmostEquals,
  assertClose,
  assertEquals,
  assertThrows,
} from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

const ops = { add, sub, mul, div };

Deno.test("binary ops give known values, also with a one-element b", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const a = tensor([1, 2, 3, 4], [2, 2], device);
  const b = tensor([2, 4, 8, 16], [2, 2], device);
  const s = tensor([2], [1], device);
  const want = {
    add: [[3, 6, 11, 20], [3, 4, 5, 6]],
    sub: [[-1, -2, -5, -12], [-1, 0, 1, 2]],
    mul: [[2, 8, 24, 64], [2, 4, 6, 8]],
    div: [[0.5, 0.5, 0.375, 0.25], [0.5, 1, 1.5, 2]],
  };
  for (const [name, op] of Object.entries(ops)) {
    const w = want[name as keyof typeof want];
    assertEquals(Array.from(await op(a, b).toArray()), w[0], name);
    assertEquals(Array.from(await op(a, s).toArray()), w[1], `${name} by a scalar`);
  }
  assertEquals(Array.from(await scale(a, -0.5).toArray()), [-0.5, -1, -1.5, -2]);
  assertEquals(Array.from(await relu(tensor([-1, 0, 2], [3], device)).toArray()), [0, 0, 2]);
});

Deno.test("binary ops, scale and relu match the reference on every backend, with finite differences", async () => {
  const shape = [2, 3, 2];
  const away = (seed: number) => randn(12, seed, 0.5, 2).map((v, i) => i % 3 ? v : -v);
  for (const [name, op] of Object.entries(ops)) {
    const fd = { finiteDifferences: true };
    await checkOp(name, [{ shape }, { shape, data: away(2) }], ([a, b]) => op(a, b), fd);
    await checkOp(
      `${name} scalar`,
      [{ shape }, { shape: [1], data: Float32Array.of(1.5) }],
      ([a, b]) => op(a, b),
      fd,
    );
  }
  await checkOp("scale", [{ shape }], ([x]) => scale(x, -2.5), { finiteDifferences: true });
  // away from the kink at 0
  await checkOp("relu", [{ shape, data: away(3) }], ([x]) => relu(x), { finiteDifferences: true });
});

Deno.test("dropout draws the same mask on every backend, forward and backward", async () => {
  const specs = [{ shape: [2, 3, 4, 5] }];
  for (const p of [0.1, 0.5, 0.9]) {
    await checkOp(`dropout p ${p}`, specs, ([x]) => dropout(x, { p, seed: 11 }), {
      finiteDifferences: p === 0.5,
    });
    await checkOp(`dropout2d p ${p}`, specs, ([x]) => dropout2d(x, { p, seed: 12 }), {
      finiteDifferences: p === 0.5,
    });
  }
});

Deno.test("per-sample dropout seeds: each sample's mask is its own, on every backend", async () => {
  const specs = [{ shape: [3, 4, 5, 6] }];
  const seeds = [101, 7, 4294967295];
  for (const p of [0.3, 0.7]) {
    await checkOp(`dropout seeds p ${p}`, specs, ([x]) => dropout(x, { p, seeds }));
    await checkOp(`dropout2d seeds p ${p}`, specs, ([x]) => dropout2d(x, { p, seeds }));
  }
  // A sample keeps its mask in another batch: sample 2 alone with its seed, or batched.
  for (const [name, op] of [["dropout", dropout], ["dropout2d", dropout2d]] as const) {
    for (const device of (await devices()).values()) {
      const x = tensor(Float32Array.from({ length: 360 }, (_, i) => i + 1), [3, 4, 5, 6], device);
      const all = await op(x, { p: 0.5, seeds }).toArray();
      const one = tensor(
        Float32Array.from({ length: 120 }, (_, i) => 241 + i),
        [1, 4, 5, 6],
        device,
      );
      const alone = await op(one, { p: 0.5, seeds: [seeds[2]] }).toArray();
      assertEquals(Array.from(all.subarray(240)), Array.from(alone), `${name} on ${device.kind}`);
      // A single seed over the batch is the one-seed form of the first sample only.
      const single = await op(x, { p: 0.5, seed: 101 }).toArray();
      assertEquals(Array.from(single.subarray(0, 120)), Array.from(all.subarray(0, 120)));
    }
  }
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(new Float32Array(24), [2, 12], device);
  assertThrows(() => dropout(x, { seeds: [1, 2, 3] }), "one seed per sample (2");
});

/** The fraction of nonzero values of a tensor. */
async function keptFraction(t: Tensor): Promise<number> {
  const y = Array.from(await t.toArray());
  return y.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0) / y.length;
}

Deno.test("dropout keeps about 1 - p of the elements, scaled by 1 / (1 - p)", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(new Float32Array(200_000).fill(1), [200_000], device);
  for (const p of [0.1, 0.3, 0.5, 0.8]) {
    const y = dropout(x, { p, seed: 3 });
    // standard deviation of the fraction is at most 0.0012
    assertAlmostEquals(await keptFraction(y), 1 - p, 0.006, `keep rate at p ${p}`);
    const values = new Set(await y.toArray());
    assertEquals([...values].sort(), [0, Math.fround(1 / (1 - p))].sort(), `values at p ${p}`);
  }
  const a = Array.from(await dropout(x, { seed: 1 }).toArray());
  const b = await dropout(x, { seed: 2 }).toArray();
  const same = a.reduce((n, v, i) => n + (v === b[i] ? 1 : 0), 0) / a.length;
  assertAlmostEquals(same, 0.5, 0.01, "two seeds agree on half the elements");
  assert(dropout(x, { training: false }) === x, "evaluation returns the input");
  assert(dropout(x, { p: 0 }) === x, "p 0 returns the input");
});

Deno.test("dropout2d zeroes whole channels, about p of them", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const [n, c, hw] = [4, 1000, 6];
  const x = tensor(new Float32Array(n * c * hw).fill(1), [n, c, 2, 3], device);
  const y = await dropout2d(x, { p: 0.3, seed: 5 }).toArray();
  let kept = 0;
  for (let ch = 0; ch < n * c; ch++) {
    const plane = y.subarray(ch * hw, (ch + 1) * hw);
    assert(plane.every((v) => v === plane[0]), `channel ${ch} is all kept or all dropped`);
    if (plane[0] !== 0) kept++;
  }
  assertAlmostEquals(kept / (n * c), 0.7, 0.025, "channel keep rate");
});

Deno.test("dropout's gradient is the mask times 1 / (1 - p)", async () => {
  for (const [kind, device] of await devices()) {
    const x = tensor(randn(64, 9, 0.5, 1), [4, 4, 2, 2], device, { requiresGrad: true });
    for (const [name, fn] of [["dropout", dropout], ["dropout2d", dropout2d]] as const) {
      const y = fn(x, { p: 0.4, seed: 21 });
      const yv = await y.toArray(), xv = await x.toArray();
      const loss = sum(y);
      loss.backward();
      const g = await x.grad!.toArray();
      const want = yv.map((v, i) => v / xv[i]); // 0 or 1 / 0.6
      assertClose(g, want, { atol: 1e-6, name: `${name} gradient on ${kind}` });
      x.grad!.dispose();
      x.grad = null;
    }
  }
});

/** Runs every element-wise kernel of `b` on `n` elements and compares with the reference. */
async function compareKernels(b: Backend, n: number) {
  const a = randn(n, 1), c = randn(n, 2, 0.5, 2), one = Float32Array.of(-1.25);
  const [ga, gc, g1] = [a, c, one].map((v) => b.upload(v));
  // Single roundings are exact; affine and axpby round twice in f32, the reference once.
  const check = async (name: string, got: Storage, want: Float32Array, tol = 0) => {
    assertClose(await b.read(got), want, {
      atol: tol,
      rtol: tol,
      name: `${name} on ${n} elements`,
    });
    b.free(got);
  };
  for (const op of ["add", "sub", "mul", "div"] as const) {
    const tol = op === "div" ? 3e-7 : 0; // WGSL allows 2.5 ulp for division
    await check(op, b.binary({ op, a: ga, b: gc }), ref.binary(op, a, c), tol);
    await check(`${op} scalar`, b.binary({ op, a: ga, b: g1 }), ref.binary(op, a, one), tol);
  }
  await check(
    "axpby",
    b.axpby({ a: ga, b: gc, alpha: 0.5, beta: -2 }),
    ref.axpby(a, c, 0.5, -2),
    3e-7,
  );
  await check("affine", b.affine({ x: ga, alpha: 3, beta: 0.25 }), ref.affine(a, 3, 0.25), 3e-7);
  await check("relu", b.relu({ x: ga }), ref.relu(a));
  await check("reluGrad", b.reluGrad({ dy: gc, y: ga }), ref.reluGrad(c, a));
  await check(
    "fill",
    b.fill({ length: n, dtype: "f32", value: 0.5 }),
    new Float32Array(n).fill(0.5),
  );
  assertEquals(
    await b.read(b.fill({ length: n, dtype: "i32", value: -3 })),
    new Int32Array(n).fill(-3),
    "fill i32",
  );
  for (const group of [1, 7, 600]) {
    await check(
      `dropout group ${group}`,
      b.dropout({ x: ga, p: 0.35, seed: 99, group }),
      ref.dropout({ x: a, p: 0.35, seed: 99, group }),
    );
  }
  for (const s of [ga, gc, g1]) b.free(s);
}

Deno.test("reference dropout follows dropoutKeep group by group", () => {
  const x = new Float32Array(40).fill(2);
  const y = ref.dropout({ x, p: 0.5, seed: 8, group: 4 });
  for (let i = 0; i < 40; i++) {
    assertEquals(y[i], dropoutKeep(8, Math.floor(i / 4), 0.5) ? 4 : 0, `element ${i}`);
  }
});

Deno.test({
  name: "WebGPU element-wise kernels equal the reference, also in chunks under a 4 KiB limit",
  ignore: !hasWebGpu,
  async fn() {
    const small = await requestDevice({ backend: "webgpu", maxBindingBytes: 4096 });
    await compareKernels(small.backend, 2500);
    small.destroy();
    const device = await requestDevice({ backend: "webgpu" });
    await compareKernels(device.backend, 1000);
    device.destroy();
  },
});

Deno.test("addRelu: one kernel in inference equals relu(add) on every backend (NaN gives 0)", async () => {
  const a = randn(4099, 81), b = randn(4099, 82);
  a[7] = NaN;
  const want = Array.from(a, (v, i) => (v + b[i] > 0 ? v + b[i] : 0));
  for (const [kind, device] of await devices()) {
    const ta = tensor(a, [4099], device), tb = tensor(b, [4099], device);
    const fused = noGrad(() => addRelu(ta, tb));
    const got = Array.from(await fused.toArray());
    for (let i = 0; i < want.length; i++) {
      assertAlmostEquals(got[i], want[i], 1e-6, `${kind} [${i}]`);
    }
    const graph = addRelu(ta, tb); // a graph is recorded: add then relu
    assertEquals(Array.from(await graph.toArray()), got, kind);
  }
});
