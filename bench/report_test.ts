import { assert, assertEquals } from "../tests/assert.ts";
import {
  conditionLines,
  fmt,
  headTable,
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
  k("webgpu", {
    ms: 10,
    gflops: 4,
    samples: [10, 11, 9],
    spreadPct: 10,
    load: { avg1: 1.5, busyPct: 60, ownPct: 57, otherPct: 3, seconds: 1 },
  }),
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

Deno.test("peers are compared with their matching backend of ours, with the ratio's range", () => {
  const all = RESULTS;
  const near = (r: ReturnType<typeof peerRatio>) =>
    r && [r.vs, r.basis, ...[r.ratio, r.lo, r.hi].map((v) => Math.round(v * 1000) / 1000)];
  // One run, not interleaved: the range from the extremes (our 9..11 ms over its 5 ms).
  assertEquals(near(peerRatio(all[2], all)), ["webgpu", "extremes", 2, 1.8, 2.2]);
  assertEquals(near(peerRatio(all[4], all)), ["blas", "extremes", 2, 1.667, 2]);
  assertEquals(peerRatio(all[3], all), null);
  // Without a BLAS figure, PyTorch falls back to our WebGPU one.
  assertEquals(near(peerRatio(all[4], [all[0], all[4]])), ["webgpu", "extremes", 20, 15, 22]);
});

Deno.test("ratios of interleaved rows pair the rounds; merged runs pair the runs", () => {
  const base = { section: "ort", id: "m", label: "m", pass: "forward" } as const;
  const ours: BenchResult = { ...base, impl: "blas", peer: false, ms: 300, samples: [300, 400] };
  const ort: BenchResult = { ...base, impl: "ort", peer: true, ms: 200, samples: [200, 400] };
  assertEquals(peerRatio(ort, [ours, ort])?.basis, "extremes");
  const paired = [{ ...ours, interleaved: true }, { ...ort, interleaved: true }];
  const r = peerRatio(paired[1], paired)!;
  assertEquals([r.basis, r.lo, r.hi], ["rounds", 1, 1.5]);
  const runs = [{ ...ours, runMs: [300, 330] }, { ...ort, runMs: [150, 300] }];
  const q = peerRatio(runs[1], runs)!;
  assertEquals([q.basis, q.lo, q.hi], ["runs", 1.1, 2]);
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
    "other work / load",
  ]);
  assertEquals(t.rows[0], [
    "conv a",
    "fwd",
    "GFLOP/s",
    "4.00",
    "40.0",
    "8.00* (2.00x [1.80-2.20])",
    "n/a",
    "80.0 (2.00x [1.67-2.00])",
    "3% / 1.50",
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
    "other work / load",
  ]);
  assertEquals(t.rows[0], [
    "FCN-8s 64px b1",
    "train",
    "200",
    "5.00",
    "3.00",
    "100",
    "10.0 (2.00x)",
    "",
  ]);
  assertEquals(t.rows[1].slice(0, 4), ["FCN-8s 224px b4", "train", "skipped", ""]);
  assertEquals(loaderTable(RESULTS).rows, [["synthetic", "inline", "480", ""]]);
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
      "timed samples per row: 1 to 3",
      "Ratios = our time / the peer's",
      "`deno task bench --quick`",
    ]
  ) {
    assert(md.includes(s), `missing ${s}`);
  }
});

Deno.test("head-to-head table: ms with the sample range, peak RSS, our time over each peer's per round", () => {
  const base = {
    section: "ort",
    id: "ort/fcn8s/224/b1/forward",
    label: "FCN-8s VGG16 224px b1",
    pass: "forward",
    interleaved: true,
  } as const;
  const load = { avg1: 2, busyPct: 100, ownPct: 90, otherPct: 10, seconds: 9 };
  const rs: BenchResult[] = [
    {
      ...base,
      impl: "blas",
      peer: false,
      ms: 300,
      samples: [300, 360, 280],
      rssBytes: 2 ** 30,
      load,
    },
    {
      ...base,
      impl: "ort",
      peer: true,
      ms: 200,
      samples: [200, 240, 200],
      rssBytes: 2 ** 29,
      load,
    },
    { ...base, impl: "torch", peer: true, note: "skipped: no torch" },
    {
      ...base,
      id: "ort/r50",
      label: "FCN-ResNet50 480px b1",
      impl: "ort",
      peer: true,
      note: "n/a: missing",
    },
  ];
  const t = headTable(rs, "ort");
  assertEquals(t.headers, [
    "case",
    "pass",
    "blas ms [min-max]",
    "blas peak RSS MiB",
    "ort ms [min-max]",
    "ort peak RSS MiB",
    "torch ms [min-max]",
    "torch peak RSS MiB",
    "ours / ort time",
    "ours / torch time",
    "other work / load",
  ]);
  assertEquals(t.rows[0], [
    "FCN-8s VGG16 224px b1",
    "forward",
    "300 [280-360]",
    "1024",
    "200 [200-240]",
    "512",
    "skipped",
    "",
    "1.50x [1.40-1.50]",
    "",
    "10% / 2.00",
  ]);
  assertEquals(t.rows[1].slice(2, 5), ["", "", "n/a"]);
});

Deno.test("the conditions name the fewest samples and the rows below 5", () => {
  const report: BenchReport = {
    machine: {
      cpu: "c",
      cores: 2,
      busyBefore: 0,
      loadStart: [],
      loadEnd: [],
      backends: {},
      peers: {},
      deno: "",
      v8: "",
      os: "",
      date: "",
    },
    args: [],
    runs: 2,
    seconds: 1,
    results: RESULTS,
  };
  const [samples, load] = conditionLines(report);
  assert(samples.startsWith("timed samples per row: 1 to 3 (7 rows below 5"), samples);
  assert(samples.endsWith("2 run(s) of the selected sections"), samples);
  assert(load.includes("3% of all cores (load average 1.5)"), load);
});
