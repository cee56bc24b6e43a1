/**
 * Softmax and log-softmax along one dimension, the class dimension 1 by default.
 *
 * @module
 */
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, split } from "./_util.ts";

function softmaxImpl(x: Tensor, dim: number, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  expectF32(op, "input", x);
  const [outer, len, inner] = split(x.shape, dim, op);
  const y = x.device.backend.softmax({ x: x.storage, outer, len, inner, log });
  return record(new Tensor(y, x.shape, x.device), "softmax", [x], { outer, len, inner, log });
}

/**
 * `F.log_softmax(x, dim)`: `x - max - log(sum(exp(x - max)))` along `dim`, computed stably.
 * `dim` defaults to 1, the classes of `[N, K, ...]` (PyTorch requires it).
 *
 * @example Log-probabilities of the classes of each pixel
 * ```ts
 * import { logSoftmax, requestDevice, tensor } from "@x/fcn";
 * import { assertClose } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const logits = tensor([0, 1000, Math.log(3), 1000], [1, 2, 2], device); // [N, K, HW]
 * const y = await logSoftmax(logits).toArray();
 * assertClose(y, [-Math.log(4), -Math.log(2), -Math.log(4 / 3), -Math.log(2)], { atol: 1e-6 });
 * ```
 */
export function logSoftmax(x: Tensor, dim = 1): Tensor {
  return softmaxImpl(x, dim, true);
}

/**
 * `F.softmax(x, dim)`: `exp(x - max) / sum(exp(x - max))` along `dim`. `dim` defaults to 1,
 * the classes of `[N, K, ...]` (PyTorch requires it).
 *
 * @example Probabilities along the last dimension
 * ```ts
 * import { requestDevice, softmax, tensor } from "@x/fcn";
 * import { assertClose } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const p = softmax(tensor([0, Math.log(3), 5, 5], [2, 2], device), -1);
 * assertClose(await p.toArray(), [0.25, 0.75, 0.5, 0.5], { atol: 1e-6 });
 * ```
 */
export function softmax(x: Tensor, dim = 1): Tensor {
  return softmaxImpl(x, dim, false);
}
