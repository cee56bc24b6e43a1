/**
 * Each model family's `forward`, written once more as graph building: the same layers in the
 * same order (lib/onnx/layers.ts turns each into nodes), with the padding, crops, sums and
 * bilinear upsampling between them as ONNX ops whose sizes follow the input's.
 *
 * @module
 */
import { ReLU } from "../nn/layers.ts";
import { VggFcn } from "../models/vgg_fcn.ts";
import { ResNetFcn } from "../models/resnet_fcn.ts";
import { Fcn8sBnHead } from "../models/fcn8s_bnhead.ts";
import { FcnFusion } from "../models/fcn_fusion.ts";
import type { FcnModel } from "../models/types.ts";
import type { Module } from "../nn/module.ts";
import type { OnnxGraph } from "./graph.ts";
import { emitLayer } from "./layers.ts";
import { add, cropTo, interpolateTo, padToMultiple } from "./ops.ts";

/** The graph values of a model's outputs. */
export interface GraphOutputs {
  /** `[N, K, H, W]` logits. */
  out: string;
  /** `[N, K, H, W]` aux logits, when the model has an aux head. */
  aux?: string;
}

type Forward<M> = (g: OnnxGraph, model: M, x: string) => GraphOutputs;

/** FCN-32s/16s/8s: pad to 32, VGG stages, head, upsample and add the cropped skip scores. */
const vggFcn: Forward<VggFcn> = (g, m, x) => {
  let y = padToMultiple(g, x, 32); // [N, 3, ph, pw]
  const pools = m.stages.map((stage) => (y = emitLayer(g, stage, y)));
  let score = emitLayer(g, m.head, y); // [N, K, ph/32, pw/32]
  const skips = m.variant === "fcn8s"
    ? [[m.pool4Score!, pools[3]], [m.pool3Score!, pools[2]]] as const
    : m.variant === "fcn16s"
    ? [[m.pool4Score!, pools[3]]] as const
    : [];
  skips.forEach(([conv, pool], i) => {
    const up = emitLayer(g, m.ups[i], score);
    score = add(g, up, cropTo(g, emitLayer(g, conv, pool), up));
  });
  const out = emitLayer(g, m.ups[m.ups.length - 1], score); // [N, K, ph, pw]
  return { out: cropTo(g, out, x) };
};

/** FCN-ResNet: dilated ResNet, FCNHead(s), bilinear upsampling to the input size. */
const resnetFcn: Forward<ResNetFcn> = (g, m, x) => {
  const b = m.backbone;
  const stem = [b.conv1, b.bn1, new ReLU(), b.maxpool, b.stages[0], b.stages[1]];
  const y = stem.reduce((t, layer) => emitLayer(g, layer, t), x);
  const c3 = emitLayer(g, b.stages[2], y); // [N, 1024w, H/8, W/8]
  const c4 = emitLayer(g, b.stages[3], c3); // [N, 2048w, H/8, W/8]
  const out = interpolateTo(g, emitLayer(g, m.classifier, c4), x, false);
  if (!m.auxClassifier) return { out };
  return { out, aux: interpolateTo(g, emitLayer(g, m.auxClassifier, c3), x, false) };
};

/** FCN-8s with a batch-norm head: the fused sums of score convs and upsamplers. */
const fcn8sBnHead: Forward<Fcn8sBnHead> = (g, m, x) => {
  let y = padToMultiple(g, x, 32);
  const feats = m.stages.map((stage) => (y = emitLayer(g, stage, y)));
  const [s3, s4, s5] = m.scores;
  const head = emitLayer(g, m.head.fc7, emitLayer(g, m.head.fc6, y));
  let z = emitLayer(g, m.ups[0], emitLayer(g, s5, head));
  z = emitLayer(g, m.ups[1], add(g, z, emitLayer(g, s4, feats[3])));
  const out = emitLayer(g, m.ups[2], add(g, z, emitLayer(g, s3, feats[2])));
  return { out: cropTo(g, out, x) };
};

/** The feature-level fusion FCN: upsample, add the stage features, 1x1 convs, upsample x8. */
const fcnFusion: Forward<FcnFusion> = (g, m, x) => {
  let y = padToMultiple(g, x, 32);
  const feats = m.stages.map((stage) => (y = emitLayer(g, stage, y)));
  let z = emitLayer(g, m.trans1, add(g, emitLayer(g, m.up2a, feats[4]), feats[3]));
  z = emitLayer(g, m.trans2, add(g, emitLayer(g, m.up2b, z), feats[2]));
  return { out: cropTo(g, emitLayer(g, m.up8, z), x) };
};

// deno-lint-ignore no-explicit-any
type ModelClass<M> = abstract new (...args: any[]) => M;
const FORWARDS: [ModelClass<Module>, Forward<never>][] = [
  [VggFcn, vggFcn],
  [ResNetFcn, resnetFcn],
  [Fcn8sBnHead, fcn8sBnHead],
  [FcnFusion, fcnFusion],
];

/** Appends `model.forward(x)` (evaluation mode) to `g`. */
export function emitForward(g: OnnxGraph, model: FcnModel, x: string): GraphOutputs {
  for (const [cls, forward] of FORWARDS) {
    if (model instanceof cls) return (forward as Forward<FcnModel>)(g, model, x);
  }
  throw new TypeError(
    `ONNX export: no graph for model "${model.config.name}" (${model.constructor.name}); ` +
      `expected one of ${FORWARDS.map(([c]) => c.name).join(", ")}`,
  );
}
