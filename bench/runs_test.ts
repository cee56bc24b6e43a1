import { assertEquals } from "../tests/assert.ts";
import { mergeRuns } from "./runs.ts";
import type { BenchResult } from "./types.ts";

const base = {
  section: "kernels",
  id: "k",
  label: "k",
  pass: "fwd",
  impl: "blas",
  peer: false,
} as const;
const load = (otherPct: number) => ({
  avg1: 1,
  busyPct: 90,
  ownPct: 90 - otherPct,
  otherPct,
  seconds: 1,
});

Deno.test("runs merge per section, id and implementation: samples, run medians, rates, peaks, worst load", () => {
  const rs: BenchResult[] = [
    { ...base, ms: 2, samples: [2, 2, 2], gflops: 10, load: load(5) },
    { ...base, impl: "torch", peer: true, ms: 1, samples: [1] },
    { ...base, ms: 4, samples: [4, 4, 4], gflops: 5, load: load(20) },
    { ...base, section: "models", ms: 9, samples: [9], peakBytes: 7 },
  ];
  const m = mergeRuns(rs);
  assertEquals(m.map((r) => `${r.section} ${r.impl}`), [
    "kernels blas",
    "kernels torch",
    "models blas",
  ]);
  assertEquals([m[0].ms, m[0].samples, m[0].runMs, m[0].gflops, m[0].load?.otherPct], [
    3,
    [2, 2, 2, 4, 4, 4],
    [2, 4],
    10 * 2 / 3,
    20,
  ]);
  assertEquals(m[1], rs[1]); // one run: unchanged
});

Deno.test("a run that did not measure a row is said in the merged row's note", () => {
  const m = mergeRuns([
    { ...base, ms: 2, samples: [2] },
    { ...base, note: "n/a: out of memory" },
  ]);
  assertEquals([m[0].ms, m[0].note], [2, "1 of 2 runs not measured: n/a: out of memory"]);
  assertEquals(
    mergeRuns([{ ...base, note: "skipped" }, { ...base, note: "skipped" }])[0].note,
    "skipped",
  );
});
