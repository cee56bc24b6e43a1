/**
 * `--preset voc`: the reference recipes for PASCAL VOC at full size, filled in under the flags
 * given on the command line (which win), and the warning for a full-size model trained from
 * scratch on a real dataset.
 *
 * @module
 */
import type { TrainSettings } from "./settings.ts";

/** A reference recipe: the settings it fixes, and the batch its learning rate was set for. */
export interface Recipe {
  /** Who published it, for the printed line. */
  source: string;
  /** The learning rate at `refBatch`, scaled linearly to the run's batch. */
  refLr: number;
  /** The (global) batch of `refLr`. */
  refBatch: number;
  settings: Partial<TrainSettings>;
}

/**
 * The `voc` recipe of a model: torchvision's segmentation reference for FCN-ResNet50/101
 * (`train.py --lr 0.02 -b 4` on 8 GPUs, `--aux-loss`), fouen6's for the VGG FCNs.
 */
export function vocRecipe(model: string, backbone: string): Recipe {
  if (model.startsWith("fcn_resnet")) {
    return {
      source: `torchvision ${model}`,
      refLr: 0.02,
      refBatch: 32,
      settings: {
        batchSize: 4,
        momentum: 0.9,
        weightDecay: 1e-4,
        epochs: 30,
        schedule: "poly",
        warmupEpochs: 0,
        auxWeight: 0.5,
        auxLrMult: 10,
        crop: 480,
        baseSize: 520,
        width: 1,
        pretrainedBackbone: `torchvision:${model.slice("fcn_".length)}`,
      },
    };
  }
  return {
    source: `fouen6 ${model}`,
    refLr: 0.005,
    refBatch: 8,
    settings: {
      batchSize: 8,
      momentum: 0.9,
      weightDecay: 1e-4,
      epochs: 50,
      schedule: "step",
      stepSize: 10,
      gamma: 0.1,
      crop: 320,
      baseSize: 320,
      width: 1,
      headChannels: 4096,
      pretrainedBackbone: `torchvision:${backbone}`,
    },
  };
}

const FLAG_OF: Record<string, string> = {
  lr: "lr",
  batchSize: "batch-size",
  momentum: "momentum",
  weightDecay: "weight-decay",
  epochs: "epochs",
  schedule: "schedule",
  warmupEpochs: "warmup-epochs",
  stepSize: "step-size",
  gamma: "gamma",
  auxWeight: "aux-weight",
  auxLrMult: "aux-lr-mult",
  crop: "crop",
  baseSize: "base-size",
  width: "width",
  headChannels: "head-channels",
  pretrainedBackbone: "pretrained-backbone",
};

/** The one-line description of resolved settings `s` under `recipe`. */
function describe(s: TrainSettings, recipe: Recipe, given: ReadonlySet<string>): string {
  const lr = given.has("lr") ? `lr ${s.lr}` : `lr ${+s.lr.toPrecision(
    6,
  )} (${recipe.refLr} at batch ${recipe.refBatch}, scaled to ${s.batchSize})`;
  const schedule = s.schedule === "step"
    ? `StepLR ${s.stepSize} / ${s.gamma}`
    : `poly 0.9${s.warmupEpochs > 0 ? `, ${s.warmupEpochs} warmup epochs` : ""}`;
  const aux = s.model.startsWith("fcn_resnet")
    ? `, aux ${s.auxWeight} (lr x${s.auxLrMult})`
    : `, head ${s.headChannels}`;
  const mine = [...given].filter((k) => k in FLAG_OF).map((k) => `--${FLAG_OF[k]}`);
  const length = s.epochs === undefined ? `${s.steps} steps` : `${s.epochs} epochs`;
  return `Recipe --preset ${s.preset} (${recipe.source}): ${lr}, batch ${s.batchSize}, ` +
    `momentum ${s.momentum}, weight decay ${s.weightDecay}, ${length}, ${schedule}` +
    `${aux}, crop ${s.crop}, base size ${s.baseSize}, width ${s.width}, backbone ` +
    `${s.pretrainedBackbone ?? "from scratch"}` + (mine.length ? `; given: ${mine.join(" ")}` : "");
}

/**
 * Fills in the `--preset` recipe under the settings `given` on the command line (camelCase
 * names; they win), scales its learning rate to the batch, and records the printed line in
 * `recipe`.
 *
 * @example
 * ```ts
 * import { applyPreset } from "./preset.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * const flags = { model: "fcn_resnet50", backbone: "vgg16", preset: "voc", lr: 0.02, batchSize: 8 };
 * // deno-lint-ignore no-explicit-any
 * const s = applyPreset(flags as any, new Set(["model", "batchSize"]));
 * assertEquals([s.lr, s.batchSize, s.crop, s.pretrainedBackbone], [0.005, 8, 480, "torchvision:resnet50"]);
 * ```
 */
export function applyPreset(v: TrainSettings, given: ReadonlySet<string>): TrainSettings {
  if (v.preset !== "voc") return v;
  const recipe = vocRecipe(v.model, v.backbone);
  const s: TrainSettings = { ...v };
  for (const [k, value] of Object.entries(recipe.settings)) {
    if (!given.has(k)) Object.assign(s, { [k]: value });
  }
  if (!given.has("lr")) s.lr = (recipe.refLr * s.batchSize) / recipe.refBatch;
  // --steps given (and not --epochs) sets the length instead of the recipe's epochs.
  if (given.has("steps") && !given.has("epochs")) delete s.epochs;
  return { ...s, recipe: describe(s, recipe, given) };
}

/** Train images from which a full-size model trained from scratch earns a warning. */
const REAL_DATASET = 200;

/**
 * The one-line warning for a full-size model (width 1) trained from scratch (no
 * `--pretrained-backbone`, no `--pretrained`) on a real dataset (200+ images); else null.
 */
export function scratchWarning(s: TrainSettings, trainImages: number): string | null {
  if (s.width < 1 || s.pretrained || s.pretrainedBackbone || trainImages < REAL_DATASET) {
    return null;
  }
  const name = s.model.startsWith("fcn_resnet") ? s.model.slice("fcn_".length) : s.backbone;
  return `Warning: a full-size ${s.model} from scratch on ${trainImages} images learns slowly ` +
    `and poorly; start from ImageNet weights with --pretrained-backbone torchvision:${name} ` +
    `(or --preset voc)`;
}
