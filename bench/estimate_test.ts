import { assertEquals } from "../tests/assert.ts";
import { kernelCases, modelCase } from "./cases.ts";
import { estimateModelMs, KernelEstimator, skipNote } from "./estimate.ts";

Deno.test("kernel estimates scale the last rate of the same kind and pass, by flops or bytes", () => {
  const byId = new Map(kernelCases().map((c) => [c.id, c]));
  const e = new KernelEstimator();
  const a = byId.get("conv/3-64@224/fwd")!, b = byId.get("conv/64-64@224/fwd")!;
  const bw = byId.get("conv/64-64@224/bwd_weight")!;
  assertEquals(e.estimate(b), null);
  e.record(a, 2);
  assertEquals(e.estimate(b), 2 * b.flops / a.flops);
  assertEquals(e.estimate(bw), null); // another pass has its own rate
  const pool = byId.get("pool/64@224/fwd")!;
  e.record(pool, 4);
  assertEquals(e.estimate(pool), 4);
});

Deno.test("model estimates extrapolate from the most expensive measured case of that model", () => {
  const done = [
    { c: modelCase("fcn8s", 64, 1, "forward"), ms: 100 },
    { c: modelCase("fcn8s", 64, 4, "forward"), ms: 300 },
    { c: modelCase("fcn8s_small", 64, 1, "forward"), ms: 1 },
  ];
  assertEquals(estimateModelMs(modelCase("fcn8s", 128, 4, "forward"), done), 1200);
  assertEquals(estimateModelMs(modelCase("fcn8s", 64, 4, "train"), done), 900);
  assertEquals(estimateModelMs(modelCase("fcn_resnet50", 224, 1, "forward"), done), null);
  assertEquals(skipNote(125_000, 60_000, "step"), "skipped: ~125 s per step estimated > cap 60 s");
});
