import { assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import { median, summarize } from "./stats.ts";

Deno.test("median of odd and even counts, unsorted input left untouched", () => {
  const v = [30, 10, 20];
  assertEquals(median(v), 20);
  assertEquals(v, [30, 10, 20]);
  assertEquals(median([4, 1, 2, 3]), 2.5);
  assertEquals(median([7]), 7);
  assertThrows(() => median([]), "at least one value");
});

Deno.test("summarize gives extremes and the spread around the median", () => {
  const s = summarize([100, 90, 120, 110]);
  assertEquals([s.median, s.min, s.max, s.runs], [105, 90, 120, 4]);
  assertAlmostEquals(s.spreadPct, 15 / 105 * 100, 1e-9);
  assertEquals(summarize([5]).spreadPct, 0);
});
