/**
 * Reference optim kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { SgdUpdate } from "../../device/backend.ts";

/** In-place SGD update with PyTorch's rule (weight decay, momentum, dampening, nesterov). */
export function sgd(
  param: Float32Array,
  grad: Float32Array,
  buf: Float32Array | null,
  o: SgdUpdate,
): void {
  throw new Error("optim.sgd: not implemented");
}
