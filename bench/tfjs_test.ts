import type { ConvGeom } from "../lib/device/backend.ts";
import { createCpuBackend } from "../lib/backends/cpu.ts";
import { f32of } from "../lib/device/host.ts";
import { assertClose, assertEquals } from "../tests/assert.ts";
import { convGeom, type KernelCase } from "./cases.ts";
import { randomF32 } from "./random.ts";
import { benchTfjs, loadTf, prepareTfjs } from "./tfjs.ts";

/** NHWC `[n, h, w, c]` -> NCHW. */
function toNchw(a: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          out[((i * c + ch) * h + y) * w + x] = a[((i * h + y) * w + x) * c + ch];
        }
      }
    }
  }
  return out;
}

/** HWIO `[kh, kw, c, k]` -> `[k, c, kh, kw]`. */
function hwioToKchw(a: Float32Array, kh: number, kw: number, c: number, k: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      for (let ci = 0; ci < c; ci++) {
        for (let ko = 0; ko < k; ko++) {
          out[((ko * c + ci) * kh + y) * kw + x] = a[((y * kw + x) * c + ci) * k + ko];
        }
      }
    }
  }
  return out;
}

/** Our reference kernels on the same data tfjs gets, in NCHW. */
function reference(g: ConvGeom) {
  const be = createCpuBackend();
  const x = be.upload(toNchw(randomF32(g.n * g.h * g.w * g.c, 1), g.n, g.h, g.w, g.c));
  const dy = be.upload(toNchw(randomF32(g.n * g.oh * g.ow * g.k, 3), g.n, g.oh, g.ow, g.k));
  const w = be.upload(
    hwioToKchw(randomF32(g.kh * g.kw * g.c * g.k, 2, 0.05), g.kh, g.kw, g.c, g.k),
  );
  const b = be.upload(randomF32(g.k, 4));
  return {
    fwd: f32of(be.conv2d({ x, w, b, geom: g, relu: false })),
    bwdData: f32of(be.conv2dGradInput({ dy, w, geom: g })),
    convT: f32of(be.conv2dGradInput({ dy, w, geom: g })),
    convTBack: f32of(be.conv2d({ x, w, b: null, geom: g, relu: false })),
  };
}

const TOL = { atol: 1e-4, rtol: 1e-4 };
const wasm = await loadTf("wasm").catch(() => null);

Deno.test({
  name: "tfjs-wasm runs the same convolutions as ours (NHWC layouts mapped right)",
  ignore: wasm === null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const tf = wasm!.tf;
    const g = convGeom(3, 5, 9, 3, 1, 2); // 3 -> 5 channels, 9x9 -> 5x5, stride 2
    const ref = reference(g);
    const read = async (c: KernelCase, nhwc: [number, number, number, number]) => {
      const p = prepareTfjs(tf, c);
      const out = p.run();
      const data = await out.data() as Float32Array;
      tf.dispose([out, ...p.inputs]);
      return toNchw(data, ...nhwc);
    };
    const base = { id: "t", label: "t", flops: 1, bytes: 1 };
    const xShape: [number, number, number, number] = [g.n, g.h, g.w, g.c];
    const yShape: [number, number, number, number] = [g.n, g.oh, g.ow, g.k];
    assertClose(await read({ ...base, kind: "conv", pass: "fwd", g }, yShape), ref.fwd, TOL);
    assertClose(
      await read({ ...base, kind: "conv", pass: "bwd_data", g }, xShape),
      ref.bwdData,
      TOL,
    );
    // convT's forward is the conv's backward-data, its backward-data the conv without bias.
    assertClose(
      await read({ ...base, kind: "convT", pass: "fwd", g }, xShape),
      ref.convT,
      TOL,
    );
    assertClose(
      await read({ ...base, kind: "convT", pass: "bwd_data", g }, yShape),
      ref.convTBack,
      TOL,
    );
  },
});

Deno.test({
  name: "benchTfjs measures on wasm and reports a missing kernel as n/a",
  ignore: wasm === null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const g = convGeom(4, 4, 8, 3, 1);
    const cases: KernelCase[] = (["fwd", "bwd_weight"] as const).map((pass) => ({
      kind: "conv",
      id: `c/${pass}`,
      label: "c",
      pass,
      g,
      flops: 2 * 16 * 9 * 64,
      bytes: 1,
    }));
    const { results, description } = await benchTfjs("wasm", cases, {
      timing: { warmup: 1, reps: 2 },
    });
    assertEquals(description.startsWith("tfjs-core 4.22.0, wasm"), true);
    assertEquals([results[0].impl, results[0].peer, results[0].samples?.length], [
      "tfjs-wasm",
      true,
      2,
    ]);
    assertEquals(results[0].gflops! > 0, true);
    // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel.
    assertEquals(results[1].note?.includes("Conv2DBackpropFilter"), true);
  },
});
