/**
 * The settings of a training run: the `train` flags (with the bundled demo's defaults), what a
 * resumed run may change, and the settings parsed flags give.
 *
 * @module
 */
import { MODEL_NAMES, VGG_BACKBONES } from "../../models/create.ts";
import type { ModelName, VggBackbone } from "../../models/types.ts";
import type { FlagSpec, Parsed } from "../flags.ts";
import { BACKEND_FLAG, DATASET_FLAGS } from "../common.ts";

/** The flags of `train`, with their defaults (the bundled demo's settings). */
export const TRAIN_FLAGS: FlagSpec[] = [
  ...DATASET_FLAGS,
  {
    name: "train-split",
    type: "string",
    default: "train",
    help: "training split name or txt file",
  },
  { name: "val-split", type: "string", default: "val", help: "validation split name or txt file" },
  { name: "model", type: "string", default: "fcn8s", choices: MODEL_NAMES, help: "architecture" },
  {
    name: "backbone",
    type: "string",
    default: "vgg16",
    choices: VGG_BACKBONES,
    help: "VGG backbone",
  },
  { name: "num-classes", type: "int", min: 1, help: "classes (default: from the dataset)" },
  {
    name: "width",
    type: "number",
    default: 0.125,
    help: "backbone width multiplier (1 = full size)",
  },
  { name: "head-channels", type: "int", default: 64, min: 1, help: "fc6/fc7 channels of VGG FCNs" },
  {
    name: "steps",
    type: "int",
    default: 750,
    min: 1,
    help: "length of the run in optimizer steps, rounded to whole epochs (unless --epochs)",
  },
  { name: "epochs", type: "int", min: 1, help: "epochs to train (default: from --steps)" },
  {
    name: "patience",
    type: "int",
    min: 1,
    help: "stop after this many epochs without a better val mIoU (default: never)",
  },
  {
    name: "preset",
    type: "string",
    choices: ["voc"],
    help: "a reference recipe (voc: torchvision's for fcn_resnet*, fouen6's for fcn*s); " +
      "flags given win",
  },
  {
    name: "class-weights",
    type: "string",
    help: "loss weight per class: auto (median-frequency balancing) or w0,w1,... (default: none)",
  },
  {
    name: "ignore-index",
    type: "int",
    default: 255,
    min: 0,
    help: "mask value left out of the loss and metrics (255, the padding label, always is)",
  },
  { name: "dry-run", type: "boolean", default: false, help: "print the settings, do not train" },
  { name: "batch-size", type: "int", default: 4, min: 1, help: "images per step" },
  { name: "lr", type: "number", default: 0.02, min: 0, help: "base learning rate" },
  { name: "momentum", type: "number", default: 0.9, min: 0, help: "SGD momentum" },
  { name: "weight-decay", type: "number", default: 1e-4, min: 0, help: "SGD weight decay" },
  {
    name: "schedule",
    type: "string",
    default: "poly",
    choices: ["poly", "step"],
    help: "learning-rate schedule",
  },
  {
    name: "warmup-epochs",
    type: "number",
    default: 1,
    min: 0,
    help: "poly: epochs of linear warmup",
  },
  { name: "step-size", type: "int", default: 10, min: 1, help: "step: epochs between decays" },
  { name: "gamma", type: "number", default: 0.1, min: 0, help: "step: decay factor" },
  { name: "aux-weight", type: "number", default: 0.5, min: 0, help: "weight of the aux loss" },
  {
    name: "aux-lr-mult",
    type: "number",
    default: 10,
    min: 0,
    help: "learning-rate multiplier of the aux head",
  },
  {
    name: "crop",
    type: "int",
    min: 1,
    help: "training crop size (default: the base size rounded to a multiple of 32, 32 to 480)",
  },
  {
    name: "base-size",
    type: "int",
    min: 1,
    help: "shorter side before scaling (train) / for eval (default: the training images' median)",
  },
  {
    name: "pretrained",
    type: "string",
    help: "initial weights (.pth or .safetensors), loaded where shapes fit",
  },
  { name: "pretrained-backbone", type: "string", help: "torchvision ImageNet VGG/ResNet weights" },
  { name: "resume", type: "string", help: "run folder to continue exactly" },
  { name: "out", type: "string", help: "run folder (default: runs/<model>-<time>)" },
  {
    name: "seed",
    type: "int",
    default: 1,
    help: "seed of weights, shuffling, augmentation, dropout",
  },
  { name: "eval-every", type: "int", default: 1, min: 1, help: "validate every N epochs" },
  BACKEND_FLAG,
  { name: "workers", type: "int", default: 2, min: 0, help: "data loading workers (0: inline)" },
  {
    name: "amp",
    type: "boolean",
    default: false,
    help: "mixed precision: f16 convolutions, f32 master weights, dynamic loss scaling",
  },
  {
    name: "max-steps",
    type: "int",
    min: 1,
    help: "stop after this many steps in total (tests, smoke runs)",
  },
  {
    name: "report-samples",
    type: "int",
    default: 4,
    min: 0,
    help: "validation images shown in report.html",
  },
  {
    name: "checkpoint-every",
    type: "int",
    min: 1,
    help: "also save the resumable state every N steps inside epochs (default: each epoch)",
  },
];

/** Settings a resumed run may change; the others come from the run's `config.json`. */
export const RESUME_OVERRIDES = [
  "epochs",
  "patience",
  "evalEvery",
  "workers",
  "backend",
  "reportSamples",
  "checkpointEvery",
] as const;

/**
 * Every setting of a run (saved in `config.json`): one field per flag of
 * {@linkcode TRAIN_FLAGS}, camelCased.
 */
export type TrainSettings = {
  data?: string;
  dataset: string;
  trainSplit: string;
  valSplit: string;
  model: ModelName;
  backbone: VggBackbone;
  numClasses?: number;
  width: number;
  headChannels: number;
  /** The run's length in steps, unless `epochs` is given. */
  steps: number;
  /** Epochs to train; {@linkcode RunSettings} always has it. */
  epochs?: number;
  patience?: number;
  preset?: string;
  /** `auto` or `w0,w1,...`. */
  classWeights?: string;
  /** The weights `classWeights` resolved to (saved in `config.json`, reused on resume). */
  classWeightValues?: number[];
  ignoreIndex: number;
  dryRun?: boolean;
  /** The resolved `--preset` recipe, as printed. */
  recipe?: string;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  warmupEpochs: number;
  stepSize: number;
  gamma: number;
  auxWeight: number;
  auxLrMult: number;
  /** Training crop; {@linkcode RunSettings} always has it. */
  crop?: number;
  /** Shorter side; {@linkcode RunSettings} always has it. */
  baseSize?: number;
  pretrained?: string;
  pretrainedBackbone?: string;
  resume?: string;
  out?: string;
  seed: number;
  evalEvery: number;
  backend?: string;
  workers: number;
  maxSteps?: number;
  reportSamples: number;
  amp?: boolean;
  checkpointEvery?: number;
};

/** The settings of a run once the data is known: its length, base size and crop resolved. */
export type RunSettings = TrainSettings & { epochs: number; baseSize: number; crop: number };

/** A setting a resumed run may change. */
export type ResumeOverride = (typeof RESUME_OVERRIDES)[number];

/**
 * What continues a run: its folder, the settings a session may change, and where to stop.
 * Every other setting comes from the run's `config.json`.
 */
export type ResumeSettings =
  & { resume: string }
  & Partial<Pick<TrainSettings, ResumeOverride | "maxSteps">>;

/** Copies `from[key]` to `to[key]` where it is defined. */
export function copyDefined<T, K extends keyof T>(to: Partial<T>, from: Partial<T>, key: K): void {
  const v = from[key];
  if (v !== undefined) to[key] = v;
}

/**
 * The settings of parsed `train` flags: all of them for a new run; with `--resume`, only the
 * run folder and the overrides given on the command line (defaults do not override).
 */
export function settingsFromFlags(parsed: Parsed): TrainSettings | ResumeSettings {
  // parseFlags gave every flag of TRAIN_FLAGS its spec's type and checked its choices (the
  // values that are not flags come later: the class weights once resolved).
  const v: TrainSettings = parsed.values as Omit<TrainSettings, "classWeightValues">;
  if (!v.resume) return v;
  const given: Partial<TrainSettings> = {};
  for (const k of [...RESUME_OVERRIDES, "maxSteps"] as const) {
    if (parsed.given.has(k)) copyDefined(given, v, k);
  }
  return { ...given, resume: v.resume };
}
