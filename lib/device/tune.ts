/**
 * Per-adapter kernel tuning, for scripts: `autotune(device)` after a first step.
 *
 * @module
 */
import { autotune as tuneRuntime, autotuneReport } from "../kernels/autotune.ts";
import type { Device } from "../tensor.ts";
import type { WebGpuBackend } from "../backends/webgpu.ts";

/**
 * Picks the fastest variant of each WebGPU kernel family for the shape classes used so far
 * (timing a few fixed candidates once, cached on disk per adapter), and switches them on. Call
 * it after a first step; it does nothing on the CPU backends or when `FCN_AUTOTUNE=0`. Returns
 * a report of the choices.
 *
 * @example
 * ```ts
 * import { autotune, requestDevice } from "@x/fcn";
 * import { assert } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * assert(typeof await autotune(device) === "string");
 * ```
 */
export async function autotune(device: Device): Promise<string> {
  if (device.kind !== "webgpu") return "autotune: not needed on " + device.kind;
  await tuneRuntime((device.backend as WebGpuBackend).rt);
  return autotuneReport();
}
