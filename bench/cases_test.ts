import { assertEquals } from "../tests/assert.ts";
import {
  CLASSES,
  convFlops,
  convGeom,
  kernelCases,
  modelCases,
  quickKernelCases,
  relativeCost,
} from "./cases.ts";

Deno.test("kernel case ids are unique and the quick list is a subset", () => {
  const all = kernelCases();
  const ids = all.map((c) => c.id);
  assertEquals(new Set(ids).size, ids.length);
  const quick = quickKernelCases();
  assertEquals(quick.every((c) => ids.includes(c.id)), true);
  assertEquals(quick.length < all.length, true);
  // 6 conv layers and 3 upsamplers in 3 passes, pool and CE in 2, one matmul.
  assertEquals(all.length, 6 * 3 + 3 * 3 + 2 + 2 + 1);
});

Deno.test("conv flops of the VGG shapes", () => {
  const byId = new Map(kernelCases().map((c) => [c.id, c]));
  // 64->64 3x3 at 224: 2 * 64 * 64 * 9 * 224^2.
  assertEquals(byId.get("conv/64-64@224/fwd")!.flops, 2 * 64 * 64 * 9 * 224 * 224);
  // fc6: 512->4096, 7x7, padding 3 on 7x7 keeps 7x7: 10.07 GFLOP.
  const fc6 = byId.get("conv/fc6@7/bwd_weight")!;
  assertEquals(fc6.kind === "conv" && [fc6.g.oh, fc6.g.ow], [7, 7]);
  assertEquals(fc6.flops, 2 * 4096 * 512 * 49 * 49);
  assertEquals(byId.get("matmul/1024/fwd")!.flops, 2 * 1024 ** 3);
});

Deno.test("the upsamplers' geometries map their input size to FCN-8s's output sizes", () => {
  const sizes = kernelCases().filter((c) => c.kind === "convT" && c.pass === "fwd").map((c) =>
    c.kind === "convT" ? [c.g.oh, c.g.h, c.g.k, c.g.c, c.g.strideH] : []
  );
  // [input side, output side, in channels, out channels, stride]
  assertEquals(sizes, [
    [7, 14, CLASSES, CLASSES, 2],
    [14, 28, CLASSES, CLASSES, 2],
    [28, 224, CLASSES, CLASSES, 8],
  ]);
  // The conv from 224 back to 28 with k16 s8 p4 is consistent with the forward formula.
  assertEquals(convGeom(21, 21, 224, 16, 4, 8).oh, 28);
  assertEquals(convFlops(convGeom(21, 21, 224, 16, 4, 8)), 2 * 21 * 21 * 256 * 28 * 28);
});

Deno.test("model cases: cheapest first per model, quick keeps 64 px, 480 only when large", () => {
  const full = modelCases({ quick: false, large: true });
  assertEquals(full.filter((c) => c.model === "fcn8s").length, 12);
  assertEquals(full.some((c) => c.size === 480), true);
  assertEquals(modelCases({ quick: false, large: false }).some((c) => c.size === 480), false);
  const quick = modelCases({ quick: true, large: true });
  assertEquals(quick.filter((c) => c.model !== "fcn_resnet50").every((c) => c.size === 64), true);
  for (const model of ["fcn8s", "fcn8s_small"]) {
    const costs = full.filter((c) => c.model === model && c.mode !== "train-amp").map(relativeCost);
    assertEquals(costs, [...costs].sort((a, b) => a - b));
  }
  assertEquals(full[0].id, "fcn8s_small/64/b1/forward");
  // Mixed precision beside f32 on the small model, one per size.
  assertEquals(full.filter((c) => c.mode === "train-amp").map((c) => c.id), [
    "fcn8s_small/64/b4/train-amp",
    "fcn8s_small/128/b4/train-amp",
    "fcn8s_small/224/b4/train-amp",
  ]);
});
