/**
 * Layers with PyTorch's parameter names: Conv2d, ConvTranspose2d, BatchNorm2d, ReLU, MaxPool2d,
 * Dropout, Dropout2d, Sequential.
 *
 * @module
 */
import { conv2d, convTranspose2d } from "../ops/conv.ts";
import { dropout, dropout2d, relu } from "../ops/elementwise.ts";
import { foldBatchNorm } from "../ops/conv_bn.ts";
import { batchNorm2d, type StatsReducer } from "../ops/norm.ts";
import { maxPool2d } from "../ops/pool.ts";
import type { Device, Tensor } from "../tensor.ts";
import { isGradEnabled } from "../autograd.ts";
import { bilinearKernel, defaultConvInit, kaimingNormal } from "./init.ts";
import { deriveSeed, type Rng } from "../random.ts";
import { type HostScalar, hostTensor, Module } from "./module.ts";

/** A module mapping one tensor to one tensor. */
export abstract class Layer extends Module {
  /** Applies the layer. */
  abstract forward(x: Tensor): Tensor;
}

/** Options of {@linkcode Conv2d}. */
export interface Conv2dLayerOptions {
  stride?: number;
  padding?: number;
  dilation?: number;
  bias?: boolean;
  /** "default" (PyTorch's uniform) or "kaiming" (normal, fan-out, zero bias). */
  init?: "default" | "kaiming";
}

/** `nn.Conv2d`: weight `[K, C, KH, KW]`, bias `[K]`. */
export class Conv2d extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly options: Required<Omit<Conv2dLayerOptions, "init">>;

  /** Creates the layer with seeded initial weights. */
  constructor(
    device: Device,
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    rng: Rng,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    const shape = [outChannels, inChannels, kernelSize, kernelSize];
    const init = defaultConvInit(shape, rng);
    const w = options.init === "kaiming" ? kaimingNormal(shape, rng) : init.weight;
    this.weight = this.addParameter("weight", hostTensor(w, shape, device));
    const hasBias = options.bias ?? true;
    const b = options.init === "kaiming" ? new Float32Array(outChannels) : init.bias;
    this.bias = hasBias ? this.addParameter("bias", hostTensor(b, [outChannels], device)) : null;
    this.options = {
      stride: options.stride ?? 1,
      padding: options.padding ?? 0,
      dilation: options.dilation ?? 1,
      bias: hasBias,
    };
  }

  /** x `[N, C, H, W]` -> `[N, K, OH, OW]`; `fuseRelu` applies ReLU in the same kernel. */
  forward(x: Tensor, fuseRelu = false): Tensor {
    const { stride, padding, dilation } = this.options;
    return conv2d(x, this.weight, this.bias, { stride, padding, dilation, relu: fuseRelu });
  }

  /**
   * `relu?(bn(conv(x)))`: in inference (no graph, `bn` in eval mode) the norm is folded into
   * this convolution (lib/ops/conv_bn.ts), else the layers run one after the other. The folded
   * weights are kept until a tensor they come from changes (its `version`), the module trains
   * or is disposed: so a backend's per-array caches (oneDNN's reordered weights) serve again.
   * Refolding every call cost an FCN-ResNet50 @480 forward 108 batch-norm kernels (27 ms) and
   * 46 oneDNN weight reorders (50-67 ms at load 6-7).
   */
  forwardNorm(x: Tensor, bn: BatchNorm2d, fuseRelu = false): Tensor {
    if (bn.training || isGradEnabled()) {
      return chain(x, [(t) => this.forward(t), (t) => bn.forward(t), ...(fuseRelu ? [relu] : [])]);
    }
    const { stride, padding, dilation } = this.options;
    const f = this.#fold(bn);
    return conv2d(x, f.weight, f.bias, { stride, padding, dilation, relu: fuseRelu });
  }

  #folded: { from: [Tensor, number][]; weight: Tensor; bias: Tensor } | null = null;

  /** The folded weight and bias of `bn`, kept while their sources' versions hold. */
  #fold(bn: BatchNorm2d): { weight: Tensor; bias: Tensor } {
    const sources = [this.weight, this.bias, bn.runningMean, bn.runningVar, bn.weight, bn.bias];
    const from = sources.filter((t) => t !== null).map((t): [Tensor, number] => [t, t.version]);
    const kept = this.#folded;
    if (kept && kept.from.length === from.length) {
      if (kept.from.every(([t, v], i) => t === from[i][0] && v === from[i][1])) return kept;
    }
    this.releaseDerived();
    const f = foldBatchNorm(this.weight, this.bias, bn);
    this.#folded = { from, weight: f.weight.keep(), bias: f.bias.keep() };
    return this.#folded;
  }

  /** Frees the kept folded weights. */
  protected override releaseDerived(): void {
    this.#folded?.weight.dispose();
    this.#folded?.bias.dispose();
    this.#folded = null;
  }
}

/** `nn.ConvTranspose2d` without bias, initialised as a bilinear upsampler. */
export class ConvTranspose2d extends Layer {
  readonly weight: Tensor;
  readonly stride: number;
  readonly padding: number;

  /** A `[C, C, k, k]` bilinear upsampler of `channels` channels. */
  constructor(
    device: Device,
    channels: number,
    kernelSize: number,
    stride: number,
    padding: number,
  ) {
    super();
    const w = bilinearKernel(channels, kernelSize);
    this.weight = this.addParameter(
      "weight",
      hostTensor(w, [channels, channels, kernelSize, kernelSize], device),
    );
    this.stride = stride;
    this.padding = padding;
  }

  /** x `[N, C, H, W]` -> `[N, C, (H - 1) * s - 2p + k, ...]`. */
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, null, { stride: this.stride, padding: this.padding });
  }
}

/** `nn.BatchNorm2d` with running statistics and `num_batches_tracked`. */
export class BatchNorm2d extends Layer {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: HostScalar;
  readonly momentum: number;
  readonly eps: number;
  /**
   * When set, training uses the statistics of the global batch of a data-parallel job, summed
   * across its processes (`SyncBatchNorm`); null: this process's batch (default).
   */
  sync: StatsReducer | null = null;

  /** Weight 1, bias 0, running mean 0 and variance 1. */
  constructor(device: Device, channels: number, momentum = 0.1, eps = 1e-5) {
    super();
    this.weight = this.addParameter(
      "weight",
      hostTensor(new Float32Array(channels).fill(1), [channels], device),
    );
    this.bias = this.addParameter(
      "bias",
      hostTensor(new Float32Array(channels), [channels], device),
    );
    this.runningMean = this.addBuffer(
      "running_mean",
      hostTensor(new Float32Array(channels), [channels], device),
    );
    this.runningVar = this.addBuffer(
      "running_var",
      hostTensor(new Float32Array(channels).fill(1), [channels], device),
    );
    this.numBatchesTracked = this.addScalar("num_batches_tracked", { value: 0 });
    this.momentum = momentum;
    this.eps = eps;
  }

  /** Normalises `[N, C, H, W]` per channel. */
  forward(x: Tensor): Tensor {
    if (this.training) this.numBatchesTracked.value++;
    return batchNorm2d(x, this.runningMean, this.runningVar, this.weight, this.bias, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
      sync: this.sync,
    });
  }
}

/** `nn.ReLU`. */
export class ReLU extends Layer {
  /** `max(x, 0)`. */
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** `nn.MaxPool2d`. */
export class MaxPool2d extends Layer {
  /** Window, stride, padding and ceil mode. */
  constructor(
    readonly kernelSize: number,
    readonly stride: number = kernelSize,
    readonly padding = 0,
    readonly ceilMode = false,
  ) {
    super();
  }

  /** `[N, C, H, W]` -> `[N, C, OH, OW]`. */
  forward(x: Tensor): Tensor {
    return maxPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
    });
  }
}

/**
 * Draws the seeds of dropout masks. By default one stream: each call takes the next seed from
 * `counter`, whose value is part of a resumable training state. With per-sample keys
 * ({@linkcode SeedSource.forSamples}, what `train` sets each step), each call draws one seed per
 * sample from the sample's key and the call's number within the forward pass, so a sample's
 * masks depend only on its key, not on the batch it is in or the steps run before.
 *
 * @example Per-sample seeds follow the samples, not their batch
 * ```ts
 * import { SeedSource } from "./layers.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const s = new SeedSource();
 * s.forSamples([10, 11, 12]);
 * const [a, b] = [s.draw(3), s.draw(3)]; // two dropout layers of one forward pass
 * s.forSamples([12]);
 * assertEquals(s.draw(1), { seeds: [(a as { seeds: number[] }).seeds[2]] });
 * assertEquals(s.draw(1), { seeds: [(b as { seeds: number[] }).seeds[2]] });
 * ```
 */
export class SeedSource {
  /** The last seed handed out by the counter stream. */
  counter: number;
  #keys: readonly number[] | null = null;
  #call = 0;

  /** Starts at `seed`. */
  constructor(seed = 0) {
    this.counter = seed >>> 0;
  }

  /** A fresh seed of the counter stream. */
  next(): number {
    this.counter = (this.counter + 1) >>> 0;
    return Math.imul(this.counter, 2654435761) >>> 0;
  }

  /**
   * Sets the keys of the samples of the next forward pass, one per sample in batch order (e.g.
   * derived from the run seed, the epoch and each sample's index), and restarts the call count;
   * `null` returns to the counter stream.
   */
  forSamples(keys: readonly number[] | null): void {
    this.#keys = keys ? [...keys] : null;
    this.#call = 0;
  }

  /**
   * The seeds of the next dropout call on a batch of `n` samples: `{ seeds }`, one per sample,
   * when keys are set; else `{ seed }` from the counter stream.
   */
  draw(n: number): { seed: number } | { seeds: number[] } {
    const keys = this.#keys;
    if (!keys) return { seed: this.next() };
    if (keys.length !== n) {
      throw new RangeError(
        `Dropout got a batch of ${n} samples but per-sample seeds were set for ${keys.length}`,
      );
    }
    const call = this.#call++;
    return { seeds: keys.map((k) => deriveSeed(k, call)) };
  }
}

/** `nn.Dropout` (element-wise) or `nn.Dropout2d` (whole channels). */
export class Dropout extends Layer {
  /** Probability `p`, per channel when `channels`, seeds from `seeds`. */
  constructor(readonly p: number, readonly seeds: SeedSource, readonly channels = false) {
    super();
  }

  /** Identity in evaluation mode. */
  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const o = { p: this.p, training: true, ...this.seeds.draw(x.shape[0]) };
    return this.channels ? dropout2d(x, o) : dropout(x, o);
  }
}

/**
 * `nn.Sequential`: children named "0", "1", ... A Conv2d directly followed by a ReLU runs as
 * one fused kernel.
 */
export class Sequential extends Layer {
  readonly layers: Layer[];

  /** Registers `layers` under their indices. */
  constructor(layers: Layer[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.addModule(String(i), l));
  }

  /** Applies the layers in order, fused where {@linkcode fusedSteps} says. */
  forward(x: Tensor): Tensor {
    return chain(x, fusedSteps(this.layers));
  }
}

/**
 * The functions that apply `layers` in order: a Conv2d followed by a ReLU as one kernel, a
 * Conv2d followed by a BatchNorm2d (and a ReLU) as {@linkcode Conv2d.forwardNorm} (folded in
 * inference), every other layer on its own.
 */
export function fusedSteps(layers: readonly Layer[]): ((t: Tensor) => Tensor)[] {
  const fns: ((t: Tensor) => Tensor)[] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i], next = layers[i + 1];
    if (l instanceof Conv2d && next instanceof BatchNorm2d) {
      const relu = layers[i + 2] instanceof ReLU;
      fns.push((t) => l.forwardNorm(t, next, relu));
      i += relu ? 2 : 1;
    } else if (l instanceof Conv2d && next instanceof ReLU) {
      fns.push((t) => l.forward(t, true));
      i++;
    } else fns.push((t) => l.forward(t));
  }
  return fns;
}

/**
 * Applies `fns` in order. Without a graph (under `noGrad`), each intermediate is freed as soon
 * as the next function has used it, so inference holds one or two activations at a time; `x`,
 * kept tensors and pass-through results are never freed.
 */
export function chain(x: Tensor, fns: ((t: Tensor) => Tensor)[]): Tensor {
  const free = !isGradEnabled();
  let y = x;
  for (const fn of fns) {
    const next = fn(y);
    if (free && y !== x && next !== y && !y.kept) y.dispose();
    y = next;
  }
  return y;
}
