import { assertEquals, assertThrows } from "../tests/assert.ts";
import { parseBenchArgs } from "./args.ts";

Deno.test("bench defaults: both accelerated backends, every section, 30 s cap, 5 samples, 1 run", () => {
  const o = parseBenchArgs([])!;
  assertEquals(o.quick, false);
  assertEquals(o.backends, ["webgpu", "blas"]);
  assertEquals([...o.sections], [
    "kernels",
    "models",
    "loader",
    "predict",
    "peers",
    "ort",
    "train",
    "cold",
  ]);
  assertEquals([o.capMs, o.reps, o.runs, o.out], [30_000, 5, 1, "bench"]);
});

Deno.test("a full run takes at least 5 samples a row; --quick may take fewer; --runs repeats", () => {
  assertThrows(() => parseBenchArgs(["--reps", "3"]), "at least 5 samples");
  assertEquals(parseBenchArgs(["--reps", "7"])!.reps, 7);
  assertEquals(parseBenchArgs(["--quick", "--reps", "2"])!.reps, 2);
  const o = parseBenchArgs(["--only", "ort,cold", "--runs", "3"])!;
  assertEquals([[...o.sections], o.runs], [["ort", "cold"], 3]);
  assertThrows(() => parseBenchArgs(["--runs", "0"]), "--runs");
});

Deno.test("bench flags: quick, lists, cap and bad values", () => {
  const o = parseBenchArgs([
    "--quick",
    "--backend",
    "blas, cpu",
    "--only",
    "models",
    "--cap",
    "5",
  ])!;
  assertEquals([o.quick, o.backends, [...o.sections], o.capMs, o.reps], [
    true,
    ["blas", "cpu"],
    ["models"],
    5000,
    3,
  ]);
  assertThrows(() => parseBenchArgs(["--backend", "cuda"]), 'unknown "cuda"');
  assertThrows(() => parseBenchArgs(["--only", ""]), "expected at least one");
  assertThrows(() => parseBenchArgs(["--fast"]), "Unknown flag --fast");
  assertThrows(() => parseBenchArgs(["extra"]), "no positional arguments");
});
