// Same script against each commit's mod.ts (dev only): median ms of 7 samples after 2 warm-ups.
// deno run -A bench/compare_commits.ts <checkout> <backend> <model> <size> <batch> <forward|train> <width: 1 or 8 for 1/8>
const [root, backend, model, sizeS, batchS, mode, widthS] = Deno.args;
const m = await import(`${root}/mod.ts`);
const device = await m.requestDevice({ backend });
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
const ts: number[] = [];
for (let i = 0; i < 9; i++) {
  const t0 = performance.now();
  await step();
  if (i >= 2) ts.push(performance.now() - t0);
}
ts.sort((a, b) => a - b);
console.log(JSON.stringify({ root, ms: ts[3] }));
