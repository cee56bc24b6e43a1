/**
 * Tables of the results: kernels (GFLOP/s or GB/s), models (ms, images/s, peak memory), the
 * loader (images/s), each peer with its ratio to ours. Rendered as Markdown for
 * `bench/results.md` and as aligned text for the terminal.
 *
 * @module
 */
import { worstLoad } from "./load.ts";
import { ratioCell, type RatioRange, timeRatio } from "./ratio.ts";
import type { BenchReport, BenchResult, MachineInfo, ResultSection } from "./types.ts";

/** Our implementations a peer is compared with, best match first. */
const REFERENCE: Record<string, string[]> = {
  "tfjs-webgpu": ["webgpu", "blas", "cpu"],
  "tfjs-wasm": ["blas", "webgpu", "cpu"],
  torch: ["blas", "webgpu", "cpu"],
  ort: ["blas"],
};

/** A table: a header row and rows of cells, every cell already a string. */
export interface Table {
  headers: string[];
  rows: string[][];
}

/** Formats a number with about three significant figures. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** The throughput a ratio is taken on: rate for kernels, images/s for models. */
function rate(r: BenchResult): number | undefined {
  return r.gflops ?? r.gbps ?? r.imagesPerSec;
}

/**
 * Our time over the peer's for the same case (= the peer's throughput over ours; above 1: the
 * peer is faster), with its range ({@linkcode timeRatio}); ours is the first of the peer's
 * {@linkcode REFERENCE} backends that has a figure; null when none has.
 *
 * @example
 * ```ts
 * import { peerRatio } from "./report.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const base = { section: "kernels", id: "a", label: "a", pass: "fwd" } as const;
 * const ours = { ...base, impl: "blas", peer: false, ms: 10, samples: [10, 10] };
 * const torch = { ...base, impl: "torch", peer: true, ms: 4, samples: [4, 5] };
 * assertEquals(peerRatio(torch, [ours, torch]), { ratio: 2.5, lo: 2, hi: 2.5, basis: "extremes", vs: "blas" });
 * ```
 */
export function peerRatio(
  peer: BenchResult,
  all: readonly BenchResult[],
): (RatioRange & { vs: string }) | null {
  if (peer.ms === undefined) return null;
  for (const impl of REFERENCE[peer.impl] ?? ["webgpu", "blas", "cpu"]) {
    const ours = all.find((r) =>
      r.section === peer.section && r.id === peer.id && r.impl === impl && !r.peer
    );
    const range = ours && timeRatio(ours, peer);
    if (range) return { ...range, vs: impl };
  }
  return null;
}

/** A ratio cell: ` (2.00x)` or ` (2.00x [1.80-2.20])`, or nothing. */
function ratioSuffix(r: RatioRange | null): string {
  return r ? ` (${ratioCell(r, fmt)})` : "";
}

/** The worst load of a row's results: other work % and the 1-minute load average. */
function loadCell(rs: readonly BenchResult[]): string {
  const l = worstLoad(rs.map((r) => r.load));
  return l ? `${l.otherPct}% / ${Number.isNaN(l.avg1) ? "?" : fmt(l.avg1)}` : "";
}

/** Header of the load column. */
const LOAD = "other work / load";

/** Implementations present in `results`, ours first, in a fixed order. */
export function implementations(results: readonly BenchResult[]): string[] {
  const order = ["webgpu", "blas", "cpu", "tfjs-webgpu", "tfjs-wasm", "ort", "torch"];
  const seen = new Set(results.map((r) => r.impl));
  return [...order.filter((i) => seen.has(i)), ...[...seen].filter((i) => !order.includes(i))];
}

/** Distinct case ids of a section, in first-seen order. */
function ids(results: readonly BenchResult[]): string[] {
  return [...new Set(results.map((r) => r.id))];
}

/** The cell of a result without a figure: its note's first word ("n/a", "skipped"). */
function missing(r: BenchResult | undefined): string {
  if (!r) return "";
  return r.note?.startsWith("skipped") ? "skipped" : "n/a";
}

/** `*` marks a figure from a single (warm-up) run. */
function star(r: BenchResult): string {
  return r.cold ? "*" : "";
}

/** The kernel table: one row per case and pass, one column per implementation. */
export function kernelTable(results: readonly BenchResult[]): Table {
  const rs = results.filter((r) => r.section === "kernels");
  const impls = implementations(rs);
  const rows = ids(rs).map((id) => {
    const first = rs.find((r) => r.id === id)!;
    const measured = rs.filter((r) => r.id === id);
    const unit = measured.some((r) => r.gflops !== undefined)
      ? "GFLOP/s"
      : measured.some((r) => r.gbps !== undefined)
      ? "GB/s"
      : "";
    const cells = impls.map((impl) => {
      const r = rs.find((x) => x.id === id && x.impl === impl);
      const v = r && rate(r);
      if (!r || v === undefined) return missing(r);
      return `${fmt(v)}${star(r)}${ratioSuffix(r.peer ? peerRatio(r, rs) : null)}`;
    });
    return [first.label, first.pass, unit, ...cells, loadCell(measured)];
  });
  return { headers: ["kernel", "pass", "unit", ...impls, LOAD], rows };
}

/** The model table: ms, images/s and peak MiB for ours; ms and the ratio for peers. */
export function modelTable(results: readonly BenchResult[]): Table {
  const rs = results.filter((r) => r.section === "models");
  const impls = implementations(rs);
  const headers = ["model", "mode"];
  for (const impl of impls) {
    const peer = rs.some((r) => r.impl === impl && r.peer);
    headers.push(`${impl} ms`, `${impl} img/s`);
    if (!peer) headers.push(`${impl} peak MiB`);
  }
  const rows = ids(rs).map((id) => {
    const first = rs.find((r) => r.id === id)!;
    const cells = [first.label, first.pass];
    for (const impl of impls) {
      const peer = rs.some((r) => r.impl === impl && r.peer);
      const r = rs.find((x) => x.id === id && x.impl === impl);
      if (!r || r.ms === undefined) {
        cells.push(missing(r), "");
        if (!peer) cells.push("");
        continue;
      }
      cells.push(
        `${fmt(r.ms)}${star(r)}`,
        `${fmt(r.imagesPerSec!)}${ratioSuffix(r.peer ? peerRatio(r, rs) : null)}`,
      );
      if (!peer) cells.push(r.peakBytes !== undefined ? fmt(r.peakBytes / 2 ** 20) : "");
    }
    cells.push(loadCell(rs.filter((r) => r.id === id)));
    return cells;
  });
  headers.push(LOAD);
  return { headers, rows };
}

/**
 * A head-to-head table (`ort`, `train`, `cold`): each implementation's median ms with its
 * fastest and slowest sample, peak RSS where measured, and our time over each peer's with the
 * range over the interleaved rounds.
 */
export function headTable(results: readonly BenchResult[], section: ResultSection): Table {
  const rs = results.filter((r) => r.section === section);
  const impls = implementations(rs);
  const peers = impls.filter((i) => rs.some((r) => r.impl === i && r.peer));
  const rss = rs.some((r) => r.rssBytes !== undefined);
  const headers = ["case", "pass"];
  for (const impl of impls) {
    headers.push(`${impl} ms [min-max]`);
    if (rss) headers.push(`${impl} peak RSS MiB`);
  }
  for (const p of peers) headers.push(`ours / ${p} time`);
  headers.push(LOAD);
  const rows = ids(rs).map((id) => {
    const mine = rs.filter((r) => r.id === id);
    const cells = [mine[0].label, mine[0].pass];
    for (const impl of impls) {
      const r = mine.find((x) => x.impl === impl);
      if (!r || r.ms === undefined) cells.push(missing(r));
      else {
        const s = r.samples ?? [r.ms];
        cells.push(`${fmt(r.ms)} [${fmt(Math.min(...s))}-${fmt(Math.max(...s))}]`);
      }
      if (rss) cells.push(r?.rssBytes !== undefined ? fmt(r.rssBytes / 2 ** 20) : "");
    }
    for (const p of peers) {
      const r = mine.find((x) => x.impl === p);
      const ratio = r ? peerRatio(r, mine) : null;
      cells.push(ratio ? ratioCell(ratio, fmt) : "");
    }
    cells.push(loadCell(mine));
    return cells;
  });
  return { headers, rows };
}

/** The loader table: images/s per configuration. */
export function loaderTable(results: readonly BenchResult[]): Table {
  const rs = results.filter((r) => r.section === "loader");
  return {
    headers: ["loader", "setting", "images/s", LOAD],
    rows: rs.map((
      r,
    ) => [
      r.label,
      r.pass,
      r.imagesPerSec !== undefined ? fmt(r.imagesPerSec) : missing(r),
      loadCell([r]),
    ]),
  };
}

/**
 * The predict table: images/s on a folder per setting, and the inline run's time over this
 * one's (above 1: faster than inline), per interleaved round.
 *
 * @example
 * ```ts
 * import { predictTable } from "./report.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const base = { section: "predict", label: "f", impl: "blas", peer: false, interleaved: true } as const;
 * const inline = { ...base, id: "predict/f/inline", pass: "inline", ms: 100, samples: [100, 120], imagesPerSec: 10 };
 * const pooled = { ...base, id: "predict/f/workers", pass: "1 worker", ms: 80, samples: [80, 80], imagesPerSec: 12.5 };
 * assertEquals(predictTable([inline, pooled]).rows, [
 *   ["f", "inline", "10.0", "100", "", ""],
 *   ["f", "1 worker", "12.5", "80.0", "1.25x [1.25-1.50]", ""],
 * ]);
 * ```
 */
export function predictTable(results: readonly BenchResult[]): Table {
  const rs = results.filter((r) => r.section === "predict");
  return {
    headers: [
      "predict on a folder (bundled model, blas)",
      "setting",
      "images/s",
      "ms/image",
      "inline / this",
      LOAD,
    ],
    rows: rs.map((r) => {
      const inline = rs.find((x) => x.label === r.label && x.id.endsWith("/inline"));
      const ratio = inline && inline !== r ? timeRatio(inline, r) : null;
      return [
        r.label,
        r.pass,
        r.imagesPerSec !== undefined ? fmt(r.imagesPerSec) : missing(r),
        r.ms !== undefined ? fmt(r.ms) : "",
        ratio ? ratioCell(ratio, fmt) : "",
        loadCell([r]),
      ];
    }),
  };
}

/** Renders a table as GitHub Markdown. */
export function markdown(t: Table): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  const line = (cells: string[]) => `| ${cells.map(esc).join(" | ")} |`;
  return [line(t.headers), line(t.headers.map(() => "---")), ...t.rows.map(line)].join("\n");
}

/** Renders a table as aligned text: the first two columns left-aligned, figures right-aligned. */
export function text(t: Table): string {
  const widths = t.headers.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd();
  return [line(t.headers), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join(
    "\n",
  );
}

/** Notes of the results that have one ("n/a", "skipped", caveats), one line each. */
export function notes(results: readonly BenchResult[]): string[] {
  return results.filter((r) => r.note).map((r) => `${r.impl} ${r.label} ${r.pass}: ${r.note}`);
}

/**
 * Median spread (half the range of the runs over their median) of each implementation's
 * repeated measurements: how noisy the machine was.
 */
export function noise(results: readonly BenchResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const impl of implementations(results)) {
    const s = results.filter((r) =>
      r.impl === impl && r.spreadPct !== undefined && (r.samples?.length ?? 0) > 1
    )
      .map((r) => r.spreadPct!).sort((a, b) => a - b);
    if (s.length) out[impl] = s[s.length >> 1];
  }
  return out;
}

function machineLines(m: MachineInfo, seconds: number): string[] {
  return [
    `CPU: ${m.cpu}, ${m.cores} cores; ${m.os}; Deno ${m.deno} (V8 ${m.v8})`,
    ...Object.entries(m.backends).map(([k, v]) => `ours ${k}: ${v}`),
    ...Object.entries(m.peers).map(([k, v]) => `peer ${k}: ${v}`),
    `other work before the run: ${
      m.busyBefore ?? "?"
    }% of all cores busy; load average (1/5/15 min): ${m.loadStart.join(" ")} at start, ${
      m.loadEnd.join(" ")
    } at end; ${seconds.toFixed(0)} s in all; ${m.date}`,
  ];
}

/**
 * How the run was measured, from its own rows: samples per row (the fewest, and which rows have
 * fewer than 5), the runs, and the worst load any row saw.
 */
export function conditionLines(r: BenchReport): string[] {
  const timed = r.results.filter((x) => x.ms !== undefined);
  const counts = timed.map((x) => x.samples?.length ?? 1);
  const few = timed.filter((x) => (x.samples?.length ?? 1) < 5);
  const worst = worstLoad(timed.map((x) => x.load));
  const lines = [
    `timed samples per row: ${
      counts.length ? `${Math.min(...counts)} to ${Math.max(...counts)}` : "none"
    }${
      few.length
        ? ` (${few.length} rows below 5: ${
          few.length <= 3
            ? few.map((x) => `${x.impl} ${x.label} ${x.pass}`).join("; ")
            : "see results.json"
        })`
        : ""
    }; ${r.runs ?? 1} run(s) of the selected sections`,
  ];
  if (worst) {
    lines.push(
      `the most other work any row saw: ${worst.otherPct}% of all cores (load average ${worst.avg1}); per row in the last column`,
    );
  }
  return lines;
}

const LEGEND = [
  "Each row: warm-up, then at least 5 timed runs (a full run has no time budget; --quick times 3), median shown; each run ended by a device sync; batch 1.",
  "Load column: other work = the share of all cores busy during the row minus the bench's own processes (from /proc/stat and /proc/<pid>/stat), then the 1-minute load average; the worst of the row's implementations.",
  "Ratios = our time / the peer's (= the peer's throughput / ours): above 1 the peer is faster. Shown as median ratio [range]: in the interleaved sections (ort, train, cold: every contender runs once per round, rotating order) the range of the per-round ratios; with --runs R >= 2 the range of the per-run median ratios; otherwise from the extremes (our fastest / the peer's slowest to our slowest / the peer's fastest).",
  "Peers as their users run them: their defaults, except the thread count, set to our BLAS backend's (named in the peer lines above with the peer's own default). tfjs-webgpu is compared with our webgpu, tfjs-wasm, onnxruntime-node and PyTorch with our blas.",
  "A star after a figure: a single run (the warm-up itself; only --quick keeps such rows). GB/s counts each input and output once.",
  "Models: ms per forward pass (eval, no grad) or per training step (forward + cross-entropy + backward + SGD with momentum); peak MiB = the largest device.liveBytes() seen during a step. Head-to-head: each contender in a process of its own (bench/step_server.ts, scripts/bench_step_torch.py), peak RSS = its VmHWM.",
  "Cold start: wall time from spawning the process to its exit after writing the mask PNG (deno run -A mod.ts predict --backend blas; PyTorch: scripts/bench_cold_torch.py).",
  "Predict on a folder: images/s as `mod.ts predict --backend blas` prints it (first decode to last file written; process start and model loading left out), one process per sample; ms/image = 1000 / images/s; inline / this = the inline run's time over this one's, per interleaved round (above 1: faster than inline).",
];

/** The tables of a report with their titles, the empty ones left out. */
function tables(results: readonly BenchResult[]): [string, Table][] {
  const all: [string, Table][] = [
    ["Kernels", kernelTable(results)],
    ["Models", modelTable(results)],
    ["Data loader", loaderTable(results)],
    ["Predict on a folder (interleaved)", predictTable(results)],
    ["Forward against onnxruntime-node and PyTorch (interleaved)", headTable(results, "ort")],
    ["Training step against PyTorch (interleaved)", headTable(results, "train")],
    ["Cold start: process start to first mask (interleaved)", headTable(results, "cold")],
  ];
  return all.filter(([, t]) => t.rows.length);
}

function noiseLine(results: readonly BenchResult[]): string {
  const n = noise(results);
  return `noise (median spread of repeated runs): ${
    Object.entries(n).map(([k, v]) => `${k} ±${v.toFixed(0)}%`).join(", ") || "n/a"
  }`;
}

/** The whole report as Markdown (`bench/results.md`). */
export function reportMarkdown(r: BenchReport): string {
  const parts = [
    "# Benchmarks",
    "",
    `\`deno task bench ${r.args.join(" ")}\``.replace(" `", "`"),
    "",
    ...machineLines(r.machine, r.seconds).map((l) => `- ${l}`),
    ...conditionLines(r).map((l) => `- ${l}`),
    `- ${noiseLine(r.results)}`,
    "",
    ...LEGEND.map((l) => `- ${l}`),
  ];
  for (const [title, t] of tables(r.results)) parts.push("", `## ${title}`, "", markdown(t));
  const ns = notes(r.results);
  if (ns.length) parts.push("", "## Notes", "", ...ns.map((l) => `- ${l}`));
  if (r.autotune) parts.push("", "## Autotune choices", "", "```", r.autotune, "```");
  return parts.join("\n") + "\n";
}

/** The whole report as aligned text for the terminal. */
export function reportText(r: BenchReport): string {
  const parts = [
    ...machineLines(r.machine, r.seconds),
    ...conditionLines(r),
    noiseLine(r.results),
    ...LEGEND,
  ];
  for (const [title, t] of tables(r.results)) parts.push("", `${title}:`, text(t));
  const ns = notes(r.results);
  if (ns.length) parts.push("", "Notes:", ...ns.map((l) => `  ${l}`));
  return parts.join("\n") + "\n";
}
