/**
 * FCN-32s, FCN-16s and FCN-8s on a VGG backbone, with the keys of the PyTorch
 * re-implementation: `stage1..5` (torchvision's VGG `features` split after each max pool, each
 * re-indexed from 0), `fcn_head`, `pool3_score`/`pool4_score` and the transposed-conv upsamplers.
 *
 * @module
 */
import { add } from "../ops/elementwise.ts";
import { crop, pad } from "../ops/resize.ts";
import type { Device, Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  type Layer,
  MaxPool2d,
  ReLU,
  SeedSource,
  Sequential,
} from "../nn/layers.ts";
import { Module } from "../nn/module.ts";
import { isGradEnabled } from "../autograd.ts";
import type { ModelConfig, SegmentationOutput, VggBackbone, VggName } from "./types.ts";

/** The FCN variants on VGG. */
export type VggFcnName = "fcn32s" | "fcn16s" | "fcn8s";

/** Convolutions per stage of each VGG (torchvision's configurations A, B, D, E). */
export const VGG_STAGES: Record<VggName, number[]> = {
  vgg11: [1, 1, 2, 2, 2],
  vgg13: [2, 2, 2, 2, 2],
  vgg16: [2, 2, 3, 3, 3],
  vgg19: [2, 2, 4, 4, 4],
};

const STAGE_WIDTHS = [64, 128, 256, 512, 512];

/** Options of a VGG FCN. */
export interface VggFcnOptions {
  backbone: VggBackbone;
  numClasses: number;
  /** Multiplies every backbone width: `max(1, round(c * width))`. */
  width: number;
  /** Channels of fc6/fc7 (`fcn_head.0` and `.3`). */
  headChannels: number;
  /** Dropout2d probability in the head. */
  dropout: number;
}

/** Scales a channel count by `width`. */
export function scaled(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

/**
 * The layers of each stage of a VGG `backbone` (`vgg16`, `vgg16_bn`, ...): its 3x3 convs (each
 * followed by a batch norm on `_bn` backbones) with their ReLUs, then the 2x2 max pool, widths
 * scaled by `width`, and the channels the last stage gives. The convs draw their initial
 * weights from `rng` in order.
 */
export function vggStages(
  device: Device,
  { backbone, width }: { backbone: VggBackbone; width: number },
  rng: Rng,
): { stages: Layer[][]; channels: number } {
  const counts = VGG_STAGES[backbone.replace("_bn", "") as VggName];
  if (!counts) throw new RangeError(`Unknown VGG backbone "${backbone}"`);
  const bn = backbone.endsWith("_bn");
  let inC = 3;
  const stages = counts.map((count, s) => {
    const c = scaled(STAGE_WIDTHS[s], width);
    const layers: Layer[] = [];
    for (let j = 0; j < count; j++) {
      layers.push(new Conv2d(device, inC, c, 3, rng, { padding: 1, init: "kaiming" }));
      if (bn) layers.push(new BatchNorm2d(device, c));
      layers.push(new ReLU());
      inC = c;
    }
    layers.push(new MaxPool2d(2, 2));
    return layers;
  });
  return { stages, channels: inC };
}

/**
 * In inference (no graph), a function that frees the tensors it is given, each once and never
 * `x` (the caller's input); in training, one that does nothing (backward needs them). Models free
 * each intermediate once read, so that a forward under `noGrad` leaves only its outputs.
 */
export function freer(x: Tensor): (...ts: Tensor[]) => void {
  if (isGradEnabled()) return () => {};
  const freed = new Set<Tensor>([x]);
  return (...ts) => {
    for (const t of ts) {
      if (freed.has(t)) continue;
      freed.add(t);
      t.dispose();
    }
  };
}

/**
 * The output of each of `stages` on x `[N, 3, H, W]` zero-padded at the bottom/right to sides
 * that are multiples of 32, and whether it was padded (the logits are then cropped back). In
 * inference, the outputs whose index is not in `keep` are freed once the next stage read them
 * (their entries are then disposed tensors), and so is the padded input.
 */
export function stageOutputs(
  x: Tensor,
  stages: readonly { forward(x: Tensor): Tensor }[],
  keep: readonly number[] = [0, 1, 2, 3, 4],
): { feats: Tensor[]; padded: boolean } {
  const [, , h, w] = x.shape;
  const ph = Math.ceil(h / 32) * 32, pw = Math.ceil(w / 32) * 32;
  const padded = ph !== h || pw !== w;
  const free = freer(x);
  let y = padded ? pad(x, ph, pw) : x;
  const feats: Tensor[] = [];
  for (const [i, stage] of stages.entries()) {
    const next = stage.forward(y);
    if (i > 0 ? !keep.includes(i - 1) : padded) free(y);
    feats.push(y = next);
  }
  return { feats, padded };
}

/** An FCN-32s/16s/8s model on VGG. */
export class VggFcn extends Module {
  readonly variant: VggFcnName;
  readonly options: VggFcnOptions;
  /** Everything needed to rebuild the model. */
  readonly config: ModelConfig;
  readonly stages: Sequential[];
  readonly head: Sequential;
  readonly pool3Score: Conv2d | null = null;
  readonly pool4Score: Conv2d | null = null;
  readonly ups: ConvTranspose2d[];
  /** Seeds of the dropout masks (part of a resumable state). */
  readonly seeds: SeedSource;

  /** Builds the model with seeded initial weights. */
  constructor(device: Device, config: ModelConfig & { name: VggFcnName }, rng: Rng) {
    super();
    const variant = config.name;
    const options: VggFcnOptions = config;
    this.variant = variant;
    this.options = options;
    this.config = config;
    this.seeds = new SeedSource(rng.nextU32());
    const vgg = vggStages(device, options, rng), inC = vgg.channels;
    this.stages = vgg.stages.map((layers, s) =>
      this.addModule(`stage${s + 1}`, new Sequential(layers))
    );
    const k = options.numClasses;
    const h = options.headChannels;
    this.head = this.addModule(
      "fcn_head",
      new Sequential([
        new Conv2d(device, inC, h, 7, rng, { padding: 3 }),
        new ReLU(),
        new Dropout(options.dropout, this.seeds, true),
        new Conv2d(device, h, h, 1, rng),
        new ReLU(),
        new Dropout(options.dropout, this.seeds, true),
        new Conv2d(device, h, k, 1, rng),
      ]),
    );
    const c3 = scaled(256, options.width), c4 = scaled(512, options.width);
    if (variant === "fcn32s") {
      this.ups = [this.addModule("upsample32", new ConvTranspose2d(device, k, 64, 32, 16))];
    } else if (variant === "fcn16s") {
      this.pool4Score = this.addModule("pool4_score", new Conv2d(device, c4, k, 1, rng));
      this.ups = [
        this.addModule("upsample2", new ConvTranspose2d(device, k, 4, 2, 1)),
        this.addModule("upsample16", new ConvTranspose2d(device, k, 32, 16, 8)),
      ];
    } else {
      this.pool3Score = this.addModule("pool3_score", new Conv2d(device, c3, k, 1, rng));
      this.pool4Score = this.addModule("pool4_score", new Conv2d(device, c4, k, 1, rng));
      this.ups = [
        this.addModule("upsample2_1", new ConvTranspose2d(device, k, 4, 2, 1)),
        this.addModule("upsample2_2", new ConvTranspose2d(device, k, 4, 2, 1)),
        this.addModule("upsample8", new ConvTranspose2d(device, k, 16, 8, 4)),
      ];
    }
  }

  /**
   * x `[N, 3, H, W]` -> `{ out: [N, K, H, W] }`. Sides that are not multiples of 32 are
   * zero-padded at the bottom/right first and the logits cropped back.
   */
  forward(x: Tensor): SegmentationOutput {
    const [, , h, w] = x.shape;
    const free = freer(x);
    const fuse = (score: Tensor, up: ConvTranspose2d, side: Conv2d, pool: Tensor) => {
      const u = up.forward(score);
      const s = side.forward(pool);
      const c = crop(s, u.shape[2], u.shape[3]);
      free(score, pool, s);
      const sum = add(u, c);
      free(u, c);
      return sum;
    };
    const keep = this.variant === "fcn8s" ? [2, 3, 4] : this.variant === "fcn16s" ? [3, 4] : [4];
    const pools = stageOutputs(x, this.stages, keep).feats;
    let score = this.head.forward(pools[4]);
    free(pools[4]);
    if (this.variant === "fcn16s" || this.variant === "fcn8s") {
      score = fuse(score, this.ups[0], this.pool4Score!, pools[3]);
    }
    if (this.variant === "fcn8s") score = fuse(score, this.ups[1], this.pool3Score!, pools[2]);
    const out = this.ups[this.ups.length - 1].forward(score);
    free(score);
    const y = crop(out, h, w);
    free(out);
    return { out: y };
  }
}
