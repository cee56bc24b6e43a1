import { assert, assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { convGeom, type KernelCase, modelCase } from "./cases.ts";
import { benchTorch, torchAvailable, torchResults } from "./torch.ts";

const conv: KernelCase = {
  kind: "conv",
  id: "conv/x/fwd",
  label: "conv x",
  pass: "fwd",
  g: convGeom(8, 8, 16, 3, 1),
  flops: 2 * 8 * 8 * 9 * 256,
  bytes: 1,
};

Deno.test("the script's rows become results in case order, missing ones n/a", () => {
  const m = modelCase("fcn8s_small", 64, 1, "train");
  const rs = torchResults(
    [{ id: m.id, ms: 50, samples: [40, 50, 60] }, {
      id: "conv/x/fwd",
      note: "n/a: RuntimeError: x",
    }],
    [conv],
    [m, modelCase("fcn8s", 64, 1, "forward")],
  );
  assertEquals(rs.map((r) => [r.id, r.impl, r.peer, r.section]), [
    ["conv/x/fwd", "torch", true, "kernels"],
    ["fcn8s_small/64/b1/train", "torch", true, "models"],
    ["fcn8s/64/b1/forward", "torch", true, "models"],
  ]);
  assertEquals(rs[0].note, "n/a: RuntimeError: x");
  assertEquals([rs[1].ms, rs[1].imagesPerSec, rs[1].spreadPct, rs[1].pass], [50, 20, 20, "train"]);
  assertEquals(rs[2].note, "n/a: no answer from bench_torch.py");
});

const hasTorch = await torchAvailable();

Deno.test({
  name: "bench_torch.py measures the cases it is handed (needs python3-torch)",
  ignore: !hasTorch,
  fn: async () => {
    const t = await benchTorch(
      [conv, { ...conv, id: "conv/x/bwd_weight", pass: "bwd_weight" }],
      [],
      {
        timing: { warmup: 1, reps: 2, budgetMs: 1000 },
        threads: 1,
      },
    );
    assert(t.description.startsWith("PyTorch "), t.description);
    assertEquals(t.results.length, 2);
    assert(
      /\d+ threads \(set to match ours; its default here: \d+\)/.test(t.description),
      t.description,
    );
    for (const r of t.results) {
      assertEquals(r.samples?.length, 2, r.note);
      // Runs this short may end before the kernel's clock ticks: the load is then absent.
      if (r.load) {
        assert(r.load.otherPct === r.load.busyPct - r.load.ownPct, JSON.stringify(r.load));
      }
      assertAlmostEquals(r.gflops!, conv.flops / r.ms! / 1e6, 1e-9);
    }
  },
});
