import { noGrad } from "../autograd.ts";
import type { Backend, KernelArgs } from "../device/backend.ts";
import { createCpuBackend } from "../backends/cpu.ts";
import { Device, tensor } from "../tensor.ts";
import { assertEquals } from "../../tests/assert.ts";
import { randn } from "../../tests/harness.ts";
import { conv2d } from "./conv.ts";

Deno.test("conv2d tells the backend when nothing will backpropagate through it", () => {
  const cpu = createCpuBackend(), seen: (boolean | undefined)[] = [];
  const spy: Backend = {
    ...cpu,
    conv2d: (a: KernelArgs["conv2d"]) => {
      seen.push(a.inference);
      return cpu.conv2d(a);
    },
  };
  const device = new Device(spy);
  const x = tensor(randn(2 * 6 * 6, 1), [1, 2, 6, 6], device);
  const w = tensor(randn(4 * 2 * 9, 2), [4, 2, 3, 3], device);
  const trained = tensor(randn(4 * 2 * 9, 3), [4, 2, 3, 3], device);
  trained.requiresGrad = true;
  conv2d(x, w, null, { padding: 1 }); // no input needs a gradient
  conv2d(x, trained, null, { padding: 1 }); // the weight does
  noGrad(() => conv2d(x, trained, null, { padding: 1 })); // under noGrad it does not
  assertEquals(seen, [true, false, true]);
});
