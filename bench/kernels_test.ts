import { createCpuBackend } from "../lib/backends/cpu.ts";
import { Device } from "../lib/tensor.ts";
import { assert, assertAlmostEquals, assertEquals } from "../tests/assert.ts";
import { convGeom, type KernelCase } from "./cases.ts";
import { benchKernels, prepareKernel } from "./kernels.ts";

/** Small versions of every kind of case, cheap on the reference backend. */
function smallCases(): KernelCase[] {
  const g = convGeom(4, 8, 12, 3, 1);
  const flops = 2 * 8 * 4 * 9 * 144;
  const t = { ...convGeom(3, 5, 16, 4, 1, 2), oh: 8, ow: 8 }; // convT 5 -> 3 channels, 8 -> 16
  const pg = {
    n: 1,
    c: 2,
    h: 8,
    w: 8,
    kh: 2,
    kw: 2,
    oh: 4,
    ow: 4,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
  };
  return [
    ...(["fwd", "bwd_data", "bwd_weight"] as const).map((pass): KernelCase => ({
      kind: "conv",
      id: `c/${pass}`,
      label: "conv",
      pass,
      g,
      flops,
      bytes: 1,
    })),
    ...(["fwd", "bwd_data", "bwd_weight"] as const).map((pass): KernelCase => ({
      kind: "convT",
      id: `t/${pass}`,
      label: "convT",
      pass,
      g: t,
      flops: 1000,
      bytes: 1,
    })),
    { kind: "pool", id: "p/fwd", label: "pool", pass: "fwd", g: pg, flops: 0, bytes: 4 * 192 },
    { kind: "pool", id: "p/bwd", label: "pool", pass: "bwd_data", g: pg, flops: 0, bytes: 4 * 192 },
    { kind: "ce", id: "ce/fwd", label: "ce", pass: "fwd", n: 2, k: 5, hw: 9, flops: 0, bytes: 400 },
    {
      kind: "ce",
      id: "ce/bwd",
      label: "ce",
      pass: "bwd_data",
      n: 2,
      k: 5,
      hw: 9,
      flops: 0,
      bytes: 400,
    },
    {
      kind: "matmul",
      id: "m",
      label: "mm",
      pass: "fwd",
      m: 6,
      k: 7,
      n: 8,
      flops: 2 * 6 * 7 * 8,
      bytes: 4 * 146,
    },
  ];
}

Deno.test("every kind of kernel case runs on the reference backend and frees what it allocates", () => {
  const be = createCpuBackend();
  for (const c of smallCases()) {
    const before = be.liveBytes();
    const k = prepareKernel(be, c);
    const held = be.liveBytes();
    assert(held > before, `${c.id} uploads its inputs`);
    k.run();
    k.run();
    assertEquals(be.liveBytes(), held, `${c.id} frees its outputs`);
    k.dispose();
    assertEquals(be.liveBytes(), before, `${c.id} frees its inputs`);
  }
});

Deno.test("benchKernels reports GFLOP/s for compute and GB/s for memory-bound cases", async () => {
  const device = new Device(createCpuBackend());
  const seen: string[] = [];
  const rs = await benchKernels(device, smallCases(), {
    timing: { warmup: 1, reps: 2 },
    onResult: (r) => seen.push(r.id),
  });
  assertEquals(seen, rs.map((r) => r.id));
  for (const r of rs) {
    assert(r.ms! > 0 && r.samples!.length === 2, r.id);
    assertEquals([r.impl, r.peer, r.section], ["cpu", false, "kernels"]);
  }
  const conv = rs.find((r) => r.id === "c/fwd")!;
  assertAlmostEquals(conv.gflops!, 2 * 8 * 4 * 9 * 144 / conv.ms! / 1e6, 1e-9);
  const ce = rs.find((r) => r.id === "ce/fwd")!;
  assertEquals([ce.gflops, ce.gbps! > 0], [undefined, true]);
});

Deno.test("benchKernels skips a case estimated above the cap from an earlier one of its kind", async () => {
  const device = new Device(createCpuBackend());
  const [small] = smallCases();
  const big: KernelCase = { ...small, id: "big", flops: small.flops * 1e9 };
  const rs = await benchKernels(device, [small, big], {
    timing: { warmup: 0, reps: 1 },
    capMs: 60_000,
  });
  assertEquals(rs[1].ms, undefined);
  assert(rs[1].note!.startsWith("skipped: ~"), rs[1].note);
});
