import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { randn } from "../../tests/harness.ts";
import type { ConvGeom, PoolGeom, Storage } from "./backend.ts";
import { createBlasBackend } from "../backends/blas.ts";
import { loadBlas } from "./blas_ffi.ts";
import { HostPool } from "./blas_pool.ts";
import { f32of, type HostStorage } from "./host.ts";
import * as ref from "../kernels/elementwise/reference.ts";

const hasBlas = (() => {
  try {
    loadBlas();
    return true;
  } catch {
    return false;
  }
})();

Deno.test("HostPool: hands a returned array back for the same dtype and length only", () => {
  const pool = new HostPool(1024);
  const a = pool.f32(8);
  pool.put(a);
  assertEquals(pool.bytes, 32);
  assert(pool.i32(8) !== (a as unknown), "an i32 request must not get an f32 array");
  assert(pool.f32(9) !== a, "another length must not get it");
  assert(pool.f32(8) === a, "the same size gets it back");
  assertEquals(pool.bytes, 0);
  assert(pool.f32(8) !== a, "and only once");
});

Deno.test("HostPool: keeps no more idle arrays of a size than it had to make", () => {
  const pool = new HostPool(1 << 20);
  // Never asked for: left to the garbage collector.
  pool.put(new Float32Array(16));
  assertEquals(pool.bytes, 0);
  const a = pool.f32(16), b = pool.f32(16);
  pool.put(a);
  pool.put(b);
  pool.put(new Float32Array(16)); // a third one, from a kernel allocating its own output
  assertEquals(pool.bytes, 2 * 64);
});

Deno.test("HostPool: drops the sizes least recently returned past its capacity", () => {
  const pool = new HostPool(100);
  const a = pool.f32(10), b = pool.f32(12), c = pool.f32(5);
  pool.put(a); // 40 bytes
  pool.put(b); // 88
  pool.put(c); // 108 > 100: a goes
  assertEquals(pool.bytes, 68);
  assert(pool.f32(10) !== a);
  assert(pool.f32(12) === b);
  assert(pool.f32(5) === c);
  pool.put(new Float32Array(0));
  assertEquals(pool.bytes, 0);
  assertThrows(() => new HostPool(-1), "Expected a pool capacity >= 0 bytes but found -1");
});

Deno.test("HostPool: filled arrays hold the value, fresh or recycled; clear empties it", () => {
  const pool = new HostPool();
  const a = pool.filled("f32", 4, 0) as Float32Array;
  assertEquals(Array.from(a), [0, 0, 0, 0]);
  a.fill(NaN);
  pool.put(a);
  assertEquals(Array.from(pool.filled("f32", 4, 0)), [0, 0, 0, 0]);
  assert(Object.is(pool.filled("f32", 2, -0)[0], -0), "-0 is written, not left as +0");
  assertEquals(Array.from(pool.filled("i32", 3, 7)), [7, 7, 7]);
  pool.put(pool.f32(4));
  pool.clear();
  assertEquals(pool.bytes, 0);
});

/** Bits of an array, so that NaNs and signed zeros compare exactly. */
function bits(s: Storage): number[] {
  const d = (s as HostStorage).data;
  return Array.from(new Uint32Array(d.buffer, d.byteOffset, d.length));
}

Deno.test({
  name: "blas backend: recycled arrays full of NaN give the results of fresh ones",
  ignore: !hasBlas,
  fn() {
    const be = createBlasBackend();
    const up = (n: number, seed: number) => be.upload(randn(n, seed));
    const conv: ConvGeom = {
      n: 2,
      c: 3,
      h: 9,
      w: 8,
      k: 4,
      kh: 3,
      kw: 3,
      oh: 9,
      ow: 8,
      strideH: 1,
      strideW: 1,
      padH: 1,
      padW: 1,
      dilH: 1,
      dilW: 1,
    };
    const fc6: ConvGeom = { ...conv, k: 200 }; // im2col: more filters than outputs
    const strided: ConvGeom = { ...conv, h: 24, w: 26, oh: 12, ow: 13, strideH: 2, strideW: 2 };
    const pointwise: ConvGeom = { ...conv, kh: 1, kw: 1, padH: 0, padW: 0 };
    const perTap: ConvGeom = { ...conv, c: 16, k: 5 }; // 16 channels: one GEMM per tap
    const pool: PoolGeom = {
      n: 2,
      c: 3,
      h: 8,
      w: 6,
      kh: 2,
      kw: 2,
      oh: 4,
      ow: 3,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
    };
    const planes = { n: 2, c: 3, h: 4, w: 5 };
    const x = up(2 * 3 * 9 * 8, 1), x2 = up(2 * 3 * 24 * 26, 2), xp = up(2 * 3 * 8 * 6, 3);
    const xb = up(2 * 3 * 4 * 5, 4), m = up(3, 5), v = be.upload(new Float32Array([1, 2, 3]));
    const one = up(1, 10);
    const target = be.upload(
      Int32Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? 255 : i % 3)),
    );
    const ops: [string, () => Storage][] = [];
    const x16 = up(2 * 16 * 9 * 8, 11);
    for (const g of [conv, fc6, strided, pointwise, perTap]) {
      const xi = g === strided ? x2 : g === perTap ? x16 : x;
      const w = up(g.k * g.c * g.kh * g.kw, 6), b = up(g.k, 7), dy = up(g.n * g.k * g.oh * g.ow, 8);
      ops.push(
        [`conv2d ${g.k}`, () => be.conv2d({ x: xi, w, b, geom: g, relu: true })],
        [`conv2dGradInput ${g.k}`, () => be.conv2dGradInput({ dy, w, geom: g })],
        [`conv2dGradWeight ${g.k}`, () => be.conv2dGradWeight({ dy, x: xi, geom: g })],
      );
    }
    const dyp = up(2 * 3 * 4 * 3, 9);
    const idx = be.maxPool2d({ x: xp, geom: pool }).idx!;
    ops.push(
      ["relu", () => be.relu({ x })],
      ["reluGrad", () => be.reluGrad({ dy: x, y: x })],
      ["binary", () => be.binary({ op: "mul", a: x, b: x })],
      ["binary by a scalar", () => be.binary({ op: "sub", a: x, b: one })],
      ["affine", () => be.affine({ x, alpha: 2, beta: -1 })],
      ["fill", () => be.fill({ length: x.length, dtype: "f32", value: 0 })],
      ["upload", () => be.upload(new Float32Array(x.length).fill(3))],
      ["maxPool2d", () => be.maxPool2d({ x: xp, geom: pool }).y],
      ["maxPool2d idx", () => be.maxPool2d({ x: xp, geom: pool }).idx!],
      [
        "maxPool2d 3x3",
        () => be.maxPool2d({ x: xp, geom: { ...pool, kh: 3, kw: 3, padH: 1, padW: 1 } }).y,
      ],
      ["maxPool2dGrad", () => be.maxPool2dGrad({ dy: dyp, idx, geom: pool })],
      [
        "batchNorm",
        () => be.batchNorm({ x: xb, mean: m, variance: v, gamma: v, beta: m, planes, eps: 1e-5 }),
      ],
      [
        "batchNormGrad",
        () =>
          be.batchNormGrad({
            dy: xb,
            x: xb,
            mean: m,
            variance: v,
            gamma: v,
            planes,
            eps: 1e-5,
            training: true,
          }).dx,
      ],
      ["matmul", () => be.matmul({ a: x, b: x, m: 16, k: 27, n: 16, transA: false, transB: true })],
      ["dropout", () => be.dropout({ x, p: 0.5, seed: 7, group: 72 })],
      ["interpolate", () => be.interpolate({ x: xb, planes, oh: 7, ow: 9, alignCorners: false })],
      ["crop", () => be.crop({ x: xb, planes, oh: 2, ow: 3, top: 1, left: 2 })],
      [
        "cropGrad",
        () => be.cropGrad({ dy: up(2 * 3 * 2 * 3, 12), planes, oh: 2, ow: 3, top: 1, left: 2 }),
      ],
      ["channelSum", () => be.channelSum({ x: xb, planes })],
      ["softmax", () => be.softmax({ x: xb, outer: 2, len: 3, inner: 20, log: false })],
      ["logSoftmax", () => be.softmax({ x: xb, outer: 2, len: 3, inner: 20, log: true })],
      [
        "softmaxGrad",
        () => be.softmaxGrad({ y: xb, dy: xb, outer: 2, len: 3, inner: 20, log: true }),
      ],
      [
        "crossEntropy",
        () =>
          be.crossEntropy({
            logits: xb,
            target,
            weight: null,
            n: 2,
            k: 3,
            hw: 20,
            ignoreIndex: 255,
          }).loss,
      ],
      [
        "crossEntropy, the weights",
        () =>
          be.crossEntropy({
            logits: xb,
            target,
            weight: null,
            n: 2,
            k: 3,
            hw: 20,
            ignoreIndex: 255,
          }).weight,
      ],
      [
        "crossEntropyGrad",
        () =>
          be.crossEntropyGrad({
            logits: xb,
            target,
            weight: null,
            g: one,
            n: 2,
            k: 3,
            hw: 20,
            ignoreIndex: 255,
          }),
      ],
    );
    for (const [name, run] of ops) {
      // A oneDNN conv's output held in its blocked layout: poison the blocked buffer instead.
      const heldRun = () => {
        const first = run(), buffer = be.rt.blocked.get(first)?.buffer;
        if (!buffer) return false;
        const want = bits(run());
        buffer.fill(NaN);
        be.free(first);
        const again = run();
        assert(be.rt.blocked.get(again)?.buffer === buffer, `${name}: recycled blocked buffer`);
        assertEquals(bits(again), want, `${name}: same bits from a recycled blocked buffer`);
        return true;
      };
      if (heldRun()) continue;
      const first = run();
      const want = bits(first);
      // Poison the array and free it: the next call of the same shape gets it back.
      const data = (first as HostStorage).data;
      data.fill(NaN as never);
      be.free(first);
      const again = run();
      // A kernel with two outputs of one size may hand the recycled array to the other one.
      if (!name.startsWith("crossEntropy")) {
        assert((again as HostStorage).data === data, `${name}: recycled`);
      }
      assertEquals(bits(again), want, `${name}: same bits from a recycled array`);
    }
    be.destroy();
  },
});

Deno.test({
  name: "blas backend: liveBytes counts live storages only; a double free pools once",
  ignore: !hasBlas,
  fn() {
    const be = createBlasBackend();
    const base = be.liveBytes();
    const a = be.fill({ length: 1000, dtype: "f32", value: 1 });
    assertEquals(be.liveBytes(), base + 4000);
    be.free(a);
    assertEquals(be.liveBytes(), base);
    assertEquals(be.pool.bytes, 4000);
    be.free(a); // a bug elsewhere: must not hand the array out twice
    assertEquals(be.pool.bytes, 4000);
    const b = be.fill({ length: 1000, dtype: "f32", value: 2 }),
      c = be.fill({ length: 1000, dtype: "f32", value: 3 });
    assert(f32of(b) !== f32of(c), "two live storages never share an array");
    assertEquals(f32of(b)[0], 2);
    assertEquals(be.pool.bytes, 0);
    const small = createBlasBackend({ poolBytes: 0 });
    small.free(small.fill({ length: 10, dtype: "f32", value: 0 }));
    assertEquals(small.pool.bytes, 0);
    small.destroy();
    be.destroy();
  },
});

Deno.test({
  name: "blas backend: sums and differences through saxpy are bit for bit the reference",
  ignore: !hasBlas,
  fn() {
    const be = createBlasBackend();
    const a = randn(4099, 20, -1e3, 1e3), b = randn(4099, 21);
    a.set([0, -0, 0, -0, Infinity, -Infinity, 1e-40, 3.4e38], 0);
    b.set([0, 0, -0, -0, Infinity, 1, -1e-40, 3.4e38], 0);
    const [sa, sb] = [a, b].map((v) => be.upload(v));
    for (const op of ["add", "sub"] as const) {
      const want = ref.binary(op, a, b);
      assertEquals(
        bits(be.binary({ op, a: sa, b: sb })),
        Array.from(new Uint32Array(want.buffer)),
        op,
      );
    }
    be.destroy();
  },
});
