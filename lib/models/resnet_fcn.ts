/**
 * torchvision's FCN-ResNet50/101: a dilated ResNet (output stride 8) as `backbone`, an
 * `FCNHead` as `classifier`, an optional `aux_classifier` on layer3, both upsampled bilinearly
 * to the input size. Keys are torchvision's.
 *
 * @module
 */
import { addRelu } from "../ops/elementwise.ts";
import { interpolate } from "../ops/resize.ts";
import type { Device, Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import {
  BatchNorm2d,
  chain,
  Conv2d,
  Dropout,
  Layer,
  MaxPool2d,
  ReLU,
  SeedSource,
  Sequential,
} from "../nn/layers.ts";
import { Module } from "../nn/module.ts";
import { isGradEnabled } from "../autograd.ts";
import type { ModelConfig, SegmentationOutput } from "./types.ts";
import { scaled } from "./vgg_fcn.ts";

/** Options of a ResNet FCN. */
export interface ResNetFcnOptions {
  numClasses: number;
  /** Blocks per stage ([3, 4, 6, 3] for ResNet-50, [3, 4, 23, 3] for ResNet-101). */
  layers: [number, number, number, number];
  /** Multiplies the stem and block planes (64, 128, 256, 512). */
  width: number;
  /** Build `aux_classifier` on layer3. */
  aux: boolean;
  /** Dropout in the heads (torchvision: 0.1). */
  dropout: number;
}

/** torchvision's Bottleneck block (expansion 4). */
export class Bottleneck extends Layer {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: Sequential | null;

  /** `inplanes -> planes -> planes * 4`, the 3x3 conv with `stride` and `dilation`. */
  constructor(
    device: Device,
    inplanes: number,
    planes: number,
    stride: number,
    dilation: number,
    downsample: boolean,
    rng: Rng,
  ) {
    super();
    const k = { bias: false, init: "kaiming" } as const;
    this.conv1 = this.addModule("conv1", new Conv2d(device, inplanes, planes, 1, rng, k));
    this.bn1 = this.addModule("bn1", new BatchNorm2d(device, planes));
    this.conv2 = this.addModule(
      "conv2",
      new Conv2d(device, planes, planes, 3, rng, { ...k, stride, padding: dilation, dilation }),
    );
    this.bn2 = this.addModule("bn2", new BatchNorm2d(device, planes));
    this.conv3 = this.addModule("conv3", new Conv2d(device, planes, planes * 4, 1, rng, k));
    this.bn3 = this.addModule("bn3", new BatchNorm2d(device, planes * 4));
    this.downsample = downsample
      ? this.addModule(
        "downsample",
        new Sequential([
          new Conv2d(device, inplanes, planes * 4, 1, rng, { ...k, stride }),
          new BatchNorm2d(device, planes * 4),
        ]),
      )
      : null;
  }

  /** `relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + identity)`. */
  forward(x: Tensor): Tensor {
    const y = chain(x, [
      (t) => this.conv1.forwardNorm(t, this.bn1, true),
      (t) => this.conv2.forwardNorm(t, this.bn2, true),
      (t) => this.conv3.forwardNorm(t, this.bn3),
    ]);
    const identity = this.downsample ? this.downsample.forward(x) : x;
    const out = addRelu(y, identity);
    if (!isGradEnabled()) {
      // Inference: free the branch outputs as soon as they are summed.
      y.dispose();
      if (identity !== x) identity.dispose();
    }
    return out;
  }
}

/** The dilated ResNet trunk (conv1 .. layer4) with torchvision's keys. */
export class ResNetBackbone extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly maxpool = new MaxPool2d(3, 2, 1);
  readonly stages: Sequential[];
  /** Channels out of layer3 and layer4. */
  readonly channels: [number, number];

  /** Layers 3 and 4 trade their stride for dilation 2 and 4 (output stride 8). */
  constructor(device: Device, options: ResNetFcnOptions, rng: Rng) {
    super();
    const stem = scaled(64, options.width);
    this.conv1 = this.addModule(
      "conv1",
      new Conv2d(device, 3, stem, 7, rng, { stride: 2, padding: 3, bias: false, init: "kaiming" }),
    );
    this.bn1 = this.addModule("bn1", new BatchNorm2d(device, stem));
    let inplanes = stem;
    let dilation = 1;
    const plan = [[64, 1, false], [128, 2, false], [256, 2, true], [512, 2, true]] as const;
    const outs: number[] = [];
    this.stages = plan.map(([p, s, dilate], i) => {
      const planes = scaled(p, options.width);
      const previous = dilation;
      let stride: number = s;
      if (dilate) {
        dilation *= stride;
        stride = 1;
      }
      const blocks: Bottleneck[] = [];
      const down = stride !== 1 || inplanes !== planes * 4;
      blocks.push(new Bottleneck(device, inplanes, planes, stride, previous, down, rng));
      inplanes = planes * 4;
      for (let b = 1; b < options.layers[i]; b++) {
        blocks.push(new Bottleneck(device, inplanes, planes, 1, dilation, false, rng));
      }
      outs.push(inplanes);
      return this.addModule(`layer${i + 1}`, new Sequential(blocks));
    });
    this.channels = [outs[2], outs[3]];
  }

  /** x `[N, 3, H, W]` -> layer3 `[N, 1024w, H/8, W/8]` and layer4 `[N, 2048w, H/8, W/8]`. */
  forward(x: Tensor): { aux: Tensor; out: Tensor } {
    const y = chain(x, [
      (t) => this.conv1.forwardNorm(t, this.bn1, true),
      (t) => this.maxpool.forward(t),
      (t) => this.stages[0].forward(t),
      (t) => this.stages[1].forward(t),
    ]);
    const aux = this.stages[2].forward(y);
    if (!isGradEnabled()) y.dispose();
    return { aux, out: this.stages[3].forward(aux) };
  }
}

/** torchvision's FCNHead: 3x3 conv (no bias) to in/4, BN, ReLU, Dropout, 1x1 conv to K. */
export function fcnHead(
  device: Device,
  inChannels: number,
  numClasses: number,
  dropout: number,
  seeds: SeedSource,
  rng: Rng,
): Sequential {
  const inter = Math.max(1, Math.floor(inChannels / 4));
  return new Sequential([
    new Conv2d(device, inChannels, inter, 3, rng, { padding: 1, bias: false }),
    new BatchNorm2d(device, inter),
    new ReLU(),
    new Dropout(dropout, seeds),
    new Conv2d(device, inter, numClasses, 1, rng),
  ]);
}

/** FCN-ResNet: backbone, classifier and optional aux classifier. */
export class ResNetFcn extends Module {
  readonly options: ResNetFcnOptions;
  /** Everything needed to rebuild the model. */
  readonly config: ModelConfig;
  readonly backbone: ResNetBackbone;
  readonly classifier: Sequential;
  readonly auxClassifier: Sequential | null;
  /** Seeds of the dropout masks (part of a resumable state). */
  readonly seeds: SeedSource;

  /** Builds the model with seeded initial weights. */
  constructor(device: Device, config: ModelConfig, rng: Rng) {
    super();
    const options: ResNetFcnOptions = config;
    this.options = options;
    this.config = config;
    this.seeds = new SeedSource(rng.nextU32());
    this.backbone = this.addModule("backbone", new ResNetBackbone(device, options, rng));
    const [c3, c4] = this.backbone.channels;
    const k = options.numClasses;
    this.classifier = this.addModule(
      "classifier",
      fcnHead(device, c4, k, options.dropout, this.seeds, rng),
    );
    this.auxClassifier = options.aux
      ? this.addModule("aux_classifier", fcnHead(device, c3, k, options.dropout, this.seeds, rng))
      : null;
  }

  /** x `[N, 3, H, W]` -> `{ out, aux? }`, both `[N, K, H, W]`. */
  forward(x: Tensor): SegmentationOutput {
    const [, , h, w] = x.shape;
    const f = this.backbone.forward(x);
    // Inference: free each feature map and logits map once read (left to the garbage collector,
    // their arrays would be allocated afresh, page faults and all, on every forward).
    const free = !isGradEnabled();
    const head = (features: Tensor, classifier: Sequential) => {
      const logits = classifier.forward(features);
      if (free) features.dispose();
      const y = interpolate(logits, { size: [h, w], alignCorners: false });
      if (free) logits.dispose();
      return y;
    };
    const out = head(f.out, this.classifier);
    if (!this.auxClassifier) {
      if (free) f.aux.dispose();
      return { out };
    }
    return { out, aux: head(f.aux, this.auxClassifier) };
  }
}
