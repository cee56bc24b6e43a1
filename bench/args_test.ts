import { assertEquals, assertThrows } from "../tests/assert.ts";
import { parseBenchArgs } from "./args.ts";

Deno.test("bench defaults: both accelerated backends, every section, 30 s cap", () => {
  const o = parseBenchArgs([])!;
  assertEquals(o.quick, false);
  assertEquals(o.backends, ["webgpu", "blas"]);
  assertEquals([...o.sections], ["kernels", "models", "loader", "peers"]);
  assertEquals([o.capMs, o.reps, o.out], [30_000, 5, "bench"]);
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
