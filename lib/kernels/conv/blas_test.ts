import type { ConvGeom } from "../../device/backend.ts";
import { type BlasBackend, createBlasBackend } from "../../backends/blas.ts";
import { f32of } from "../../device/host.ts";
import { assertClose, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { randn } from "../../../tests/harness.ts";
import * as ref from "./reference.ts";
import { channelSum } from "./blas.ts";

const blas: BlasBackend | null = (() => {
  try {
    return createBlasBackend();
  } catch {
    return null;
  }
})();
const ignore = blas === null;

/** A geometry with PyTorch's output size; `s`, `p`, `d` are [H, W] pairs. */
function geom(
  [n, c, h, w, k, kh, kw]: number[],
  s: number[] = [1, 1],
  p: number[] = [0, 0],
  d: number[] = [1, 1],
): ConvGeom {
  const out = (i: number, size: number, kern: number) =>
    Math.floor((size + 2 * p[i] - d[i] * (kern - 1) - 1) / s[i]) + 1;
  return {
    n,
    c,
    h,
    w,
    k,
    kh,
    kw,
    oh: out(0, h, kh),
    ow: out(1, w, kw),
    strideH: s[0],
    strideW: s[1],
    padH: p[0],
    padW: p[1],
    dilH: d[0],
    dilW: d[1],
  };
}

/** Odd sizes, batches, both layouts (shifted GEMMs for column stride 1, else im2col). */
const CASES: [string, ConvGeom][] = [
  ["3x3 pad 1 batch 2", geom([2, 3, 7, 9, 5, 3, 3], [1, 1], [1, 1])],
  ["3x3 stride 2 pad 1", geom([1, 4, 11, 10, 3, 3, 3], [2, 2], [1, 1])],
  ["3x3 dilation 2 pad 2 batch 3", geom([3, 2, 9, 8, 4, 3, 3], [1, 1], [2, 2], [2, 2])],
  ["1x1", geom([2, 5, 6, 7, 4, 1, 1])],
  ["1x1 stride 2", geom([2, 3, 8, 7, 2, 1, 1], [2, 2])],
  ["2x3 pad larger than the kernel", geom([2, 3, 5, 6, 2, 2, 3], [1, 1], [3, 3])],
  ["3x2 dilation 2 no pad", geom([2, 3, 9, 11, 4, 3, 2], [1, 1], [0, 0], [2, 2])],
  ["row stride 2, column stride 1", geom([2, 3, 9, 11, 4, 3, 3], [2, 1], [1, 1])],
  ["column stride 2, row dilation 2", geom([1, 2, 7, 9, 3, 3, 3], [1, 2], [2, 1], [2, 1])],
  ["uneven pads", geom([1, 3, 6, 5, 3, 3, 5], [1, 1], [0, 2])],
  ["7x7 stride 2 pad 3 (ResNet stem)", geom([1, 3, 16, 13, 4, 7, 7], [2, 2], [3, 3])],
  ["16 channels to 24 on 12x12", geom([2, 16, 12, 12, 24, 3, 3], [1, 1], [1, 1])],
  ["more filters than outputs (fc6-like: im2col)", geom([1, 3, 4, 4, 20, 3, 3])],
  ["3x1 kernel (taps are the weights)", geom([2, 3, 6, 5, 4, 3, 1], [1, 1], [1, 0])],
  ["1x1 with more filters than outputs", geom([1, 4, 2, 3, 9, 1, 1])],
  // Bands of 128 columns or more take the untransposed im2col GEMMs.
  ["3x3 stride 2 with wide bands", geom([2, 3, 24, 26, 4, 3, 3], [2, 2], [1, 1])],
  ["fc6-like with wide bands", geom([1, 2, 12, 12, 160, 3, 3], [1, 1], [1, 1])],
  ["5x5 taps, the generic packing", geom([1, 3, 9, 8, 4, 5, 5], [1, 1], [2, 2])],
];

function checkAll(be: BlasBackend, label: string): void {
  CASES.forEach(([name, g], i) => {
    const x = randn(g.n * g.c * g.h * g.w, 100 + i);
    const w = randn(g.k * g.c * g.kh * g.kw, 200 + i);
    const b = randn(g.k, 300 + i);
    const dy = randn(g.n * g.k * g.oh * g.ow, 400 + i);
    const tol = { atol: 1e-4, rtol: 1e-4 };
    const [sx, sw, sb, sdy] = [x, w, b, dy].map((a) => be.upload(a));
    for (const relu of [false, true]) {
      for (const bias of [sb, null]) {
        assertClose(
          f32of(be.conv2d({ x: sx, w: sw, b: bias, geom: g, relu })),
          ref.conv2d(x, w, bias ? b : null, g, relu),
          { ...tol, name: `${label} ${name}: forward (relu ${relu}, bias ${bias !== null})` },
        );
      }
    }
    assertClose(
      f32of(be.conv2dGradInput({ dy: sdy, w: sw, geom: g })),
      ref.conv2dGradInput(dy, w, g),
      {
        ...tol,
        name: `${label} ${name}: backward-data`,
      },
    );
    assertClose(
      f32of(be.conv2dGradWeight({ dy: sdy, x: sx, geom: g })),
      ref.conv2dGradWeight(dy, x, g),
      {
        ...tol,
        name: `${label} ${name}: backward-weight`,
      },
    );
  });
}

Deno.test({
  name: "blas conv2d: forward, backward-data and backward-weight match the reference",
  ignore,
  fn: () => checkAll(blas!, `whole images (${blas!.description})`),
});

Deno.test({
  name: "blas conv2d: GEMMs alone (oneDNN off), oneDNN convs for every pass, GEMMs on dnnl_sgemm",
  ignore,
  fn() {
    const gemm = createBlasBackend({ dnnl: false });
    assertEquals(gemm.rt.dnnl, null);
    checkAll(gemm, "GEMMs only");
    gemm.destroy();
    if (blas!.rt.dnnl === null) return; // no oneDNN here
    const all = createBlasBackend({ convEngine: () => "dnnl" });
    checkAll(all, "oneDNN only");
    all.destroy();
    const gemms = createBlasBackend({ convEngine: () => "gemm" });
    assertEquals(gemms.rt.sgemm, gemms.rt.dnnl!.sgemm);
    checkAll(gemms, "our GEMM layouts on oneDNN's sgemm");
    gemms.destroy();
  },
});

Deno.test({
  name: "blas conv2d: a weight updated in place or freed and reused is reordered afresh",
  ignore,
  fn() {
    const be = createBlasBackend({ convEngine: () => "dnnl" });
    const g = geom([1, 16, 6, 5, 8, 3, 3], [1, 1], [1, 1]);
    const x = randn(16 * 30, 1), w = randn(8 * 16 * 9, 2), w2 = randn(8 * 16 * 9, 3);
    const [sx, sw] = [x, w].map((a) => be.upload(a));
    const tol = { atol: 1e-4, rtol: 1e-4 };
    assertClose(
      f32of(be.conv2d({ x: sx, w: sw, b: null, geom: g, relu: false })),
      ref.conv2d(x, w, null, g, false),
      { ...tol, name: "first" },
    );
    // SGD with lr 1 and gradient w - w2 turns w into w2 in place.
    const grad = be.upload(w.map((v, i) => v - w2[i]));
    be.sgd({
      param: sw,
      grad,
      buf: null,
      update: { lr: 1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, first: true },
    });
    assertClose(
      f32of(be.conv2d({ x: sx, w: sw, b: null, geom: g, relu: false })),
      ref.conv2d(x, w2, null, g, false),
      { ...tol, name: "after SGD" },
    );
    // Freed, its array is handed out again (the pool) with other contents.
    const array = f32of(sw);
    be.free(sw);
    const again = be.upload(w);
    assertEquals(f32of(again) === array, true);
    assertClose(
      f32of(be.conv2d({ x: sx, w: again, b: null, geom: g, relu: false })),
      ref.conv2d(x, w, null, g, false),
      { ...tol, name: "reused array" },
    );
    be.destroy();
  },
});

Deno.test({
  name: "blas conv2d: bands of output rows (a tiny scratch budget) give the same results",
  ignore,
  fn() {
    // 60 elements: one output row per band; 600: a few rows per band.
    for (const scratchElems of [60, 600]) {
      const be = createBlasBackend({ scratchElems, dnnl: false });
      checkAll(be, `scratch ${scratchElems}`);
      be.destroy();
    }
  },
});

Deno.test({
  name: "blas conv2d: the Fortran sgemm_ path matches too",
  ignore,
  fn() {
    const be = createBlasBackend({ fortran: true, dnnl: false });
    assertEquals(be.library.fortran, true);
    checkAll(be, "fortran");
  },
});

Deno.test({
  name: "blas conv2d: hand-computed 3x3 and memory accounting",
  ignore,
  fn() {
    const be = createBlasBackend();
    // One 3x3 input of 1..9, a 3x3 kernel of ones, padding 1: sums of each neighbourhood.
    const g = geom([1, 1, 3, 3, 1, 3, 3], [1, 1], [1, 1]);
    const x = be.upload(Float32Array.from({ length: 9 }, (_, i) => i + 1));
    const w = be.upload(new Float32Array(9).fill(1));
    const b = be.upload(new Float32Array([-20]));
    const y = be.conv2d({ x, w, b, geom: g, relu: true });
    assertEquals(f32of(y), new Float32Array([0, 1, 0, 7, 25, 13, 4, 19, 8]));
    for (const s of [x, w, b, y]) be.free(s);
    assertEquals(be.liveBytes(), 0);
  },
});

Deno.test({
  name: "blas conv2d: wrong buffer sizes throw before BLAS reads them",
  ignore,
  fn() {
    const g = geom([1, 2, 4, 4, 3, 3, 3], [1, 1], [1, 1]);
    const be = blas!;
    assertThrows(
      () =>
        be.conv2d({
          x: be.upload(new Float32Array(31)),
          w: be.upload(new Float32Array(54)),
          b: null,
          geom: g,
          relu: false,
        }),
      "conv2d: expected input x of 32 elements for the geometry",
    );
    assertThrows(
      () =>
        be.conv2dGradWeight({
          dy: be.upload(new Float32Array(47)),
          x: be.upload(new Float32Array(32)),
          geom: g,
        }),
      "conv2dGradWeight: expected dy of 48 elements",
    );
  },
});

Deno.test("blas channelSum: the reference's f64 sums, into an output of any contents", () => {
  const p = { n: 3, c: 4, h: 5, w: 6 }, x = randn(3 * 4 * 5 * 6, 77, -1e3, 1e3);
  const out = new Float32Array(4).fill(NaN);
  assertEquals(channelSum(x, p, out), ref.channelSum(x, p));
  assertEquals(out, ref.channelSum(x, p));
  assertThrows(() => channelSum(x, { ...p, c: 5 }), "expected x of 450 elements");
});
