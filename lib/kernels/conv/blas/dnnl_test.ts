import { assert, assertEquals } from "../../../../tests/assert.ts";
import { randn } from "../../../../tests/harness.ts";
import { hasDnnl } from "../../../device/dnnl_ffi.ts";
import { conv2d, conv2dGradInput, conv2dGradWeight } from "../reference.ts";
import { geom } from "../_testing.ts";
import { conv2dGeom, DnnlConv2d } from "./dnnl.ts";

const available = hasDnnl();

/** Whether this CPU has the AVX-512 subsets oneDNN's Winograd kernels need (Linux only). */
function avx512Core(): boolean {
  if (Deno.build.os !== "linux") return false;
  const flags = Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)?.[1] ?? "";
  return ["avx512f", "avx512bw", "avx512vl", "avx512dq"].every((f) => flags.includes(` ${f}`));
}

function close(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assertEquals(a.length, b.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert(worst <= tol, `${what}: max |diff| ${worst} > ${tol}`);
}

const CASES = [
  { name: "3x3 pad 1", n: 2, c: 3, h: 7, w: 9, k: 5, kh: 3, kw: 3, s: 1, p: 1, d: 1 },
  { name: "odd sizes, stride 2", n: 1, c: 5, h: 11, w: 6, k: 7, kh: 3, kw: 3, s: 2, p: 1, d: 1 },
  { name: "dilation 2", n: 1, c: 4, h: 10, w: 10, k: 3, kh: 3, kw: 3, s: 1, p: 2, d: 2 },
  { name: "1x1 stride 2", n: 2, c: 6, h: 5, w: 5, k: 4, kh: 1, kw: 1, s: 2, p: 0, d: 1 },
  { name: "7x7 pad 3 stride 2", n: 1, c: 3, h: 13, w: 9, k: 17, kh: 7, kw: 7, s: 2, p: 3, d: 1 },
  { name: "wide: 16->32 channels", n: 1, c: 16, h: 6, w: 5, k: 32, kh: 3, kw: 3, s: 1, p: 1, d: 1 },
];

for (const t of CASES) {
  for (const relu of [false, true]) {
    Deno.test({
      name: `DnnlConv2d matches the reference conv: ${t.name}${relu ? ", fused ReLU" : ""}`,
      ignore: !available,
    }, () => {
      const conv = new DnnlConv2d(
        { n: t.n, c: t.c, h: t.h, w: t.w, k: t.k, kh: t.kh, kw: t.kw },
        { stride: t.s, padding: t.p, dilation: t.d, relu },
      );
      const g = geom(t.n, t.c, t.h, t.w, t.k, t.kh, { stride: t.s, pad: t.p, dil: t.d });
      const x = randn(t.n * t.c * t.h * t.w, 1);
      const w = randn(t.k * t.c * t.kh * t.kw, 2);
      const b = randn(t.k, 3);
      const want = conv2d(x, w, b, g, relu);
      close(conv.forward({ x, weight: w, bias: b }), want, 1e-4, "forward");
      // Weights reordered once and passed as packed give the same.
      const packed = conv.packWeight(w);
      close(conv.forward({ x, weight: w, bias: b, packed }), want, 1e-4, "forward packed");
      if (!relu) {
        const dy = randn(t.n * t.k * conv.oh * conv.ow, 4);
        close(conv.backwardData({ dy, weight: w }), conv2dGradInput(dy, w, g), 1e-4, "dx");
        const { dWeight, dBias } = conv.backwardWeights({ x, dy });
        close(dWeight, conv2dGradWeight(dy, x, g), 1e-3, "dw");
        const db = new Float32Array(t.k);
        for (let ni = 0; ni < t.n; ni++) {
          for (let ki = 0; ki < t.k; ki++) {
            for (let i = 0; i < conv.oh * conv.ow; i++) {
              db[ki] += dy[(ni * t.k + ki) * conv.oh * conv.ow + i];
            }
          }
        }
        close(dBias!, db, 1e-4, "db");
      }
      conv.dispose();
    });
  }
}

Deno.test({
  name: "DnnlConv2d reads subarrays at their offset and names bad sizes",
  ignore: !available,
}, () => {
  const conv = new DnnlConv2d({ n: 1, c: 2, h: 4, w: 4, k: 3, kh: 3, kw: 3 }, {
    padding: 1,
    bias: false,
  });
  const big = randn(100, 9);
  const x = big.subarray(7, 7 + 32);
  const w = randn(54, 10);
  const g = geom(1, 2, 4, 4, 3, 3, { pad: 1 });
  close(conv.forward({ x, weight: w }), conv2d(x.slice(), w, null, g, false), 1e-5, "subarray");
  let message = "";
  try {
    conv.forward({ x: new Float32Array(5), weight: w });
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message, "conv/dnnl: expected x of 32 elements but got 5");
  conv.dispose();
});

Deno.test({
  name: "conv2dGeom takes the backends' geometry",
  ignore: !available,
}, () => {
  const g = geom(1, 8, 9, 7, 16, 3, { stride: 2, pad: 1 });
  const x = randn(8 * 9 * 7, 11), w = randn(16 * 8 * 9, 12), b = randn(16, 13);
  close(conv2dGeom(x, w, b, g, { relu: true }), conv2d(x, w, b, g, true), 1e-4, "geom");
  let message = "";
  try {
    conv2dGeom(x, w, b, { ...g, oh: 6 });
  } catch (e) {
    message = (e as Error).message;
  }
  assertEquals(message, "conv/dnnl: the geometry says 6x4 outputs but its sizes give 5x4");
});

Deno.test({
  name: "oneDNN's OpenMP threads leave process exit and Worker termination clean",
  ignore: !available,
  async fn() {
    const worker = new URL("./_dnnl_worker.ts", import.meta.url).href;
    // Each child starts two Workers, terminates one while its OpenMP threads are alive, and
    // exits with the other one still running: exit code 0 every time.
    const code = `
      const spawn = () => new Worker(${JSON.stringify(worker)}, { type: "module" });
      const ask = (w) => new Promise((r) => { w.onmessage = (e) => r(e.data); w.postMessage(0); });
      const a = spawn(), b = spawn();
      const [ra, rb] = await Promise.all([ask(a), ask(b)]);
      a.terminate();
      await ask(b);
      console.log(JSON.stringify([ra, rb]));
      Deno.exit(0);`;
    for (let i = 0; i < 5; i++) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=js", code],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assertEquals(
        out.code,
        0,
        `run ${i}: exit ${out.code} ${out.signal ?? ""} ${new TextDecoder().decode(out.stderr)}`,
      );
      // 1600 outputs of 32 channels x (up to) 9 taps x 0.125, padding aside: both Workers agree.
      const [a, b] = JSON.parse(text);
      assertEquals(a, b);
      assertEquals(a.dnnl, true);
    }
  },
});

Deno.test({
  name: "Winograd passes round about as the direct ones do, and only 3x3 stride 1 asks",
  ignore: !available,
}, () => {
  // 64 -> 64 channels at 30x30, outputs of about 1 (weights scaled by 1 / sqrt(fan-in)).
  const shape = { n: 1, c: 64, h: 30, w: 30, k: 64, kh: 3, kw: 3 };
  const x = randn(64 * 900, 21), w = randn(64 * 64 * 9, 22).map((v) => v / 24);
  const b = randn(64, 23), dy = randn(64 * 900, 24);
  const g = geom(1, 64, 30, 30, 64, 3, { pad: 1 });
  const wino = new DnnlConv2d(shape, { padding: 1, relu: true, winograd: true });
  const want = conv2d(x, w, b, g, true);
  // Measured against an f64 conv: Winograd's max error 5e-7, the direct one's 1.2e-6.
  close(wino.forward({ x, weight: w, bias: b }), want, 1e-5, "winograd forward");
  const packed = wino.packWeight(w);
  close(wino.forward({ x, weight: w, bias: b, packed }), want, 1e-5, "winograd, packed");
  close(wino.backwardData({ dy, weight: w }), conv2dGradInput(dy, w, g), 1e-5, "winograd dx");
  const { dWeight } = wino.backwardWeights({ x, dy });
  close(dWeight, conv2dGradWeight(dy, x, g), 1e-3, "winograd dw"); // sums of 900 products
  assert(wino.winograd, "a 3x3 stride-1 conv asks for Winograd");
  // oneDNN 2.x has it for all three passes on AVX-512 CPUs (its avx512_core: F, BW, VL, DQ);
  // elsewhere the direct ones serve, with the same values.
  const alg = avx512Core() ? "winograd" : "direct";
  assertEquals(wino.algorithms, { forward: alg, data: alg, weights: alg });
  const strided = new DnnlConv2d(shape, { padding: 1, stride: 2, winograd: true });
  const dilated = new DnnlConv2d(shape, { padding: 2, dilation: 2, winograd: true });
  for (const [what, c] of [["stride 2", strided], ["dilation 2", dilated]] as const) {
    assert(!c.winograd, `${what} does not ask`);
    assertEquals(c.algorithms, { forward: "direct", data: "direct", weights: "direct" }, what);
  }
  for (const c of [wino, strided, dilated]) c.dispose();
});

Deno.test({
  name: "where oneDNN has no Winograd (an AVX2-only CPU), every pass falls back to direct",
  ignore: !available,
  async fn() {
    // DNNL_MAX_CPU_ISA=AVX2 makes oneDNN behave as on a CPU without AVX-512 (read at its start,
    // hence the child process).
    const dnnl = new URL("./dnnl.ts", import.meta.url).href;
    const ref = new URL("../reference.ts", import.meta.url).href;
    const code = `
      import { DnnlConv2d } from ${JSON.stringify(dnnl)};
      import { conv2d } from ${JSON.stringify(ref)};
      const shape = { n: 1, c: 16, h: 6, w: 5, k: 16, kh: 3, kw: 3 };
      const conv = new DnnlConv2d(shape, { padding: 1, bias: false, winograd: true });
      const x = new Float32Array(16 * 30).map((_, i) => Math.sin(i));
      const w = new Float32Array(16 * 16 * 9).map((_, i) => Math.cos(i) / 12);
      const g = { ...shape, oh: 6, ow: 5, strideH: 1, strideW: 1, padH: 1, padW: 1, dilH: 1, dilW: 1 };
      const want = conv2d(x, w, null, g, false), got = conv.forward({ x, weight: w });
      const diff = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      console.log(JSON.stringify({ algorithms: conv.algorithms, diff }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      env: { DNNL_MAX_CPU_ISA: "AVX2" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, err);
    const { algorithms, diff } = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(algorithms, { forward: "direct", data: "direct", weights: "direct" });
    assert(diff <= 1e-5, `max |diff| ${diff}`);
  },
});
