/**
 * FCN-8s with a batch-norm head, the layout that several PyTorch FCN tutorials train (a VGG16
 * `backbone` with `layer1..layer5`, a `head` with `fc6`/`fc7` = conv, BatchNorm, ReLU,
 * Dropout(0.1), score convs `layer3_conv`/`layer4_conv`/`layer5_conv` and three
 * `transpose_conv1..3` = ConvTranspose2d (with bias), BatchNorm, ReLU). As in the original, the
 * last BatchNorm and ReLU apply to the output logits. Keys are PyTorch's, e.g.
 * `backbone.layer1.0.weight`, `head.fc6.1.running_mean`, `transpose_conv3.0.bias`.
 *
 * @module
 */
import { add } from "../ops/elementwise.ts";
import { crop } from "../ops/resize.ts";
import type { Device, Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import { BatchNorm2d, Conv2d, Dropout, ReLU, SeedSource, Sequential } from "../nn/layers.ts";
import { Module } from "../nn/module.ts";
import type { SegmentationOutput } from "./types.ts";
import { freer, scaled, stageOutputs, vggStages } from "./vgg_fcn.ts";
import type { VggBackbone } from "./types.ts";
import { BilinearUp } from "./byom_layers.ts";

/** What the model needs of its config. */
export interface Fcn8sBnHeadOptions {
  numClasses: number;
  /** VGG depth of `backbone` (the original: vgg16, no batch norm in the backbone). */
  backbone: VggBackbone;
  /** Multiplies every backbone width. */
  width: number;
  /** Channels of fc6/fc7 (4096 in the original). */
  headChannels: number;
  /** Dropout of fc6/fc7 (0.1 in the original). */
  dropout: number;
}

/** `Sequential(conv, BatchNorm2d, ReLU, Dropout)`, as `head.fc6`/`head.fc7`. */
function convBnRelu(
  device: Device,
  inC: number,
  outC: number,
  k: number,
  p: number,
  rng: Rng,
  seeds: SeedSource,
): Sequential {
  return new Sequential([
    new Conv2d(device, inC, outC, k, rng, { padding: k === 7 ? 3 : 0 }),
    new BatchNorm2d(device, outC),
    new ReLU(),
    new Dropout(p, seeds),
  ]);
}

/** FCN-8s with a batch-norm head (see the module doc). */
export class Fcn8sBnHead<C extends Fcn8sBnHeadOptions = Fcn8sBnHeadOptions> extends Module {
  /** Everything needed to rebuild the model. */
  readonly config: C;
  /** Seeds of the dropout masks. */
  readonly seeds: SeedSource;
  readonly stages: Sequential[];
  readonly head: Module & { fc6: Sequential; fc7: Sequential };
  readonly scores: Conv2d[];
  readonly ups: Sequential[];

  /** Builds the model with seeded initial weights (transposed convs start bilinear). */
  constructor(device: Device, config: C, rng: Rng) {
    super();
    this.config = config;
    this.seeds = new SeedSource(rng.nextU32());
    const backbone = this.addModule("backbone", new Group());
    const vgg = vggStages(device, config, rng), inC = vgg.channels;
    this.stages = vgg.stages.map((layers, s) =>
      backbone.addModule(`layer${s + 1}`, new Sequential(layers))
    );
    const h = config.headChannels, k = config.numClasses, p = config.dropout;
    const head = this.addModule("head", new Group());
    this.head = Object.assign(head, {
      fc6: head.addModule("fc6", convBnRelu(device, inC, h, 7, p, rng, this.seeds)),
      fc7: head.addModule("fc7", convBnRelu(device, h, h, 1, p, rng, this.seeds)),
    });
    const c3 = scaled(256, config.width), c4 = scaled(512, config.width);
    this.scores = [
      this.addModule("layer3_conv", new Conv2d(device, c3, k, 1, rng)),
      this.addModule("layer4_conv", new Conv2d(device, c4, k, 1, rng)),
      this.addModule("layer5_conv", new Conv2d(device, h, k, 1, rng)),
    ];
    const up = (kk: number, s: number, pp: number) =>
      new Sequential([
        new BilinearUp(device, k, { k: kk, s, p: pp, bias: true }),
        new BatchNorm2d(device, k),
        new ReLU(),
      ]);
    this.ups = [
      this.addModule("transpose_conv1", up(4, 2, 1)),
      this.addModule("transpose_conv2", up(4, 2, 1)),
      this.addModule("transpose_conv3", up(16, 8, 4)),
    ];
  }

  /**
   * x `[N, 3, H, W]` -> `{ out: [N, K, H, W] }`; sides that are not multiples of 32 are
   * zero-padded at the bottom/right and the logits cropped back.
   */
  forward(x: Tensor): SegmentationOutput {
    const [, , h, w] = x.shape;
    const free = freer(x);
    const { feats, padded } = stageOutputs(x, this.stages, [2, 3, 4]);
    const [s3, s4, s5] = this.scores;
    // Each step reads its inputs once; in inference they are freed right after.
    const step = (layer: { forward(t: Tensor): Tensor }, t: Tensor) => {
      const y = layer.forward(t);
      free(t);
      return y;
    };
    const join = (z: Tensor, score: { forward(t: Tensor): Tensor }, pool: Tensor) => {
      const side = step(score, pool);
      const sum = add(z, side);
      free(z, side);
      return sum;
    };
    let z = step(this.ups[0], step(s5, step(this.head.fc7, step(this.head.fc6, feats[4]))));
    z = step(this.ups[1], join(z, s4, feats[3]));
    const out = step(this.ups[2], join(z, s3, feats[2]));
    if (!padded) return { out };
    const y = crop(out, h, w);
    free(out);
    return { out: y };
  }
}

/** A module that only groups children (`backbone`, `head`). */
export class Group extends Module {}
