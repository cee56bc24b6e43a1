// Same script against each commit's mod.ts (dev only): median ms of 7 samples after 2 warm-ups.
// deno run -A bench/compare_commits.ts <checkout> <backend> <model> <size> <batch> <forward|train> <width: 1 or 8 for 1/8> [kernels]
// `kernels`: also the median ms per backend kernel (each call timed; the wrappers cost a little).
const [root, backend, model, sizeS, batchS, mode, widthS, perKernel] = Deno.args;
const m = await import(`${root}/mod.ts`);
const device = await m.requestDevice({ backend });
const kernelMs = new Map<string, number>();
if (perKernel === "kernels") timeKernels(device.backend, kernelMs);

/** Wraps each kernel of `be` (own or inherited: old commits' backends are classes) in a timer. */
function timeKernels(be: Record<string, unknown>, into: Map<string, number>): void {
  const skip = new Set(["constructor", "upload", "read", "readSync", "free", "flush", "liveBytes"]);
  for (let o = be; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) {
      const f = Object.getOwnPropertyDescriptor(o, k)!.value;
      if (skip.has(k) || typeof f !== "function" || Object.hasOwn(be, k) && o !== be) continue;
      skip.add(k);
      be[k] = (...a: unknown[]) => {
        const t0 = performance.now();
        const r = f.apply(be, a);
        into.set(k, (into.get(k) ?? 0) + performance.now() - t0);
        return r;
      };
    }
  }
}
const size = Number(sizeS), batch = Number(batchS);
const opts: Record<string, unknown> = { numClasses: 21 };
if (widthS !== "1") Object.assign(opts, { width: 0.125, headChannels: 512 });
const net = m.createModel(model, opts, device);
let s = 1;
const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const x = m.tensor(
  new Float32Array(batch * 3 * size * size).map(rnd),
  [batch, 3, size, size],
  device,
);
const t = m.tensor(new Int32Array(batch * size * size).map(() => Math.floor(rnd() * 21)), [
  batch,
  size,
  size,
], device);
const sgd = new m.SGD(net.parameters(), { lr: 1e-4, momentum: 0.9, weightDecay: 1e-4 });
const step = async () => {
  if (mode === "forward") {
    net.eval();
    m.noGrad(() => m.tidy(() => net.forward(x).out)).dispose();
  } else {
    net.train();
    const loss = m.tidy(() => {
      const l = m.crossEntropy(net.forward(x).out, t);
      sgd.zeroGrad();
      l.backward();
      sgd.step();
      return l;
    });
    await loss.toArray();
    loss.dispose();
  }
  await device.flush?.();
};
const ts: number[] = [], kernels = new Map<string, number[]>();
for (let i = 0; i < 9; i++) {
  kernelMs.clear();
  const t0 = performance.now();
  await step();
  if (i < 2) continue;
  ts.push(performance.now() - t0);
  for (const [k, ms] of kernelMs) kernels.set(k, [...kernels.get(k) ?? [], ms]);
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const perKernelMs = Object.fromEntries(
  [...kernels].map(([k, a]) => [k, Math.round(median(a) * 10) / 10]).sort((a, b) =>
    (b[1] as number) - (a[1] as number)
  ),
);
console.log(
  JSON.stringify({ root, ms: median(ts), ...(perKernel ? { kernels: perKernelMs } : {}) }),
);
