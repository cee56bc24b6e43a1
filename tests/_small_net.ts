/**
 * A tiny segmentation net touching every layer kind FCN training uses, for the engine and memory
 * tests: conv3x3 + ReLU, max pool, conv3x3, transposed-conv upsampling, dropout2d, batch norm
 * and cross entropy. Seeded, so every device builds the same net.
 *
 * @module
 */
import {
  batchNorm2d,
  conv2d,
  convTranspose2d,
  crossEntropy,
  type Device,
  dropout2d,
  maxPool2d,
  relu,
  type Tensor,
  tensor,
} from "../mod.ts";
import { randn, rng } from "./harness.ts";

/** Batch, input channels, image side, hidden channels and classes of the net. */
export const NET = { n: 2, c: 3, size: 16, hidden: 8, classes: 4 } as const;

/** The net's parameters, running statistics and one batch. */
export interface SmallNet {
  /** Trainable parameters, in a fixed order. */
  params: Tensor[];
  /** Batch norm's running mean and variance `[classes]`. */
  running: [Tensor, Tensor];
  /** Images `[N, C, S, S]`. */
  x: Tensor;
  /** Class ids `[N, S, S]` (i32), about a tenth 255 (ignored). */
  target: Tensor;
}

/** Builds the net and a batch on `device` from `seed`. */
export function makeSmallNet(device: Device, seed = 1): SmallNet {
  const { n, c, size, hidden, classes } = NET;
  const param = (shape: number[], i: number, lo = -0.3, hi = 0.3) =>
    tensor(randn(shape.reduce((a, b) => a * b, 1), seed * 100 + i, lo, hi), shape, device, {
      requiresGrad: true,
    });
  const params = [
    param([hidden, c, 3, 3], 0), // conv1 weight
    param([hidden], 1), // conv1 bias
    param([hidden, hidden, 3, 3], 2), // conv2 weight
    param([hidden, classes, 4, 4], 3), // upsampling weight [C, K, KH, KW]
    param([classes], 4, 0.8, 1.2), // bn weight
    param([classes], 5), // bn bias
  ];
  const running: [Tensor, Tensor] = [
    tensor(new Float32Array(classes), [classes], device),
    tensor(new Float32Array(classes).fill(1), [classes], device),
  ];
  const x = tensor(randn(n * c * size * size, seed * 100 + 50), [n, c, size, size], device);
  const r = rng(seed * 100 + 51);
  const labels = Int32Array.from(
    { length: n * size * size },
    () => r() < 0.1 ? 255 : Math.floor(r() * classes),
  );
  const target = tensor(labels, [n, size, size], device);
  return { params, running, x, target };
}

/**
 * Forward pass to the mean cross entropy: `[N, C, S, S]` -> conv3x3+ReLU `[N, hidden, S, S]`
 * -> max pool `[N, hidden, S/2, S/2]` -> conv3x3 -> ReLU -> upsample x2 `[N, K, S, S]` ->
 * dropout2d -> batch norm (training) -> cross entropy against the target.
 */
export function smallNetLoss(net: SmallNet, dropoutSeed: number): Tensor {
  const [w1, b1, w2, wUp, gamma, beta] = net.params;
  let h = conv2d(net.x, w1, b1, { padding: 1, relu: true });
  h = maxPool2d(h, { kernelSize: 2 });
  h = relu(conv2d(h, w2, null, { padding: 1 }));
  h = convTranspose2d(h, wUp, null, { stride: 2, padding: 1 });
  h = dropout2d(h, { p: 0.25, seed: dropoutSeed });
  h = batchNorm2d(h, net.running[0], net.running[1], gamma, beta, { training: true });
  return crossEntropy(h, net.target, { ignoreIndex: 255 });
}

/** Frees everything the net holds (parameters, their gradients, statistics, batch). */
export function disposeSmallNet(net: SmallNet): void {
  for (const p of net.params) {
    p.grad?.dispose();
    p.dispose();
  }
  for (const t of [...net.running, net.x, net.target]) t.dispose();
}
