/**
 * Storages held in oneDNN's layouts between convs (BlasRuntime.trackBlocked): the values are
 * the plain path's, whatever reads them, and nothing leaks.
 */
import { assert, assertEquals } from "../../../../tests/assert.ts";
import { randn } from "../../../../tests/harness.ts";
import { geom as poolGeom } from "../../pool/_testing.ts";
import { createBlasBackend } from "../../../backends/blas.ts";
import { createCpuBackend } from "../../../backends/cpu.ts";
import { hasDnnl } from "../../../device/dnnl_ffi.ts";
import type { Backend, ConvGeom, PoolGeom, Storage } from "../../../device/backend.ts";
import { f32of } from "../../../device/host.ts";

const available = hasDnnl();

/** A same-size conv of `c -> k` channels, `kh x kh`, padding keeping 8x8. */
function geom(c: number, k: number, kh: number): ConvGeom {
  const p = (kh - 1) / 2;
  return {
    n: 1,
    c,
    h: 8,
    w: 8,
    k,
    kh,
    kw: kh,
    oh: 8,
    ow: 8,
    strideH: 1,
    strideW: 1,
    padH: p,
    padW: p,
    dilH: 1,
    dilW: 1,
  };
}

/** A bottleneck-like chain: 1x1 32->16, 3x3 16->16, 1x1 16->32, + x, ReLU. */
function chain(be: Backend, x: Storage): { mid: Storage; out: Storage; last: Storage } {
  const w = (g: ConvGeom, seed: number) => be.upload(randn(g.k * g.c * g.kh * g.kw, seed));
  const g1 = geom(32, 16, 1), g2 = geom(16, 16, 3), g3 = geom(16, 32, 1);
  const a = be.conv2d({ x, w: w(g1, 2), b: be.upload(randn(16, 5)), geom: g1, relu: true });
  const mid = be.conv2d({ x: a, w: w(g2, 3), b: null, geom: g2, relu: true });
  const last = be.conv2d({ x: mid, w: w(g3, 4), b: null, geom: g3, relu: false });
  const out = be.binary({ op: "add", a: last, b: x, relu: true });
  return { mid, out, last };
}

function close(a: Float32Array, b: Float32Array, what: string): void {
  assertEquals(a.length, b.length, `${what}: length`);
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  assert(worst <= 1e-5 * scale, `${what}: max |diff| ${worst} > 1e-5 x ${scale}`);
}

Deno.test({
  name: "conv outputs stay in oneDNN's layout between convs and read as the reference's",
  ignore: !available,
}, () => {
  const blas = createBlasBackend(), cpu = createCpuBackend();
  const xs = randn(32 * 64, 1), w0 = randn(32 * 32 * 9, 9);
  const g0 = { ...geom(32, 32, 3), padH: 2, padW: 2, dilH: 2, dilW: 2 };
  // The block input is itself a conv output (3x3 32->32, dilated: direct), held blocked on BLAS.
  const input = (be: Backend) =>
    be.conv2d({ x: be.upload(xs), w: be.upload(w0), b: null, geom: g0, relu: false });
  const heldX = input(blas);
  const got = chain(blas, heldX), want = chain(cpu, input(cpu));
  assert(blas.rt.blocked.has(heldX), "a dilated 3x3 32->32 output is held blocked");
  assert(blas.rt.blocked.has(got.mid), "the 3x3 output stays blocked");
  assert(blas.rt.blocked.has(got.out), "the residual sum of two held storages stays held");
  close(blas.readSync!(got.out) as Float32Array, f32of(want.out), "block output");
  close(blas.readSync!(got.mid) as Float32Array, f32of(want.mid), "3x3 output");
  assert(!blas.rt.blocked.has(got.mid), "read once, it is plain");
  close(f32of(got.last), f32of(want.last), "last conv, read through .data");
});

Deno.test({
  name: "a held storage freed unread leaves no live bytes and can be freed twice",
  ignore: !available,
}, () => {
  const blas = createBlasBackend();
  const g = geom(16, 16, 3);
  const x = blas.upload(randn(16 * 64, 1)), w = blas.upload(randn(16 * 16 * 9, 2));
  const before = blas.liveBytes();
  const y = blas.conv2d({ x, w, b: null, geom: g, relu: false });
  assert(blas.rt.blocked.has(y));
  assertEquals(blas.liveBytes(), before + 16 * 64 * 4);
  blas.free(y);
  blas.free(y);
  assertEquals(blas.liveBytes(), before);
  assert(!blas.rt.blocked.has(y));
});

Deno.test({
  name: "a Winograd conv reads a direct conv's held output and keeps its own held",
  ignore: !available,
}, () => {
  const blas = createBlasBackend(), cpu = createCpuBackend();
  // A dilated 3x3 32->32 (direct, held), a 3x3 32->32 (Winograd where oneDNN has it: another
  // layout), then a 1x1 32->16: each held input is reordered straight into the next layout.
  const gd = { ...geom(32, 32, 3), padH: 2, padW: 2, dilH: 2, dilW: 2 };
  const g3 = geom(32, 32, 3), g1 = geom(32, 16, 1);
  const xs = randn(32 * 64, 31), w0 = randn(32 * 32 * 9, 32), w1 = randn(32 * 32 * 9, 33);
  const w2 = randn(16 * 32, 34);
  const run = (be: Backend) => {
    const a = be.conv2d({ x: be.upload(xs), w: be.upload(w0), b: null, geom: gd, relu: true });
    const b = be.conv2d({ x: a, w: be.upload(w1), b: null, geom: g3, relu: true });
    const y = be.conv2d({ x: b, w: be.upload(w2), b: null, geom: g1, relu: false });
    return { a, b, y };
  };
  const got = run(blas), want = run(cpu);
  assert(blas.rt.blocked.has(got.a), "the direct conv's output, read by the next, stays held");
  assert(blas.rt.blocked.has(got.b), "the Winograd conv's output stays held");
  close(blas.readSync!(got.y) as Float32Array, f32of(want.y), "1x1 after the Winograd conv");
  close(blas.readSync!(got.b) as Float32Array, f32of(want.b), "the Winograd conv");
  close(blas.readSync!(got.a) as Float32Array, f32of(want.a), "the direct conv");
});

Deno.test({
  name: "a held storage read by a conv of another source layout equals the reference",
  ignore: !available,
}, () => {
  const blas = createBlasBackend(), cpu = createCpuBackend();
  // 3 -> 16 (7x7 stride 2 like a stem), then a 1x1 16 -> 8 (our GEMMs read it plain).
  const g1 = { ...geom(3, 16, 7), oh: 4, ow: 4, strideH: 2, strideW: 2 };
  const g2 = { ...geom(16, 8, 1), h: 4, w: 4, oh: 4, ow: 4 };
  const run = (be: Backend) => {
    const x = be.upload(randn(3 * 64, 1));
    const a = be.conv2d({ x, w: be.upload(randn(16 * 3 * 49, 2)), b: null, geom: g1, relu: true });
    const y = be.conv2d({ x: a, w: be.upload(randn(8 * 16, 3)), b: null, geom: g2, relu: false });
    return be.readSync!(y) as Float32Array;
  };
  close(run(blas), run(cpu), "stem then 1x1");
});

Deno.test({
  name: "a max pool of a held conv output runs in oneDNN's layout and equals the reference's",
  ignore: !available,
}, () => {
  const blas = createBlasBackend(), cpu = createCpuBackend();
  const g0 = geom(32, 32, 3), xs = randn(32 * 64, 11), w0 = randn(32 * 32 * 9, 12);
  // ResNet's stem pool (3x3, stride 2, padding 1), a 2x2 one and one in ceil mode, each followed by
  // a 1x1 conv.
  const pools: PoolGeom[] = [
    poolGeom([1, 32, 8, 8], [3, 3], [2, 2], [1, 1]),
    poolGeom([1, 32, 8, 8], [2, 2], [2, 2]),
    poolGeom([1, 32, 8, 8], [3, 3], [2, 2], [0, 0], true), // ceil_mode: a window past the edge
  ];
  const g1: ConvGeom = { ...geom(32, 16, 1), h: 4, w: 4, oh: 4, ow: 4 };
  const w1 = randn(16 * 32, 13);
  for (const pg of pools) {
    const run = (be: Backend) => {
      const x = be.conv2d({ x: be.upload(xs), w: be.upload(w0), b: null, geom: g0, relu: false });
      const { y } = be.maxPool2d({ x, geom: pg, indices: false });
      const z = be.conv2d({ x: y, w: be.upload(w1), b: null, geom: g1, relu: false });
      return { x, y, z };
    };
    const got = run(blas), want = run(cpu);
    const what = `${pg.kh}x${pg.kw} pool`;
    assert(blas.rt.blocked.has(got.x), `${what}: its input is held`);
    assert(blas.rt.blocked.has(got.y), `${what}: its output is held too`);
    close(blas.readSync!(got.z) as Float32Array, f32of(want.z), `${what}: the conv after it`);
    close(blas.readSync!(got.y) as Float32Array, f32of(want.y), `${what}: the pooled values`);
    for (const s of Object.values(got)) {
      blas.free(s);
      assert(!blas.rt.blocked.has(s), `${what}: freed, nothing stays held`);
    }
  }
});
