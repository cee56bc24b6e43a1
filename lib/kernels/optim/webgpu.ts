/**
 * optim kernels on WebGPU.
 *
 * @module
 */
import type { SgdUpdate, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** In-place SGD update with PyTorch's rule (weight decay, momentum, dampening, nesterov). */
export function sgd(
  rt: WebGpuRuntime,
  param: Storage,
  grad: Storage,
  buf: Storage | null,
  o: SgdUpdate,
): void {
  throw new Error("optim.sgd: not implemented on WebGPU");
}
