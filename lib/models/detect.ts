/**
 * Detection of a model from its state dict alone: keys and shapes name the family (FCN-32s/16s/8s
 * on VGG in this project's layout, torchvision's FCN-ResNet50/101, FCN-8s with a batch-norm head,
 * the feature-level fusion FCN) and its depth, widths, head channels and class count.
 *
 * @module
 */
import type { StateDict } from "../io/host_tensor.ts";
import { type ModelConfig, type ModelName, type ModelOptions, resolveConfig } from "./create.ts";
import { VGG_STAGES } from "./vgg_fcn.ts";
import type { VggBackbone, VggName } from "./types.ts";

/** What {@linkcode detectModel} found. */
export interface Detection {
  /** The complete config (detected values, then the overrides). */
  config: ModelConfig;
  /** One line for people, e.g. "fcn_resnet50 (torchvision layout), 21 classes, aux head". */
  summary: string;
}

/** Overrides of {@linkcode detectModel}: a given value wins over the detected one. */
export interface DetectOptions {
  /** The family (skips the search). */
  model?: ModelName;
  /** The VGG backbone. */
  backbone?: VggBackbone;
  /** The class count (the class layers are then re-initialised; see `dropClassLayers`). */
  numClasses?: number;
}

interface Family {
  name: ModelName;
  layout: string;
  /** Keys every checkpoint of the family has. */
  anchors: string[];
  /** Every key of the family starts with one of these. */
  prefixes: RegExp;
  /** Reads the config from the shapes (the family's anchors are present). */
  infer(d: StateDict): ModelOptions;
  /** The class layers (re-initialised when the class count changes). */
  classLayers: RegExp;
}

const head = ["fcn_head.0.weight", "fcn_head.3.weight", "fcn_head.6.weight"];
const vggPrefix = (extra: string) => new RegExp(`^(stage[1-5]|fcn_head|${extra})\\.`);

/** Counts `prefix{s}.J.weight` 4-d tensors of each stage s = 1..5 and names the VGG. */
function vggOf(d: StateDict, stage: (s: number) => string): VggBackbone {
  const counts = [1, 2, 3, 4, 5].map((s) => {
    const re = new RegExp(`^${stage(s).replace(/\./g, "\\.")}\\.\\d+\\.weight$`);
    return Object.keys(d).filter((k) => re.test(k) && d[k].shape.length === 4).length;
  });
  const depth = (Object.keys(VGG_STAGES) as VggName[]).find((n) =>
    VGG_STAGES[n].join() === counts.join()
  );
  if (!depth) {
    throw new Error(
      `convolutions per stage are [${counts}], which is no VGG (vgg11 [1,1,2,2,2], vgg13 ` +
        "[2,2,2,2,2], vgg16 [2,2,3,3,3], vgg19 [2,2,4,4,4]); pass --backbone to say which",
    );
  }
  const bn = Object.keys(d).some((k) => k.startsWith(stage(1)) && k.endsWith("running_mean"));
  return bn ? `${depth}_bn` : depth;
}

const firstConv = (d: StateDict, prefix: string): number => {
  const k = Object.keys(d).find((k) => k.startsWith(prefix) && d[k].shape.length === 4);
  return k ? d[k].shape[0] : 64;
};

const vggInfer = (d: StateDict): ModelOptions => ({
  backbone: vggOf(d, (s) => `stage${s}`),
  width: firstConv(d, "stage1.") / 64,
  headChannels: d["fcn_head.0.weight"].shape[0],
  numClasses: d["fcn_head.6.weight"].shape[0],
});

const FAMILIES: Family[] = [
  {
    name: "fcn8s",
    layout: "this project's layout",
    anchors: [
      "stage1.0.weight",
      ...head,
      "pool3_score.weight",
      "pool4_score.weight",
      "upsample2_1.weight",
      "upsample2_2.weight",
      "upsample8.weight",
    ],
    prefixes: vggPrefix("pool3_score|pool4_score|upsample2_1|upsample2_2|upsample8"),
    infer: vggInfer,
    classLayers: /^(fcn_head\.6|pool[34]_score|upsample[\d_]+)\./,
  },
  {
    name: "fcn16s",
    layout: "this project's layout",
    anchors: [
      "stage1.0.weight",
      ...head,
      "pool4_score.weight",
      "upsample2.weight",
      "upsample16.weight",
    ],
    prefixes: vggPrefix("pool4_score|upsample2|upsample16"),
    infer: vggInfer,
    classLayers: /^(fcn_head\.6|pool4_score|upsample\d+)\./,
  },
  {
    name: "fcn32s",
    layout: "this project's layout",
    anchors: ["stage1.0.weight", ...head, "upsample32.weight"],
    prefixes: vggPrefix("upsample32"),
    infer: vggInfer,
    classLayers: /^(fcn_head\.6|upsample32)\./,
  },
  {
    name: "fcn_resnet50",
    layout: "torchvision layout",
    anchors: [
      "backbone.conv1.weight",
      "backbone.bn1.weight",
      "backbone.layer1.0.conv1.weight",
      "backbone.layer4.0.conv3.weight",
      "classifier.0.weight",
      "classifier.1.weight",
      "classifier.4.weight",
    ],
    prefixes: /^(backbone\.(conv1|bn1|layer[1-4])|classifier|aux_classifier)\./,
    infer: (d) => {
      const layers = [1, 2, 3, 4].map((i) =>
        new Set(
          Object.keys(d).map((k) => new RegExp(`^backbone\\.layer${i}\\.(\\d+)\\.`).exec(k)?.[1])
            .filter((x) => x !== undefined),
        ).size
      ) as [number, number, number, number];
      return {
        layers,
        width: d["backbone.conv1.weight"].shape[0] / 64,
        numClasses: d["classifier.4.weight"].shape[0],
        aux: "aux_classifier.0.weight" in d,
      };
    },
    classLayers: /^(classifier|aux_classifier)\.4\./,
  },
  {
    name: "fcn8s_bnhead",
    layout: "FCN-8s with a batch-norm head: backbone.layerN, head.fc6/fc7, transpose_convN",
    anchors: [
      "backbone.layer1.0.weight",
      "head.fc6.0.weight",
      "head.fc6.1.running_mean",
      "head.fc7.0.weight",
      "layer3_conv.weight",
      "layer4_conv.weight",
      "layer5_conv.weight",
      "transpose_conv1.0.weight",
      "transpose_conv2.0.weight",
      "transpose_conv3.0.weight",
      "transpose_conv3.1.weight",
    ],
    prefixes: /^(backbone\.layer[1-5]|head\.fc[67]|layer[345]_conv|transpose_conv[123])\./,
    infer: (d) => ({
      backbone: vggOf(d, (s) => `backbone.layer${s}`),
      width: firstConv(d, "backbone.layer1.") / 64,
      headChannels: d["head.fc6.0.weight"].shape[0],
      numClasses: d["layer5_conv.weight"].shape[0],
    }),
    classLayers: /^(layer[345]_conv|transpose_conv[123])\./,
  },
  {
    name: "fcn_fusion",
    layout: "feature-level fusion FCN: stage1..5, upsample_2x_N, conv_transN, upsample_8x",
    anchors: [
      "stage1.0.weight",
      "upsample_2x_1.weight",
      "upsample_2x_2.weight",
      "upsample_8x.weight",
      "conv_trans1.weight",
      "conv_trans2.weight",
      "scores1.weight",
      "scores2.weight",
      "scores3.weight",
    ],
    prefixes: /^(stage[1-5]|scores[123]|conv_trans[12]|upsample_2x_[12]|upsample_8x)\./,
    infer: (d) => ({
      backbone: vggOf(d, (s) => `stage${s}`),
      width: firstConv(d, "stage1.") / 64,
      numClasses: d["conv_trans2.weight"].shape[0],
      upsampleBias: "upsample_8x.bias" in d,
    }),
    classLayers: /^(conv_trans2|upsample_8x|scores[123])\./,
  },
];

/** How well a family fits: anchors found, keys it cannot have. */
function fit(f: Family, d: StateDict) {
  const keys = Object.keys(d);
  const missing = f.anchors.filter((k) => !(k in d));
  const unexpected = keys.filter((k) => !f.prefixes.test(k));
  const score = (f.anchors.length - missing.length) / f.anchors.length -
    unexpected.length / Math.max(1, keys.length);
  return { family: f, missing, unexpected, score };
}

const few = (keys: string[]) =>
  keys.length === 0
    ? "none"
    : `${keys.length} (${keys.slice(0, 4).join(", ")}${keys.length > 4 ? ", ..." : ""})`;

/** A width as people write it: 1, 1/16, 0.3. */
function widthText(w: number): string {
  if (w === 1) return "";
  const inv = 1 / w;
  return `, width ${Number.isInteger(inv) ? `1/${inv}` : w}`;
}

/**
 * Detects the model of a state dict (already unwrapped: see `extractStateDict`), so that a
 * checkpoint loads without a config.json. `name` says where the dict came from, for errors.
 *
 * @example torchvision's FCN-ResNet layout
 * ```ts
 * import { detectModel } from "./detect.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const t = (...shape: number[]) => ({ dtype: "f32" as const, shape, data: new Float32Array(0) });
 * const d = {
 *   "backbone.conv1.weight": t(64, 3, 7, 7), "backbone.bn1.weight": t(64),
 *   "backbone.layer1.0.conv1.weight": t(64, 64, 1, 1), "backbone.layer2.0.conv1.weight": t(128, 256, 1, 1),
 *   "backbone.layer3.0.conv1.weight": t(256, 512, 1, 1), "backbone.layer4.0.conv1.weight": t(512, 1024, 1, 1),
 *   "backbone.layer4.0.conv3.weight": t(2048, 512, 1, 1),
 *   "classifier.0.weight": t(512, 2048, 3, 3), "classifier.1.weight": t(512),
 *   "classifier.4.weight": t(21, 512, 1, 1),
 * };
 * assertEquals(detectModel(d, "x.pth").summary, "fcn_resnet50 (torchvision layout), 21 classes, no aux head, layers [1,1,1,1]");
 * ```
 */
export function detectModel(dict: StateDict, name: string, options: DetectOptions = {}): Detection {
  let family: Family;
  if (options.model) {
    const wanted = options.model === "fcn_resnet101" ? "fcn_resnet50" : options.model;
    family = FAMILIES.find((f) => f.name === wanted)!;
    if (!family) throw new RangeError(`${name}: unknown --model "${options.model}"`);
  } else {
    const fits = FAMILIES.map((f) => fit(f, dict)).sort((a, b) => b.score - a.score);
    const best = fits[0];
    if (best.missing.length > 0 || best.unexpected.length > 0) {
      if ("features.0.weight" in dict || "fc.weight" in dict) {
        throw new Error(
          `${name} holds an ImageNet classifier (torchvision's VGG/ResNet keys: features.*, ` +
            "classifier.* or fc.*), not a segmentation model: give it to `train " +
            "--pretrained-backbone` instead",
        );
      }
      throw new Error(
        `${name}: the ${Object.keys(dict).length} tensors match no known model. Closest: ` +
          `${best.family.name} (${best.family.layout}), missing keys: ${few(best.missing)}; ` +
          `unexpected keys: ${few(best.unexpected)}. Pass --model (and --backbone) to name the ` +
          "family, or save the weights with a config.json beside them",
      );
    }
    family = best.family;
  }
  let found: ModelOptions;
  try {
    found = family.infer(dict);
  } catch (e) {
    throw new Error(`${name}: looks like ${family.name} but ${(e as Error).message}`);
  }
  let model: ModelName = options.model ?? family.name;
  if (family.name === "fcn_resnet50" && !options.model && found.layers?.[2] === 23) {
    model = "fcn_resnet101";
  }
  const config = resolveConfig(model, {
    ...found,
    ...(options.backbone ? { backbone: options.backbone } : {}),
    ...(options.numClasses ? { numClasses: options.numClasses } : {}),
  });
  const parts = [`${model} (${family.layout})`];
  if (!model.startsWith("fcn_resnet")) parts[0] += ` on ${config.backbone}`;
  parts.push(`${config.numClasses} classes`);
  if (model.startsWith("fcn_resnet")) {
    parts.push(config.aux ? "aux head" : "no aux head");
    const std = model === "fcn_resnet101" ? "3,4,23,3" : "3,4,6,3";
    if (config.layers.join() !== std) parts.push(`layers [${config.layers}]`);
  } else if (model !== "fcn_fusion") parts.push(`head ${config.headChannels}`);
  else if (config.upsampleBias) parts.push("biased upsamplers");
  let summary = parts.join(", ") + widthText(config.width);
  const k = found.numClasses;
  if (options.numClasses && k !== options.numClasses) {
    summary +=
      `; class layers re-initialised for ${options.numClasses} classes (the file has ${k})`;
  }
  return { config, summary };
}

/**
 * The class layers of a config's family (those whose shapes depend on the class count): the
 * keys of `dict` to drop before loading weights into a model with another class count.
 */
export function classLayerKeys(dict: StateDict, config: ModelConfig): string[] {
  const f = FAMILIES.find((f) => f.name === config.name.replace("fcn_resnet101", "fcn_resnet50"))!;
  return Object.keys(dict).filter((k) => f.classLayers.test(k));
}

/**
 * Prepares a detected state dict for `config`: when the class counts differ, the class layers
 * are removed (the model keeps its fresh initialisation there) and named in `reinitialised`.
 */
export function adaptClassLayers(
  dict: StateDict,
  config: ModelConfig,
  fileClasses: number,
): { dict: StateDict; reinitialised: string[] } {
  if (fileClasses === config.numClasses) return { dict, reinitialised: [] };
  const drop = new Set(classLayerKeys(dict, config));
  const out: StateDict = {};
  for (const [k, v] of Object.entries(dict)) if (!drop.has(k)) out[k] = v;
  return { dict: out, reinitialised: [...drop] };
}
