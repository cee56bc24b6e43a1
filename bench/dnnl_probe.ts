/**
 * Probe for issue 16 point 1: is oneDNN a faster conv engine than our OpenBLAS GEMM convs, and
 * how far are we from onnxruntime-node? Run by hand:
 *
 *   /usr/bin/python3 scripts/make_bench_onnx.py        # once: .cache/bench/onnx/
 *   deno run -A bench/dnnl_probe.ts [--samples 7] [--layers-only | --models-only]
 *
 * Layers (batch 1, the LAYERS of scripts/make_bench_onnx.py: three VGG16 convs at 224 and the
 * three convs of an FCN-ResNet50 layer3 bottleneck at 480): our BLAS backend's conv2d (fused
 * ReLU), oneDNN's (lib/kernels/conv/blas/dnnl.ts, ReLU as a post-op, weights reordered once) and
 * onnxruntime-node 1.30 CPU EP on a one-conv ONNX, interleaved (ours, oneDNN, ORT, ours, ...),
 * medians and GFLOP/s. Models: FCN-8s/VGG16 @224 and FCN-ResNet50 @480 (random weights), eval
 * forward on our BLAS backend against ORT on the PyTorch export. Two threads everywhere.
 *
 * @module
 */
// onnxruntime-node is a bench-only peer, never a dependency of the toolkit: kept inline.
// deno-lint-ignore no-import-prefix
import * as ort from "npm:onnxruntime-node@1.30.0";
import { type BlasBackend, createBlasBackend } from "../lib/backends/blas.ts";
import type { ConvGeom } from "../lib/device/backend.ts";
import type { BlasRuntimeOptions, ConvPass } from "../lib/device/blas_runtime.ts";
import { convEngine } from "../lib/kernels/conv/blas/engine.ts";
import { DnnlConv2d } from "../lib/kernels/conv/blas/dnnl.ts";
import { loadDnnl } from "../lib/device/dnnl_ffi.ts";
import { createModel } from "../lib/models/create.ts";
import { noGrad } from "../lib/autograd.ts";
import { Device, tensor, tidy } from "../lib/tensor.ts";
import { geomLabel, recordGeoms, timePasses } from "./dnnl_passes.ts";
import { ourSteps, TorchSteps } from "./dnnl_train.ts";

const ONNX = new URL("../.cache/bench/onnx/", import.meta.url).pathname;
const THREADS = 2;
const flag = (name: string, fallback: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
};
const SAMPLES = Number(flag("samples", "7"));

/** name: [C, K, H, W, kernel, stride, padding, dilation, relu], as in make_bench_onnx.py. */
const LAYERS: Record<
  string,
  [number, number, number, number, number, number, number, number, boolean]
> = {
  vgg_conv1_2: [64, 64, 224, 224, 3, 1, 1, 1, true],
  vgg_conv3_2: [256, 256, 56, 56, 3, 1, 1, 1, true],
  vgg_conv5_2: [512, 512, 14, 14, 3, 1, 1, 1, true],
  r50_l3_reduce: [1024, 256, 60, 60, 1, 1, 0, 1, true],
  r50_l3_conv3x3_d2: [256, 256, 60, 60, 3, 1, 2, 2, true],
  r50_l3_expand: [256, 1024, 60, 60, 1, 1, 0, 1, false],
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = async () => (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).trim();
const random = (n: number, seed: number) => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 0.2;
  });
};

async function session(file: string): Promise<ort.InferenceSession> {
  return await ort.InferenceSession.create(`${ONNX}${file}`, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
  });
}

/** Runs each contender once per round, `SAMPLES` rounds after 2 warm-ups; medians in ms. */
async function interleaved(
  contenders: Record<string, () => Promise<void> | void>,
): Promise<Record<string, { median: number; samples: number[] }>> {
  const times: Record<string, number[]> = {};
  for (let round = 0; round < SAMPLES + 2; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const t0 = performance.now();
      await run();
      const ms = performance.now() - t0;
      if (round >= 2) (times[name] ??= []).push(ms);
    }
  }
  return Object.fromEntries(
    Object.entries(times).map(([k, v]) => [k, { median: median(v), samples: v }]),
  );
}

const lines: string[] = [];
const say = (s: string) => {
  console.log(s);
  lines.push(s);
};

say(`oneDNN: ${loadDnnl().description}; ORT: onnxruntime-node 1.30.0 CPU EP, ${THREADS} threads`);
say(`loadavg at start: ${await load()}`);

if (Deno.args.includes("--profile")) {
  // deno run -A bench/dnnl_probe.ts --profile [fcn_resnet50@480] [--off]: eval forward, ms per kernel
  const spec = Deno.args.find((a) => /^(fcn8s|fcn_resnet50)@\d+$/.test(a)) ?? "fcn_resnet50@480";
  const [name, size] = spec.split("@") as ["fcn8s" | "fcn_resnet50", string];
  const be = createBlasBackend({ dnnl: !Deno.args.includes("--off") });
  const spent = new Map<string, { ms: number; calls: number; gflop: number }>();
  const timed = { ...be } as Record<string, unknown>;
  for (const [k, v] of Object.entries(be)) {
    if (typeof v !== "function" || ["upload", "read", "free", "flush", "liveBytes"].includes(k)) {
      continue;
    }
    timed[k] = (args: { geom?: ConvGeom }) => {
      const t0 = performance.now();
      const out = (v as (a: unknown) => unknown)(args);
      const key = k.startsWith("conv2d") && args.geom ? `${k} ${args.geom.kh}x${args.geom.kw}` : k;
      const e = spent.get(key) ?? { ms: 0, calls: 0, gflop: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      const g = args.geom;
      if (g && k.startsWith("conv2d")) {
        e.gflop += 2 * g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow / 1e9;
      }
      spent.set(key, e);
      return out;
    };
  }
  const device = new Device(timed as unknown as BlasBackend);
  const model = createModel(name, { numClasses: 21, aux: false }, device).eval();
  const x = tensor(random(3 * Number(size) ** 2, 5), [1, 3, Number(size), Number(size)], device);
  const totals: number[] = [];
  for (let r = 0; r < SAMPLES + 1; r++) {
    if (r === 1) spent.clear();
    const t0 = performance.now();
    const y = noGrad(() => tidy(() => model.forward(x).out));
    await y.toArray();
    y.dispose();
    if (r > 0) totals.push(performance.now() - t0);
  }
  say(`${spec} eval forward on ${be.description}: median ${median(totals).toFixed(0)} ms`);
  for (const [k, e] of [...spent].sort((a, b) => b[1].ms - a[1].ms)) {
    const rate = e.gflop
      ? `, ${(e.gflop / SAMPLES).toFixed(1)} GFLOP at ${(e.gflop / e.ms * 1e3).toFixed(0)} GFLOP/s`
      : "";
    say(`  ${k}: ${(e.ms / SAMPLES).toFixed(1)} ms in ${e.calls / SAMPLES} calls${rate}`);
  }
  say(`loadavg: ${await load()}`);
  Deno.exit(0);
}

if (Deno.args.includes("--train")) {
  // deno run -A bench/dnnl_probe.ts --train [fcn8s@480] [--only dnnl|gemm|torch]
  const spec = Deno.args.find((a) => /^(fcn8s|fcn_resnet50)@\d+$/.test(a)) ?? "fcn8s@480";
  const [name, size] = spec.split("@") as ["fcn8s" | "fcn_resnet50", string];
  const only = flag("only", "");
  const contenders: Record<string, () => Promise<unknown>> = {};
  const closers: (() => Promise<unknown> | void)[] = [];
  for (const dnnl of [true, false]) {
    const label = dnnl ? "dnnl" : "gemm";
    if (only && only !== label) continue;
    const ours = ourSteps(name, Number(size), dnnl);
    say(`ours ${label}: ${ours.description}`);
    contenders[`ours ${label}`] = ours.step;
    closers.push(ours.dispose);
  }
  let torch: TorchSteps | null = null;
  if (!only || only === "torch") {
    torch = await TorchSteps.start(name, Number(size), "train");
    contenders.torch = () => torch!.step(); // PyTorch's own timing replaces ours below
  }
  const times: Record<string, number[]> = {};
  for (let round = 0; round < SAMPLES + 1; round++) {
    for (const [label, run] of Object.entries(contenders)) {
      const t0 = performance.now();
      const ms = await run();
      const took = typeof ms === "number" ? ms : performance.now() - t0;
      if (round > 0) (times[label] ??= []).push(took);
    }
  }
  for (const c of closers) await c();
  const rss = torch ? await torch.close() : null;
  const ours = Number((await Deno.readTextFile("/proc/self/status")).match(/VmHWM:\s+(\d+)/)![1]);
  say(`${spec} training step, batch 1, ${SAMPLES} interleaved rounds after one warm-up (ms)`);
  for (const [label, v] of Object.entries(times)) {
    say(`${label}: median ${median(v).toFixed(0)} (${v.map((x) => x.toFixed(0)).join(", ")})`);
  }
  if (times["ours dnnl"] && times.torch) {
    say(`ours dnnl / torch: ${(median(times["ours dnnl"]) / median(times.torch)).toFixed(2)}`);
  }
  if (times["ours gemm"] && times.torch) {
    say(`ours gemm / torch: ${(median(times["ours gemm"]) / median(times.torch)).toFixed(2)}`);
  }
  say(`peak RSS MB: this process ${(ours / 1024).toFixed(0)}${rss ? `, torch ${rss}` : ""}`);
  say(`loadavg: ${await load()}`);
  Deno.exit(0);
}

if (Deno.args.includes("--passes")) {
  // deno run -A bench/dnnl_probe.ts --passes [fcn8s@480] [fcn_resnet50@480] ...
  const specs = Deno.args.filter((a) => /^(fcn8s|fcn_resnet50)@\d+$/.test(a));
  for (const spec of specs.length ? specs : ["fcn8s@224", "fcn8s@480", "fcn_resnet50@480"]) {
    const [name, size] = spec.split("@") as ["fcn8s" | "fcn_resnet50", string];
    const kernel = flag("kernel", ""); // e.g. --kernel 1x1: only those geometries
    const geoms = recordGeoms(name, Number(size)).filter((e) =>
      !kernel || `${e.g.kh}x${e.g.kw}` === kernel
    );
    const rows = timePasses(geoms, SAMPLES);
    say(`\n${spec} training step, conv passes (ms, medians of ${SAMPLES}, interleaved)`);
    say("| conv | x | pass | GFLOP | GEMMs ms (GFLOP/s) | oneDNN ms (GFLOP/s) | oneDNN/GEMMs |");
    say("|---|---|---|---|---|---|---|");
    const total = { gemm: 0, dnnl: 0, best: 0 };
    for (const r of rows) {
      const g = r.g, gflop = 2 * g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow / 1e9;
      const cell = (ms: number) => `${ms.toFixed(1)} (${(gflop / (ms / 1000)).toFixed(0)})`;
      if (r.pass !== "forward") {
        total.gemm += r.gemm * r.count;
        total.dnnl += r.dnnl * r.count;
        total.best += Math.min(r.gemm, r.dnnl) * r.count;
      }
      say(
        `| ${geomLabel(g)} | ${r.count} | ${r.pass} | ${gflop.toFixed(2)} | ${cell(r.gemm)} | ${
          cell(r.dnnl)
        } | ${(r.dnnl / r.gemm).toFixed(2)} |`,
      );
    }
    say(
      `sum over the step: GEMMs ${total.gemm.toFixed(0)} ms, oneDNN ${
        total.dnnl.toFixed(0)
      } ms, best per row ${total.best.toFixed(0)} ms; loadavg ${await load()}`,
    );
  }
  Deno.exit(0);
}

if (!Deno.args.includes("--models-only")) {
  const blas = createBlasBackend();
  say(`BLAS: ${blas.description}`);
  say(
    "| layer | GFLOP | ours BLAS ms (GFLOP/s) | oneDNN ms (GFLOP/s) | ORT ms (GFLOP/s) | max diff |",
  );
  say("|---|---|---|---|---|---|");
  for (const [name, [c, k, h, w, kk, s, p, d, relu]] of Object.entries(LAYERS)) {
    const dnnl = new DnnlConv2d({ n: 1, c, h, w, k, kh: kk, kw: kk }, {
      stride: s,
      padding: p,
      dilation: d,
      relu,
    });
    const { oh, ow } = dnnl;
    const g = {
      n: 1,
      c,
      h,
      w,
      k,
      kh: kk,
      kw: kk,
      oh,
      ow,
      strideH: s,
      strideW: s,
      padH: p,
      padW: p,
      dilH: d,
      dilW: d,
    };
    const x = random(c * h * w, 1), wt = random(k * c * kk * kk, 2), b = random(k, 3);
    const [xs, ws, bs] = [x, wt, b].map((a) => blas.upload(a));
    const out = new Float32Array(k * oh * ow);
    const sess = await session(`layer_${name}.onnx`);
    // ORT has its own weights (from the export); the same shapes and work.
    const feeds = { x: new ort.Tensor("float32", x, [1, c, h, w]) };
    let ours: Float32Array = new Float32Array(0);
    const r = await interleaved({
      ours: () => {
        const y = blas.conv2d({ x: xs, w: ws, b: bs, geom: g, relu });
        ours = (y as unknown as { data: Float32Array }).data;
        blas.free(y);
      },
      dnnl: () => {
        dnnl.forward({ x, weight: wt, bias: b, out });
      },
      ort: async () => {
        await sess.run(feeds);
      },
    });
    let diff = 0;
    for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i] - ours[i]));
    const gflop = (2 * k * oh * ow * c * kk * kk) / 1e9;
    const cell = (ms: number) => `${ms.toFixed(1)} (${(gflop / (ms / 1000)).toFixed(0)})`;
    say(
      `| ${name} ${c}->${k} ${kk}x${kk}${d > 1 ? ` d${d}` : ""} @${h} | ${gflop.toFixed(2)} | ${
        cell(r.ours.median)
      } | ${cell(r.dnnl.median)} | ${cell(r.ort.median)} | ${diff.toExponential(1)} |`,
    );
    await sess.release();
    dnnl.dispose();
    for (const t of [xs, ws, bs]) blas.free(t);
  }
  blas.destroy();
  say(`loadavg after layers: ${await load()}`);
}

if (!Deno.args.includes("--layers-only")) {
  // Ours with the per-shape rule (lib/kernels/conv/blas/engine.ts), with oneDNN for the convs
  // with several taps only, for every conv, and without it; ORT on the PyTorch export.
  // --model fcn8s@224 picks one model.
  const rule = (g: ConvGeom, p: ConvPass) => convEngine(g, p);
  const taps = (g: ConvGeom) => g.kh * g.kw > 1 ? "dnnl" as const : "gemm" as const;
  const engines: Record<string, BlasRuntimeOptions> = {
    "ours rule": { convEngine: rule },
    "ours taps only": { convEngine: taps },
    "ours all oneDNN": { convEngine: () => "dnnl" },
    "ours GEMMs": { dnnl: false },
  };
  const wanted = flag("model", "");
  const all = [
    ["fcn8s", "fcn8s_224.onnx", 224],
    ["fcn_resnet50", "fcn_resnet50_480.onnx", 480],
  ] as const;
  for (const [name, file, size] of all.filter(([n, , s]) => !wanted || wanted === `${n}@${s}`)) {
    const x = random(3 * size * size, 5);
    const contenders: Record<string, () => Promise<void>> = {};
    const disposers: (() => void)[] = [];
    for (const [label, options] of Object.entries(engines)) {
      const device = new Device(createBlasBackend(options));
      const model = createModel(name, { numClasses: 21, aux: false }, device).eval();
      const xt = tensor(x, [1, 3, size, size], device).keep();
      contenders[label] = async () => {
        const y = noGrad(() => tidy(() => model.forward(xt).out));
        await y.toArray();
        y.dispose();
      };
      disposers.push(() => (xt.dispose(), model.dispose(), device.destroy()));
    }
    const sess = await session(file);
    const feeds = { x: new ort.Tensor("float32", x, [1, 3, size, size]) };
    contenders.ort = async () => {
      await sess.run(feeds);
    };
    const r = await interleaved(contenders);
    say(
      `\n${name} @${size} eval forward, ${SAMPLES} interleaved rounds (ms), loadavg ${await load()}`,
    );
    say("| contender | median | samples | / ORT |");
    say("|---|---|---|---|");
    for (const [label, v] of Object.entries(r)) {
      say(
        `| ${label} | ${v.median.toFixed(0)} | ${v.samples.map((t) => t.toFixed(0)).join(", ")} | ${
          (v.median / r.ort.median).toFixed(2)
        } |`,
      );
    }
    await sess.release();
    for (const d of disposers) d();
  }
  say(`loadavg at end: ${await load()}`);
}
