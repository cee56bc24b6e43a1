/**
 * Tables of the results: kernels (GFLOP/s or GB/s), models (ms, images/s, peak memory), the
 * loader (images/s), each peer with its ratio to ours. Rendered as Markdown for
 * `bench/results.md` and as aligned text for the terminal.
 *
 * @module
 */
import type { BenchReport, BenchResult, MachineInfo } from "./types.ts";

/** Our implementations a peer is compared with, best match first. */
const REFERENCE: Record<string, string[]> = {
  "tfjs-webgpu": ["webgpu", "blas", "cpu"],
  "tfjs-wasm": ["blas", "webgpu", "cpu"],
  torch: ["blas", "webgpu", "cpu"],
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
 * Peer throughput over ours for the same case (above 1: the peer is faster), ours being the
 * first of the peer's {@linkcode REFERENCE} backends that has a figure; null when none has.
 *
 * @example
 * ```ts
 * import { peerRatio } from "./report.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const base = { section: "kernels", id: "a", label: "a", pass: "fwd" } as const;
 * const ours = { ...base, impl: "blas", peer: false, gflops: 10 };
 * const torch = { ...base, impl: "torch", peer: true, gflops: 25 };
 * assertEquals(peerRatio(torch, [ours, torch]), { ratio: 2.5, vs: "blas" });
 * ```
 */
export function peerRatio(
  peer: BenchResult,
  all: readonly BenchResult[],
): { ratio: number; vs: string } | null {
  const p = rate(peer);
  if (p === undefined) return null;
  for (const impl of REFERENCE[peer.impl] ?? ["webgpu", "blas", "cpu"]) {
    const ours = all.find((r) => r.id === peer.id && r.impl === impl && !r.peer);
    const o = ours && rate(ours);
    if (o) return { ratio: p / o, vs: impl };
  }
  return null;
}

/** Implementations present in `results`, ours first, in a fixed order. */
export function implementations(results: readonly BenchResult[]): string[] {
  const order = ["webgpu", "blas", "cpu", "tfjs-webgpu", "tfjs-wasm", "torch"];
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
      const ratio = r.peer ? peerRatio(r, rs) : null;
      return `${fmt(v)}${star(r)}${ratio ? ` (${fmt(ratio.ratio)}x)` : ""}`;
    });
    return [first.label, first.pass, unit, ...cells];
  });
  return { headers: ["kernel", "pass", "unit", ...impls], rows };
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
      const ratio = r.peer ? peerRatio(r, rs) : null;
      cells.push(
        `${fmt(r.ms)}${star(r)}`,
        `${fmt(r.imagesPerSec!)}${ratio ? ` (${fmt(ratio.ratio)}x)` : ""}`,
      );
      if (!peer) cells.push(r.peakBytes !== undefined ? fmt(r.peakBytes / 2 ** 20) : "");
    }
    return cells;
  });
  return { headers, rows };
}

/** The loader table: images/s per configuration. */
export function loaderTable(results: readonly BenchResult[]): Table {
  const rs = results.filter((r) => r.section === "loader");
  return {
    headers: ["loader", "setting", "images/s"],
    rows: rs.map((
      r,
    ) => [r.label, r.pass, r.imagesPerSec !== undefined ? fmt(r.imagesPerSec) : missing(r)]),
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

const LEGEND = [
  "Kernels: median of the timed runs after a warm-up, each run ended by a device sync; batch 1.",
  "Peers show (ratio) = their throughput / ours (tfjs-webgpu vs our webgpu; tfjs-wasm and PyTorch vs our blas): above 1 the peer is faster.",
  "A star after a figure: a single run (the warm-up itself, too slow to repeat). GB/s counts each input and output once.",
  "Models: ms per forward pass (eval, no grad) or per training step (forward + cross-entropy + backward + SGD with momentum); peak MiB = the largest device.liveBytes() seen during a step.",
];

/** The whole report as Markdown (`bench/results.md`). */
export function reportMarkdown(r: BenchReport): string {
  const n = noise(r.results);
  const parts = [
    "# Benchmarks",
    "",
    `\`deno task bench ${r.args.join(" ")}\``.replace(" `", "`"),
    "",
    ...machineLines(r.machine, r.seconds).map((l) => `- ${l}`),
    `- noise (median spread of repeated runs): ${
      Object.entries(n).map(([k, v]) => `${k} ±${v.toFixed(0)}%`).join(", ") || "n/a"
    }`,
    "",
    ...LEGEND.map((l) => `- ${l}`),
  ];
  const sections: [string, Table][] = [
    ["Kernels", kernelTable(r.results)],
    ["Models", modelTable(r.results)],
    ["Data loader", loaderTable(r.results)],
  ];
  for (const [title, t] of sections) {
    if (t.rows.length) parts.push("", `## ${title}`, "", markdown(t));
  }
  const ns = notes(r.results);
  if (ns.length) parts.push("", "## Notes", "", ...ns.map((l) => `- ${l}`));
  if (r.autotune) parts.push("", "## Autotune choices", "", "```", r.autotune, "```");
  return parts.join("\n") + "\n";
}

/** The whole report as aligned text for the terminal. */
export function reportText(r: BenchReport): string {
  const n = noise(r.results);
  const parts = [
    ...machineLines(r.machine, r.seconds),
    `noise (median spread of repeated runs): ${
      Object.entries(n).map(([k, v]) => `${k} ±${v.toFixed(0)}%`).join(", ") || "n/a"
    }`,
    ...LEGEND,
  ];
  for (const t of [kernelTable(r.results), modelTable(r.results), loaderTable(r.results)]) {
    if (t.rows.length) parts.push("", text(t));
  }
  const ns = notes(r.results);
  if (ns.length) parts.push("", "Notes:", ...ns.map((l) => `  ${l}`));
  return parts.join("\n") + "\n";
}
