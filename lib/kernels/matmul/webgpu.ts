/**
 * matmul kernels on WebGPU.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/** `a [M, K] @ b [K, N]`; a stored `[K, M]` if transA, b `[N, K]` if transB. */
export function matmul(
  rt: WebGpuRuntime,
  a: Storage,
  b: Storage,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Storage {
  throw new Error("matmul.matmul: not implemented on WebGPU");
}
