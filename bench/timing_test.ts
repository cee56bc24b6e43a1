import { assertEquals } from "../tests/assert.ts";
import { measure } from "./timing.ts";

/** A fake clock and a run that advances it by the next of `durations` (the last repeats). */
function fake(durations: number[]) {
  let now = 0, i = 0;
  return {
    clock: () => now,
    run: () => {
      now += durations[Math.min(i++, durations.length - 1)];
    },
    calls: () => i,
  };
}

const sync = () => Promise.resolve();

Deno.test("measure runs warm-ups untimed, then the requested reps, each followed by the sync", async () => {
  const log: string[] = [];
  const t = await measure(() => log.push("run"), () => {
    log.push("sync");
    return Promise.resolve();
  }, { warmup: 2, reps: 3 });
  assertEquals(log.length, 10);
  assertEquals(log.slice(0, 4), ["run", "sync", "run", "sync"]);
  assertEquals([t.runs, t.samples.length, t.cold], [3, 3, false]);
});

Deno.test("measure reports the median of the timed runs, not the warm-up", async () => {
  const f = fake([100, 30, 10, 20]);
  const t = await measure(f.run, sync, { warmup: 1, reps: 3, clock: f.clock });
  assertEquals([t.samples, t.median, t.min, t.max], [[30, 10, 20], 20, 10, 30]);
});

Deno.test("measure stops adding runs once the budget is spent, but times at least one", async () => {
  const f = fake([20]);
  const t = await measure(f.run, sync, { warmup: 1, reps: 10, budgetMs: 30, clock: f.clock });
  // 20 ms runs: after two timed runs the 30 ms budget is spent.
  assertEquals([f.calls(), t.runs], [3, 2]);
  const g = fake([50]);
  assertEquals(
    (await measure(g.run, sync, { warmup: 0, reps: 4, budgetMs: 0, clock: g.clock })).runs,
    1,
  );
});

Deno.test("measure keeps a very slow warm-up as the only sample when asked", async () => {
  const f = fake([15]);
  const t = await measure(f.run, sync, { warmup: 1, reps: 5, singleRunMs: 10, clock: f.clock });
  assertEquals([f.calls(), t.runs, t.cold, t.median], [1, 1, true, 15]);
});

Deno.test("cheap runs get extra warm-up and extra samples up to maxReps", async () => {
  const f = fake([1]);
  const t = await measure(f.run, sync, {
    warmup: 1,
    warmupMs: 3.5,
    reps: 2,
    minTimeMs: 5.5,
    maxReps: 10,
    clock: f.clock,
  });
  // Warm-up: while under 3.5 ms, 4 runs. Timed: 2, then more while under 5.5 ms: 6.
  assertEquals([f.calls() - t.runs, t.runs], [4, 6]);
  const g = fake([1]);
  const capped = await measure(g.run, sync, {
    reps: 3,
    minTimeMs: 1e6,
    maxReps: 7,
    clock: g.clock,
  });
  assertEquals(capped.runs, 7);
  const h = fake([1]);
  await measure(h.run, sync, { warmup: 1, warmupMs: 1e6, reps: 1, clock: h.clock });
  assertEquals(h.calls(), 6); // at most 5 warm-up runs
});

Deno.test("measure awaits an async sync before stopping the clock", async () => {
  const t = await measure(() => {}, () => new Promise((r) => setTimeout(r, 25)), {
    warmup: 0,
    reps: 1,
  });
  assertEquals(t.median >= 20, true);
});
