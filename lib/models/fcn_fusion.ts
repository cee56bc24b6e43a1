/**
 * FCN with feature-level fusion on VGG16-BN, the layout of PyTorch FCN tutorials that slice
 * torchvision's `vgg16_bn().features` into `stage1..stage5` (`[:7] [7:14] [14:24] [24:34]
 * [34:]`, so the keys keep torchvision's indices: `stage2.7.weight`, ...) and fuse features
 * before scoring: `conv_trans1(upsample_2x_1(s5) + s4)` -> `conv_trans2(upsample_2x_2(.) + s3)`
 * -> `upsample_8x`. The transposed convs start bilinear and have no bias unless the checkpoint
 * has one (`upsampleBias`); the 1x1 convs `scores1..3` are built but unused, as in the original,
 * so that its checkpoints load strictly.
 *
 * @module
 */
import { add } from "../ops/elementwise.ts";
import { crop } from "../ops/resize.ts";
import type { Device, Tensor } from "../tensor.ts";
import type { Rng } from "../random.ts";
import { Conv2d, SeedSource } from "../nn/layers.ts";
import { type LoadOptions, type LoadReport, Module } from "../nn/module.ts";
import type { StateDict } from "../io/host_tensor.ts";
import type { SegmentationOutput } from "./types.ts";
import { freer, scaled, stageOutputs, vggStages } from "./vgg_fcn.ts";
import type { VggBackbone } from "./types.ts";

/** A layer as the joins use it. */
type Step = { forward(t: Tensor): Tensor };
import { BilinearUp, IndexedSequential } from "./byom_layers.ts";

/** What the model needs of its config. */
export interface FcnFusionOptions {
  numClasses: number;
  /** VGG of the stages (the original: vgg16_bn). */
  backbone: VggBackbone;
  /** Multiplies every width. */
  width: number;
  /** Biases on the three transposed convs (off in the original). */
  upsampleBias: boolean;
}

/** The FCN with feature-level fusion (see the module doc). */
export class FcnFusion<C extends FcnFusionOptions = FcnFusionOptions> extends Module {
  /** Everything needed to rebuild the model. */
  readonly config: C;
  /** Unused (no dropout); part of every model's resumable state. */
  readonly seeds: SeedSource;
  readonly stages: IndexedSequential[];
  readonly up2a: BilinearUp;
  readonly trans1: Conv2d;
  readonly up2b: BilinearUp;
  readonly trans2: Conv2d;
  readonly up8: BilinearUp;

  /** Builds the model with seeded initial weights. */
  constructor(device: Device, config: C, rng: Rng) {
    super();
    this.config = config;
    this.seeds = new SeedSource(rng.nextU32());
    let index = 0;
    this.stages = vggStages(device, config, rng).stages.map((layers, s) => {
      const stage = new IndexedSequential(layers, index);
      index += layers.length;
      return this.addModule(`stage${s + 1}`, stage);
    });
    const k = config.numClasses, bias = config.upsampleBias;
    const c2 = scaled(128, config.width), c3 = scaled(256, config.width);
    const c4 = scaled(512, config.width);
    this.addModule("scores1", new Conv2d(device, c4, k, 1, rng));
    this.addModule("scores2", new Conv2d(device, c4, k, 1, rng));
    this.addModule("scores3", new Conv2d(device, c2, k, 1, rng));
    this.trans1 = this.addModule("conv_trans1", new Conv2d(device, c4, c3, 1, rng));
    this.trans2 = this.addModule("conv_trans2", new Conv2d(device, c3, k, 1, rng));
    this.up8 = this.addModule(
      "upsample_8x",
      new BilinearUp(device, k, { k: 16, s: 8, p: 4, bias }),
    );
    this.up2a = this.addModule(
      "upsample_2x_1",
      new BilinearUp(device, c4, { k: 4, s: 2, p: 1, bias }),
    );
    this.up2b = this.addModule(
      "upsample_2x_2",
      new BilinearUp(device, c3, { k: 4, s: 2, p: 1, bias }),
    );
  }

  /** Loads either stage layout (see {@linkcode fusionGlobalIndices}). */
  override loadStateDict(dict: StateDict, options?: LoadOptions): LoadReport {
    return super.loadStateDict(
      fusionGlobalIndices(dict, this.stages.map((s) => s.layers.length)),
      options,
    );
  }

  /**
   * x `[N, 3, H, W]` -> `{ out: [N, K, H, W] }`; sides that are not multiples of 32 are
   * zero-padded at the bottom/right and the logits cropped back.
   */
  forward(x: Tensor): SegmentationOutput {
    const [, , h, w] = x.shape;
    const free = freer(x);
    const { feats, padded } = stageOutputs(x, this.stages, [2, 3, 4]);
    // Each join: up(deep) + side, then the transition; in inference each input freed once read.
    const join = (deep: Tensor, up: Step, side: Tensor, trans: Step) => {
      const u = up.forward(deep);
      free(deep);
      const sum = add(u, side);
      free(u, side);
      const t = trans.forward(sum);
      free(sum);
      return t;
    };
    let z = join(feats[4], this.up2a, feats[3], this.trans1); // [N, C3, H/16, W/16]
    z = join(z, this.up2b, feats[2], this.trans2); // [N, K, H/8, W/8]
    const out = this.up8.forward(z); // [N, K, H, W]
    free(z);
    if (!padded) return { out };
    const y = crop(out, h, w);
    free(out);
    return { out: y };
  }
}

/**
 * Renames `stageS.J.*` keys re-indexed from 0 in each stage (`nn.Sequential(*features[7:14])`)
 * to torchvision's feature indices (`features[7:14]` keeps `7..13`), given the modules per
 * stage; keys already in that layout are returned as they are.
 */
export function fusionGlobalIndices(dict: StateDict, perStage: number[]): StateDict {
  if (!Object.keys(dict).some((k) => k.startsWith("stage2.0."))) return dict;
  const first = perStage.map((_, s) => perStage.slice(0, s).reduce((a, b) => a + b, 0));
  const out: StateDict = {};
  for (const [k, v] of Object.entries(dict)) {
    const m = /^stage([1-5])\.(\d+)\.(.+)$/.exec(k);
    out[m ? `stage${m[1]}.${first[Number(m[1]) - 1] + Number(m[2])}.${m[3]}` : k] = v;
  }
  return out;
}
