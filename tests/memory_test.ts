/**
 * Memory stays flat over training: on every device, 200 steps of forward, backward and SGD
 * (momentum) of a small conv net leave exactly the same live bytes after every step, and on
 * WebGPU no pipeline is compiled after the first step, every step records the same number of
 * dispatches and submits once (when the loss is read). An inference forward of every model family
 * (under `noGrad`, no `tidy`) leaves only its outputs.
 */
import { type Device, noGrad, SGD, tensor, tidy } from "../mod.ts";
import { createModel } from "../lib/models/create.ts";
import type { WebGpuBackend } from "../lib/backends/webgpu.ts";
import { devices } from "./harness.ts";
import { assert, assertEquals } from "./assert.ts";
import { disposeSmallNet, makeSmallNet, smallNetLoss } from "./_small_net.ts";

const STEPS = 200;

/** Counts `queue.submit` calls of a WebGPU device (test instrumentation, undone by `restore`). */
function countSubmits(queue: GPUQueue): { count: () => number; restore: () => void } {
  let n = 0;
  const original = queue.submit;
  queue.submit = function (buffers: GPUCommandBuffer[]) {
    n++;
    return original.call(this, buffers);
  };
  return { count: () => n, restore: () => void (queue.submit = original) };
}

async function train(device: Device): Promise<void> {
  const where = `memory on ${device.kind}`;
  const start = device.liveBytes();
  const net = makeSmallNet(device);
  const sgd = new SGD(net.params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const paramBytes = net.params.reduce((s, p) => s + p.size * 4, 0);
  const netBytes = device.liveBytes() - start;
  const rt = device.kind === "webgpu" ? (device.backend as WebGpuBackend).rt : null;
  const submits = rt ? countSubmits(rt.device.queue) : null;
  await device.flush();
  const live: number[] = [], pipelines: number[] = [], dispatches: number[] = [];
  const submitted: number[] = [], losses: number[] = [];
  try {
    for (let step = 1; step <= STEPS; step++) {
      const d0 = rt?.dispatchCount ?? 0, s0 = submits?.count() ?? 0;
      const loss = tidy(() => {
        const l = smallNetLoss(net, step);
        sgd.zeroGrad();
        l.backward();
        sgd.step();
        return l;
      });
      losses.push(await loss.item());
      loss.dispose();
      live.push(device.liveBytes());
      if (rt) {
        pipelines.push(rt.pipelineCount);
        dispatches.push(rt.dispatchCount - d0);
        submitted.push(submits!.count() - s0);
      }
    }
  } finally {
    submits?.restore();
  }
  // After a step: the net, one gradient and one momentum buffer per parameter.
  assertEquals(live[0], start + netBytes + 2 * paramBytes, `${where}: live bytes after step 1`);
  const from2 = (xs: number[]) => xs.slice(1).findIndex((v) => v !== xs[1]);
  const badLive = from2(live);
  assert(
    badLive < 0,
    `${where}: live bytes ${live[1]} after step 2 but ${live[badLive + 2]} after step ${
      badLive + 3
    }`,
  );
  assert(losses.every(Number.isFinite), `${where}: a loss is not finite: ${losses}`);
  if (rt) {
    const badPipe = pipelines.findIndex((v) => v !== pipelines[0]);
    assert(
      badPipe < 0,
      `${where}: ${pipelines[0]} pipelines after step 1 but ${pipelines[badPipe]} after step ${
        badPipe + 1
      }`,
    );
    const badDispatch = from2(dispatches);
    assert(
      badDispatch < 0,
      `${where}: ${dispatches[1]} dispatches in step 2 but ${dispatches[badDispatch + 1]} in step ${
        badDispatch + 2
      }`,
    );
    const badSubmit = submitted.findIndex((v) => v !== 1);
    assert(
      badSubmit < 0,
      `${where}: step ${badSubmit + 1} submitted ${submitted[badSubmit]} times, expected once`,
    );
  }
  sgd.dispose();
  disposeSmallNet(net);
  assertEquals(device.liveBytes(), start, `${where}: live bytes after disposing the net`);
}

for (const [kind, device] of await devices()) {
  Deno.test(`memory is flat over ${STEPS} training steps on ${kind}`, () => train(device));
}

/**
 * Inference (`noGrad`, no `tidy`): once its outputs are disposed, a forward leaves nothing (after
 * the first, which may keep what it derives from the weights, such as folded norms).
 */
function inferenceLeavesNothing(device: Device): void {
  const cases = [
    ["fcn8s", {}],
    ["fcn16s", {}],
    ["fcn32s", {}],
    ["fcn8s_bnhead", {}],
    ["fcn_fusion", {}],
    ["fcn_resnet50", { aux: true }],
    ["fcn_resnet50", { aux: false }],
  ] as const;
  for (const [name, options] of cases) {
    const model = createModel(name, { numClasses: 3, width: 1 / 16, ...options }, device).eval();
    const x = tensor(new Float32Array(2 * 3 * 40 * 40).map((_, i) => Math.sin(i)), [
      2,
      3,
      40,
      40,
    ], device);
    for (let i = 0; i < 3; i++) {
      const before = device.liveBytes();
      const y = noGrad(() => model.forward(x));
      assertEquals(y.out.shape, [2, 3, 40, 40]);
      y.out.dispose();
      y.aux?.dispose();
      if (i === 0) continue;
      assertEquals(
        device.liveBytes(),
        before,
        `${name} ${JSON.stringify(options)} on ${device.kind}: live bytes after a forward`,
      );
    }
    x.dispose();
    model.dispose();
  }
}

for (const [kind, device] of await devices()) {
  Deno.test(`an inference forward leaves only its outputs on ${kind}`, () =>
    inferenceLeavesNothing(device));
}
