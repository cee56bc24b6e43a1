// Per-kernel time of a model's eval forward, or a training step, on the BLAS backend (dev only):
// deno run -A bench/profile_forward.ts [size = 480] [model = fcn_resnet50] [forward | train]
import { createBlasBackend } from "../lib/backends/blas.ts";
import { createModel } from "../lib/models/create.ts";
import type { ModelName } from "../lib/models/types.ts";
import { Device, noGrad, SGD, tensor } from "../mod.ts";
import { trainStep } from "./models.ts";

const be = createBlasBackend();
const times = new Map<string, { ms: number; n: number }>();
const wrapped: Record<string, unknown> = { ...be };
for (const [k, v] of Object.entries(be)) {
  if (typeof v !== "function" || ["upload", "read", "free", "alloc"].includes(k)) continue;
  wrapped[k] = (...a: unknown[]) => {
    const t0 = performance.now();
    const r = (v as (...a: unknown[]) => unknown).apply(be, a);
    const e = times.get(k) ?? { ms: 0, n: 0 };
    e.ms += performance.now() - t0;
    e.n++;
    times.set(k, e);
    return r;
  };
}
const device = new Device(wrapped as never);
const size = Number(Deno.args[0] ?? 480);
const name = (Deno.args[1] ?? "fcn_resnet50") as ModelName;
const train = Deno.args[2] === "train";
const model = createModel(name, { numClasses: 21, aux: false }, device);
if (!train) model.eval();
const x = tensor(
  new Float32Array(3 * size * size).map((_, i) => Math.sin(i)),
  [1, 3, size, size],
  device,
);
const target = tensor(
  new Int32Array(size * size).map((_, i) => i % 21),
  [1, size, size],
  device,
);
const sgd = new SGD(model.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
for (let r = 0; r < 4; r++) {
  times.clear();
  const t0 = performance.now();
  if (train) {
    const loss = trainStep(model, sgd, x, target);
    await loss.toArray();
    loss.dispose();
  } else noGrad(() => model.forward(x).out).dispose();
  const total = performance.now() - t0;
  const rows = [...times].sort((a, b) => b[1].ms - a[1].ms);
  console.log(
    `run ${r}: ${total.toFixed(0)} ms; ` +
      rows.map(([k, e]) => `${k} ${e.ms.toFixed(0)}/${e.n}`).join(", "),
  );
}
