/**
 * Layers as ONNX nodes, one rule per layer class: Conv2d -> Conv, ConvTranspose2d and
 * BilinearUp -> ConvTranspose, BatchNorm2d -> BatchNormalization (running statistics), ReLU ->
 * Relu, MaxPool2d -> MaxPool, Dropout -> nothing (evaluation graph), Sequential and
 * IndexedSequential -> their layers in order, ResNet's Bottleneck -> its convs plus Add and Relu.
 *
 * @module
 */
import {
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  type Layer,
  MaxPool2d,
  ReLU,
  Sequential,
} from "../nn/layers.ts";
import type { Tensor } from "../tensor.ts";
import { BilinearUp, IndexedSequential } from "../models/byom_layers.ts";
import { Bottleneck } from "../models/resnet_fcn.ts";
import type { OnnxGraph } from "./graph.ts";
import { add, relu } from "./ops.ts";

type Rule<L> = (g: OnnxGraph, layer: L, x: string) => string;
// deno-lint-ignore no-explicit-any
type LayerClass<L> = abstract new (...args: any[]) => L;

function convTranspose(g: OnnxGraph, x: string, w: Tensor, b: Tensor | null, s: number, p: number) {
  const k = w.shape[2];
  const inputs = b ? [x, g.weight(w), g.weight(b)] : [x, g.weight(w)];
  return g.op("ConvTranspose", inputs, {
    kernel_shape: [k, k],
    strides: [s, s],
    pads: [p, p, p, p],
  });
}

const RULES: [LayerClass<Layer>, Rule<never>][] = [
  [Conv2d, (g, l: Conv2d, x) => {
    const { stride: s, padding: p, dilation: d } = l.options;
    const k = l.weight.shape[2];
    const inputs = [x, g.weight(l.weight), ...(l.bias ? [g.weight(l.bias)] : [])];
    return g.op("Conv", inputs, {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [d, d],
    });
  }],
  [
    ConvTranspose2d,
    (g, l: ConvTranspose2d, x) => convTranspose(g, x, l.weight, null, l.stride, l.padding),
  ],
  [
    BilinearUp,
    (g, l: BilinearUp, x) => convTranspose(g, x, l.weight, l.bias, l.geometry.s, l.geometry.p),
  ],
  [BatchNorm2d, (g, l: BatchNorm2d, x) =>
    g.op(
      "BatchNormalization",
      [x, ...[l.weight, l.bias, l.runningMean, l.runningVar].map((t) => g.weight(t))],
      { epsilon: { float: l.eps } },
    )],
  [ReLU, (g, _l: ReLU, x) => relu(g, x)],
  [MaxPool2d, (g, l: MaxPool2d, x) => {
    const { kernelSize: k, stride: s, padding: p } = l;
    return g.op("MaxPool", [x], {
      kernel_shape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      ceil_mode: l.ceilMode ? 1 : 0,
    });
  }],
  [Dropout, (_g, _l: Dropout, x) => x],
  [Sequential, (g, l: Sequential, x) => l.layers.reduce((y, layer) => emitLayer(g, layer, y), x)],
  [
    IndexedSequential,
    (g, l: IndexedSequential, x) => l.layers.reduce((y, layer) => emitLayer(g, layer, y), x),
  ],
  [Bottleneck, (g, l: Bottleneck, x) => {
    const seq = [l.conv1, l.bn1, new ReLU(), l.conv2, l.bn2, new ReLU(), l.conv3, l.bn3];
    const y = seq.reduce((t, layer) => emitLayer(g, layer, t), x);
    const identity = l.downsample ? emitLayer(g, l.downsample, x) : x;
    return relu(g, add(g, y, identity));
  }],
];

/**
 * Appends the nodes of `layer` applied to `x` (evaluation mode) and returns its output value.
 *
 * @example A conv with its ReLU
 * ```ts
 * import { emitLayer } from "./layers.ts";
 * import { OnnxGraph } from "./graph.ts";
 * import { Conv2d, ReLU, Sequential } from "../nn/layers.ts";
 * import { Rng } from "../random.ts";
 * import { requestDevice } from "../device/request.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const block = new Sequential([new Conv2d(device, 3, 4, 3, new Rng(0), { padding: 1 }), new ReLU()]);
 * const g = new OnnxGraph();
 * const y = emitLayer(g, block, "input");
 * const proto = await g.finish("block", [{ name: "input", dims: ["N", 3, "H", "W"] }], [
 *   { value: y, name: "out", dims: ["N", 4, "H", "W"] },
 * ]);
 * assertEquals(proto.nodes.map((n) => n.op), ["Conv", "Relu", "Identity"]);
 * ```
 */
export function emitLayer(g: OnnxGraph, layer: Layer, x: string): string {
  for (const [cls, rule] of RULES) {
    if (layer instanceof cls) return (rule as Rule<Layer>)(g, layer, x);
  }
  throw new TypeError(
    `ONNX export: no rule for layer ${layer.constructor.name}; expected one of ` +
      RULES.map(([c]) => c.name).join(", "),
  );
}
