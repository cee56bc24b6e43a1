import { assert, assertEquals } from "../tests/assert.ts";
import { parseProcStat, startLoad, worstLoad } from "./load.ts";

Deno.test("/proc/stat: busy = all ticks but idle and iowait", () => {
  const text = "cpu  100 5 50 800 20 0 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n";
  assertEquals(parseProcStat(text), { busy: 160, total: 980 });
});

Deno.test({
  name: "a busy child named by pid counts as the bench's own work, not as other work",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // The child spins until it has used 0.4 s of CPU, however loaded the machine is.
    const spin = `import process from "node:process";
      while (process.cpuUsage().user + process.cpuUsage().system < 400_000);`;
    const child = new Deno.Command(Deno.execPath(), { args: ["eval", spin] }).spawn();
    const w = startLoad([child.pid]);
    await child.status;
    const l = w.end()!;
    const ownCpuSeconds = l.ownPct / 100 * l.seconds * navigator.hardwareConcurrency;
    assert(ownCpuSeconds >= 0.25, JSON.stringify(l));
    assert(l.otherPct === l.busyPct - l.ownPct && l.ownPct <= l.busyPct, JSON.stringify(l));
  },
});

Deno.test("the worst load is the one with the most other work", () => {
  const l = (otherPct: number) => ({
    avg1: 1,
    busyPct: 50,
    ownPct: 50 - otherPct,
    otherPct,
    seconds: 1,
  });
  assertEquals(worstLoad([l(3), undefined, l(9), null, l(1)])?.otherPct, 9);
  assertEquals(worstLoad([]), undefined);
});
