import { batchNorm2d, type Tensor, tensor } from "../../../mod.ts";
import type { Planes } from "../../device/backend.ts";
import {
  checkOp,
  devices,
  hasWebGpu,
  randn,
  uploaded,
  webGpuTest,
} from "../../../tests/harness.ts";
import { assert, assertClose, assertEquals } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

const planes = (n: number, c: number, h: number, w: number): Planes => ({ n, c, h, w });
const f32 = (...v: number[]) => Float32Array.from(v);

// [N 2, C 2, 1, 2]: channel 0 holds 1, 2, 3, 4 and channel 1 holds 10, 10, 10, 14
const X = f32(1, 2, 10, 10, 3, 4, 10, 14);
const P = planes(2, 2, 1, 2);

Deno.test("reference batchNormStats: mean and biased variance by hand", () => {
  const { mean, var: v } = ref.batchNormStats({ x: X, planes: P });
  assertEquals(Array.from(mean), [2.5, 11]);
  assertEquals(Array.from(v), [1.25, 3]);
});

Deno.test("reference batchNormStats stays exact far from zero", () => {
  // 10000 +- 0.5: mean 10000 and variance 0.25, which E[x^2] - E[x]^2 in f32 would lose
  const x = Float32Array.from({ length: 2 * 3 * 40 }, (_, i) => 10000 + (i % 2 ? 0.5 : -0.5));
  const { mean, var: v } = ref.batchNormStats({ x, planes: planes(2, 3, 5, 8) });
  assertEquals(Array.from(mean), [10000, 10000, 10000]);
  assertEquals(Array.from(v), [0.25, 0.25, 0.25]);
});

Deno.test("reference batchNorm by hand", () => {
  const y = ref.batchNorm({
    x: X,
    mean: f32(2.5, 11),
    variance: f32(1.25, 3),
    gamma: f32(2, 1),
    beta: f32(1, -1),
    planes: P,
    eps: 0,
  });
  const a = 1 / Math.sqrt(1.25), b = 1 / Math.sqrt(3);
  assertClose(
    y,
    [
      -1.5 * a * 2 + 1,
      -0.5 * a * 2 + 1,
      -b - 1,
      -b - 1,
      0.5 * a * 2 + 1,
      1.5 * a * 2 + 1,
      -b - 1,
      3 * b - 1,
    ],
    { atol: 1e-6 },
  );
});

Deno.test("reference batchNormGrad: constant dy has no gradient through batch statistics", () => {
  const dy = new Float32Array(8).fill(1);
  const gamma = f32(2, 3), mean = f32(2.5, 11), v = f32(1.25, 3);
  const args = { dy, x: X, mean, variance: v, gamma, planes: P, eps: 1e-5 };
  const t = ref.batchNormGrad({ ...args, training: true });
  assertClose(t.dx, new Float32Array(8), { atol: 1e-6 });
  assertEquals(Array.from(t.dbeta), [4, 4]);
  assertClose(t.dgamma, [0, 0], { atol: 1e-6 });
  // eval: dx = dy * gamma / sqrt(var + eps)
  const e = ref.batchNormGrad({ ...args, training: false });
  const a = 2 / Math.sqrt(1.25 + 1e-5), b = 3 / Math.sqrt(3 + 1e-5);
  assertClose(e.dx, [a, a, b, b, a, a, b, b], { atol: 1e-6 });
  assertClose(e.dgamma, t.dgamma, { atol: 0 });
  // dy = x: dgamma = sum((x - mean) * x) * invstd = M * var * invstd
  const g = ref.batchNormGrad({ ...args, dy: X, eps: 0, training: true });
  assertClose(g.dgamma, [4 * Math.sqrt(1.25), 4 * Math.sqrt(3)], { atol: 1e-5 });
  assertClose(g.dx, new Float32Array(8), { atol: 1e-5 }); // x is affine in xhat: no gradient
});

/** Batch norm with fresh running statistics on x's device (zeros and ones, or given). */
function bn(x: Tensor, w: Tensor, b: Tensor, training: boolean, seed = 0): Tensor {
  const c = x.shape[1];
  const rm = tensor(seed ? randn(c, seed) : new Float32Array(c), [c], x.device);
  const rv = tensor(seed ? randn(c, seed + 1, 0.5, 2) : new Float32Array(c).fill(1), [c], x.device);
  return batchNorm2d(x, rm, rv, w, b, { training });
}

const shapes = [[2, 3, 4, 5], [4, 2, 3, 3], [1, 3, 5, 5], [5, 2, 1, 1], [2, 4, 7, 9]];

Deno.test("batchNorm2d matches the reference on every backend, training and eval", async () => {
  for (const shape of shapes) {
    const c = shape[1];
    const specs = [{ shape }, { shape: [c] }, { shape: [c] }];
    for (const training of [true, false]) {
      const compared = await checkOp(
        `batchNorm2d ${shape} training ${training}`,
        specs,
        ([x, w, b]) => bn(x, w, b, training, training ? 0 : 7),
        { atol: 2e-4, rtol: 2e-4 },
      );
      assert(!hasWebGpu || compared.includes("webgpu"), "WebGPU was not compared");
    }
  }
});

Deno.test("batchNorm2d gradients pass finite differences", async () => {
  const specs = [{ shape: [2, 2, 2, 3] }, { shape: [2] }, { shape: [2] }];
  await checkOp("batchNorm2d fd training", specs, ([x, w, b]) => bn(x, w, b, true), {
    finiteDifferences: true,
  });
  await checkOp("batchNorm2d fd eval", specs, ([x, w, b]) => bn(x, w, b, false, 3), {
    finiteDifferences: true,
  });
});

Deno.test("batchNorm2d training updates the running statistics (momentum 0.1, unbiased)", async () => {
  const shape = [3, 2, 2, 3], m = 3 * 2 * 3;
  const x = randn(36, 11), rm0 = f32(0.5, -1), rv0 = f32(2, 0.25);
  const { mean, var: v } = ref.batchNormStats({ x, planes: planes(3, 2, 2, 3) });
  const wantMean = Array.from(rm0, (r, c) => 0.9 * r + 0.1 * mean[c]);
  const wantVar = Array.from(rv0, (r, c) => 0.9 * r + 0.1 * v[c] * m / (m - 1));
  for (const [kind, device] of await devices()) {
    const rm = tensor(rm0, [2], device), rv = tensor(rv0, [2], device);
    const w = tensor(f32(1, 1), [2], device), b = tensor(f32(0, 0), [2], device);
    batchNorm2d(tensor(x, shape, device), rm, rv, w, b, { training: true });
    assertClose(await rm.toArray(), wantMean, { atol: 1e-6, name: `running mean on ${kind}` });
    assertClose(await rv.toArray(), wantVar, { atol: 1e-6, name: `running var on ${kind}` });
    // eval leaves them alone
    batchNorm2d(tensor(x, shape, device), rm, rv, w, b);
    assertClose(await rm.toArray(), wantMean, { atol: 1e-6, name: `eval running mean on ${kind}` });
  }
});

webGpuTest(
  "WebGPU batch norm kernels split storages larger than one binding",
  { maxBindingBytes: 4096 },
  async (b) => {
    // 24 planes of 9x10 (2160 elements), bindings hold 1016: planes and flat ranges chunked
    const p = planes(4, 6, 9, 10);
    const x = randn(2160, 1).map((v) => 3 + v), dy = randn(2160, 2);
    const gamma = randn(6, 3), beta = randn(6, 4);
    const want = ref.batchNormStats({ x, planes: p });
    const xs = b.upload(x);
    const stats = b.batchNormStats({ x: xs, planes: p });
    assertClose(await b.read(stats.mean), want.mean, { atol: 1e-5 });
    assertClose(await b.read(stats.var), want.var, { atol: 1e-5 });
    const a = { x, mean: want.mean, variance: want.var, gamma, planes: p, eps: 1e-5 };
    const onDevice = { ...uploaded(b, a), x: xs, mean: stats.mean, variance: stats.var };
    const y = b.batchNorm({ ...onDevice, beta: b.upload(beta) });
    assertClose(await b.read(y), ref.batchNorm({ ...a, beta }), { atol: 1e-4 });
    for (const training of [true, false]) {
      const got = b.batchNormGrad({ ...onDevice, dy: b.upload(dy), training });
      const r = ref.batchNormGrad({ ...a, dy, training });
      assertClose(await b.read(got.dx), r.dx, { atol: 1e-4, name: `dx training ${training}` });
      assertClose(await b.read(got.dgamma), r.dgamma, { atol: 1e-4, name: "dgamma" });
      assertClose(await b.read(got.dbeta), r.dbeta, { atol: 1e-4, name: "dbeta" });
    }
  },
);

webGpuTest(
  "WebGPU batchNormStats: accurate far from zero, and over 65535 planes",
  {},
  async (b) => {
    const p = planes(2, 3, 40, 50);
    const x = randn(12000, 9).map((v) => 1000 + v * 0.1);
    const want = ref.batchNormStats({ x, planes: p });
    const got = b.batchNormStats({ x: b.upload(x), planes: p });
    assertClose(await b.read(got.mean), want.mean, { rtol: 1e-6, atol: 0 });
    assertClose(await b.read(got.var), want.var, { rtol: 1e-3, atol: 0 });
    // one workgroup per plane: more planes than one grid dimension holds
    const q = planes(2, 40000, 1, 1);
    const z = randn(80000, 10);
    const wz = ref.batchNormStats({ x: z, planes: q });
    const gz = b.batchNormStats({ x: b.upload(z), planes: q });
    assertClose(await b.read(gz.mean), wz.mean, { atol: 1e-6 });
    assertClose(await b.read(gz.var), wz.var, { atol: 1e-6 });
  },
);
