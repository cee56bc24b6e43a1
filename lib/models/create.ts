/**
 * `createModel`: builds any FCN from a config, and maps pretrained ImageNet backbones onto it.
 *
 * @module
 */
import type { HostTensor, StateDict } from "../io/host_tensor.ts";
import { Rng } from "../random.ts";
import type { Device } from "../tensor.ts";
import { ResNetFcn } from "./resnet_fcn.ts";
import type {
  FcnModel,
  ModelConfig,
  ModelName,
  ModelOptions,
  VggBackbone,
  VggName,
} from "./types.ts";
import { VGG_STAGES, VggFcn } from "./vgg_fcn.ts";
import { Fcn8sBnHead } from "./fcn8s_bnhead.ts";
import { FcnFusion } from "./fcn_fusion.ts";

export type { FcnModel, ModelConfig, ModelName, ModelOptions } from "./types.ts";

/** Every model name, for validation and help texts. */
export const MODEL_NAMES: readonly ModelName[] = [
  "fcn32s",
  "fcn16s",
  "fcn8s",
  "fcn_resnet50",
  "fcn_resnet101",
  "fcn8s_bnhead",
  "fcn_fusion",
];

/** Every VGG backbone name. */
export const VGG_BACKBONES: readonly VggBackbone[] = (Object.keys(VGG_STAGES) as VggName[])
  .flatMap((n) => [n, `${n}_bn` as const]);

/** Fills in every default of a model config and validates it. */
export function resolveConfig(name: ModelName, options: ModelOptions = {}): ModelConfig {
  if (!MODEL_NAMES.includes(name)) {
    throw new RangeError(`Unknown model "${name}"; expected one of ${MODEL_NAMES.join(", ")}`);
  }
  const resnet = name.startsWith("fcn_resnet");
  const numClasses = options.numClasses ?? 21;
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  const backbone = options.backbone ?? (name === "fcn_fusion" ? "vgg16_bn" : "vgg16");
  if (!resnet && !VGG_BACKBONES.includes(backbone)) {
    throw new RangeError(
      `Unknown backbone "${backbone}"; expected one of ${VGG_BACKBONES.join(", ")}`,
    );
  }
  const width = options.width ?? 1;
  if (!(width > 0)) throw new RangeError(`width must be positive, got ${width}`);
  return {
    name,
    numClasses,
    backbone,
    width,
    headChannels: options.headChannels ?? 4096,
    layers: options.layers ?? (name === "fcn_resnet101" ? [3, 4, 23, 3] : [3, 4, 6, 3]),
    aux: options.aux ?? true,
    dropout: options.dropout ?? (resnet || name === "fcn8s_bnhead" ? 0.1 : 0.5),
    seed: options.seed ?? 0,
    upsampleBias: options.upsampleBias ?? false,
  };
}

/**
 * Builds an FCN with seeded initial weights: transposed convs start as bilinear upsamplers.
 *
 * @example A small FCN-8s
 * ```ts
 * import { createModel, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const model = createModel("fcn8s", { numClasses: 5, width: 1 / 16, headChannels: 16 }, device);
 * model.eval();
 * const { out } = model.forward(tensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32], device));
 * assertEquals(out.shape, [1, 5, 32, 32]);
 * ```
 */
export function createModel(name: ModelName, options: ModelOptions, device: Device): FcnModel {
  const c = resolveConfig(name, options);
  const rng = new Rng(c.seed);
  if (c.name === "fcn_resnet50" || c.name === "fcn_resnet101") {
    return new ResNetFcn(device, c, rng);
  }
  if (c.name === "fcn8s_bnhead") return new Fcn8sBnHead(device, c, rng);
  if (c.name === "fcn_fusion") return new FcnFusion(device, c, rng);
  return new VggFcn(device, { ...c, name: c.name }, rng);
}

/**
 * Maps torchvision ImageNet weights onto an FCN's keys: VGG `features.N.*` -> `stageK.M.*` and
 * the classifier's fc6/fc7 reshaped into `fcn_head.0`/`fcn_head.3` (as the FCN paper did);
 * ResNet `*` -> `backbone.*` with `fc.*` dropped.
 */
export function mapPretrainedBackbone(dict: StateDict, config: ModelConfig): StateDict {
  const out: StateDict = {};
  if (config.name.startsWith("fcn_resnet")) {
    for (const [k, v] of Object.entries(dict)) {
      if (!k.startsWith("fc.")) out[`backbone.${k}`] = v;
    }
    return out;
  }
  const depth = config.backbone.replace("_bn", "") as VggName;
  const perConv = config.backbone.endsWith("_bn") ? 3 : 2;
  const map = new Map<number, string>();
  let global = 0;
  VGG_STAGES[depth].forEach((count, s) => {
    for (let local = 0; local < count * perConv + 1; local++) {
      map.set(global++, `stage${s + 1}.${local}`);
    }
  });
  const reshape = (h: HostTensor, shape: number[]): HostTensor => {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== h.data.length) {
      throw new RangeError(
        `pretrained classifier weight [${h.shape}] cannot become [${shape}]: use width 1 and headChannels 4096`,
      );
    }
    return { ...h, shape };
  };
  for (const [k, v] of Object.entries(dict)) {
    const m = /^features\.(\d+)\.(.+)$/.exec(k);
    if (m && map.has(Number(m[1]))) out[`${map.get(Number(m[1]))}.${m[2]}`] = v;
    const c = /^classifier\.(0|3)\.(weight|bias)$/.exec(k);
    if (c) {
      const target = c[1] === "0" ? "fcn_head.0" : "fcn_head.3";
      if (c[2] === "bias") out[`${target}.bias`] = v;
      else {
        const [rows, cols] = v.shape;
        const inC = c[1] === "0" ? cols / 49 : cols;
        const k2 = c[1] === "0" ? 7 : 1;
        out[`${target}.weight`] = reshape(v, [rows, inC, k2, k2]);
      }
    }
  }
  return out;
}
