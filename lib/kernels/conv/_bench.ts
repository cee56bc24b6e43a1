/**
 * Conv benchmark on WebGPU: GFLOP/s of forward, backward-data and backward-weight on VGG16/FCN
 * layer shapes, before (the general kernels with their original tile, as the code was) and
 * after (the dispatch in `webgpu.ts` once `autotune` has run). Each figure is the median of 3
 * runs of `reps` calls followed by one `flush()`, after a warm-up call.
 *
 * Usage: `deno run -A lib/kernels/conv/_bench.ts [--no-before] [--only=text] [--skip=text]`
 * (`--only`/`--skip` keep or drop the layers whose name contains the text).
 *
 * @module
 */
import type { ConvGeom, Storage } from "../../device/backend.ts";
import { requestDevice } from "../../device/request.ts";
import type { WebGpuBackend } from "../../device/webgpu_backend.ts";
import { autotune, autotuneReport } from "../autotune.ts";
import { geom } from "./_testing.ts";
import { genericConv2d, genericGradInput, genericGradWeight } from "./generic.ts";
import { GENERIC_TILE } from "./shaders.ts";

const args = new Set(Deno.args);
const only = Deno.args.find((a) => a.startsWith("--only="))?.slice(7) ?? "";
const skip = Deno.args.find((a) => a.startsWith("--skip="))?.slice(7);
const device = await requestDevice({ backend: "webgpu" });
const b = device.backend as WebGpuBackend;
const rt = b.rt;

const shapes: [string, ConvGeom][] = [
  ["conv 3->64 3x3 @224", geom(1, 3, 224, 224, 64, 3, { pad: 1 })],
  ["conv 64->64 3x3 @224", geom(1, 64, 224, 224, 64, 3, { pad: 1 })],
  ["conv 128->256 3x3 @56", geom(1, 128, 56, 56, 256, 3, { pad: 1 })],
  ["conv 512->512 3x3 @14", geom(1, 512, 14, 14, 512, 3, { pad: 1 })],
  ["fc6 512->4096 7x7 @7", geom(1, 512, 7, 7, 4096, 7)],
  ["score 4096->21 1x1 @7", geom(1, 4096, 7, 7, 21, 1)],
  ["score 512->21 1x1 @28", geom(1, 512, 28, 28, 21, 1)],
  // FCN's 2x upsampler is convTranspose(21, 21, 4, stride 2, pad 1): its forward is this conv's
  // backward-data, its backward-data this conv's forward.
  ["upsampler 21->21 4x4 s2 @34", geom(1, 21, 34, 34, 21, 4, { stride: 2, pad: 1 })],
];

function filler(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 7919) % 2001) / 1000 - 1;
  return a;
}

/** Median milliseconds per call of `f`. */
async function time(f: () => Storage, flops: number): Promise<number> {
  rt.free(f());
  await rt.flush();
  const reps = Math.max(1, Math.min(20, Math.round(1e9 / flops)));
  const ts: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) rt.free(f());
    await rt.flush();
    ts.push((performance.now() - t0) / reps);
  }
  return ts.sort((a, b) => a - b)[1];
}

const rows: string[] = [];
const picked = shapes.filter(([name]) => name.includes(only) && !(skip && name.includes(skip)));
const inputs = picked.map(([name, g]) => {
  const x = b.upload(filler(g.n * g.c * g.h * g.w));
  const w = b.upload(filler(g.k * g.c * g.kh * g.kw));
  const bias = b.upload(filler(g.k));
  const dy = b.upload(filler(g.n * g.k * g.oh * g.ow));
  return { name, g, x, w, bias, dy, flops: 2 * g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow };
});

// Record every layer once so that autotune knows the shape classes, then tune.
for (const { x, w, bias, dy, g } of inputs) {
  for (const s of [b.conv2d(x, w, bias, g, true), b.conv2dGradInput(dy, w, g)]) rt.free(s);
  rt.free(b.conv2dGradWeight(dy, x, g));
}
await rt.flush(); // the first pass, with the defaults, is not part of the tuning time
const t0 = performance.now();
await autotune(rt, { verbose: args.has("--verbose") });
const tuneMs = performance.now() - t0;

const gf = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(2);
for (const { name, g, x, w, bias, dy, flops } of inputs) {
  const after = [
    await time(() => b.conv2d(x, w, bias, g, true), flops),
    await time(() => b.conv2dGradInput(dy, w, g), flops),
    await time(() => b.conv2dGradWeight(dy, x, g), flops),
  ];
  let cells = after.map((ms) => `${gf(flops, ms)}`);
  if (!args.has("--no-before")) {
    const t = GENERIC_TILE;
    const before = [
      await time(() => genericConv2d(rt, x, w, bias, g, true, t), flops),
      await time(() => genericGradInput(rt, dy, w, g, t), flops),
      await time(() => genericGradWeight(rt, dy, x, g, t), flops),
    ];
    cells = before.map((ms, i) => `${gf(flops, ms)} -> ${cells[i]}`);
  }
  rows.push(`| ${name} | ${cells.join(" | ")} |`);
  console.log(rows.at(-1));
}
console.log(`\n${b.description}; autotune took ${tuneMs.toFixed(0)} ms`);
console.log("| layer (batch 1) | forward | backward-data | backward-weight |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(r);
console.log(autotuneReport());
device.destroy();
