import { createCpuBackend } from "../lib/backends/cpu.ts";
import { Device, tensor, tidy } from "../lib/tensor.ts";
import { relu } from "../lib/ops/elementwise.ts";
import { assertEquals } from "../tests/assert.ts";
import { trackPeak } from "./peak.ts";

Deno.test("trackPeak sees the transient peak of a chain of ops, not just the end state", () => {
  const t = trackPeak(createCpuBackend());
  const device = new Device(t.backend);
  const x = tensor(new Float32Array(1000).fill(-1), [1000], device);
  t.reset();
  assertEquals(t.peak(), 4000);
  // relu(relu(x)): the inner result (4000 B) and the outer (4000 B) coexist before tidy frees one.
  const y = tidy(() => relu(relu(x)));
  assertEquals(device.liveBytes(), 8000);
  assertEquals(t.peak(), 12000);
  y.dispose();
  t.reset();
  assertEquals(t.peak(), 4000);
  assertEquals(t.backend.kind, "cpu");
  x.dispose();
});
