import { assert, assertEquals } from "../../tests/assert.ts";
import { requestDevice } from "../device/request.ts";
import { createModel } from "../models/create.ts";
import { Rng } from "../random.ts";
import { initSkipped, kaimingNormal, skipInit, uniform } from "./init.ts";

Deno.test("skipInit returns zeros without drawing, and only inside its callback", () => {
  const rng = new Rng(5);
  const state = rng.state;
  const [u, k] = skipInit(() => [uniform(10, 1, rng), kaimingNormal([4, 2, 3, 3], rng)]);
  assertEquals(rng.state, state);
  assert(u.every((v) => v === 0) && k.every((v) => v === 0) && k.length === 72);
  assertEquals(initSkipped(), false);
  assert(uniform(10, 1, rng).some((v) => v !== 0));
});

Deno.test("a model built under skipInit loads a state dict in place (adopt) and matches", async () => {
  const device = await requestDevice({ backend: "cpu" });
  const opts = { numClasses: 3, width: 1 / 16, headChannels: 8, seed: 3 };
  const seeded = createModel("fcn8s", opts, device);
  const dict = await seeded.stateDict();
  const lazy = skipInit(() => createModel("fcn8s", opts, device));
  const key = "stage1.0.weight";
  const before = dict[key].data;
  const report = lazy.loadStateDict(dict, { adopt: true });
  assertEquals(report.missing, []);
  const w = lazy.namedParameters().find(([n]) => n === key)![1];
  assert(
    (w.storage as unknown as { data: unknown }).data === before,
    "the dict's array, not a copy",
  );
  assertEquals(await w.toArray(), before);
  const again = await lazy.stateDict();
  for (const k of Object.keys(dict)) assertEquals(again[k].data, dict[k].data, k);
  seeded.dispose();
  lazy.dispose();
});
