import { maxPool2d, requestDevice, tensor } from "../../../mod.ts";
import { geom } from "./_testing.ts";
import { checkOp, devices, rng, webGpuTest } from "../../../tests/harness.ts";
import { assertClose, assertEquals, assertRejects } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

/** `n` distinct values 0.05 apart in a seeded order (finite differences never flip a max). */
function distinct(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return Float32Array.from(v);
}

const iota = (n: number, f = (i: number) => i) => Float32Array.from({ length: n }, (_, i) => f(i));

Deno.test("reference maxPool2d: 4x4, kernel 2 stride 2", () => {
  const { y, idx } = ref.maxPool2d({
    x: iota(16, (i) => i + 1),
    geom: geom([1, 1, 4, 4], [2, 2], [2, 2]),
  });
  assertEquals(Array.from(y), [6, 8, 14, 16]);
  assertEquals(Array.from(idx), [5, 7, 13, 15]);
});

Deno.test("reference maxPool2d: 7x7, kernel 2 stride 2 ceil mode -> 4x4 clipped windows", () => {
  const g = geom([1, 1, 7, 7], [2, 2], [2, 2], [0, 0], true);
  assertEquals([g.oh, g.ow], [4, 4]);
  const { y, idx } = ref.maxPool2d({ x: iota(49), geom: g });
  const last = [1, 3, 5, 6]; // bottom-right of each (clipped) window
  const want = last.flatMap((r) => last.map((c) => r * 7 + c));
  assertEquals(Array.from(y), want);
  assertEquals(Array.from(idx), want);
});

Deno.test("reference maxPool2d: padding is -infinity, never the max", () => {
  const g = geom([1, 1, 5, 5], [3, 3], [2, 2], [1, 1]);
  assertEquals([g.oh, g.ow], [3, 3]);
  const up = ref.maxPool2d({ x: iota(25), geom: g });
  const hi = [1, 3, 4];
  assertEquals(Array.from(up.y), hi.flatMap((r) => hi.map((c) => r * 5 + c)));
  // all negative: the max is the top-left of each clipped window
  const down = ref.maxPool2d({ x: iota(25, (i) => -(i + 1)), geom: g });
  const lo = [0, 1, 3];
  assertEquals(Array.from(down.idx), lo.flatMap((r) => lo.map((c) => r * 5 + c)));
  assertEquals(Array.from(down.y), lo.flatMap((r) => lo.map((c) => -(r * 5 + c + 1))));
});

Deno.test("reference maxPool2d: ties take the first max, NaN propagates", () => {
  const g = geom([1, 1, 4, 4], [2, 2], [2, 2]);
  assertEquals(Array.from(ref.maxPool2d({ x: new Float32Array(16).fill(3), geom: g }).idx), [
    0,
    2,
    8,
    10,
  ]);
  const x = new Float32Array(16);
  x[5] = NaN;
  x[1] = 7;
  const { y, idx } = ref.maxPool2d({ x, geom: g });
  assertEquals(Number.isNaN(y[0]), true);
  assertEquals(idx[0], 5);
});

Deno.test("reference maxPool2dGrad sums where overlapping windows share a max", () => {
  // 3x3 with its max in the centre, kernel 2 stride 1: all four windows pick index 4
  const x = Float32Array.from([1, 2, 3, 4, 9, 5, 6, 7, 8]);
  const g = geom([1, 1, 3, 3], [2, 2], [1, 1]);
  const { idx } = ref.maxPool2d({ x, geom: g });
  assertEquals(Array.from(idx), [4, 4, 4, 4]);
  const dx = ref.maxPool2dGrad({ dy: Float32Array.from([1, 2, 3, 4]), idx, geom: g });
  assertEquals(Array.from(dx), [0, 0, 0, 0, 10, 0, 0, 0, 0]);
});

Deno.test("maxPool2d op: known values and output shapes", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const x = tensor(iota(2 * 49), [1, 2, 7, 7], device);
  const y = maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true });
  assertEquals(y.shape, [1, 2, 4, 4]);
  assertEquals((await y.toArray())[16], 49 + 8);
  assertEquals(maxPool2d(x, { kernelSize: 2, stride: 2 }).shape, [1, 2, 3, 3]);
  assertEquals(maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }).shape, [
    1,
    2,
    4,
    4,
  ]);
});

const cases: { name: string; shape: number[]; o: Parameters<typeof maxPool2d>[1] }[] = [
  { name: "7x7 k2 s2 ceil, batch 2", shape: [2, 3, 7, 7], o: { kernelSize: 2, ceilMode: true } },
  { name: "10x10 k2 s2 (FCN)", shape: [2, 3, 10, 10], o: { kernelSize: 2 } },
  { name: "9x8 k3 s2 p1", shape: [1, 2, 9, 8], o: { kernelSize: 3, stride: 2, padding: 1 } },
  {
    name: "6x5 k3 s1 p1 overlap",
    shape: [2, 2, 6, 5],
    o: { kernelSize: 3, stride: 1, padding: 1 },
  },
  {
    name: "5x7 k[2,3] s[2,1] p[1,0] ceil",
    shape: [1, 3, 5, 7],
    o: { kernelSize: [2, 3], stride: [2, 1], padding: [1, 0], ceilMode: true },
  },
  {
    name: "11x11 k3 s2 ceil",
    shape: [1, 2, 11, 11],
    o: { kernelSize: 3, stride: 2, ceilMode: true },
  },
];

Deno.test("maxPool2d matches the reference on every backend, forward and backward", async () => {
  for (const [i, { name, shape, o }] of cases.entries()) {
    const data = distinct(shape.reduce((a, b) => a * b), i + 1);
    await checkOp(`maxPool2d ${name}`, [{ shape, data }], ([x]) => maxPool2d(x, o));
  }
});

Deno.test("maxPool2d gradients pass finite differences", async () => {
  for (
    const [i, { shape, o }] of [
      { shape: [1, 1, 4, 4], o: { kernelSize: 2 } },
      { shape: [1, 2, 5, 5], o: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true } },
      { shape: [1, 1, 4, 5], o: { kernelSize: 3, stride: 1 } },
    ].entries()
  ) {
    const data = distinct(shape.reduce((a, b) => a * b), 10 + i);
    await checkOp(`maxPool2d fd ${i}`, [{ shape, data }], ([x]) => maxPool2d(x, o), {
      finiteDifferences: true,
    });
  }
});

Deno.test("maxPool2d lets NaN win on every backend, like PyTorch", async () => {
  const g = geom([1, 2, 4, 4], [2, 2], [2, 2]);
  const x = distinct(32, 5);
  x[5] = NaN; // window 0 of plane 0
  x[6] = NaN; // window 1 of plane 0
  x[7] = NaN; // window 1 again: the last NaN is recorded
  x[16 + 15] = NaN; // last window of plane 1
  const want = ref.maxPool2d({ x, geom: g });
  assertEquals(Array.from(want.idx.subarray(0, 2)), [5, 7]);
  for (const [kind, device] of await devices()) {
    const got = device.backend.maxPool2d({ x: device.backend.upload(x), geom: g });
    assertClose(await device.backend.read(got.y), want.y, { atol: 0, name: `y on ${kind}` });
    assertEquals(await device.backend.read(got.idx!), want.idx, `idx on ${kind}`);
  }
});

webGpuTest(
  "WebGPU maxPool2d splits storages larger than one binding over planes",
  { maxBindingBytes: 4096 },
  async (b) => {
    // 40 planes of 9x8 = 2880 elements, bindings hold 1016: 3 chunks
    const g = geom([4, 10, 9, 8], [3, 3], [2, 2], [1, 1], true);
    const x = distinct(g.n * g.c * g.h * g.w, 7);
    const want = ref.maxPool2d({ x, geom: g });
    const got = b.maxPool2d({ x: b.upload(x), geom: g });
    assertEquals(await b.read(got.y), want.y);
    assertEquals(await b.read(got.idx!), want.idx);
    const dy = distinct(want.y.length, 8);
    const dx = b.maxPool2dGrad({ dy: b.upload(dy), idx: got.idx!, geom: g });
    assertClose(await b.read(dx), ref.maxPool2dGrad({ dy, idx: want.idx, geom: g }), {
      atol: 1e-6,
    });
    // another layer size reuses the same two pipelines
    const before = b.rt.pipelineCount;
    const g2 = geom([1, 3, 6, 6], [2, 2], [2, 2]);
    const small = b.maxPool2d({ x: b.upload(distinct(108, 3)), geom: g2 });
    b.maxPool2dGrad({ dy: b.upload(new Float32Array(27).fill(1)), idx: small.idx!, geom: g2 });
    await b.flush();
    assertEquals(b.rt.pipelineCount, before);
    // a single plane larger than a binding is refused with a clear error
    const huge = geom([1, 1, 40, 40], [2, 2], [2, 2]);
    await assertRejects(
      () => b.maxPool2d({ x: b.upload(new Float32Array(1600)), geom: huge }),
      "binding",
    );
  },
);
