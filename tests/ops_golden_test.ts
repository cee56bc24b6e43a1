/**
 * Golden parity of single ops with PyTorch (fixtures from scripts/make_op_goldens.py): on every
 * available backend each op gives PyTorch's output, and backpropagating `sum(out * cot)` gives
 * PyTorch's gradient of every differentiable input, within `1e-4 + 1e-4 * |ref|`. Buffers that
 * ops update in place (batch norm's running statistics, SGD's parameters) are compared too, and
 * every case must leave the device's live memory where it found it. WebGPU also runs with 1 KiB
 * bindings, so that the chunked paths of the kernels are checked against PyTorch as well.
 */
import {
  add,
  argmax,
  batchNorm2d,
  conv2d,
  convTranspose2d,
  crop,
  crossEntropy,
  type Device,
  interpolate,
  logSoftmax,
  matmul,
  maxPool2d,
  mean,
  mul,
  nllLoss,
  pad,
  relu,
  requestDevice,
  SGD,
  softmax,
  sum,
  type Tensor,
  tensor,
} from "../mod.ts";
import type { HostTensor } from "../lib/io/host_tensor.ts";
import { readSafetensors } from "../lib/io/safetensors.ts";
import { devices, hasWebGpu } from "./harness.ts";
import { assert, assertClose, assertEquals } from "./assert.ts";

/** One entry of fixtures/ops/cases.json. */
interface GoldenCase {
  name: string;
  /** The mod.ts function to call ("sgd": the SGD class). */
  op: string;
  // deno-lint-ignore no-explicit-any
  options: Record<string, any>;
  /** Input names, in the op's argument order. */
  inputs: string[];
  /** Inputs whose gradients are stored as `<name>.grad.<input>`. */
  grads: string[];
  /** Buffers updated in place, stored as `<name>.after.<buffer>`. */
  after: string[];
}

const TOL = { atol: 1e-4, rtol: 1e-4 };
const dir = new URL("../fixtures/ops/", import.meta.url);
const golden = readSafetensors(await Deno.readFile(new URL("goldens.safetensors", dir))).tensors;
const cases: GoldenCase[] = JSON.parse(await Deno.readTextFile(new URL("cases.json", dir)));

function ref(name: string): HostTensor {
  const t = golden[name];
  assert(t, `goldens.safetensors lacks ${name}`);
  return t;
}

/** Calls the op of `c` on its inputs (by name). */
function apply(c: GoldenCase, x: Record<string, Tensor>): Tensor {
  const o = c.options;
  switch (c.op) {
    case "conv2d":
      return conv2d(x.x, x.weight, x.bias ?? null, o);
    case "convTranspose2d":
      return convTranspose2d(x.x, x.weight, x.bias ?? null, o);
    case "maxPool2d":
      return maxPool2d(x.x, { kernelSize: o.kernelSize, ...o });
    case "batchNorm2d":
      return batchNorm2d(x.x, x.running_mean, x.running_var, x.weight, x.bias, o);
    case "interpolate":
      return interpolate(x.x, { size: o.size, alignCorners: o.alignCorners });
    case "crop":
      return crop(x.x, o.height, o.width, o.top, o.left);
    case "pad":
      return pad(x.x, o.height, o.width, o.top, o.left);
    case "crossEntropy":
      return crossEntropy(x.logits, x.target, { ...o, weight: x.weight });
    case "nllLoss":
      return nllLoss(x.input, x.target, { ...o, weight: x.weight });
    case "logSoftmax":
      return logSoftmax(x.x, o.dim);
    case "softmax":
      return softmax(x.x, o.dim);
    case "matmul":
      return matmul(x.a, x.b);
    case "relu":
      return relu(x.x);
    case "add":
      return add(x.a, x.b);
    case "mul":
      return mul(x.a, x.b);
    case "sum":
      return sum(x.x, o.dim);
    case "mean":
      return mean(x.x, o.dim);
    case "argmax":
      return argmax(x.x, o.dim);
  }
  throw new Error(`cases.json: unknown op "${c.op}" in case ${c.name}`);
}

/** Runs one op case on `device` and compares output, gradients and updated buffers. */
async function checkCase(c: GoldenCase, device: Device): Promise<void> {
  const where = `${c.name} on ${device.kind}`;
  const before = device.liveBytes();
  const xs: Record<string, Tensor> = {};
  for (const name of c.inputs) {
    const h = ref(`${c.name}.${name}`);
    xs[name] = tensor(h.data, h.shape, device, { requiresGrad: c.grads.includes(name) });
  }
  const out = apply(c, xs);
  const want = ref(`${c.name}.out`);
  assertEquals(out.shape, want.shape, `${where}: output shape`);
  assertClose(await out.toArray(), want.data, { ...TOL, name: `${where}: output` });
  for (const name of c.after) {
    const got = await xs[name].toArray();
    assertClose(got, ref(`${c.name}.after.${name}`).data, { ...TOL, name: `${where}: ${name}` });
  }
  if (c.grads.length > 0) {
    const cotHost = ref(`${c.name}.cot`);
    const cot = tensor(cotHost.data, cotHost.shape, device);
    const loss = sum(mul(out, cot));
    loss.backward();
    for (const name of c.grads) {
      const g = xs[name].grad;
      assert(g, `${where}: no gradient reached ${name}`);
      const wantGrad = ref(`${c.name}.grad.${name}`).data;
      assertClose(await g.toArray(), wantGrad, { ...TOL, name: `${where}: grad of ${name}` });
    }
    loss.dispose();
    cot.dispose();
  }
  out.dispose();
  for (const t of Object.values(xs)) {
    t.grad?.dispose();
    t.dispose();
  }
  assertEquals(device.liveBytes(), before, `${where}: live bytes after disposing everything`);
}

/** `torch.optim.SGD` over the stored gradients, parameters compared after every step. */
async function checkSgd(c: GoldenCase, device: Device): Promise<void> {
  const where = `${c.name} on ${device.kind}`;
  const p0 = ref(`${c.name}.param`), steps = ref(`${c.name}.steps`);
  const after = ref(`${c.name}.after.param`);
  const p = tensor(p0.data, p0.shape, device, { requiresGrad: true });
  const sgd = new SGD([p], c.options as ConstructorParameters<typeof SGD>[1]);
  const len = p.size;
  for (let i = 0; i < steps.shape[0]; i++) {
    p.grad?.dispose();
    p.grad = tensor(steps.data.slice(i * len, (i + 1) * len), p.shape, device).keep();
    sgd.step();
    const want = after.data.subarray(i * len, (i + 1) * len);
    assertClose(await p.toArray(), want, { ...TOL, name: `${where}: param after step ${i + 1}` });
  }
  p.grad?.dispose();
  p.dispose();
  sgd.dispose();
}

/**
 * Every available device, plus WebGPU with 1 KiB bindings (192 floats), under which most
 * tensors here take the kernels' chunked paths.
 */
const targets: [string, Device][] = [...await devices()];
if (hasWebGpu) {
  targets.push([
    "webgpu, 1 KiB bindings",
    await requestDevice({
      backend: "webgpu",
      maxBindingBytes: 1024,
    }),
  ]);
}

/**
 * Refusals a kernel may make, read from README's "Known limits" list: lines
 * `` - `<case>` on `<device>`: why ``. Under a tiny binding limit a kernel may refuse work it cannot
 * split (one output plane larger than a binding); such a case passes only when listed there.
 */
const knownLimits: Set<string> = new Set(
  [...(await Deno.readTextFile(new URL("../README.md", import.meta.url)))
    .matchAll(/^- `([^`]+)` on `([^`]+)`:/gm)].map((m) => `${m[1]} on ${m[2]}`),
);

/**
 * Runs `check`; a "binding limit" RangeError passes only when README lists the case as a known
 * limit, and a listed case must still be refused (else README says something untrue).
 */
async function orKnownLimit(name: string, kind: string, check: () => Promise<void>) {
  const key = `${name} on ${kind}`;
  try {
    await check();
  } catch (e) {
    const refusal = e instanceof RangeError && /binding limit/.test(e.message);
    if (refusal && knownLimits.has(key)) return;
    if (refusal) {
      throw new Error(
        `${key} was refused (${e.message}); fix the kernel, or list "- \`${name}\` on ` +
          `\`${kind}\`: why" under README's Known limits`,
      );
    }
    throw e;
  }
  assert(
    !knownLimits.has(key),
    `${key} is listed under README's Known limits but passed: remove it from the list`,
  );
}

for (const c of cases) {
  Deno.test(`PyTorch op golden: ${c.name}`, async (t) => {
    for (const [kind, device] of targets) {
      await t.step(
        kind,
        () =>
          orKnownLimit(
            c.name,
            kind,
            () => c.op === "sgd" ? checkSgd(c, device) : checkCase(c, device),
          ),
      );
    }
  });
}
