/**
 * reduce kernels on WebGPU.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** `[outer, len, inner]` -> `[outer, inner]` index of the first max along len. */
export function argmax(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  throw new Error("reduce.argmax: not implemented on WebGPU");
}

/** `[outer, len, inner]` -> `[outer, inner]` sums along len. */
export function sum(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  throw new Error("reduce.sum: not implemented on WebGPU");
}

/** `[outer, inner]` -> `[outer, len, inner]`. */
export function broadcast(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  throw new Error("reduce.broadcast: not implemented on WebGPU");
}
