/**
 * Losses over per-pixel class targets: cross entropy over logits and the negative
 * log-likelihood over log-probabilities, with `ignoreIndex` and class weights.
 *
 * @module
 */
import { record } from "../autograd.ts";
import type { Storage } from "../device/backend.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, sameDevice } from "./_util.ts";

/** Options of {@linkcode crossEntropy} and {@linkcode nllLoss}. */
export interface CrossEntropyOptions {
  /**
   * Target value that contributes nothing (default 255, VOC's border label; PyTorch's is -100).
   * Any other target outside `0..K-1` is an error.
   */
  ignoreIndex?: number;
  /** "mean" over non-ignored pixels (weighted), "sum", or "none" (per pixel). */
  reduction?: "mean" | "sum" | "none";
  /** Per-class weights `[K]`. */
  weight?: Tensor;
}

/** Options of {@linkcode nllLoss}: those of {@linkcode crossEntropy}. */
export type NllLossOptions = CrossEntropyOptions;

/** The geometry of scores `[N, K, ...]` and a target `[N, ...]`, checked. */
interface ClassGeometry {
  n: number;
  k: number;
  hw: number;
  /** `[N, ...]`. */
  spatial: number[];
}

/** Checks `input` `[N, K, ...]`, an i32 `target` `[N, ...]` and a weight `[K]` of `op`. */
function classGeometry(
  op: string,
  input: Tensor,
  target: Tensor,
  weight: Tensor | undefined,
): ClassGeometry {
  const name = op === "nllLoss" ? "log-probabilities" : "logits";
  expectF32(op, name, input);
  sameDevice(op, input, target, weight);
  if (target.dtype !== "i32") {
    throw new TypeError(`${op}: expected an i32 target of class ids but got ${target.dtype}`);
  }
  const [n, k, ...rest] = input.shape;
  const spatial = [n, ...rest];
  if (input.shape.length < 2 || target.shape.join() !== spatial.join()) {
    throw new RangeError(
      `${op}: ${name} [${input.shape}] need a target of shape [${spatial}] but got [${target.shape}]`,
    );
  }
  if (weight && (weight.size !== k || weight.dtype !== "f32")) {
    throw new RangeError(`${op}: expected an f32 weight of shape [${k}] but got [${weight.shape}]`);
  }
  return { n, k, hw: rest.reduce((a, b) => a * b, 1), spatial };
}

/**
 * The reduction of per-pixel losses and weights `px` (both `[N, HW]`, taken over), recorded as
 * `op` on `inputs`: "none" keeps the losses, "sum" adds them, "mean" divides that by the summed
 * weights (kept by the node for the backward pass).
 */
function reduceLoss(
  op: "crossEntropy" | "nllLoss",
  px: { loss: Storage; weight: Storage },
  inputs: Tensor[],
  g: ClassGeometry & { ignoreIndex: number },
  reduction: "mean" | "sum" | "none",
): Tensor {
  const device = inputs[0].device, b = device.backend;
  const state = { n: g.n, k: g.k, hw: g.hw, ignoreIndex: g.ignoreIndex, denom: null };
  if (reduction === "none") {
    b.free(px.weight);
    return record(new Tensor(px.loss, g.spatial, device), op, inputs, state);
  }
  const total = b.sum({ x: px.loss, outer: 1, len: g.n * g.hw, inner: 1 });
  b.free(px.loss);
  if (reduction === "sum") {
    b.free(px.weight);
    return record(new Tensor(total, [], device), op, inputs, state);
  }
  const denom = b.sum({ x: px.weight, outer: 1, len: g.n * g.hw, inner: 1 });
  b.free(px.weight);
  const mean = b.binary({ op: "div", a: total, b: denom });
  b.free(total);
  return record(new Tensor(mean, [], device), op, inputs, { ...state, denom }, [denom]);
}

/**
 * `F.cross_entropy`: log-softmax over dim 1 and negative log-likelihood, fused.
 * logits `[N, K, ...]`, target `[N, ...]` (i32 class ids) -> a scalar (`[]`) or `[N, ...]`.
 * "mean" divides by the number of non-ignored pixels (the sum of their weights). A target
 * outside `0..K-1` that is not `ignoreIndex` raises a RangeError, as in PyTorch (on WebGPU at
 * the next read, like a CUDA device assert).
 *
 * @example
 * ```ts
 * import { crossEntropy, requestDevice, tensor } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const logits = tensor([0, 0, 5, 5], [1, 2, 2], device); // [N, K, HW]
 * const target = tensor(new Int32Array([0, 255]), [1, 2], device);
 * const loss = crossEntropy(logits, target);
 * assertAlmostEquals(await loss.item(), Math.log(1 + Math.exp(5)), 1e-5);
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const op = "crossEntropy";
  const weight = options.weight;
  const g = {
    ...classGeometry(op, logits, target, weight),
    ignoreIndex: options.ignoreIndex ?? 255,
  };
  const b = logits.device.backend;
  b.checkTargets({ target: target.storage, k: g.k, ignoreIndex: g.ignoreIndex, op });
  const px = b.crossEntropy({
    logits: logits.storage,
    target: target.storage,
    weight: weight?.storage ?? null,
    n: g.n,
    k: g.k,
    hw: g.hw,
    ignoreIndex: g.ignoreIndex,
  });
  const inputs = weight ? [logits, target, weight] : [logits, target];
  return reduceLoss(op, px, inputs, g, options.reduction ?? "mean");
}

/**
 * `F.nll_loss`: the negative log-likelihood of log-probabilities (e.g. {@linkcode logSoftmax}'s)
 * `[N, K, ...]` at the classes of target `[N, ...]` (i32) -> a scalar (`[]`) or `[N, ...]`:
 * `-w[t] * x[t]` per pixel, "mean" dividing by the summed weights of non-ignored pixels.
 * `nllLoss(logSoftmax(x, 1), t)` equals `crossEntropy(x, t)`. Defaults as {@linkcode crossEntropy}:
 * reduction "mean", ignoreIndex 255 (PyTorch's is -100); a target outside `0..K-1` that is not
 * `ignoreIndex` raises a RangeError.
 *
 * @example
 * ```ts
 * import { logSoftmax, nllLoss, requestDevice, tensor } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const logProbs = tensor([-0.1, -2, -2.5, -0.2], [2, 2], device); // [N, K]
 * const target = tensor(new Int32Array([0, 1]), [2], device);
 * assertAlmostEquals(await nllLoss(logProbs, target).item(), (0.1 + 0.2) / 2, 1e-6);
 * const logits = tensor([1, 2, 3, 4], [1, 2, 2], device); // [N, K, HW]
 * const ce = nllLoss(logSoftmax(logits, 1), tensor(new Int32Array([1, 255]), [1, 2], device));
 * assertAlmostEquals(await ce.item(), Math.log(1 + Math.exp(-2)), 1e-6);
 * ```
 */
export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  options: NllLossOptions = {},
): Tensor {
  const op = "nllLoss";
  const weight = options.weight;
  const g = {
    ...classGeometry(op, logProbs, target, weight),
    ignoreIndex: options.ignoreIndex ?? 255,
  };
  const b = logProbs.device.backend;
  b.checkTargets({ target: target.storage, k: g.k, ignoreIndex: g.ignoreIndex, op });
  const px = b.nllLoss({
    logProbs: logProbs.storage,
    target: target.storage,
    weight: weight?.storage ?? null,
    n: g.n,
    k: g.k,
    hw: g.hw,
    ignoreIndex: g.ignoreIndex,
  });
  const inputs = weight ? [logProbs, target, weight] : [logProbs, target];
  return reduceLoss(op, px, inputs, g, options.reduction ?? "mean");
}
