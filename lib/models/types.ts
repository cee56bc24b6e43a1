/**
 * Types shared by the FCN models and `createModel`: names, configs and outputs. Every
 * model module imports its config from here, so none imports create.ts.
 *
 * @module
 */
import type { SeedSource } from "../nn/layers.ts";
import type { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";

/** Model names. */
export type ModelName =
  | "fcn32s"
  | "fcn16s"
  | "fcn8s"
  | "fcn_resnet50"
  | "fcn_resnet101"
  | "fcn8s_bnhead"
  | "fcn_fusion";

/** VGG depths (torchvision names). */
export type VggName = "vgg11" | "vgg13" | "vgg16" | "vgg19";
/** VGG backbones, with or without batch norm. */
export type VggBackbone = VggName | `${VggName}_bn`;

/** Options of `createModel`; everything but the name is optional. */
export interface ModelOptions {
  /** Classes (default 21, PASCAL VOC). */
  numClasses?: number;
  /** VGG backbone of fcn8s/16s/32s (default "vgg16"). */
  backbone?: VggBackbone;
  /** Multiplies every backbone width (default 1). */
  width?: number;
  /** Channels of the VGG head's fc6/fc7 (default 4096). */
  headChannels?: number;
  /** ResNet blocks per stage (default [3, 4, 6, 3] / [3, 4, 23, 3]). */
  layers?: [number, number, number, number];
  /** Build the aux head of FCN-ResNet (default true). */
  aux?: boolean;
  /** Dropout in the head (default 0.5 for VGG, 0.1 for ResNet). */
  dropout?: number;
  /** Seed of the initial weights and dropout masks (default 0). */
  seed?: number;
  /** Biases on fcn_fusion's transposed convs (default false). */
  upsampleBias?: boolean;
}

/** A complete model config: enough to rebuild the model (saved as `config.json`). */
export type ModelConfig = Required<ModelOptions> & { name: ModelName };

/** A built FCN. */
export interface FcnModel extends Module {
  /** x `[N, 3, H, W]` (normalised) -> `{ out: [N, K, H, W], aux? }`. */
  forward(x: Tensor): SegmentationOutput;
  /** Everything needed to rebuild the model (`config.json`). */
  readonly config: ModelConfig;
  /** Dropout seeds, saved in a resumable state. */
  readonly seeds: SeedSource;
}

/** What a segmentation model returns: logits at the input's size, and the aux head's if any. */
export interface SegmentationOutput {
  /** `[N, K, H, W]` logits. */
  out: Tensor;
  /** `[N, K, H, W]` logits of the auxiliary head (FCN-ResNet with `aux`). */
  aux?: Tensor;
}
