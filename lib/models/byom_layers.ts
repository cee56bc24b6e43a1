/**
 * Layers that the "bring your own model" families need beyond lib/nn: a transposed conv whose
 * bias is optional, and a Sequential whose children keep the indices of the module they were
 * sliced from (PyTorch's `features[7:14]` keeps the keys `7`..`13`).
 *
 * @module
 */
import { convTranspose2d } from "../ops/conv.ts";
import type { Device, Tensor } from "../tensor.ts";
import { bilinearKernel } from "../nn/init.ts";
import { chain, fusedSteps, Layer } from "../nn/layers.ts";
import { hostTensor } from "../nn/module.ts";

/** `nn.ConvTranspose2d(c, c, k, s, p, bias)` started as a bilinear upsampler (zero bias). */
export class BilinearUp extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  /** `channels -> channels`, kernel `k`, stride `s`, padding `p`; `bias` adds a `[C]` bias. */
  constructor(
    device: Device,
    channels: number,
    geometry: { k: number; s: number; p: number; bias: boolean },
  ) {
    super();
    const { k, bias } = geometry;
    this.weight = this.addParameter(
      "weight",
      hostTensor(bilinearKernel(channels, k), [channels, channels, k, k], device),
    );
    this.bias = bias
      ? this.addParameter("bias", hostTensor(new Float32Array(channels), [channels], device))
      : null;
    this.geometry = { s: geometry.s, p: geometry.p };
  }
  /** Stride `s` and padding `p`. */
  readonly geometry: { readonly s: number; readonly p: number };

  /** x `[N, C, H, W]` -> `[N, C, (H - 1) * s - 2p + k, ...]`. */
  forward(x: Tensor): Tensor {
    const { s, p } = this.geometry;
    return convTranspose2d(x, this.weight, this.bias, { stride: s, padding: p });
  }
}

/** A Sequential whose children are named `first`, `first + 1`, ... */
export class IndexedSequential extends Layer {
  readonly layers: Layer[];

  /** Registers `layers` under `first`, `first + 1`, ... */
  constructor(layers: Layer[], first: number) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.addModule(String(first + i), l));
  }

  /** Applies the layers in order, fused where `fusedSteps` says (as `Sequential`). */
  forward(x: Tensor): Tensor {
    return chain(x, fusedSteps(this.layers));
  }
}
