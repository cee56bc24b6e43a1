import { assert, assertEquals } from "../tests/assert.ts";
import {
  fmt,
  implementations,
  kernelTable,
  loaderTable,
  markdown,
  modelTable,
  noise,
  notes,
  peerRatio,
  reportMarkdown,
  text,
} from "./report.ts";
import type { BenchReport, BenchResult } from "./types.ts";

const k = (impl: string, extra: Partial<BenchResult>): BenchResult => ({
  section: "kernels",
  id: "conv/a/fwd",
  label: "conv a",
  pass: "fwd",
  impl,
  peer: impl.startsWith("tfjs") || impl === "torch",
  ...extra,
});

const RESULTS: BenchResult[] = [
  k("webgpu", { ms: 10, gflops: 4, samples: [10, 11, 9], spreadPct: 10 }),
  k("blas", { ms: 1, gflops: 40, samples: [1, 1], spreadPct: 2 }),
  k("tfjs-webgpu", { ms: 5, gflops: 8, cold: true, samples: [5] }),
  k("tfjs-wasm", { note: "n/a: Kernel 'Conv2DBackpropFilter' not registered" }),
  k("torch", { ms: 0.5, gflops: 80, samples: [0.5, 0.6], spreadPct: 10 }),
  { ...k("blas", { gbps: 2, ms: 3 }), id: "pool/fwd", label: "pool" },
  {
    section: "models",
    id: "fcn8s/64/b1/train",
    label: "FCN-8s 64px b1",
    pass: "train",
    impl: "blas",
    peer: false,
    ms: 200,
    imagesPerSec: 5,
    peakBytes: 3 * 2 ** 20,
  },
  {
    section: "models",
    id: "fcn8s/64/b1/train",
    label: "FCN-8s 64px b1",
    pass: "train",
    impl: "torch",
    peer: true,
    ms: 100,
    imagesPerSec: 10,
  },
  {
    section: "models",
    id: "fcn8s/224/b4/train",
    label: "FCN-8s 224px b4",
    pass: "train",
    impl: "blas",
    peer: false,
    note: "skipped: ~99 s per step estimated > cap 60 s",
  },
  {
    section: "loader",
    id: "loader/0",
    label: "synthetic",
    pass: "inline",
    impl: "ours",
    peer: false,
    imagesPerSec: 480,
  },
];

Deno.test("peers are compared with their matching backend of ours", () => {
  const all = RESULTS;
  assertEquals(peerRatio(all[2], all), { ratio: 2, vs: "webgpu" });
  assertEquals(peerRatio(all[4], all), { ratio: 2, vs: "blas" });
  assertEquals(peerRatio(all[3], all), null);
  // Without a BLAS figure, PyTorch falls back to our WebGPU one.
  assertEquals(peerRatio(all[4], [all[0], all[4]]), { ratio: 20, vs: "webgpu" });
});

Deno.test("kernel table: ours first, ratios on peers, n/a where missing, * for one run", () => {
  const t = kernelTable(RESULTS);
  assertEquals(t.headers, [
    "kernel",
    "pass",
    "unit",
    "webgpu",
    "blas",
    "tfjs-webgpu",
    "tfjs-wasm",
    "torch",
  ]);
  assertEquals(t.rows[0], [
    "conv a",
    "fwd",
    "GFLOP/s",
    "4.00",
    "40.0",
    "8.00* (2.00x)",
    "n/a",
    "80.0 (2.00x)",
  ]);
  assertEquals(t.rows[1].slice(0, 5), ["pool", "fwd", "GB/s", "", "2.00"]);
});

Deno.test("model table: ms, images/s and peak for ours, the ratio for peers, skipped cases", () => {
  const t = modelTable(RESULTS);
  assertEquals(t.headers, [
    "model",
    "mode",
    "blas ms",
    "blas img/s",
    "blas peak MiB",
    "torch ms",
    "torch img/s",
  ]);
  assertEquals(t.rows[0], [
    "FCN-8s 64px b1",
    "train",
    "200",
    "5.00",
    "3.00",
    "100",
    "10.0 (2.00x)",
  ]);
  assertEquals(t.rows[1].slice(0, 4), ["FCN-8s 224px b4", "train", "skipped", ""]);
  assertEquals(loaderTable(RESULTS).rows, [["synthetic", "inline", "480"]]);
});

Deno.test("rendering: Markdown pipes, aligned text, notes and noise", () => {
  const t = { headers: ["a", "b", "c"], rows: [["x|y", "1", "22"]] };
  assertEquals(markdown(t), "| a | b | c |\n| --- | --- | --- |\n| x\\|y | 1 | 22 |");
  assertEquals(text(t), "a    b   c\n---  -  --\nx|y  1  22");
  assertEquals(notes(RESULTS).length, 2);
  assertEquals(noise(RESULTS), { webgpu: 10, blas: 2, torch: 10 });
  assertEquals(implementations(RESULTS).slice(0, 2), ["webgpu", "blas"]);
  assertEquals([fmt(1234.5), fmt(12.345), fmt(1.2345), fmt(0.01234)], [
    "1235",
    "12.3",
    "1.23",
    "0.012",
  ]);
});

Deno.test("the Markdown report describes the machine and has every section", () => {
  const report: BenchReport = {
    machine: {
      cpu: "Test CPU",
      cores: 2,
      busyBefore: 3,
      loadStart: [1, 2, 3],
      loadEnd: [1, 1, 1],
      backends: { webgpu: "llvmpipe" },
      peers: { torch: "PyTorch 1.13" },
      deno: "2.9.6",
      v8: "15",
      os: "linux x86_64",
      date: "2026-01-01T00:00:00.000Z",
    },
    args: ["--quick"],
    seconds: 12,
    results: RESULTS,
  };
  const md = reportMarkdown(report);
  for (
    const s of [
      "Test CPU, 2 cores",
      "ours webgpu: llvmpipe",
      "peer torch: PyTorch 1.13",
      "## Kernels",
      "## Models",
      "## Data loader",
      "## Notes",
      "`deno task bench --quick`",
    ]
  ) {
    assert(md.includes(s), `missing ${s}`);
  }
});
