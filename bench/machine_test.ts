import { assert, assertEquals } from "../tests/assert.ts";
import { cpuBusyPercent, describeMachine, loadAverage } from "./machine.ts";

Deno.test("the machine description names the CPU, cores and Deno", async () => {
  const m = await describeMachine();
  assert(m.cpu.length > 0);
  assertEquals(m.cores, navigator.hardwareConcurrency);
  assertEquals(m.deno, Deno.version.deno);
  assertEquals(m.loadStart.length === 0 || m.loadStart.length === 3, true);
  assertEquals(loadAverage().every((v) => v >= 0), true);
});

Deno.test("cpuBusyPercent is a percentage on Linux", async () => {
  const p = await cpuBusyPercent(50);
  if (Deno.build.os === "linux") assert(p !== null && p >= 0 && p <= 100, String(p));
});
