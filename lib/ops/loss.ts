/**
 * Cross entropy over class logits, with `ignoreIndex` and class weights.
 *
 * @module
 */
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, sameDevice } from "./_util.ts";

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions {
  /** Target value that contributes nothing (default 255, VOC's border label). */
  ignoreIndex?: number;
  /** "mean" over non-ignored pixels (weighted), "sum", or "none" (per pixel). */
  reduction?: "mean" | "sum" | "none";
  /** Per-class weights `[K]`. */
  weight?: Tensor;
}

/**
 * `F.cross_entropy`: log-softmax over dim 1 and negative log-likelihood, fused.
 * logits `[N, K, ...]`, target `[N, ...]` (i32 class ids) -> a scalar (`[]`) or `[N, ...]`.
 * "mean" divides by the number of non-ignored pixels (the sum of their weights).
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
  expectF32(op, "logits", logits);
  sameDevice(op, logits, target, options.weight);
  if (target.dtype !== "i32") {
    throw new TypeError(`${op}: expected an i32 target of class ids but got ${target.dtype}`);
  }
  const [n, k, ...rest] = logits.shape;
  const spatial = [n, ...rest];
  if (logits.shape.length < 2 || target.shape.join() !== spatial.join()) {
    throw new RangeError(
      `${op}: logits [${logits.shape}] need a target of shape [${spatial}] but got [${target.shape}]`,
    );
  }
  const weight = options.weight;
  if (weight && (weight.size !== k || weight.dtype !== "f32")) {
    throw new RangeError(`${op}: expected an f32 weight of shape [${k}] but got [${weight.shape}]`);
  }
  const ignoreIndex = options.ignoreIndex ?? 255;
  const reduction = options.reduction ?? "mean";
  const hw = rest.reduce((a, b) => a * b, 1);
  const b = logits.device.backend;
  const px = b.crossEntropy({
    logits: logits.storage,
    target: target.storage,
    weight: weight?.storage ?? null,
    n,
    k,
    hw,
    ignoreIndex,
  });
  const inputs = weight ? [logits, target, weight] : [logits, target];
  if (reduction === "none") {
    b.free(px.weight);
    const y = new Tensor(px.loss, spatial, logits.device);
    return record(y, op, inputs, { n, k, hw, ignoreIndex, denom: null });
  }
  const total = b.sum({ x: px.loss, outer: 1, len: n * hw, inner: 1 });
  b.free(px.loss);
  if (reduction === "sum") {
    b.free(px.weight);
    return record(new Tensor(total, [], logits.device), op, inputs, {
      n,
      k,
      hw,
      ignoreIndex,
      denom: null,
    });
  }
  const denom = b.sum({ x: px.weight, outer: 1, len: n * hw, inner: 1 });
  b.free(px.weight);
  const mean = b.binary({ op: "div", a: total, b: denom });
  b.free(total);
  return record(new Tensor(mean, [], logits.device), op, inputs, {
    n,
    k,
    hw,
    ignoreIndex,
    denom,
  }, [denom]);
}
