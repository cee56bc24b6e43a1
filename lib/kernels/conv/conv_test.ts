import { conv2d, convTranspose2d, tensor } from "../../../mod.ts";
import type { Backend, ConvGeom, KernelArgs, Storage } from "../../device/backend.ts";
import { assert, assertClose, assertEquals } from "../../../tests/assert.ts";
import { checkOp, devices, randn, rng, uploaded, webGpuTest } from "../../../tests/harness.ts";
import { geom } from "./_testing.ts";
import { directConv, directFits, forwardProblem, gradInputProblem } from "./webgpu/direct.ts";
import { directWeightFits } from "./webgpu/direct_weight.ts";
import { gemvApplies } from "./webgpu/gemv.ts";
import { genericConv2d, genericGradInput, genericGradWeight } from "./webgpu/generic.ts";
import * as ref from "./reference.ts";
import { directFamily, genericFamily, gradWeightWith, weightFamily } from "./webgpu/tuning.ts";

/** Backends other than the reference that checkOp must have compared. */
async function expectedOthers(): Promise<number> {
  return (await devices()).size - 1;
}

Deno.test("conv2d: hand-computed output on every backend", async () => {
  for (const [kind, device] of await devices()) {
    // x [1, 1, 3, 3] = 1..9, w [1, 1, 2, 2] = [1, 0, 0, 1], stride 2, padding 1 -> [1, 1, 2, 2]
    const x = tensor(Float32Array.from({ length: 9 }, (_, i) => i + 1), [1, 1, 3, 3], device);
    const w = tensor(new Float32Array([1, 0, 0, 1]), [1, 1, 2, 2], device);
    const b = tensor(new Float32Array([-3]), [1], device);
    const y = conv2d(x, w, b, { stride: 2, padding: 1, relu: true });
    assertEquals(y.shape, [1, 1, 2, 2]);
    // y[a, b] = x[2a - 1, 2b - 1] + x[2a, 2b] - 3 (zero outside), then the ReLU.
    assertEquals(await y.toArray(), new Float32Array([0, 0, 7 - 3, 5 + 9 - 3]), kind);
    for (const t of [x, w, b, y]) t.dispose();
  }
});

Deno.test("conv2d: seeded random geometries on every backend, forward and gradients", async () => {
  const r = rng(11);
  const pick = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const odd = (lo: number, hi: number) => pick(lo, hi) | 1;
  const cases: [string, ConvGeom, boolean, boolean][] = [
    ["1x1", geom(2, 5, 7, 9, 3, 1), true, false],
    ["7x7 stride 2 pad 3", geom(2, 3, 13, 11, 4, 7, { stride: 2, pad: 3 }), true, true],
    ["3x3 dilation 2 pad 2", geom(3, 2, 9, 11, 5, 3, { dil: 2, pad: 2 }), false, false],
    ["3x3 stride 2 pad 1", geom(2, 4, 9, 7, 6, 3, { stride: 2, pad: 1 }), true, true],
    ["1x3 kernel", geom(1, 2, 5, 9, 3, 1, { kw: 3, pad: 1 }), false, true],
    [
      "asymmetric stride, padding, dilation",
      geom(2, 3, 11, 13, 5, 3, {
        kw: 2,
        stride: 2,
        sw: 3,
        pad: 1,
        pw: 0,
        dw: 2,
      }),
      true,
      false,
    ],
    ["1x1 stride 2 skips pixels", geom(2, 3, 9, 8, 4, 1, { stride: 2 }), false, false],
    // More than 1024 pixels per plane: the bias gradient is summed in slices.
    ["1x1 large planes", geom(2, 2, 37, 41, 3, 1), true, false],
  ];
  for (let t = 0; t < 6; t++) {
    const ks = [1, 3, 5][pick(0, 2)];
    const dil = pick(1, 2);
    const span = dil * (ks - 1) + 1;
    const g = geom(pick(1, 3), pick(1, 5), odd(span, 13), odd(span, 13), pick(1, 7), ks, {
      stride: pick(1, 2),
      pad: pick(0, ks >> 1),
      dil,
    });
    cases.push([`random ${t}`, g, r() < 0.5, r() < 0.5]);
  }
  for (const [name, g, bias, relu] of cases) {
    const specs = [
      { shape: [g.n, g.c, g.h, g.w] },
      { shape: [g.k, g.c, g.kh, g.kw] },
      ...(bias ? [{ shape: [g.k] }] : []),
    ];
    const compared = await checkOp(
      `conv2d ${name} ${JSON.stringify(g)} bias=${bias} relu=${relu}`,
      specs,
      ([x, w, b]) =>
        conv2d(x, w, b ?? null, {
          stride: [g.strideH, g.strideW],
          padding: [g.padH, g.padW],
          dilation: [g.dilH, g.dilW],
          relu,
        }),
      { seed: name.length + g.n * 7 + g.k },
    );
    assertEquals(compared.length, await expectedOthers());
  }
});

Deno.test("conv2d: finite differences on tiny shapes", async () => {
  await checkOp(
    "conv2d fd stride 2 pad 1",
    [{ shape: [2, 2, 5, 4] }, { shape: [2, 2, 3, 3] }, { shape: [2] }],
    ([x, w, b]) => conv2d(x, w, b, { stride: 2, padding: 1 }),
    { finiteDifferences: true },
  );
  await checkOp(
    "conv2d fd dilation 2 relu",
    // |x * w| < 8: the bias keeps channel 0 active and channel 1 dead, away from the kink.
    [{ shape: [1, 2, 6, 5] }, { shape: [2, 2, 2, 2] }, {
      shape: [2],
      data: new Float32Array([9, -9]),
    }],
    ([x, w, b]) => conv2d(x, w, b, { dilation: 2, padding: 1, relu: true }),
    { finiteDifferences: true, seed: 3 },
  );
});

Deno.test("convTranspose2d: strides, output padding and FCN's upsamplers", async () => {
  const cases: [string, number[], number[], number, number, number, boolean][] = [
    ["stride 2 pad 1 outputPadding 1", [2, 3, 5, 4], [3, 2, 3, 3], 2, 1, 1, true],
    ["FCN 2x upsampler (4, 2, 1)", [2, 3, 5, 6], [3, 3, 4, 4], 2, 1, 0, false],
    ["FCN 8x upsampler (16, 8, 4)", [1, 2, 3, 4], [2, 3, 16, 16], 8, 4, 0, false],
    ["1x1 stride 1", [1, 4, 3, 5], [4, 2, 1, 1], 1, 0, 0, true],
  ];
  for (const [name, xs, ws, stride, padding, outputPadding, bias] of cases) {
    const specs = [{ shape: xs }, { shape: ws }, ...(bias ? [{ shape: [ws[1]] }] : [])];
    const compared = await checkOp(
      `convTranspose2d ${name}`,
      specs,
      ([x, w, b]) => convTranspose2d(x, w, b ?? null, { stride, padding, outputPadding }),
      { seed: xs[2] + ws[2] },
    );
    assertEquals(compared.length, await expectedOthers());
  }
});

Deno.test("convTranspose2d: finite differences on a tiny upsampler", async () => {
  await checkOp(
    "convTranspose2d fd (4, 2, 1)",
    [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 4, 4] }, { shape: [2] }],
    ([x, w, b]) => convTranspose2d(x, w, b, { stride: 2, padding: 1 }),
    { finiteDifferences: true },
  );
});

/** Tolerances of the WebGPU-vs-reference comparisons (as for the other WebGPU kernels). */
const TOL = { atol: 2e-4, rtol: 1e-4 };

/** Seeded operands of a conv of geometry `g`: x, w, bias and dy. */
function operands(g: ConvGeom) {
  return {
    x: randn(g.n * g.c * g.h * g.w, 1),
    w: randn(g.k * g.c * g.kh * g.kw, 2),
    bias: randn(g.k, 3),
    dy: randn(g.n * g.k * g.oh * g.ow, 4),
  };
}

/** Conv kernels under test: one path's, a tile's, or a backend's, each pass where given. */
interface ConvPasses {
  forward?: (a: KernelArgs["conv2d"]) => Storage;
  gradInput?: (a: KernelArgs["conv2dGradInput"]) => Storage;
  gradWeight?: (a: KernelArgs["conv2dGradWeight"]) => Storage;
}

/** The three passes of a backend. */
const passesOf = (b: Backend): ConvPasses => ({
  forward: b.conv2d,
  gradInput: b.conv2dGradInput,
  gradWeight: b.conv2dGradWeight,
});

/**
 * Compares `passes` on `b` with the reference on geometry `g` and its seeded operands: the
 * forward pass with bias and ReLU, backward-data and backward-weight, each where given.
 */
async function checkPasses(b: Backend, name: string, g: ConvGeom, passes: ConvPasses) {
  const { x, w, bias, dy } = operands(g);
  const { forward, gradInput, gradWeight } = passes;
  if (forward) {
    const y = forward(uploaded(b, { x, w, b: bias, geom: g, relu: true }));
    assertClose(await b.read(y), ref.conv2d(x, w, bias, g, true), {
      ...TOL,
      name: `${name} forward`,
    });
  }
  if (gradInput) {
    const dx = gradInput(uploaded(b, { dy, w, geom: g }));
    assertClose(await b.read(dx), ref.conv2dGradInput(dy, w, g), {
      ...TOL,
      name: `${name} backward-data`,
    });
  }
  if (gradWeight) {
    const dw = gradWeight(uploaded(b, { dy, x, geom: g }));
    assertClose(await b.read(dw), ref.conv2dGradWeight(dy, x, g), {
      ...TOL,
      name: `${name} backward-weight`,
    });
  }
}

webGpuTest(
  "conv kernels on WebGPU: chunked over N, K and C with a 4 KiB binding limit",
  { maxBindingBytes: 4096 },
  async (b) => {
    // ~1000 floats per binding: each case needs several windows of every storage, and
    // the reductions over C (forward), K (backward-data) and N (backward-weight) are split.
    const cases: [string, ConvGeom][] = [
      ["3x3 pad 1, 13 -> 17 channels", geom(3, 13, 9, 11, 17, 3, { pad: 1 })],
      ["7x7 pad 3, 12 -> 5 channels", geom(2, 12, 12, 12, 5, 7, { pad: 3 })],
      ["16x16 stride 8 pad 4", geom(2, 3, 30, 30, 4, 16, { stride: 8, pad: 4 })],
      ["3x5 dilation 2 stride 3", geom(3, 6, 20, 20, 9, 3, { kw: 5, stride: 3, pad: 2, dil: 2 })],
      ["1x1, many images", geom(40, 3, 5, 5, 10, 1)],
    ];
    for (const [name, g] of cases) {
      const { x, w, bias, dy } = operands(g);
      const before = b.rt.dispatchCount;
      // The forward pass without bias and ReLU, with bias only; then with both, and the rest.
      for (const [bb, relu] of [[null, false], [bias, false]] as const) {
        const y = b.conv2d(uploaded(b, { x, w, b: bb, geom: g, relu }));
        const wantY = ref.conv2d(x, w, bb, g, relu);
        assertClose(await b.read(y), wantY, { ...TOL, name: `conv2d ${name} bias=${!!bb}` });
      }
      await checkPasses(b, `chunked ${name}`, g, passesOf(b));
      const planes = { n: g.n, c: g.k, h: g.oh, w: g.ow };
      assertClose(
        await b.read(b.channelSum(uploaded(b, { x: dy, planes }))),
        ref.channelSum(dy, planes),
        {
          ...TOL,
          name: `channelSum ${name}`,
        },
      );
      // Six kernel calls; chunking makes them many more dispatches.
      assert(b.rt.dispatchCount - before > 12, `${name}: expected chunked dispatches`);
    }
  },
);

webGpuTest(
  "conv kernels on WebGPU: one pipeline per kernel serves every layer size",
  {},
  async (b) => {
    // Pairs of layers that take the same paths: direct 3x3, direct 1x1 (both with widths
    // that are multiples of 4, which pick the vec4 variants), general (strided).
    const pairs = [
      [geom(1, 3, 8, 8, 4, 3, { pad: 1 }), geom(2, 5, 11, 12, 6, 3, { pad: 1 })],
      [geom(1, 3, 8, 8, 4, 1), geom(2, 6, 5, 12, 3, 1)],
      [geom(1, 3, 8, 8, 4, 3, { stride: 2 }), geom(2, 5, 11, 7, 6, 5, { stride: 2 })],
    ];
    for (const gs of pairs) {
      const counts: number[] = [];
      for (const g of gs) {
        const { x, w, dy } = operands(g);
        b.conv2d(uploaded(b, { x, w, b: null, geom: g, relu: true }));
        b.conv2dGradInput(uploaded(b, { dy, w, geom: g }));
        b.conv2dGradWeight(uploaded(b, { dy, x, geom: g }));
        await b.flush();
        counts.push(b.rt.pipelineCount);
      }
      assertEquals(counts[1], counts[0], `pipelines after ${JSON.stringify(gs[1])}`);
    }
  },
);

webGpuTest("conv kernels on WebGPU: empty reductions give the bias or zeros", {}, async (b) => {
  const noC = geom(2, 0, 3, 3, 4, 3, { pad: 1 }); // no input channels
  const bias = new Float32Array([1, -2, 3, 0.5]);
  const empty = new Float32Array(0);
  assertEquals(
    await b.read(b.conv2d(uploaded(b, { x: empty, w: empty, b: bias, geom: noC, relu: true }))),
    ref.conv2d(empty, empty, bias, noC, true),
  );
  const noK = { ...noC, c: 2, k: 0 }; // nothing reaches the input
  assertEquals(
    await b.read(b.conv2dGradInput(uploaded(b, { dy: empty, w: empty, geom: noK }))),
    new Float32Array(2 * 2 * 3 * 3),
  );
  const noN = { ...noC, n: 0, c: 2 }; // no images
  assertEquals(
    await b.read(b.conv2dGradWeight(uploaded(b, { dy: empty, x: empty, geom: noN }))),
    new Float32Array(4 * 2 * 3 * 3),
  );
  const planes = { n: 0, c: 3, h: 2, w: 2 };
  assertEquals(await b.read(b.channelSum(uploaded(b, { x: empty, planes }))), new Float32Array(3));
});

webGpuTest(
  "direct conv on WebGPU: every candidate tile, forward and backward-data",
  {},
  async (b) => {
    const cases: [string, ConvGeom][] = [
      ["3x3 pad 1, ragged tiles", geom(2, 5, 9, 13, 19, 3, { pad: 1 })],
      ["3x3 pad 0", geom(1, 3, 8, 7, 6, 3)],
      // Widths that are multiples of 4: whole-vec4 stores for tiles 4 or 8 columns wide.
      ["3x3 pad 1, width 8", geom(2, 3, 6, 8, 5, 3, { pad: 1 })],
      ["3x3 pad 2 (backward-data pads 0)", geom(1, 2, 6, 5, 3, 3, { pad: 2 })],
      // Windows of weights: several chunks of input channels and several output blocks.
      ["3x3 many channels", geom(1, 120, 6, 6, 40, 3, { pad: 1 })],
      ["1x1 (vec4 loads and stores)", geom(2, 7, 5, 8, 21, 1)],
      ["1x1 width 5", geom(1, 6, 3, 5, 9, 1)],
      ["1x1 many channels", geom(1, 700, 3, 4, 30, 1)],
    ];
    for (const [name, g] of cases) {
      const fwd = forwardProblem(g)!, dx = gradInputProblem(g)!;
      for (const t of directFamily(g.kh, g.kw).candidates) {
        const tn = `direct ${name} tile ${JSON.stringify(t)}`;
        assert(directFits(b.rt, fwd, t) && directFits(b.rt, dx, t), `${tn}: fits`);
        await checkPasses(b, tn, g, {
          forward: (a) => directConv(b.rt, { ...a, d: fwd, transposed: false }, t),
          gradInput: (a) =>
            directConv(b.rt, { x: a.dy, w: a.w, b: null, d: dx, relu: false, transposed: true }, t),
        });
      }
    }
  },
);

webGpuTest(
  "direct conv on WebGPU: chunked over images with a small binding limit",
  // 1000 floats per binding: one image of x (400) or y (800) at a time.
  { maxBindingBytes: 4000 },
  async (b) => {
    const g = geom(4, 4, 10, 10, 8, 3, { pad: 1 });
    const x = randn(g.n * g.c * g.h * g.w, 1), w = randn(g.k * g.c * 9, 2);
    const dy = randn(g.n * g.k * g.oh * g.ow, 3);
    const before = b.rt.dispatchCount;
    const y = b.conv2d(uploaded(b, { x, w, b: null, geom: g, relu: false }));
    assertClose(await b.read(y), ref.conv2d(x, w, null, g, false), {
      ...TOL,
      name: "direct forward chunked",
    });
    // One pack and one dispatch per image.
    assertEquals(b.rt.dispatchCount - before, 1 + g.n);
    const dw = b.conv2dGradWeight(uploaded(b, { dy, x, geom: g }));
    assertClose(await b.read(dw), ref.conv2dGradWeight(dy, x, g), {
      ...TOL,
      name: "direct backward-weight chunked",
    });
  },
);

webGpuTest("backward-weight on WebGPU: every candidate, slices and bands", {}, async (b) => {
  const cases: [string, ConvGeom][] = [
    // Few channels: the rows of a band are split into slices summed afterwards.
    ["3x3 pad 1, few channels", geom(2, 5, 9, 13, 19, 3, { pad: 1 })],
    // Wide rows: several bands per image, read-modify-write of dw.
    ["3x3 wide, many channels", geom(1, 70, 10, 100, 19, 3, { pad: 1 })],
    ["3x3 pad 0", geom(2, 3, 7, 8, 5, 3)],
    ["1x1", geom(2, 7, 5, 8, 21, 1)],
  ];
  for (const [name, g] of cases) {
    for (const c of weightFamily(g.kh, g.kw).candidates) {
      if (c.kind === "direct") assert(directWeightFits(b.rt, g, c), `${name}: fits`);
      await checkPasses(b, `${name} ${JSON.stringify(c)}`, g, {
        gradWeight: (a) => gradWeightWith(b.rt, a, c),
      });
    }
  }
});

webGpuTest("general conv kernels on WebGPU: every candidate tile", {}, async (b) => {
  const cases: [string, ConvGeom][] = [
    ["3x3 stride 2 pad 1", geom(2, 4, 9, 7, 6, 3, { stride: 2, pad: 1 })],
    ["FCN upsampler 4x4 stride 2 pad 1", geom(1, 3, 12, 10, 5, 4, { stride: 2, pad: 1 })],
    ["3x5 dilation 2", geom(2, 3, 11, 13, 5, 3, { kw: 5, pad: 2, dil: 2 })],
  ];
  // The three general kernels share their candidate tiles.
  const tiles = genericFamily("forward").candidates;
  assertEquals(genericFamily("gradInput").candidates, tiles);
  assertEquals(genericFamily("gradWeight").candidates, tiles);
  for (const [name, g] of cases) {
    for (const t of tiles) {
      await checkPasses(b, `general ${name} ${JSON.stringify(t)}`, g, {
        forward: (a) => genericConv2d(b.rt, a, t),
        gradInput: (a) => genericGradInput(b.rt, a, t),
        gradWeight: (a) => genericGradWeight(b.rt, a, t),
      });
    }
  }
});

webGpuTest(
  "few-pixel conv on WebGPU: fc6-like layers, strides, padding, dilation, windows",
  {},
  async (b) => {
    const cases: [string, ConvGeom][] = [
      ["7x7 over 7x7 (fc6)", geom(1, 8, 7, 7, 10, 7)],
      // 400 * 49 columns: two uniform windows of the reduction.
      ["7x7 over 7x7, long reduction", geom(1, 400, 7, 7, 7, 7)],
      ["2x2 stride 2, two images", geom(2, 4, 3, 3, 5, 2, { stride: 2 })],
      ["3x3 stride 3 pad 1, four pixels", geom(1, 12, 5, 5, 9, 3, { pad: 1, stride: 3 })],
      ["1x1 over 1x1, three images (fc7)", geom(3, 4, 1, 1, 6, 1)],
      ["4x4 dilation 2 stride 4", geom(1, 2, 9, 9, 3, 4, { dil: 2, stride: 4 })],
    ];
    for (const [name, g] of cases) {
      assert(gemvApplies(b.rt, g), `${name}: takes the few-pixel path`);
      await checkPasses(b, `few-pixel ${name}`, g, passesOf(b));
    }
  },
);
