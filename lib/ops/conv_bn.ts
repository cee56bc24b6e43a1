/**
 * Inference: a convolution followed by batch norm with running statistics (and a ReLU), the
 * norm folded into the convolution (as onnxruntime and PyTorch's eval-mode fusion do):
 * `w' = w * s`, `b' = (b - mean) * s + beta` with `s = gamma / sqrt(var + eps)` per output
 * channel, then one `conv2d` with `b'` as its bias and the ReLU fused. This saves a full pass
 * (two with the ReLU) over the output, the largest tensors of a ResNet. The folded weights are
 * made per call (`K*C*KH*KW` products: a small fraction of the convolution's work).
 *
 * @module
 */
import { isGradEnabled } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { conv2d, type Conv2dOptions } from "./conv.ts";
import { expectRank } from "./_util.ts";

/** The eval-mode batch norm folded into the conv: running statistics, affine and eps. */
export interface FoldedBatchNorm {
  runningMean: Tensor;
  runningVar: Tensor;
  weight: Tensor;
  bias: Tensor;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * `relu?(batchNorm(conv2d(x, weight, bias), running statistics))` for inference (no graph:
 * call it under `noGrad`), in one convolution.
 *
 * @example Equal to the three ops in sequence
 * ```ts
 * import { batchNorm2d, conv2d, noGrad, requestDevice, tensor } from "@x/fcn";
 * import { conv2dBatchNorm } from "./conv_bn.ts";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, 2, 3, 4], [1, 1, 2, 2], device);
 * const w = tensor([0.5], [1, 1, 1, 1], device), b = tensor([1], [1], device);
 * const bn = {
 *   runningMean: tensor([2], [1], device), runningVar: tensor([4], [1], device),
 *   weight: tensor([3], [1], device), bias: tensor([0.25], [1], device),
 * };
 * const folded = await noGrad(() => conv2dBatchNorm(x, w, b, bn)).toArray();
 * const plain = await batchNorm2d(
 *   conv2d(x, w, b), bn.runningMean, bn.runningVar, bn.weight, bn.bias,
 * ).toArray();
 * for (let i = 0; i < 4; i++) assertAlmostEquals(folded[i], plain[i], 1e-5);
 * ```
 */
export function conv2dBatchNorm(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  bn: FoldedBatchNorm,
  options: Conv2dOptions = {},
): Tensor {
  const folded = foldBatchNorm(weight, bias, bn);
  try {
    return conv2d(x, folded.weight, folded.bias, options);
  } finally {
    folded.weight.dispose();
    folded.bias.dispose();
  }
}

/**
 * The conv's weight and bias with the eval-mode norm `bn` folded in (new tensors, for
 * inference: under `noGrad`): `w * s` and `(b - mean) * s + beta`, `s = gamma / sqrt(var + eps)`.
 * `Conv2d.forwardNorm` keeps them while the inputs' versions stay the same.
 */
export function foldBatchNorm(
  weight: Tensor,
  bias: Tensor | null,
  bn: FoldedBatchNorm,
): { weight: Tensor; bias: Tensor } {
  const op = "conv2dBatchNorm";
  if (isGradEnabled()) {
    throw new Error(`${op}: folds the norm for inference only; call it under noGrad`);
  }
  expectRank(op, "weight", weight, 4, "[K, C, KH, KW]");
  const [k, c, kh, kw] = weight.shape;
  for (const [name, t] of Object.entries(bn)) {
    if (t instanceof Tensor && t.size !== k) {
      throw new RangeError(`${op}: expected ${name} of shape [${k}] but got [${t.shape}]`);
    }
  }
  const b = weight.device.backend, eps = bn.eps ?? 1e-5;
  const zeros = b.fill({ length: k, dtype: "f32", value: 0 });
  // w [K, C*KH*KW] as K planes: w * gamma / sqrt(var + eps).
  const w2 = b.batchNorm({
    x: weight.storage,
    mean: zeros,
    variance: bn.runningVar.storage,
    gamma: bn.weight.storage,
    beta: zeros,
    planes: { n: 1, c: k, h: c * kh * kw, w: 1 },
    eps,
  });
  // (b - mean) * gamma / sqrt(var + eps) + beta: the norm of the conv's bias (or of zeros).
  const b2 = b.batchNorm({
    x: bias?.storage ?? zeros,
    mean: bn.runningMean.storage,
    variance: bn.runningVar.storage,
    gamma: bn.weight.storage,
    beta: bn.bias.storage,
    planes: { n: 1, c: k, h: 1, w: 1 },
    eps,
  });
  b.free(zeros);
  return {
    weight: new Tensor(w2, weight.shape, weight.device),
    bias: new Tensor(b2, [k], weight.device),
  };
}
