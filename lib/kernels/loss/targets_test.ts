/**
 * Issue 11: a target holding a class id outside `0..K-1` that is not the ignore index raises, as
 * PyTorch does ("Target 7 is out of bounds"), instead of counting for nothing. Host backends
 * raise in the op; WebGPU at the next read (like a CUDA device assert), so each check reads.
 */
import { crossEntropy, type Device, nllLoss, noGrad, requestDevice, tensor } from "../../../mod.ts";
import { devices, hasWebGpu, randn } from "../../../tests/harness.ts";
import { assert, assertRejects } from "../../../tests/assert.ts";

const devs: [string, Device][] = [...await devices()];
if (hasWebGpu) {
  // 192-element bindings: the 300 targets below are checked in two chunks.
  devs.push([
    "webgpu, 1 KiB bindings",
    await requestDevice({ backend: "webgpu", maxBindingBytes: 1024 }),
  ]);
}

const [N, K, HW] = [2, 5, 150];
const OPS = { crossEntropy, nllLoss } as const;

/** Targets `[N, HW]` cycling through the classes, with `bad` at elements 250 and 280. */
function targetsWith(bad: number): Int32Array {
  const t = Int32Array.from({ length: N * HW }, (_, i) => i % 9 === 4 ? 255 : i % K);
  t[250] = bad;
  t[280] = 1000;
  return t;
}

Deno.test("crossEntropy and nllLoss raise on a class id outside 0..K-1 that is not ignored, every backend", async () => {
  for (const [kind, device] of devs) {
    const x = tensor(randn(N * K * HW, 1, -3, 0), [N, K, HW], device, { requiresGrad: true });
    for (const [name, op] of Object.entries(OPS)) {
      for (const bad of [K, 300, -1, -100]) {
        const t = tensor(targetsWith(bad), [N, HW], device);
        for (const reduction of ["mean", "sum", "none"] as const) {
          const err = await assertRejects(
            () => op(x, t, { reduction }).toArray(),
            `${name}: target ${bad} (element 250) is not a class id in 0..4 (5 classes) ` +
              "nor the ignore index 255",
          );
          assert(err instanceof RangeError, `${name} ${bad} on ${kind}: a RangeError`);
        }
        await assertRejects(() => noGrad(() => op(x, t)).item(), `${name}: target ${bad}`);
        t.dispose();
      }
      // The device is still usable, and in-range targets pass.
      const good = tensor(targetsWith(255).map((v) => v === 1000 ? 3 : v), [N, HW], device);
      const v = await op(x, good).item();
      assert(Number.isFinite(v), `${name} on ${kind} after the errors: ${v}`);
      good.dispose();
    }
    x.dispose();
  }
});

Deno.test("the ignore index may lie outside 0..K-1 (PyTorch's -100); 255 is then an error", async () => {
  for (const [kind, device] of devs) {
    const x = tensor(randn(2 * 3 * 4, 2), [2, 3, 4], device);
    const t = tensor(Int32Array.from([0, -100, 2, 1, -100, -100, 1, 0]), [2, 4], device);
    for (const [name, op] of Object.entries(OPS)) {
      const sum = await op(x, t, { ignoreIndex: -100, reduction: "sum" }).item();
      assert(Number.isFinite(sum), `${name} on ${kind}`);
      const t255 = tensor(Int32Array.from([0, 255, 2, 1, 0, 0, 1, 0]), [2, 4], device);
      await assertRejects(
        () => op(x, t255, { ignoreIndex: -100 }).item(),
        `${name}: target 255 (element 1) is not a class id in 0..2 (3 classes) nor the ignore index -100`,
      );
      t255.dispose();
    }
    x.dispose();
    t.dispose();
  }
});
